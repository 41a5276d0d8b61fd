"""Smoke runs of the stress scripts (--quick) against the session's running stack.

The scripts reuse the ``stack`` fixture (``_harness.ATTACH``) instead of starting their own
system; results go to a temporary directory. Speed targets are not asserted here: the
benchmarks report them in results/*.json (`make bench`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stress_tests import (
    _harness,
    api_gateway_test,
    long_conversation_test,
    stream_benchmark,
    websocket_test,
)
from tests.support.stack import Stack


@pytest.fixture
def attached(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    monkeypatch.setattr(_harness, "ATTACH", stack)
    monkeypatch.setattr(_harness, "RESULTS_DIR", tmp_path)
    return stack


def test_stream_benchmark_quick(attached: Stack, tmp_path: Path) -> None:
    data = stream_benchmark.main(["--quick"])
    assert (tmp_path / "stream_benchmark.json").exists()
    assert {lv["system"] for lv in data["levels"]} == {"system", "relay"}  # side by side
    for level in data["levels"]:
        assert level["failed"] == 0, level["failures"]
        assert level["completed"] == level["concurrency"] and level["refused"] == 0
        assert level["text_mismatches"] == 0
        assert level["lost"] == (0 if level["system"] == "system" else None)
        assert level["tokens_relayed"] > 0 and level["cpu_us_per_token"] > 0
        assert level["added_ttft_ms"]["count"] == level["concurrency"]
    assert [r["ratio"] > 0 for r in data["ratios"]] == [True, True]


def test_websocket_test_quick(attached: Stack) -> None:
    data = websocket_test.main(["--quick"])
    assert data["connected"] == 200 and data["failed"] == 0
    assert data["alive_after_chat"] == 200
    assert data["chat_while_loaded"]["complete"] == data["chat_while_loaded"]["answers"] == 2
    assert data["bytes_per_idle_connection"] is not None


def test_long_conversation_quick(attached: Stack) -> None:
    data = long_conversation_test.main(["--quick"])
    assert data["failed_turns"] == 0, data["failures"]
    assert set(data["answer_ms_at"]) == {"10"}  # turn 10 of 20
    assert data["history_load_ms_at"]
    assert data["upstream_prompt_words"]["count"] > 0


def test_api_gateway_quick(attached: Stack) -> None:
    data = api_gateway_test.main(["--quick"])
    for label in ("direct", "via_proxy"):
        assert data[label]["http"]["errors"] == 0
        assert data[label]["socketio"]["errors"] == 0, data[label]["socketio"]["error_examples"]
        assert data[label]["socketio"]["ttft_ms"]["count"] == 3
