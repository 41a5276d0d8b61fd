"""The chat page's look and choices (Debian's chromium, the whole system): a narrow screen in
dark mode, German from the browser, the model picker and the system prompt."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import pytest

from tests.support.stack import Stack

from .pw import (
    browser,
    conversation_id,
    open_chat,
    screenshot,
    send,
    user_id,
    wait_answer_done,
    wait_connected,
)

pytestmark = pytest.mark.browser


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
