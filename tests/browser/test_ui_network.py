"""The page on a slow, lossy link: throttled like a poor mobile connection, and offline for a while.

Chromium's DevTools protocol throttles the page's own traffic (HTTP and the Socket.IO
websocket); the services run unthrottled as real processes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import CDPSession, Page

from tests.support.fake_upstream import answer_tokens
from tests.support.stack import Stack

from .pw import assistant_texts, browser, send, wait_answer_done, wait_connected

pytestmark = pytest.mark.browser

SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 50_000,
    "uploadThroughput": 20_000,
}


def throttle(page: Page, **conditions: object) -> CDPSession:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {**SLOW_3G, **conditions})
    return cdp


def test_page_loads_and_streams_on_a_throttled_link(stack: Stack, tmp_path: Path) -> None:
    question = "Slow network answer please [tokens:60]"
    with browser(tmp_path / "profile") as context:
        page = context.new_page()
        throttle(page)
        started = time.monotonic()
        page.goto(stack.ui.url, timeout=90_000)
        wait_connected(page)
        load_seconds = time.monotonic() - started
        send(page, question)
        wait_answer_done(page, timeout=90_000)
        assert assistant_texts(page) == [" ".join(answer_tokens(question, 60))]
        # 400 ms of latency per round trip is felt, but the page stays usable.
        assert load_seconds > 0.4


def test_page_recovers_after_going_offline_mid_answer(stack: Stack, tmp_path: Path) -> None:
    question = "Offline for a moment [tokens:400]"
    with browser(tmp_path / "profile") as context:
        page = context.new_page()
        page.goto(stack.ui.url)
        wait_connected(page)
        send(page, question)
        page.wait_for_selector(".msg.streaming")
        cdp = throttle(page, offline=True, latency=0, downloadThroughput=-1, uploadThroughput=-1)
        context.set_offline(True)  # also drops the open websocket
        page.wait_for_selector("#conn:not([data-state=connected])", timeout=30_000)
        time.sleep(2)
        context.set_offline(False)
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        page.wait_for_selector("#conn[data-state=connected]", timeout=60_000)
        wait_answer_done(page, timeout=90_000)
        # The answer completed on the server while the page was away; the page shows it whole.
        assert assistant_texts(page) == [" ".join(answer_tokens(question, 400))]
