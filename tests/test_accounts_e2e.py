"""Accounts and administration against real processes and a real Keycloak (CONTRACT.md,
"Accounts and administration"), on both history stores.

Tokens come from Keycloak's realm ``chatbot`` (password grant for scripts; the browser tests
sign in through its login page). Short-lived guest tokens, signed with the stack's secret,
exercise expiry without waiting out Keycloak's 60 s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import socketio
from chatbot_common.oidc import oidc_user_id
from chatbot_common.tokens import issue_guest_token

from tests.support.chat_client import ChatClient
from tests.support.keycloak import TEST_TIMEOUT, Keycloak
from tests.support.mongo_server import MongoServer, mongo_server_fixture
from tests.support.processes import Proc, free_port, start_service
from tests.support.stack import Stack, start_stack
from tests.test_chat_replicas import start_redis

# The first test may start the session's Keycloak (minutes on a loaded machine).
pytestmark = pytest.mark.timeout(TEST_TIMEOUT)


@pytest.fixture(scope="module")
def mongo_server() -> Iterator[MongoServer]:
    yield from mongo_server_fixture()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def oidc_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, keycloak: Keycloak
) -> Iterator[Stack]:
    history_env = {}
    if request.param == "mongo":
        history_env["MONGODB_URI"] = request.getfixturevalue("mongo_server").uri
        history_env["MONGODB_DATABASE"] = f"acc_{uuid.uuid4().hex[:8]}"
    s = start_stack(
        Path(tmp_path_factory.mktemp("accounts")),
        # Guests stay on: the expiry tests mint short guest tokens with the stack's secret.
        env={"OIDC_ISSUER": keycloak.issuer, "OIDC_CLIENT_ID": "chatbot",
             "GUEST_ACCESS": "true"},
        history_env=history_env,
        chat_env={"TOKEN_CHECK_SECONDS": "0.5"},
    )
    try:
        yield s
    finally:
        s.stop()


def user_id_of(keycloak: Keycloak, id_token: str) -> str:
    claims = jwt.decode(id_token, options={"verify_signature": False})
    return oidc_user_id(keycloak.issuer, claims["sub"])


class Watched(ChatClient):
    """A client that records its disconnection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gone = asyncio.Event()
        self.gone_at = 0.0
        self.refusal: Any = None

        @self.sio.event
        async def connect_error(data: Any) -> None:
            self.refusal = data

        @self.sio.event
        async def disconnect(*_: Any) -> None:
            self.gone_at = time.monotonic()
            self.gone.set()


@pytest.fixture
async def clients() -> AsyncIterator[list[ChatClient]]:
    made: list[ChatClient] = []
    yield made
    for c in made:
        await c.close()


async def connect(url: str, token: str, made: list[ChatClient]) -> Watched:
    c = Watched(url, token)
    made.append(c)
    await c.connect()
    return c


async def converse(c: ChatClient, texts: list[str]) -> list[dict[str, Any]]:
    """Send ``texts`` in one new conversation; the finished answers."""
    conv = (await c.ok("conversation.create", {}))["conversation"]
    done: list[dict[str, Any]] = []
    for i, text in enumerate(texts, 1):
        await c.ok("message.send", {"conversation_id": conv["id"],
                                    "client_message_id": uuid.uuid4().hex, "content": text})
        done = await c.wait_done(conv["id"], i)
    return done


