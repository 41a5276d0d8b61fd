"""Finding 11: smaller leaks.

- ``/docs`` and ``/openapi.json`` answer nothing unless API_DOCS is set (development).
- The embedded store (``history.sqlite3`` and its WAL) and every generated secret are
  readable by their owner only (0600), in a state directory of mode 0700.
- docs/security.md no longer claims that ``make run`` sets no INTERNAL_TOKEN.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx2 as httpx

from tests.support.processes import REPO_ROOT, Proc, start_service


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_api_docs_off_and_state_private(tmp_path: Path) -> None:
    state = tmp_path / "state"  # created by the services themselves
    env = {"STATE_DIR": str(state)}
    old_umask = os.umask(0o022)  # what a default shell gives `make run`
    try:
        procs: list[Proc] = [
            start_service("history_service", env=env),
            start_service("ui_service", env={**env, "LLM_SERVICE_URL": ""}),
            start_service("llm_service", env={**env, "LLM_BASE_URL": "http://127.0.0.1:9/v1",
                                              "LLM_API_KEY": "unused"}),
            start_service("chat_service", env=env),
        ]
    finally:
        os.umask(old_umask)
    try:
        for proc in procs:
            for path in ("/docs", "/openapi.json", "/redoc"):
                r = httpx.get(proc.url + path, timeout=10)
                assert r.status_code == 404, (proc.name, path, r.status_code)
        created = httpx.post(procs[0].url + "/v1/conversations", json={"title": "t"},
                             headers={"X-User-Id": "guest-leak"}, timeout=10)
        assert created.status_code == 201, created.text
        files = [state / "history.sqlite3", state / "history.sqlite3-wal", state / "auth_secret"]
        for path in files:
            assert mode(path) == 0o600, (path.name, oct(mode(path)))
        assert mode(state) == 0o700, oct(mode(state))
    finally:
        for proc in procs:
            proc.stop()


def test_security_doc_tells_the_truth_about_make_run() -> None:
    doc = (REPO_ROOT / "docs" / "security.md").read_text()
    assert "`make run` sets no `INTERNAL_TOKEN`" not in doc
    assert "INTERNAL_TOKEN" in doc
