"""The chat page's conversations (Debian's chromium, the whole system): the sidebar's search,
rename, delete with undo, links and recency groups; export as Markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.stack import Stack

from .chat_support import expected_answer
from .pw import (
    browser,
    conversation_id,
    open_chat,
    screenshot,
    send,
    wait_answer_done,
    wait_connected,
)

pytestmark = pytest.mark.browser


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
