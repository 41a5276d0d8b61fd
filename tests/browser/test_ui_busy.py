"""The page when the chat service refuses an answer (admission control): "busy", then retried.

A system of its own with ``MAX_ACTIVE_ANSWERS=1``: one page holds the only slot with an
answer that stalls mid-stream; a second page's ``message.send`` is refused ``unavailable``
with ``retry_after`` before anything is stored: the page keeps the message shown, says
"busy" and sends the same message (same ``client_message_id``) again until it is admitted
(after the first answer is stopped), then streams the answer once; the message is stored once.
A third send, refused too, is given up with Stop: its text goes back into the composer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Stack, start_stack

from .chat_support import expected_answer, stored_messages
from .pw import (
    assistant_texts,
    browser,
    open_chat,
    screenshot,
    send,
    wait_answer_done,
    wait_connected,
    wait_streaming_text,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def busy_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("busy-stack")),
        chat_env={"MAX_ACTIVE_ANSWERS": "1", "ANSWER_RETRY_AFTER_SECONDS": "1"},
    )
    try:
        yield s
    finally:
        s.stop()


def test_refused_answer_shows_busy_and_is_retried(busy_stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        holder, _ = open_chat(context, busy_stack.ui.url)
        send(holder, "Hold the only slot [fault:stall] [tokens:40]")
        wait_streaming_text(holder, 5)
        page = context.new_page()
        page.goto(busy_stack.ui.url)
        wait_connected(page)
        page.click("#new-chat")
        question = "Answer me when you can [tokens:12]"
        send(page, question)
        notice = page.wait_for_selector("#busy-notice", timeout=30_000)
        assert notice is not None and "busy" in notice.inner_text().lower()
        page.wait_for_selector(".msg-user >> text=Answer me when you can")
        screenshot(page, "busy-retrying")
        # still refused a while later (the page retries every ~1 s, the slot stays taken)
        page.wait_for_timeout(2500)
        assert page.is_visible("#busy-notice") and not assistant_texts(page)
        assert stored_messages(busy_stack, page) == []  # refused before anything was stored
        holder.click("#stop")
        wait_answer_done(page, timeout=30_000)
        assert assistant_texts(page) == [expected_answer(question, 12)]
        assert not page.is_visible("#busy-notice")
        stored = stored_messages(busy_stack, page)
        assert [(m["role"], m["status"]) for m in stored] == [
            ("user", "complete"), ("assistant", "complete")]
        assert stored[1]["content"] == expected_answer(question, 12)
        # Refused again (the holder takes the slot once more), then given up with Stop.
        send(holder, "Hold it again [fault:stall] [tokens:40]")
        wait_streaming_text(holder, 5)
        send(page, "Never mind [tokens:3]")
        page.wait_for_selector("#busy-notice", timeout=30_000)
        page.click("#stop")
        page.wait_for_selector("#busy-notice", state="detached", timeout=10_000)
        assert page.input_value("#input") == "Never mind [tokens:3]"
        assert not page.is_visible(".msg-user >> text=Never mind")
        assert len(stored_messages(busy_stack, page)) == 2
        holder.click("#stop")
