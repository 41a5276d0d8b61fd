"""Share a conversation as a person does: "Share", create the link, open it in a fresh
browser (another guest), revoke it, and see the link die. Debian's chromium, real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stack import Stack
from tests.test_shares_e2e import closed_stack, shared_by_a_signed_in_user

__all__ = ["closed_stack"]

from .pw import (
    PageProblems,
    browser,
    conversation_id,
    open_chat,
    screenshot,
    send,
    wait_answer_done,
    wait_ready,
)

pytestmark = pytest.mark.browser


def read_link(stack: Stack, profile: Path, link: str) -> str:
    """Open ``link`` in the reader's own browser; the page's text once it has loaded."""
    with browser(profile) as context:
        page = context.new_page() if not context.pages else context.pages[0]
        problems = PageProblems(page)
        page.goto(link)
        wait_ready(page, problems)
        screenshot(page, "share-reader")
        return page.inner_text("main")


def test_share_open_elsewhere_revoke(stack: Stack, tmp_path: Path) -> None:
    owner, reader = tmp_path / "owner", tmp_path / "reader"
    with browser(owner) as context:
        page, problems = open_chat(context, stack.ui.url)
        send(page, "Tell me about the $E = mc^2$ formula")
        wait_answer_done(page)
        cid = conversation_id(page)
        page.get_by_role("button", name="Share").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("button", name="Create link").click()
        link = dialog.locator(".share-link").first.input_value()
        assert link.startswith(stack.ui.url + "/s/") and len(link.rsplit("/", 1)[1]) >= 32
        screenshot(page, "share-dialog")
        assert problems.errors == []

    text = read_link(stack, reader, link)
    assert "Tell me about the" in text and "Echo: Tell me about the" in text
    assert "read-only snapshot" in text

    with browser(owner) as context:
        page, problems = open_chat(context, f"{stack.ui.url}/c/{cid}")
        page.wait_for_selector(".msg-assistant")
        page.get_by_role("button", name="Share").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("button", name="Revoke").click()
        page.wait_for_function("() => !document.querySelector('#share-dialog .share-row')")
        assert problems.errors == []

    text = read_link(stack, reader, link)
    assert "does not exist, was revoked or has expired" in text
    assert "Echo:" not in text


def test_link_for_visitors_who_cannot_chat(closed_stack: tuple[Stack, bool],
                                           tmp_path: Path) -> None:
    """Accounts on, guests off: a public link is read with a reader token; a private one asks
    the visitor to sign in."""
    s, public = closed_stack
    share_id = shared_by_a_signed_in_user(s)
    text = read_link(s, tmp_path / "visitor", f"{s.ui.url}/s/{share_id}")
    if public:
        assert "What is 2+2?" in text and "Public notes" in text
    else:
        assert "Sign in to read this shared conversation." in text
        assert "What is 2+2?" not in text
