"""Playwright helpers: Debian's chromium with a per-test profile, screenshots, page waits."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support.processes import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


@contextlib.contextmanager
def browser(
    profile_dir: Path,
    *,
    width: int = 1280,
    height: int = 800,
    color_scheme: str = "light",
    locale: str = "en-US",
) -> Iterator[BrowserContext]:
    """A persistent chromium context in ``profile_dir`` (one per test), closed afterwards."""
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,  # type: ignore[arg-type]
            locale=locale,
            accept_downloads=True,
        )
        context.set_default_timeout(30_000)  # a busy 2-core machine
        try:
            yield context
        finally:
            context.close()


# Chromium aborts every request in flight when the host's network interfaces change (a
# container or cluster pod starting elsewhere on the machine adds a veth): the environment's
# doing, not the page's, so such a load is retried and not counted as a page error.
NETWORK_CHANGED = "ERR_NETWORK_CHANGED"
READY_ATTEMPTS = 3
_PROBLEMS_ATTR = "_chatbot_problems"


class PageProblems:
    """Collects script errors, CSP violations and console errors of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.network_changed: list[str] = []
        # Not errors by themselves (a navigation aborts requests): evidence when a page hangs.
        self.failed_requests: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        page.on("requestfailed", self._request_failed)
        setattr(page, _PROBLEMS_ATTR, self)

    def _console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        where = self.network_changed if NETWORK_CHANGED in msg.text else self.errors
        where.append(f"console: {msg.text}")

    def _request_failed(self, request: Any) -> None:
        line = f"{request.method} {request.url}: {request.failure}"
        if NETWORK_CHANGED in str(request.failure):
            self.network_changed.append(line)
        self.failed_requests.append(line)


def wait_ready(page: Page, problems: PageProblems | None = None) -> None:
    """Wait for the page's boot to finish (``body[data-ready]``). A boot the host's network
    change broke is loaded again (at most ``READY_ATTEMPTS`` loads); on a timeout, say what the
    page was doing: its address, script errors and failed requests."""
    problems = problems or getattr(page, _PROBLEMS_ATTR, None)
    for attempt in range(READY_ATTEMPTS):
        changed_before = len(problems.network_changed) if problems else 0
        try:
            page.wait_for_selector("body[data-ready=true]", timeout=45_000)
            return
        except PlaywrightTimeoutError as exc:
            changed = problems is not None and len(problems.network_changed) > changed_before
            if changed and attempt < READY_ATTEMPTS - 1:
                page.reload()
                continue
            seen = (problems.errors + problems.failed_requests) if problems else []
            raise AssertionError(f"page not ready in 45 s at {page.url}; seen: {seen}") from exc


def open_chat(context: BrowserContext, url: str) -> tuple[Page, PageProblems]:
    """Open the page and wait until it is connected to the chat service."""
    page = context.pages[0] if context.pages else context.new_page()
    problems = PageProblems(page)
    page.goto(url)
    wait_ready(page, problems)
    wait_connected(page)
    return page, problems


def wait_connected(page: Page) -> None:
    wait_ready(page)
    page.wait_for_selector("#conn[data-state=connected]")


def send(page: Page, text: str) -> None:
    page.fill("#input", text)
    page.keyboard.press("Enter")


def wait_answer_done(page: Page, count: int = 1, timeout: float = 60_000) -> None:
    """Wait until ``count`` assistant messages are shown and none is streaming."""
    page.wait_for_function(
        """n => document.querySelectorAll('.msg-assistant').length >= n
             && !document.querySelector('.msg.streaming')
             && !document.querySelector('.msg.pending')""",
        arg=count,
        timeout=timeout,
    )


def wait_streaming_text(page: Page, min_chars: int) -> None:
    """Wait until an answer is streaming and shows more than ``min_chars`` characters."""
    page.wait_for_function(
        "n => (document.querySelector('.msg.streaming .markdown')?.innerText || '').length > n",
        arg=min_chars,
    )


def assistant_texts(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        ".msg-assistant .msg-content", "els => els.map(e => e.innerText)"
    )


def conversation_id(page: Page) -> str:
    path = page.evaluate("location.pathname")
    assert path.startswith("/c/"), path
    return str(path[3:])


def user_id(page: Page) -> str:
    """The ``sub`` of the guest token the page keeps in localStorage."""
    token = page.evaluate("localStorage.getItem('chatbot.token')")
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return str(claims["sub"])


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
