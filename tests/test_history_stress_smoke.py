"""Smoke run of the history store benchmark (``stress_tests/database_test.py --quick``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT


@pytest.mark.mongo
@pytest.mark.timeout(240)
def test_database_benchmark_quick(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "stress_tests.database_test", "--quick",
         "--results-dir", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=200, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((tmp_path / "database.json").read_text())
    assert result["quick"] is True
    assert result["inserts_per_second"] > 0
    assert set(result["stores"]) == {"sqlite", "mongo"}
    for store in result["stores"].values():
        assert [row["messages"] for row in store["sizes"]] == [1, 1000]
        for row in store["sizes"]:
            assert row["gapless"] is True
            assert row["sequential"]["inserts"] > 0
            assert row["concurrent"]["inserts"] > 0
            assert row["read_last_50"]["reads"] > 0
            assert row["read_last_50"]["read_ms"]["p50"] > 0
        assert store["throughput"]["inserts"] > 0
    assert "results:" in run.stdout
