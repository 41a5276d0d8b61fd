"""Render the web app manifest's icons (services/ui_service/web/static/icons) from the
favicon's design with Debian's chromium: ``uv run python scripts/pwa_icons.py``."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "services/ui_service/web/static/icons"
GRADIENT = (
    '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
    '<stop offset="0" stop-color="#6366f1"/><stop offset="1" stop-color="#06b6d4"/>'
    "</linearGradient></defs>"
)
BUBBLE = (
    '<path d="M9 11.5a3 3 0 0 1 3-3h8a3 3 0 0 1 3 3v6a3 3 0 0 1-3 3h-5l-4 3v-3a3 3 0 0 1-2-3z"'
    ' fill="#fff"/><circle cx="13" cy="14.5" r="1.3" fill="#6366f1"/>'
    '<circle cx="19" cy="14.5" r="1.3" fill="#6366f1"/>'
)
SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">{}</svg>'
#: "any": the rounded favicon; "maskable": full-bleed, the bubble inside the 80 % safe zone.
ANY = SVG.format(f'{GRADIENT}<rect width="32" height="32" rx="8" fill="url(#g)"/>{BUBBLE}')
MASKABLE = SVG.format(
    f'{GRADIENT}<rect width="32" height="32" fill="url(#g)"/>'
    f'<g transform="translate(3.2 3.2) scale(0.8)">{BUBBLE}</g>'
)
ICONS = (
    ("icon-192.png", ANY, 192),
    ("icon-512.png", ANY, 512),
    ("maskable-512.png", MASKABLE, 512),
    ("apple-touch-icon.png", MASKABLE, 180),
)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox"])
        for name, svg, size in ICONS:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(
                "<style>html,body{margin:0;background:transparent}"
                f"svg{{display:block;width:{size}px;height:{size}px}}</style>{svg}"
            )
            page.screenshot(path=str(OUT / name), omit_background=True)
        browser.close()


if __name__ == "__main__":
    main()
