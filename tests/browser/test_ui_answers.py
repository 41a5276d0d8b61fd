"""Answers in the chat page (Debian's chromium, the whole system, fake upstream): streamed,
resumed after a reload, stopped, regenerated, failed, edited, followed by a second tab.

What the fake upstream answers: see ``chat_support``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.holds import Hold
from tests.support.stack import Stack

from .chat_support import expected_answer, shows_live_deltas, snapshot_requests, stored_messages
from .pw import (
    assistant_texts,
    browser,
    conversation_id,
    open_chat,
    screenshot,
    send,
    wait_answer_done,
    wait_connected,
    wait_streaming_text,
)

pytestmark = pytest.mark.browser


def test_send_message_streams_the_answer(stack: Stack, tmp_path: Path) -> None:
    question = "Hello browser **bold** and `code` please [tokens:40]"
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        screenshot(page, "empty-light")
        page.click("#new-chat")  # (once left the page "busy" before any message was sent)
        send(page, question)
        page.wait_for_selector(".msg-user >> text=Hello browser")
        wait_answer_done(page)
        text = assistant_texts(page)[0]
        # Markdown rendered: the echoed **bold** is <strong>, the `code` is <code>.
        assert text == expected_answer(question, 40).replace("**", "").replace("`", "")
        assert page.inner_text(".msg-assistant strong") == "bold"
        assert page.inner_text(".msg-assistant .markdown code") == "code"
        stored = stored_messages(stack, page)
        assert [m["role"] for m in stored] == ["user", "assistant"]
        assert stored[1]["content"] == expected_answer(question, 40)
        assert stored[1]["status"] == "complete"
        # The sidebar lists it under "Today", the URL names it.
        cid = conversation_id(page)
        assert page.is_visible(f".conv.active[data-id='{cid}']")
        assert page.inner_text(".group-title").lower() == "today"
        # Named by the chat service after the first message (the page sends no title).
        assert page.inner_text(f".conv[data-id='{cid}'] .conv-name") == question
        assert page.inner_text("#conv-title") == question
        screenshot(page, "answer-light")
        assert problems.errors == []


def test_reload_mid_answer_completes_the_answer(stack: Stack, tmp_path: Path) -> None:
    hold = Hold.new(after=100)  # the answer pauses there until the page has reloaded
    later = Hold.new(after=300)  # and there until the page has shown live deltas
    question = f"A long answer for a reload [tokens:700] {hold.tag} {later.tag}"
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        snapshots = snapshot_requests(page)
        send(page, question)
        wait_streaming_text(page, 40)
        page.reload()
        wait_connected(page)
        # Resumed from conversation.get (status streaming, next_index) plus live deltas.
        page.wait_for_selector(".msg-assistant.streaming")
        shows_live_deltas(page, snapshots, hold, later, stack.upstream.url)
        later.release(stack.upstream.url)
        wait_answer_done(page)
        assert assistant_texts(page) == [expected_answer(question, 700)]
        assert stored_messages(stack, page)[1]["content"] == expected_answer(question, 700)
        assert problems.errors == []


def test_stop_and_regenerate(stack: Stack, tmp_path: Path) -> None:
    hold = Hold.new(after=10)  # both answers pause there until stopped
    question = f"Please stop me early [tokens:4000] {hold.tag}"
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        send(page, question)
        page.wait_for_selector(".msg-assistant.streaming .markdown p")
        assert page.is_visible("#stop") and page.is_hidden("#send")
        page.keyboard.press("Escape")
        wait_answer_done(page)
        assert page.inner_text(".msg-assistant .msg-status") == "Stopped"
        stopped_text = assistant_texts(page)[0]
        assert expected_answer(question, 4000).startswith(stopped_text)
        assert stored_messages(stack, page)[1]["status"] == "stopped"
        page.hover(".msg-assistant")
        page.click(".msg-assistant .act-regen")
        page.wait_for_selector(".msg-assistant.streaming")
        page.click("#stop")
        wait_answer_done(page)
        assert page.locator(".msg-assistant").count() == 1
        assert [m["role"] for m in stored_messages(stack, page)] == ["user", "assistant"]
    hold.release(stack.upstream.url)


def test_failed_answer_is_shown_and_can_be_regenerated(stack: Stack, tmp_path: Path) -> None:
    question = "Break this answer [fault:500x3] [tokens:5]"
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        send(page, question)
        page.wait_for_selector(".msg-assistant .status-error", timeout=30_000)
        wait_answer_done(page)
        assert page.inner_text(".msg-assistant .status-error").startswith("The answer failed")
        # The upstream fails only the first three requests for this text: regenerate works.
        page.hover(".msg-assistant")
        page.click(".msg-assistant .act-regen")
        page.wait_for_function(
            "() => document.querySelector('.msg-assistant .markdown')?.innerText.startsWith('Echo')"
        )
        wait_answer_done(page)
        assert page.locator(".msg-assistant .status-error").count() == 0
        assert assistant_texts(page) == [expected_answer(question, 5)]


def test_edit_resend_copy_and_keyboard(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.ui.url)
        page, _ = open_chat(context, stack.ui.url)
        page.fill("#input", "line one")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("line two [tokens:10]")
        assert page.input_value("#input") == "line one\nline two [tokens:10]"
        page.keyboard.press("Enter")
        wait_answer_done(page)
        assert page.input_value("#input") == ""
        page.hover(".msg-assistant")
        page.click(".msg-assistant .act-copy")
        assert page.evaluate("() => navigator.clipboard.readText()") == assistant_texts(page)[0]
        page.hover(".msg-user")
        page.click(".msg-user .act-edit")
        page.fill(".edit-area", "edited question [tokens:10]")
        page.keyboard.press("Enter")
        # A new version of the message (issue 20): it and its answer replace the earlier
        # exchange on the page, which stays one version back.
        expected = expected_answer("edited question [tokens:10]", 10)
        page.wait_for_function(
            "t => [...document.querySelectorAll('.msg-assistant .msg-content')]"
            ".some(e => e.innerText === t)", arg=expected)
        wait_answer_done(page, 1)
        assert assistant_texts(page) == [expected]
        assert page.inner_text(".msg-user .ver-label") == "2 / 2"


def test_second_tab_follows_the_conversation(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        first, _ = open_chat(context, stack.ui.url)
        send(first, "Opening question [tokens:6]")
        wait_answer_done(first)
        second = context.new_page()
        snapshots = snapshot_requests(second)
        second.goto(first.url)  # the same user (token in localStorage), the same conversation
        wait_connected(second)
        second.wait_for_selector(".msg-assistant")
        hold = Hold.new(after=5)  # paused until the second tab has seen it streaming
        later = Hold.new(after=150)  # and there until it has shown live deltas
        question = f"Seen in both tabs [tokens:300] {hold.tag} {later.tag}"
        send(first, question)
        # The other tab shows the new question and the streamed answer as they happen.
        second.wait_for_selector(".msg-user >> text=Seen in both tabs")
        second.wait_for_selector(".msg-assistant.streaming")
        shows_live_deltas(second, snapshots, hold, later, stack.upstream.url)
        later.release(stack.upstream.url)
        wait_answer_done(second, 2)
        wait_answer_done(first, 2)
        assert assistant_texts(second) == assistant_texts(first)
        assert assistant_texts(second)[1] == expected_answer(question, 300)
