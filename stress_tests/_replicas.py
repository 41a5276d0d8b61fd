"""The system with several chat replicas sharing Redis, as real local processes.

Redis (Debian's redis-server, no persistence), the fake upstream, history, LLM and N chat
replicas with ``REDIS_URL`` set; each started on a free loopback port and stopped by PID.
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from stress_tests._harness import LOAD_CHAT_ENV, raise_nofile
from tests.support.processes import Proc, free_port, start_process, start_service, wait_for_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def start_redis(port: int | None = None) -> Proc:
    port = port or free_port()
    return start_process(
        "redis", [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--protected-mode", "yes"],
        port=port, health_path=None,
    )


@dataclass
class Replicas:
    state_dir: Path
    auth_secret: str
    internal_token: str
    redis: Proc
    upstream: Proc
    history: Proc
    llm: Proc
    chats: list[Proc]
    chat_env: dict[str, str] = field(default_factory=dict)
    retired: list[Proc] = field(default_factory=list)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis.port}/0"

    def common(self) -> dict[str, str]:
        return {"STATE_DIR": str(self.state_dir), "AUTH_SECRET": self.auth_secret,
                "INTERNAL_TOKEN": self.internal_token, "LOG_LEVEL": "INFO"}

    def start_chat(self, port: int | None = None) -> Proc:
        return start_service("chat_service", port=port, env={
            **self.common(), "ALLOWED_ORIGINS": "*", "REDIS_URL": self.redis_url,
            "LLM_SERVICE_URL": self.llm.url + "/v1", "HISTORY_SERVICE_URL": self.history.url,
            **self.chat_env})

    def restart_chat(self, i: int, sig: int = signal.SIGTERM) -> Proc:
        """Stop replica ``i`` (if still alive) and start a new one on the same port."""
        old = self.chats[i]
        old.stop(sig)
        self.retired.append(old)
        self.chats[i] = self.start_chat(port=old.port)
        return self.chats[i]

    def restart_redis(self, down_seconds: float = 0.5) -> float:
        """SIGKILL Redis and start an empty one on the same port; return seconds it was down."""
        t0 = time.monotonic()
        self.redis.kill()
        self.retired.append(self.redis)
        time.sleep(down_seconds)
        self.redis = start_redis(self.redis.port)
        wait_for_port(self.redis.port)
        return time.monotonic() - t0

    def restart_service(self, name: str) -> Proc:
        """SIGKILL the history or LLM process and start it again on the same port."""
        old: Proc = getattr(self, name)
        old.kill()
        self.retired.append(old)
        module = f"{name}_service"
        new = start_service(module, port=old.port, env=old.env)
        setattr(self, name, new)
        return new

    @property
    def procs(self) -> list[Proc]:
        return [self.redis, self.upstream, self.history, self.llm, *self.chats]

    def stop(self) -> None:
        for p in reversed(self.procs + self.retired):
            p.stop()


def start_replicas(state_dir: Path, n_chat: int = 3, upstream_env: dict[str, str] | None = None,
                   chat_env: dict[str, str] | None = None) -> Replicas:
    raise_nofile()
    state_dir.mkdir(parents=True, exist_ok=True)
    started: list[Proc] = []
    try:
        redis = start_redis()
        started.append(redis)
        upstream = start_process(
            "fake_upstream", [sys.executable, "-m", "tests.support.fake_upstream"],
            env=upstream_env or {}, health_path="/v1/models")
        started.append(upstream)
        secret, internal = "chaos-auth-secret-" + state_dir.name, "chaos-internal-" + state_dir.name
        common = {"STATE_DIR": str(state_dir), "AUTH_SECRET": secret, "INTERNAL_TOKEN": internal,
                  "LOG_LEVEL": "INFO"}
        history = start_service("history_service", env=common)
        started.append(history)
        llm = start_service("llm_service", env={
            **common, "LLM_BASE_URL": upstream.url + "/v1", "LLM_API_KEY": "chaos-key",
            "LLM_MODEL": "fake/echo-1"})
        started.append(llm)
        rep = Replicas(state_dir, secret, internal, redis, upstream, history, llm, [],
                       {**LOAD_CHAT_ENV, **(chat_env or {})})
        for _ in range(n_chat):
            rep.chats.append(rep.start_chat())
            started.append(rep.chats[-1])
    except BaseException:
        for p in reversed(started):
            p.stop()
        raise
    return rep
