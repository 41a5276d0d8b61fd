"""`make run`'s supervisor, as a user runs it: embedded defaults, the real local model, Ctrl-C.

No API key, no MongoDB, no Docker: history in SQLite under STATE_DIR, a generated AUTH_SECRET
kept there, the built-in local model answering. The page's URL is printed only once every
service is ready: a message sent the moment it appears is answered. After Ctrl-C (SIGINT) every
service stops; started again on the same state, the conversation and its messages are still
there and the same guest token still works.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.support.chat_client import ChatClient
from tests.support.processes import REPO_ROOT, Proc, free_port, start_process

# Keys that would make the LLM service use an upstream instead of the local model.
NO_UPSTREAM = {
    "LLM_API_KEY": "",
    "NVIDIA_API_KEY": "",
    "LLM_BASE_URL": "",
    "MONGODB_URI": "",
    "AUTH_SECRET": "",
    "INTERNAL_TOKEN": "",
    "REDIS_URL": "",
}


class LocalRun:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.ports = {
            name: free_port() for name in ("UI_PORT", "CHAT_PORT", "LLM_PORT", "HISTORY_PORT")
        }
        self.proc: Proc | None = None

    def start(self) -> Proc:
        env = {
            **NO_UPSTREAM,
            "STATE_DIR": str(self.state_dir),
            **{k: str(v) for k, v in self.ports.items()},
        }
        env.pop("LLM_BASE_URL")  # unset: the default NVIDIA endpoint, with no key
        self.proc = start_process(
            "make-run",
            [sys.executable, str(REPO_ROOT / "scripts" / "run_local.py")],
            port=self.ports["UI_PORT"],
            env=env,
            health_path=None,  # only started: the test waits for the URL, as a user does
            timeout=300,
        )
        self.wait_for_url(600)  # the local model loads first: slow on a cold, busy machine
        return self.proc

    def wait_for_url(self, timeout: float) -> None:
        """Until make run prints the page's URL (every service ready by then)."""
        assert self.proc is not None
        url = f"chat page: http://localhost:{self.ports['UI_PORT']}"
        deadline = time.monotonic() + timeout
        while url not in self.proc.log():
            assert self.proc.alive(), self.proc.log()[-3000:]
            assert time.monotonic() < deadline, f"no URL after {timeout}s:\n{self.proc.log()}"
            time.sleep(0.05)

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{self.ports['UI_PORT']}"

    @property
    def chat(self) -> str:
        return f"http://127.0.0.1:{self.ports['CHAT_PORT']}"

    def ctrl_c(self) -> int | None:
        assert self.proc is not None
        return self.proc.stop(signal.SIGINT, timeout=40)


@pytest.fixture
def local_run(tmp_path: Path) -> Iterator[LocalRun]:
    run = LocalRun(tmp_path / "state")
    try:
        yield run
    finally:
        if run.proc is not None:
            run.proc.stop(signal.SIGINT, timeout=40)


async def test_make_run_answers_locally_and_keeps_conversations(local_run: LocalRun) -> None:
    local_run.start()
    # The moment the URL is printed, as a user who types at once: nothing awaited in between.
    token = httpx.post(local_run.ui + "/auth/guest").json()["token"]
    c = await ChatClient(local_run.chat, token).connect()
    try:
        cid = (await c.ok("conversation.create", {}))["conversation"]["id"]
        await c.ok(
            "message.send",
            {
                "conversation_id": cid,
                "client_message_id": "q1",
                "content": "What is the capital of France? One word.",
            },
        )
        [done] = await c.wait_done(cid, timeout=120)
    finally:
        await c.close()
    assert done["status"] == "complete"
    assert "paris" in done["content"].lower()  # a real model, not a canned reply
    config = httpx.get(local_run.ui + "/config.json").json()
    assert config["chat_url"].endswith(f":{local_run.ports['CHAT_PORT']}")
    assert "<html" in httpx.get(local_run.ui + "/").text.lower()
    history = f"http://127.0.0.1:{local_run.ports['HISTORY_PORT']}/v1/conversations"
    assert httpx.get(history, headers={"X-User-Id": "x"}).status_code == 401  # internal only
    log = local_run.proc.log() if local_run.proc else ""
    # The console format: one readable line per event, no JSON; each caller's own token.
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{3} (ui|chat|llm|history) +INFO ", log, re.M), log[-2000:]
    assert not re.search(r'^\{"ts"', log, re.M)
    for name in ("chat_internal_token", "ui_internal_token", "auth_secret"):
        assert (local_run.state_dir / name).stat().st_mode & 0o777 == 0o600, name

    assert local_run.ctrl_c() == 0  # a clean stop, not the SIGKILL after the 40 s wait
    assert not local_run.proc or not local_run.proc.alive()
    for var in ("UI_PORT", "CHAT_PORT", "LLM_PORT", "HISTORY_PORT"):  # every service stopped
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{local_run.ports[var]}/healthz", timeout=2)

    local_run.start()
    c = await ChatClient(local_run.chat, token).connect()  # the same token still works
    try:
        got = await c.ok("conversation.get", {"conversation_id": cid})
    finally:
        await c.close()
    assert [m["role"] for m in got["messages"]] == ["user", "assistant"]
    assert got["messages"][1]["content"] == done["content"]
    assert (local_run.state_dir / "history.sqlite3").is_file()
