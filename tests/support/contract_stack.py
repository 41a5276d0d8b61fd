"""The whole system as real processes on each history store, for the end-to-end tests of
../shared/CONTRACT.md (tests/test_contract_e2e.py, versions, shares), and what they say to it.

``stack`` and ``slow_stack`` are module-scoped fixtures parametrised by ``store_env``: a
test module that imports them runs each of its tests against every store.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_client import ChatClient
from tests.support.mongo_server import STORES, MongoServer
from tests.support.stack import Stack, start_stack


@pytest.fixture(scope="module", params=STORES)
def store_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Every test here runs against each history store: embedded SQLite, MongoDB-wire
    (FerretDB) and, when ``MONGODB_TEST_URI`` is set, that real MongoDB (a new database)."""
    if request.param == "sqlite":
        yield {}
    elif request.param == "mongo-external":
        yield {
            "MONGODB_URI": os.environ["MONGODB_TEST_URI"],
            "MONGODB_DATABASE": f"e2e_{uuid.uuid4().hex[:12]}",
        }
    else:
        with MongoServer() as server:
            yield {"MONGODB_URI": server.uri}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, store_env: dict[str, str]) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("e2e")), history_env=store_env)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def slow_stack(
    tmp_path_factory: pytest.TempPathFactory, store_env: dict[str, str]
) -> Iterator[Stack]:
    """Answers of 200 tokens at 40 ms each; tests acting mid-answer also hold it (``Hold``)."""
    s = start_stack(
        Path(tmp_path_factory.mktemp("slow")),
        upstream_env={"FAKE_TTFT_MS": "50", "FAKE_TOKEN_MS": "40", "FAKE_TOKENS": "200"},
        history_env=store_env,
    )
    try:
        yield s
    finally:
        s.stop()


async def connect(stack: Stack, token: str | None = None) -> ChatClient:
    if token is None:
        token, _ = stack.guest_token()
    return await ChatClient(stack.chat.url, token).connect()


def assert_error(ack: dict[str, Any], code: str) -> None:
    assert ack.get("ok") is False, ack
    assert ack["error"]["code"] == code, ack
    assert isinstance(ack["error"]["message"], str) and ack["error"]["message"]


async def new_conversation(c: ChatClient, **fields: Any) -> dict[str, Any]:
    ack = await c.ok("conversation.create", fields)
    return ack["conversation"]


async def send(c: ChatClient, cid: str, content: str, cmid: str | None = None) -> dict[str, Any]:
    ack = await c.ok(
        "message.send",
        {"conversation_id": cid, "client_message_id": cmid or uuid.uuid4().hex, "content": content},
    )
    return ack["message"]


async def stored_messages(c: ChatClient, cid: str) -> list[dict[str, Any]]:
    return (await c.ok("conversation.get", {"conversation_id": cid}))["messages"]
