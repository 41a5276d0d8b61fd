"""The charts built once for the chart tests, and their renders (each chart's defaults
and the umbrella with each CI scenario)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.charts_support import ALL_CHARTS, CI_VALUES, built_charts, render


@pytest.fixture(scope="package")
def charts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_charts(tmp_path_factory.mktemp("helm"))


def renders(charts: Path) -> dict[str, list[dict[str, Any]]]:
    out = {f"{c}:default": render(charts, c) for c in ALL_CHARTS}
    out |= {f"chatbot:{v.stem}": render(charts, "chatbot", v) for v in CI_VALUES}
    return out


@pytest.fixture(scope="package")
def rendered(charts: Path) -> dict[str, list[dict[str, Any]]]:
    return renders(charts)
