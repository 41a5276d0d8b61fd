"""Smoke run of the locust profile: headless for a few seconds against the running stack."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from tests.support.processes import REPO_ROOT
from tests.support.stack import Stack

LOCUSTFILE = REPO_ROOT / "stress_tests" / "locust" / "locustfile.py"


# 20 s: on a busy machine locust wrote an empty stats file after 8 s (users still starting).
def test_locust_headless_writes_stats(stack: Stack, tmp_path: Path) -> None:
    prefix = tmp_path / "locust"
    proc = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", "6",
         "-r", "6", "-t", "20s", "--host", stack.ui.url, "--csv", str(prefix), "--only-summary",
         "--stop-timeout", "10", "--loglevel", "WARNING"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    stats = Path(f"{prefix}_stats.csv")
    assert stats.exists(), proc.stderr[-2000:]
    with stats.open() as f:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(f)}
    # the page visitors and the chatting users both ran, and time to first token was measured
    assert int(rows[("GET", "/")]["Request Count"]) > 0
    assert int(rows[("sio", "connect")]["Request Count"]) > 0
    assert int(rows[("sio", "ttft")]["Request Count"]) > 0
    assert int(rows[("sio", "answer")]["Request Count"]) > 0
    failures = {k: r["Failure Count"] for k, r in rows.items() if int(r["Failure Count"])}
    assert not failures, (failures, proc.stderr[-2000:])
