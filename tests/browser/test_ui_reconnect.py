"""The page through a chat service crash: the indicator shows it, the page reconnects by itself,
and the answer that was streaming ends as the service recorded it (``interrupted``)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_upstream import answer_tokens
from tests.support.processes import start_service
from tests.support.stack import Stack, start_stack

from .chat_support import stored_messages
from .pw import (
    assistant_texts,
    browser,
    open_chat,
    screenshot,
    send,
    wait_answer_done,
    wait_streaming_text,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A system of its own: this test kills and restarts its chat service."""
    s = start_stack(Path(tmp_path_factory.mktemp("reconnect-stack")))
    try:
        yield s
    finally:
        s.stop()


def test_chat_service_restart_mid_answer(own_stack: Stack, tmp_path: Path) -> None:
    question = "Survive a chat service restart [tokens:4000]"
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, own_stack.ui.url)
        send(page, question)
        wait_streaming_text(page, 60)
        old = own_stack.chat
        old.stop(signal.SIGKILL)
        page.wait_for_selector("#conn:not([data-state=connected])")
        screenshot(page, "reconnecting")
        own_stack.chat = start_service("chat_service", env=old.env, port=old.port)
        page.wait_for_selector("#conn[data-state=connected]", timeout=30_000)
        # The answer is not lost on the page: it ends as stored (interrupted, text kept).
        wait_answer_done(page, timeout=40_000)
        stored = stored_messages(own_stack, page)[1]
        assert stored["status"] == "interrupted"
        assert assistant_texts(page) == [stored["content"]]
        assert " ".join(answer_tokens(question, 4000)).startswith(stored["content"])
        assert page.is_visible(".msg-assistant .status-interrupted")
        # And the page works again: a new question is answered.
        send(page, "After the restart [tokens:6]")
        wait_answer_done(page, 2)
        assert assistant_texts(page)[-1] == " ".join(answer_tokens("After the restart", 6))
