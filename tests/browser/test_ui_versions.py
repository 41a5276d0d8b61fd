"""Edit any message and browse its versions, feedback on answers, voice controls: in Debian's
chromium against the whole system (real processes, fake upstream)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.support.stack import Stack

from .chat_support import stored_messages
from .pw import browser, open_chat, screenshot, send, wait_answer_done

pytestmark = pytest.mark.browser


def users(page: Page) -> list[str]:
    return page.eval_on_selector_all(".msg-user .msg-content", "els => els.map(e => e.innerText)")


def wait_thread(page: Page, user_texts: list[str]) -> None:
    """Until the thread shows exactly these user messages, each answered, none streaming."""
    page.wait_for_function(
        """want => {
            const got = [...document.querySelectorAll('.msg-user .msg-content')]
              .map(e => e.innerText);
            return JSON.stringify(got) === JSON.stringify(want)
              && document.querySelectorAll('.msg-assistant').length === want.length
              && !document.querySelector('.msg.streaming, .msg.pending');
        }""",
        arg=user_texts,
        timeout=60_000,
    )


def test_edit_the_second_of_four_and_browse_back(stack: Stack, tmp_path: Path) -> None:
    questions = [f"Question number {i}" for i in (1, 2, 3, 4)]
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        for i, q in enumerate(questions, 1):
            send(page, q)
            wait_answer_done(page, i)
        wait_thread(page, questions)

        second = page.locator(".msg-user").nth(1)
        second.hover()
        second.get_by_role("button", name="Edit").click()
        page.fill(".edit-area", "Question number 2, rephrased")
        page.click(".edit-box .btn.primary")
        edited = [questions[0], "Question number 2, rephrased"]
        wait_thread(page, edited)
        answers = page.eval_on_selector_all(".msg-assistant .msg-content",
                                            "els => els.map(e => e.innerText)")
        assert answers[1].startswith("Echo: Question number 2, rephrased")
        nav = page.locator(".msg-user").nth(1).locator(".versions")
        assert nav.is_visible()
        assert nav.locator(".ver-label").inner_text() == "2 / 2"
        screenshot(page, "versions-edited")

        # Back to the first version: the old question and everything after it, as it was.
        nav.get_by_role("button", name="Previous version").click()
        wait_thread(page, questions)
        assert page.locator(".msg-user").nth(1).locator(".ver-label").inner_text() == "1 / 2"
        stored = stored_messages(stack, page)
        assert [m["content"] for m in stored if m["role"] == "user"] == questions
        # And forward again.
        page.locator(".msg-user").nth(1).get_by_role("button", name="Next version").click()
        wait_thread(page, edited)
        # Exports carry every branch: each message with its parent and whether it is shown.
        with page.expect_download() as js:
            page.click("#export-btn")
            page.click("#export-json")
        body = json.loads(Path(js.value.path()).read_text())
        # The branch shown (what an import restores), then the rest of the tree.
        assert [m["content"] for m in body["messages"] if m["role"] == "user"] == edited
        assert len(body["other_versions"]) == 6
        every = sorted(body["messages"] + body["other_versions"], key=lambda m: m["seq"])
        assert [m["content"] for m in every if m["role"] == "user"] == [
            *questions, "Question number 2, rephrased"]
        by_id = {m["id"]: m for m in every}
        versions = [m for m in every if m["content"].startswith("Question number 2")]
        assert versions[0]["parent_id"] == versions[1]["parent_id"] is not None
        assert by_id[versions[0]["parent_id"]]["role"] == "assistant"
        with page.expect_download() as md:
            page.click("#export-btn")
            page.click("#export-md")
        text = Path(md.value.path()).read_text()
        assert "## Other versions" in text and "### User\n\nQuestion number 2\n" in text
        assert problems.errors == []


def test_thumbs_down_with_a_comment_is_stored(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        send(page, "What is the capital of Australia?")
        wait_answer_done(page)
        answer = page.locator(".msg-assistant").first
        answer.hover()
        answer.get_by_role("button", name="Bad response").click()
        answer.get_by_role("textbox", name="What was wrong? (optional)").fill(
            "It should be Canberra.")
        answer.get_by_role("button", name="Send feedback").click()
        page.wait_for_selector(".msg-assistant .fb-bad[aria-pressed=true]")
        stored = stored_messages(stack, page)
        assert stored[1]["feedback"] == {"rating": "bad", "comment": "It should be Canberra."}
        # Good response replaces it; pressing it again takes it back.
        answer.get_by_role("button", name="Good response").click()
        page.wait_for_selector(".msg-assistant .fb-good[aria-pressed=true]")
        assert stored_messages(stack, page)[1]["feedback"] == {"rating": "good", "comment": None}
        answer.get_by_role("button", name="Good response").click()
        page.wait_for_selector(".msg-assistant .fb-good[aria-pressed=false]")
        assert stored_messages(stack, page)[1]["feedback"] is None
        assert problems.errors == []


FAKE_SPEECH = """
window.__spoken = [];
window.speechSynthesis.speak = (u) => window.__spoken.push(u.text);
window.SpeechRecognition = class {
  start() { setTimeout(() => { this.onresult?.({ results: [[{ transcript: "dictated words" }]] });
                               this.onend?.(); }, 10); }
  stop() { this.onend?.(); }
};
"""
NO_SPEECH = """
delete window.SpeechRecognition; delete window.webkitSpeechRecognition;
delete window.speechSynthesis; delete window.SpeechSynthesisUtterance;
"""


def test_voice_controls_where_the_browser_has_them(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        context.add_init_script(FAKE_SPEECH)
        page, problems = open_chat(context, stack.ui.url)
        page.get_by_role("button", name="Dictate").click()
        page.wait_for_function("() => document.getElementById('input').value === 'dictated words'")
        assert page.is_enabled("#send")
        page.click("#send")
        wait_answer_done(page)
        page.locator(".msg-assistant").first.get_by_role("button", name="Read aloud").click()
        spoken = page.evaluate("window.__spoken")
        assert spoken and spoken[0].startswith("Echo: dictated words")
        assert problems.errors == []


def test_voice_controls_hidden_without_the_apis(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        context.add_init_script(NO_SPEECH)
        page, problems = open_chat(context, stack.ui.url)
        assert page.is_hidden("#dictate")
        send(page, "No voice here")
        wait_answer_done(page)
        assert page.locator(".act-speak").count() == 0
        assert problems.errors == []


def test_another_tab_follows_an_edit_and_a_version_switch(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        for i, q in enumerate(("First question", "Second question"), 1):
            send(page, q)
            wait_answer_done(page, i)
        other = context.new_page()
        other.goto(page.url)
        wait_thread(other, ["First question", "Second question"])
        first = page.locator(".msg-user").first
        first.hover()
        first.get_by_role("button", name="Edit").click()
        page.fill(".edit-area", "First question, again")
        page.click(".edit-box .btn.primary")
        wait_thread(page, ["First question, again"])
        wait_thread(other, ["First question, again"])  # the other tab re-read the branch
        page.locator(".msg-user").first.get_by_role("button", name="Previous version").click()
        wait_thread(page, ["First question", "Second question"])
        wait_thread(other, ["First question", "Second question"])
        assert problems.errors == []
