"""The chat page renders model output as Markdown with the real libraries, and never runs
what the model wrote (Debian's chromium, the whole system)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stack import Stack

from .pw import browser, open_chat, send, wait_answer_done

pytestmark = pytest.mark.browser


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
