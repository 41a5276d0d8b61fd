"""Without `npm ci` the page says what to do instead of staying blank."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ui_service.settings import DEFAULT_WEB_DIR

from tests.support.processes import start_service

from .pw import PageProblems, browser, screenshot

pytestmark = pytest.mark.browser


def test_page_explains_missing_npm_libraries(tmp_path: Path) -> None:
    web = tmp_path / "web"
    shutil.copytree(DEFAULT_WEB_DIR / "static", web / "static")  # no node_modules
    ui = start_service(
        "ui_service",
        env={"WEB_DIR": str(web), "STATE_DIR": str(tmp_path / "state"), "LLM_SERVICE_URL": ""},
    )
    try:
        with browser(tmp_path / "profile") as context:
            page = context.new_page()
            PageProblems(page)
            page.goto(ui.url)
            page.wait_for_selector("#boot-hint", state="visible")
            assert "npm ci --prefix services/ui_service/web" in page.inner_text("#boot-hint")
            screenshot(page, "missing-libraries")
        assert "npm ci --prefix services/ui_service/web" in ui.log()
    finally:
        ui.stop()
