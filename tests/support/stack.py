"""Start the whole system as real processes: fake upstream, history, LLM, chat and UI services.

Used by the end-to-end, browser and stress tests. Every process listens on a free loopback
port; ``Stack.stop()`` stops exactly the processes it started, by PID.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from .processes import Proc, free_port, start_process, start_service

DEFAULT_UPSTREAM_ENV = {"FAKE_TTFT_MS": "20", "FAKE_TOKEN_MS": "5", "FAKE_TOKENS": "30"}


@dataclass
class Stack:
    upstream: Proc
    history: Proc
    llm: Proc
    chat: Proc
    ui: Proc
    state_dir: Path
    auth_secret: str
    internal_token: str  # the chat service's (CHAT_INTERNAL_TOKEN): the internal services' key
    ui_internal_token: str = ""  # the UI's (UI_INTERNAL_TOKEN): the LLM model list only
    extra: list[Proc] = field(default_factory=list)

    @property
    def procs(self) -> list[Proc]:
        return [self.upstream, self.history, self.llm, self.chat, self.ui, *self.extra]

    def guest_token(self) -> tuple[str, str]:
        """A fresh guest ``(token, user_id)`` from the UI service."""
        r = httpx.post(self.ui.url + "/auth/guest", timeout=10)
        r.raise_for_status()
        body = r.json()
        return body["token"], body["user_id"]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def start_stack(
    state_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    upstream_env: Mapping[str, str] | None = None,
    chat_env: Mapping[str, str] | None = None,
    history_env: Mapping[str, str] | None = None,
    llm_env: Mapping[str, str] | None = None,
    ui_env: Mapping[str, str] | None = None,
) -> Stack:
    """Start every service on free ports; ``env`` goes to all of them."""
    state_dir.mkdir(parents=True, exist_ok=True)
    auth_secret = secrets.token_urlsafe(32)
    # One internal token per caller, each service given only its own and its callers' (as the
    # charts and `make run` do).
    internal_token = secrets.token_urlsafe(32)
    ui_internal_token = secrets.token_urlsafe(32)
    chat_key = {"CHAT_INTERNAL_TOKEN": internal_token}
    ui_key = {"UI_INTERNAL_TOKEN": ui_internal_token}
    common = {
        "STATE_DIR": str(state_dir),
        "AUTH_SECRET": auth_secret,
        "LOG_LEVEL": "INFO",
        # Test stacks are development: the OpenAPI documents are served (schemathesis reads
        # them), and one address (127.0.0.1) mints every test's guests.
        "API_DOCS": "true",
        "GUEST_MINTS_PER_MINUTE": "1000000",
        **(env or {}),
    }
    started: list[Proc] = []
    try:
        upstream = start_process(
            "fake_upstream",
            [sys.executable, "-m", "tests.support.fake_upstream"],
            env={**DEFAULT_UPSTREAM_ENV, **(upstream_env or {})},
            health_path="/v1/models",
        )
        started.append(upstream)
        history = start_service(
            "history_service", env={**common, **chat_key, **(history_env or {})}
        )
        started.append(history)
        llm = start_service(
            "llm_service",
            env={
                **common,
                **chat_key,
                **ui_key,
                "LLM_BASE_URL": upstream.url + "/v1",
                "LLM_API_KEY": "test-upstream-key",
                "LLM_MODEL": "fake/echo-1",
                **(llm_env or {}),
            },
        )
        started.append(llm)
        ui_port = free_port()
        chat = start_service(
            "chat_service",
            env={
                **common,
                **chat_key,
                # The page is served by the UI service: its origin is the one allowed.
                "ALLOWED_ORIGINS": f"http://127.0.0.1:{ui_port},http://localhost:{ui_port}",
                "LLM_SERVICE_URL": llm.url + "/v1",
                "HISTORY_SERVICE_URL": history.url,
                **(chat_env or {}),
            },
        )
        started.append(chat)
        ui = start_service(
            "ui_service",
            port=ui_port,
            env={
                **common,
                **ui_key,
                "CHAT_PUBLIC_URL": chat.url,
                "LLM_SERVICE_URL": llm.url + "/v1",
                **(ui_env or {}),
            },
        )
        started.append(ui)
    except BaseException:
        for proc in reversed(started):
            proc.stop()
        raise
    return Stack(
        upstream, history, llm, chat, ui, state_dir, auth_secret, internal_token, ui_internal_token
    )