async def test_admin_events_count_exactly(
    oidc_stack: Stack, keycloak: Keycloak, clients: list[ChatClient]
) -> None:
    url = oidc_stack.chat.url
    admin = await connect(url, keycloak.id_token("alice"), clients)
    bob_token = keycloak.id_token("bob")
    bob = await connect(url, bob_token, clients)
    bob_id = user_id_of(keycloak, bob_token)
    answers = await converse(bob, ["one [tokens:12]", "two [tokens:7]"])
    # A non-admin gets forbidden for every admin event.
    for event, payload in [("admin.usage", {"group_by": "user"}), ("admin.users", {}),
                           ("admin.user.update", {"user_id": bob_id, "disabled": True})]:
        ack = await bob.call(event, payload)
        assert ack["error"]["code"] == "forbidden", (event, ack)
    # Feedback on answers is counted in the operator's view (issue 20).
    for answer, rating in zip(answers, ("good", "bad"), strict=True):
        await bob.ok("message.feedback", {"conversation_id": answer["conversation_id"],
                                          "message_id": answer["id"], "rating": rating})
    rows = (await admin.ok("admin.usage", {"group_by": "user"}))["rows"]
    mine = next(r for r in rows if r["key"] == bob_id)
    assert mine["messages"] == 2 and mine["errors"] == 0
    assert (mine["good"], mine["bad"]) == (1, 1)
    assert mine["prompt_tokens"] == sum(a["usage"]["prompt_tokens"] for a in answers)
    assert mine["completion_tokens"] == sum(a["usage"]["completion_tokens"] for a in answers)
    assert mine["ttft_p50_ms"] is not None and mine["ttft_p95_ms"] >= mine["ttft_p50_ms"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    by_day = (await admin.ok("admin.usage", {"group_by": "day", "since": today,
                                             "until": today}))["rows"]
    assert [r["key"] for r in by_day] == [today] and by_day[0]["messages"] >= 2
    by_model = (await admin.ok("admin.usage", {"group_by": "model"}))["rows"]
    assert any(r["key"] == answers[-1]["model"] and r["messages"] >= 2 for r in by_model)
    users = {u["user_id"]: u for u in (await admin.ok("admin.users", {}))["users"]}
    assert users[bob_id]["name"] == "Bob User"
    assert users[bob_id]["conversations"] == 1 and users[bob_id]["disabled"] is False
    assert users[bob_id]["tokens_today"] == mine["prompt_tokens"] + mine["completion_tokens"]
    bad = await admin.call("admin.usage", {"group_by": "week"})
    assert bad["error"]["code"] == "invalid"


async def test_disabled_user_is_closed_at_once_and_refused(
    oidc_stack: Stack, keycloak: Keycloak, clients: list[ChatClient]
) -> None:
    url = oidc_stack.chat.url
    admin = await connect(url, keycloak.id_token("alice"), clients)
    carol_token = keycloak.id_token("carol")
    carol_id = user_id_of(keycloak, carol_token)
    carol = await connect(url, carol_token, clients)
    second = await connect(url, carol_token, clients)
    asked = time.monotonic()
    ack = await admin.ok("admin.user.update", {"user_id": carol_id, "disabled": True})
    assert ack["user"]["disabled"] is True
    await asyncio.wait_for(asyncio.gather(carol.gone.wait(), second.gone.wait()), 2.0)
    closed_after = max(carol.gone_at, second.gone_at) - asked
    assert closed_after < 2.0, closed_after
    refused = Watched(url, keycloak.id_token("carol"))
    with pytest.raises(socketio.exceptions.ConnectionError) as info:
        await refused.connect()
    assert "forbidden" in str(refused.refusal), (info.value, refused.refusal)
    await admin.ok("admin.user.update", {"user_id": carol_id, "disabled": False})
    again = await connect(url, keycloak.id_token("carol"), clients)
    assert (await again.ok("conversation.list", {}))["conversations"] == []


async def test_per_user_token_limit_overrides_the_default(
    oidc_stack: Stack, keycloak: Keycloak, clients: list[ChatClient]
) -> None:
    url = oidc_stack.chat.url
    admin = await connect(url, keycloak.id_token("alice"), clients)
    dave_token = keycloak.id_token("dave")
    dave_id = user_id_of(keycloak, dave_token)
    dave = await connect(url, dave_token, clients)  # known to history from here on
    ack = await admin.ok("admin.user.update", {"user_id": dave_id, "tokens_per_day": 5})
    assert ack["user"]["tokens_per_day"] == 5
    conv = (await dave.ok("conversation.create", {}))["conversation"]
    await dave.ok("message.send", {"conversation_id": conv["id"],
                                   "client_message_id": uuid.uuid4().hex, "content": "hi"})
    await dave.wait_done(conv["id"], 1)

    async def refused() -> dict[str, Any]:
        # The answer's tokens are counted just after message.done: wait for the refusal.
        for _ in range(50):
            ack = await dave.call("message.send", {"conversation_id": conv["id"],
                                                   "client_message_id": uuid.uuid4().hex,
                                                   "content": "more"})
            if not ack["ok"]:
                return ack
            await dave.wait_done(conv["id"], len(dave.events["message.done"]) + 1)
        raise AssertionError("never limited")

    ack = await refused()
    assert ack["error"]["code"] == "rate_limited"
    # Lifting the override (0) restores the default limit (200,000 a day).
    await admin.ok("admin.user.update", {"user_id": dave_id, "tokens_per_day": 0})
    fresh = await connect(url, keycloak.id_token("dave"), clients)
    ok = await fresh.call("message.send", {"conversation_id": conv["id"],
                                           "client_message_id": uuid.uuid4().hex,
                                           "content": "again"})
    assert ok["ok"] is True, ok


async def test_expired_connection_is_closed_unless_renewed(
    oidc_stack: Stack, clients: list[ChatClient]
) -> None:
    url, secret = oidc_stack.chat.url, oidc_stack.auth_secret
    short, uid = issue_guest_token(secret, 3)
    lapsing = await connect(url, short, clients)
    renewed = await connect(url, issue_guest_token(secret, 3, uid)[0], clients)
    longer, _ = issue_guest_token(secret, 600, uid)
    assert (await renewed.ok("auth.renew", {"token": longer})) == {"ok": True}
    # Another user's token does not renew this connection.
    other, _ = issue_guest_token(secret, 600)
    assert (await renewed.call("auth.renew", {"token": other}))["error"]["code"] == "unauthorized"
    await asyncio.wait_for(lapsing.gone.wait(), 10)  # closed by the server, unrenewed
    assert not renewed.gone.is_set()
    assert (await renewed.ok("conversation.list", {}))["ok"] is True
    # Refused at connect too, once past the verifier's 5 s clock-skew leeway (a time bound).
    exp = jwt.decode(short, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, exp + 6 - time.time()))
    late = Watched(url, short)
    with pytest.raises(socketio.exceptions.ConnectionError) as info:
        await late.connect()
    assert "unauthorized" in str(late.refusal), (info.value, late.refusal)


