"""The chat page in Debian's chromium against the whole system (real processes, fake upstream).

The fake upstream answers ``Echo:`` + the first six words of the question, then ``w1 w2 …``;
``[tokens:N]`` in a question sets the answer's length (5 ms per token in the stack).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from chatbot_common.tokens import ALGORITHM, AUDIENCE, ISSUER
from playwright.sync_api import Page

from tests.support.fake_upstream import answer_tokens
from tests.support.holds import Hold
from tests.support.stack import Stack

from .pw import (
    assistant_texts,
    browser,
    conversation_id,
    open_chat,
    screenshot,
    send,
    user_id,
    wait_answer_done,
    wait_connected,
    wait_streaming_text,
)

pytestmark = pytest.mark.browser


def expected_answer(question: str, tokens: int) -> str:
    return " ".join(answer_tokens(question, tokens))


def stored_messages(stack: Stack, page: Page) -> list[dict[str, Any]]:
    """The open conversation's messages as the history service keeps them."""
    r = httpx.get(
        f"{stack.history.url}/v1/conversations/{conversation_id(page)}/messages",
        headers={"X-User-Id": user_id(page), "Authorization": f"Bearer {stack.internal_token}"},
        timeout=10,
    )
    r.raise_for_status()
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def snapshot_requests(page: Page) -> list[str | bytes]:
    """The conversation.get requests (snapshots) the page sends from now on."""
    sent: list[str | bytes] = []

    def on_frame(frame: str | bytes) -> None:
        if '"conversation.get"' in str(frame):
            sent.append(frame)

    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    return sent


def shows_live_deltas(
    page: Page, snapshots: list[str | bytes], go_on: Hold, pause: Hold, upstream_url: str
) -> None:
    """The answer held at ``go_on`` goes on to ``pause``: meanwhile the page's streaming text
    grows, with no new snapshot. (message.done carries the whole text, and the page re-reads
    an answer silent for 20 s: neither shows that the live deltas are applied.)"""
    shown, read = len(page.inner_text(".msg.streaming .markdown")), len(snapshots)
    go_on.release(upstream_url)
    pause.wait_held_sync(upstream_url)
    wait_streaming_text(page, shown)
    assert len(snapshots) == read, "the text grew by a new snapshot, not by live deltas"


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


def test_model_output_cannot_run_script(stack: Stack, tmp_path: Path) -> None:
    payload = (
        "<img src=x onerror=window.__xss=1> [click](javascript:window.__xss=2) "
        "<script>window.__xss=3</script> ![pic](http://127.0.0.1:9/x.png)"
    )
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        send(page, payload)
        wait_answer_done(page)
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__xss") is None
        markdown = page.locator(".msg-assistant .markdown")
        assert markdown.locator("img, script").count() == 0
        # Raw HTML is shown as text; the javascript: link has no href; no remote image loads.
        assert "<img src=x onerror=window.__xss=1>" in markdown.inner_text()
        assert markdown.locator("a[href^='javascript']").count() == 0
        assert not [u for u in requests if "127.0.0.1:9/" in u]
        link = markdown.locator("a", has_text="pic")
        assert link.get_attribute("rel") == "noopener noreferrer nofollow"


def test_markdown_renderer_in_the_page(stack: Stack, tmp_path: Path) -> None:
    """The page's renderer with the real libraries: code blocks, tables, payloads."""
    source = "\n".join([
        "# Title",
        "```python",
        "print('hi')",
        "```",
        "| a | b |",
        "| - | - |",
        "| 1 | 2 |",
        '<iframe src="javascript:window.__xss=4"></iframe>',
        '<a href="javascript:window.__xss=5">x</a>',
        "",
        "[ok](https://example.org) [bad](javascript:window.__xss=7)",
        "",
        '<svg onload="window.__xss=6"></svg><p class="toast" style="color:red">styled</p>',
    ])
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        result = page.evaluate(
            """async (source) => {
                const { loadLibraries } = await import('/static/js/libs.js');
                const { MarkdownRenderer } = await import('/static/js/markdown.js');
                const renderer = new MarkdownRenderer(await loadLibraries());
                const box = document.createElement('div');
                box.append(renderer.render(source, { final: true }));
                document.body.append(box);
                await new Promise(r => setTimeout(r, 200));
                return {
                    html: box.innerHTML,
                    text: box.innerText,
                    copy: box.querySelectorAll('.code-block .code-copy').length,
                    lang: box.querySelector('.code-lang')?.textContent,
                    highlighted: box.querySelectorAll('.hljs-built_in, .hljs-string').length,
                    dangerous: box.querySelectorAll(
                        'iframe, svg[onload], a[href^="javascript"], [style], .markdown .toast'
                    ).length,
                    tables: box.querySelectorAll('.table-wrap > table td').length,
                    xss: window.__xss ?? null,
                };
            }""",
            source,
        )
        assert result["xss"] is None
        assert result["copy"] == 1 and result["lang"] == "python" and result["highlighted"] >= 1
        assert result["tables"] == 2
        # Raw HTML stays visible as text, never becomes elements.
        assert result["dangerous"] == 0
        assert '<a href="javascript:window.__xss=5">x</a>' in result["text"]
        assert 'href="https://example.org"' in result["html"]
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


