"""`make run`'s terminal (issue 19): readable console logs, the model join's progress bar, and a
clear message when Node.js or npm is missing. Unit tests of single functions; the whole
`make run` is driven by tests/test_make_run.py."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
from pathlib import Path

import pytest
from chatbot_common.logging import ConsoleFormatter, JsonFormatter
from chatbot_common.settings import ServiceSettings
from llm_service import model_weights

from tests.support.processes import REPO_ROOT


def record(msg: str, **extra: object) -> logging.LogRecord:
    r = logging.LogRecord("x", logging.INFO, __file__, 1, msg, None, None)
    r.__dict__.update(extra)
    return r


def test_console_format_is_one_readable_line_per_event() -> None:
    line = ConsoleFormatter("chat_service", colour=False).format(
        record("answer done", conversation_id="c1", color_message="ignored"))
    assert "\n" not in line
    assert line[12:] == " chat    INFO  answer done  conversation_id=c1"
    coloured = ConsoleFormatter("llm_service", colour=True).format(record("hi"))
    assert "\033[33mllm    \033[0m" in coloured  # each service its own colour


def test_json_stays_the_default() -> None:
    assert ServiceSettings().log_format == "json"
    entry = json.loads(JsonFormatter("ui").format(record("hi", k=1)))
    assert (entry["msg"], entry["k"], entry["service"]) == ("hi", 1, "ui")


def test_progress_renders_as_a_bar() -> None:
    fmt = ConsoleFormatter("llm", colour=False)
    assert "[############............]  50%" in fmt.format(record("joining", progress=0.5))
    assert "[########################] 100%" in fmt.format(record("joined", progress=1.0))


def test_model_join_reports_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    parts = []
    for i in range(4):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(bytes([i]) * 3000)
        parts.append(part)
    whole = b"".join(p.read_bytes() for p in parts)
    spec = model_weights.LocalModelSpec("tiny", "tiny", "none", 4, len(whole),
                                        hashlib.sha256(whole).hexdigest(), 512)
    monkeypatch.setattr(model_weights, "part_files", lambda _spec: parts)
    monkeypatch.setattr(model_weights, "_CHUNK", 1000)
    with caplog.at_level(logging.INFO, logger=model_weights.__name__):
        path = model_weights.assemble(spec, tmp_path / "cache")
    assert path.read_bytes() == whole
    steps = [r.progress for r in caplog.records if hasattr(r, "progress")]
    assert steps[0] == 0.0 and steps[-1] == 1.0
    assert len(steps) >= 8 and steps == sorted(steps)  # about one line per 10%


def test_a_missing_node_is_named(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to("/usr/bin/dirname")
    result = subprocess.run(["/bin/bash", str(REPO_ROOT / "scripts/setup.sh"), "web"],
                            env={**os.environ, "PATH": str(bin_dir)}, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1
    assert "Node.js 20+ and npm are needed" in result.stderr
    assert "command not found" not in result.stderr
