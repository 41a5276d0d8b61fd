"""Math rendered with KaTeX inside the strict CSP, and the installable web app (manifest,
icons, 360 px): Debian's chromium against the whole system."""

from __future__ import annotations

import io
from pathlib import Path

import httpx2 as httpx
import pytest
from PIL import Image

from tests.support.stack import Stack

from .pw import browser, open_chat, screenshot, send, wait_answer_done

pytestmark = pytest.mark.browser


def test_formulas_render_as_math(stack: Stack, tmp_path: Path) -> None:
    # The fake upstream echoes the question's first six words: the formulas come back.
    question = r"$E=mc^2$ and $$\int_0^1 x\,dx$$ \(a^2+b^2\) costs $5 or $10 [tokens:12]"
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        send(page, question)
        wait_answer_done(page)
        answer = page.locator(".msg-assistant .markdown")
        # KaTeX's DOM: inline formulas, one display formula, MathML for screen readers.
        assert answer.locator(".math-inline .katex").count() == 2
        assert answer.locator(".math-display .katex-display").count() == 1
        annotations = answer.locator("annotation").evaluate_all(
            "els => els.map(e => e.textContent)")
        assert annotations == ["E=mc^2", r"\int_0^1 x\,dx", "a^2+b^2"]
        assert answer.locator(".katex-html .mord").count() > 5
        # The stylesheet and its fonts load from /vendor under the CSP (no violation).
        page.evaluate("() => document.fonts.ready")
        assert page.evaluate("() => document.fonts.check('16px KaTeX_Main')")
        family = page.evaluate(
            "() => getComputedStyle(document.querySelector('.katex')).fontFamily")
        assert "KaTeX_Main" in family
        screenshot(page, "math")
        assert problems.errors == []


def test_money_is_not_math(stack: Stack, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as context:
        page, problems = open_chat(context, stack.ui.url)
        send(page, "It costs $5 or $10 today [tokens:8]")
        wait_answer_done(page)
        answer = page.locator(".msg-assistant .markdown")
        assert answer.locator(".katex").count() == 0
        assert "It costs $5 or $10 today" in answer.inner_text()
        assert problems.errors == []


def test_installable_web_app(stack: Stack, tmp_path: Path) -> None:
    manifest = httpx.get(stack.ui.url + "/static/manifest.json", timeout=10)
    assert manifest.status_code == 200
    body = manifest.json()
    assert body["start_url"] == "/" and body["display"] == "standalone"
    sizes = {}
    for icon in body["icons"]:
        r = httpx.get(stack.ui.url + icon["src"], timeout=10)
        assert r.status_code == 200, icon
        if icon["type"] == "image/png":
            sizes[icon["purpose"], icon["sizes"]] = Image.open(io.BytesIO(r.content)).size
    assert sizes == {("any", "192x192"): (192, 192), ("any", "512x512"): (512, 512),
                     ("maskable", "512x512"): (512, 512)}
    with browser(tmp_path / "profile", width=360, height=740) as context:
        page, problems = open_chat(context, stack.ui.url)
        cdp = context.new_cdp_session(page)
        parsed = cdp.send("Page.getAppManifest")
        assert parsed["url"].endswith("/static/manifest.json")
        assert parsed["errors"] == [], parsed["errors"]
        send(page, "A phone-sized question [tokens:20]")
        wait_answer_done(page)
        # Every control of the top bar and the composer fits at 360 px.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
        for selector in ("#share-btn", "#export-btn", "#send"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["x"] + box["width"] <= 360, selector
        screenshot(page, "pwa-360")
        assert problems.errors == []