def test_sidebar_search_rename_delete_undo_and_links(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        send(page, "First topic about zebras [tokens:12]")
        wait_answer_done(page)
        first = conversation_id(page)
        page.click("#new-chat")
        assert page.evaluate("location.pathname") == "/"
        send(page, "Second topic about penguins [tokens:12]")
        wait_answer_done(page)
        second = conversation_id(page)
        assert page.locator(".conv").count() == 2
        # Search as you type (title or message text).
        page.fill("#search", "zebra")
        page.wait_for_function(
            "() => document.querySelectorAll('.conv').length === 1"
        )
        assert page.get_attribute(".conv", "data-id") == first
        page.fill("#search", "")
        page.wait_for_function("() => document.querySelectorAll('.conv').length === 2")
        # Inline rename by double-click.
        page.dblclick(f".conv[data-id='{first}'] .conv-link")
        page.fill(".rename-input", "Zebra notes")
        page.keyboard.press("Enter")
        page.wait_for_selector(f".conv[data-id='{first}'] >> text=Zebra notes")
        # Delete with undo: comes back; delete for real: gone after a reload too.
        page.hover(f".conv[data-id='{first}']")
        page.click(f".conv[data-id='{first}'] .danger")
        assert page.locator(f".conv[data-id='{first}']").count() == 0
        screenshot(page, "delete-undo")
        page.click(".toast-action")
        page.wait_for_selector(f".conv[data-id='{first}']")
        page.hover(f".conv[data-id='{second}']")
        page.click(f".conv[data-id='{second}'] .danger")
        page.wait_for_selector(".toast", state="detached", timeout=10_000)
        page.wait_for_timeout(300)
        # A link to a conversation opens it (also after the reload).
        page.goto(f"{stack.ui.url}/c/{first}")
        wait_connected(page)
        page.wait_for_selector(".msg-assistant")
        assert page.inner_text("#conv-title") == "Zebra notes"
        # Rename from the header as well.
        page.click("#rename-title")
        page.fill(".title-input", "Zebra facts")
        page.keyboard.press("Enter")
        page.wait_for_selector(f".conv[data-id='{first}'] >> text=Zebra facts")
        assert page.inner_text("#conv-title") == "Zebra facts"
        assert page.locator(".conv").count() == 1
        # A deleted (or foreign) conversation's link says so and returns to a new chat.
        page.goto(f"{stack.ui.url}/c/{second}")
        wait_connected(page)
        page.wait_for_selector(".toast-error")
        assert page.evaluate("location.pathname") == "/"
        assert problems.errors == []


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


def test_narrow_viewport_and_dark_mode(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile", width=360, height=740, color_scheme="dark") as context:
        page, problems = open_chat(context, stack.ui.url)
        assert page.is_hidden("#sidebar") or page.evaluate(
            "() => document.getElementById('sidebar').getBoundingClientRect().right <= 0"
        )
        send(page, "A narrow screen question with a_very_long_unbroken_word_" + "x" * 80)
        wait_answer_done(page)
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= 360
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(255, 255, 255)"
        screenshot(page, "narrow-dark")
        page.click("#open-sidebar")
        page.wait_for_timeout(300)
        left = page.evaluate("() => document.querySelector('#sidebar').getBoundingClientRect().x")
        assert left >= 0
        screenshot(page, "narrow-dark-sidebar")
        page.click("#scrim", position={"x": 350, "y": 400})
        page.wait_for_selector("#scrim", state="hidden")
        page.click("#open-sidebar")
        page.keyboard.press("Escape")  # Esc closes the drawer too
        page.wait_for_selector("#scrim", state="hidden")
        assert problems.errors == []


def test_german_from_the_browser_and_switchable(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile", locale="de-DE") as context:
        page, _ = open_chat(context, stack.ui.url)
        assert page.inner_text("#new-chat") == "Neuer Chat"
        assert page.get_attribute("html", "lang") == "de"
        assert page.inner_text("#conn") == "Verbunden"
        page.select_option("#lang", "en")
        assert page.inner_text("#new-chat") == "New chat"
        page.reload()
        wait_connected(page)
        assert page.inner_text("#new-chat") == "New chat"  # the choice is kept


def test_export_markdown_and_json(stack: Stack, tmp_path: Path) -> None:
    question = "Export this conversation [tokens:8]"
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        send(page, question)
        wait_answer_done(page)
        with page.expect_download() as md:
            page.click("#export-btn")
            page.click("#export-md")
        text = Path(md.value.path()).read_text()
        assert md.value.suggested_filename.endswith(".md")
        assert "## User\n\nExport this conversation [tokens:8]" in text
        assert expected_answer(question, 8) in text
        with page.expect_download() as js:
            page.click("#export-btn")
            page.click("#export-json")
        body = json.loads(Path(js.value.path()).read_text())
        assert body["conversation"]["id"] == conversation_id(page)
        assert [m["role"] for m in body["messages"]] == ["user", "assistant"]


def test_invalid_token_is_replaced_and_the_page_connects(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        first_user = user_id(page)
        # A valid renewal keeps the user: the token is exchanged, conversations stay.
        send(page, "Keep me [tokens:5]")
        wait_answer_done(page)
        forged = (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJndWVzdC14IiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJl"
        )
        page.evaluate("(t) => localStorage.setItem('chatbot.token', t)", forged)
        page.goto(stack.ui.url)
        wait_connected(page)
        # The forged identity is never adopted: the HttpOnly refresh cookie keeps this guest.
        assert user_id(page) == first_user
        # Without that cookie (another browser), a forged token gets a brand-new guest.
        context.clear_cookies()
        page.evaluate("(t) => localStorage.setItem('chatbot.token', t)", forged)
        page.goto(stack.ui.url)
        wait_connected(page)
        assert user_id(page) not in (first_user, "guest-x")
        assert page.locator(".conv").count() == 0


def test_model_picker_and_system_prompt(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        page.click("#chat-settings summary")
        # The models come from the LLM service's /v1/models through the UI service.
        page.wait_for_selector("#model-select option[value='fake/echo-1']", state="attached")
        page.select_option("#model-select", "fake/echo-1")
        page.fill("#system-prompt", "Answer like a pirate.")
        screenshot(page, "chat-settings")
        send(page, "Who are you [tokens:8]")
        wait_answer_done(page)
        assert page.inner_text("#model-badge") == "fake/echo-1"
        r = httpx.get(
            f"{stack.history.url}/v1/conversations/{conversation_id(page)}",
            headers={"X-User-Id": user_id(page), "Authorization": f"Bearer {stack.internal_token}"},
            timeout=10,
        )
        assert r.json()["system_prompt"] == "Answer like a pirate."
        assert r.json()["model"] == "fake/echo-1"
        assert problems.errors == []


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


def test_sidebar_groups_by_recency(stack: Stack, tmp_path: Path) -> None:
    """The sidebar module in the page, given conversations of different ages."""
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        groups = page.evaluate(
            """async () => {
                const { Sidebar } = await import('/static/js/sidebar.js');
                const day = 86400000, now = Date.now();
                const at = (days) => new Date(now - days * day).toISOString();
                const conversations = [0, 1, 3, 20, 400].map((days, i) => (
                    { id: `c${i}`, title: `t${i}`, updated_at: at(days) }));
                const root = document.createElement('nav');
                new Sidebar(root, {}).render({ conversations, results: null, currentId: 'c1' });
                return [...root.querySelectorAll('.group-title')].map((h) => [
                    h.textContent,
                    [...h.nextElementSibling.querySelectorAll('.conv')].map((li) => li.dataset.id),
                ]);
            }"""
        )
        titles = [g[0] for g in groups]
        assert titles[0] == "Today" and titles[-1] == "Older"
        assert [g[1] for g in groups][-1] == ["c4"]
        assert ["c2"] in [g[1] for g in groups if g[0] == "Previous 7 days"]
        assert ["c3"] in [g[1] for g in groups if g[0] == "Previous 30 days"]


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


def test_expired_token_is_renewed_for_the_same_user(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, _ = open_chat(context, stack.ui.url)
        send(page, "Still mine after renewal [tokens:5]")
        wait_answer_done(page)
        owner, cid = user_id(page), conversation_id(page)
        now = int(time.time())
        expired = jwt.encode(
            {"sub": owner, "iss": ISSUER, "aud": AUDIENCE, "iat": now - 8 * 86400,
             "exp": now - 3600, "guest": True},
            stack.auth_secret,
            algorithm=ALGORITHM,
        )
        page.evaluate("(t) => localStorage.setItem('chatbot.token', t)", expired)
        page.goto(stack.ui.url)
        wait_connected(page)
        # The page exchanged the expired token for a fresh one of the same user.
        assert user_id(page) == owner
        assert page.evaluate("localStorage.getItem('chatbot.token')") != expired
        page.wait_for_selector(f".conv[data-id='{cid}']")
