"""The chat service as a real process beside real history and LLM services (fake upstream),
and what its tests say to it.

Tokens are issued with the shared secret (the UI service is not needed here); a
python-socketio client drives the contract's events.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatbot_common.tokens import issue_guest_token

from tests.support.chat_client import ChatClient
from tests.support.processes import Proc, start_process, start_service

SECRET = "chat-test-secret-of-at-least-32-bytes"
INTERNAL = "chat-test-internal"


@dataclass
class System:
    upstream: Proc
    history: Proc
    llm: Proc
    chat: Proc

    def token(self, user_id: str | None = None, ttl: int = 600) -> str:
        return issue_guest_token(SECRET, ttl, user_id)[0]

    async def client(self, user_id: str | None = None, chat: Proc | None = None) -> ChatClient:
        return await ChatClient((chat or self.chat).url, self.token(user_id)).connect()

    def stop(self) -> None:
        for p in (self.chat, self.llm, self.history, self.upstream):
            p.stop()

    def start_chat(self, **env: str) -> Proc:
        """Another chat service process on the same history and LLM services."""
        return start_service("chat_service", env={**self.chat.env, **env})

    async def astart_chat(self, **env: str) -> Proc:
        """``start_chat`` in a thread: connected clients keep answering pings meanwhile."""
        return await asyncio.to_thread(self.start_chat, **env)


def start_system(state: Path, upstream_env: dict[str, str], chat_env: dict[str, str]) -> System:
    common = {"STATE_DIR": str(state), "INTERNAL_TOKEN": INTERNAL, "AUTH_SECRET": SECRET}
    started: list[Proc] = []
    try:
        upstream = start_process(
            "fake_upstream",
            [sys.executable, "-m", "tests.support.fake_upstream"],
            env=upstream_env,
            health_path="/v1/models",
        )
        started.append(upstream)
        history = start_service("history_service", env=common)
        started.append(history)
        llm = start_service(
            "llm_service",
            env={**common, "LLM_BASE_URL": upstream.url + "/v1", "LLM_API_KEY": "test",
                 "LLM_MODEL": "fake/echo-1"},
        )
        started.append(llm)
        chat = start_service(
            "chat_service",
            env={**common, "LLM_SERVICE_URL": llm.url + "/v1",
                 "HISTORY_SERVICE_URL": history.url, **chat_env},
        )
    except BaseException:
        for p in reversed(started):
            p.stop()
        raise
    return System(upstream, history, llm, chat)


def assert_error(ack: dict[str, Any], code: str) -> None:
    assert ack.get("ok") is False, ack
    assert ack["error"]["code"] == code, ack
    assert ack["error"]["message"]


async def conversation(c: ChatClient, **fields: Any) -> str:
    return str((await c.ok("conversation.create", fields))["conversation"]["id"])


async def send(c: ChatClient, cid: str, content: str, cmid: str | None = None) -> dict[str, Any]:
    payload = {"conversation_id": cid, "client_message_id": cmid or uuid.uuid4().hex,
               "content": content}
    return (await c.ok("message.send", payload))["message"]


async def messages(c: ChatClient, cid: str) -> list[dict[str, Any]]:
    return list((await c.ok("conversation.get", {"conversation_id": cid}))["messages"])


def assert_contiguous(deltas: list[dict[str, Any]], start: int = 0) -> None:
    assert [d["index"] for d in deltas] == list(range(start, start + len(deltas)))