async def test_events_after_expiry_get_unauthorized_then_the_close(
    oidc_stack: Stack, clients: list[ChatClient]
) -> None:
    # A replica that sweeps rarely: the event path alone must refuse and close.
    env = {**oidc_stack.chat.env, "TOKEN_CHECK_SECONDS": "60"}
    chat: Proc = start_service("chat_service", env=env)
    try:
        token, _ = issue_guest_token(oidc_stack.auth_secret, 2)
        c = await connect(chat.url, token, clients)
        assert (await c.ok("conversation.list", {}))["ok"] is True
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        await asyncio.sleep(max(0.0, exp - time.time()) + 0.2)  # past exp (a time bound)
        ack = await c.call("conversation.list", {})
        assert ack["error"]["code"] == "unauthorized", ack
        await asyncio.wait_for(c.gone.wait(), 5)
    finally:
        chat.stop()


async def test_disable_closes_sockets_on_every_replica(
    oidc_stack: Stack, keycloak: Keycloak, clients: list[ChatClient]
) -> None:
    """Two replicas sharing Redis: an admin on one disables a user connected to the other."""
    redis = start_redis(free_port())
    env = {**oidc_stack.chat.env, "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
           "REPLICA_REPORT_SECONDS": "0.5"}
    chats: list[Proc] = []
    try:
        chats = [start_service("chat_service", env=env) for _ in range(2)]
        admin = await connect(chats[0].url, keycloak.id_token("alice"), clients)
        bob_token = keycloak.id_token("bob")
        bob = await connect(chats[1].url, bob_token, clients)
        bob_id = user_id_of(keycloak, bob_token)

        async def both_replicas_reported() -> list[dict[str, Any]]:
            while True:  # each replica publishes its figures every 0.5 s
                replicas = (await admin.ok("admin.live", {}))["replicas"]
                if len(replicas) >= 2 and sum(r["connections"] for r in replicas) >= 2:
                    return list(replicas)
                await asyncio.sleep(0.2)

        replicas = await asyncio.wait_for(both_replicas_reported(), 20)
        assert len({r["replica"] for r in replicas}) == 2
        asked = time.monotonic()
        await admin.ok("admin.user.update", {"user_id": bob_id, "disabled": True})
        await asyncio.wait_for(bob.gone.wait(), 2.0)
        assert bob.gone_at - asked < 2.0
        await admin.ok("admin.user.update", {"user_id": bob_id, "disabled": False})
    finally:
        for chat in chats:
            chat.stop()
        redis.stop()
