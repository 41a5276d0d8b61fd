"""Share links end to end (real processes): a snapshot behind an unguessable id, read by
others, revocable, dying with its conversation; who may read it with accounts on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest
import socketio
from chat_service.shares import may_read
from chatbot_common.errors import ForbiddenError
from chatbot_common.tokens import issue_guest_token, issue_reader_token

from tests.support.chat_client import ChatClient
from tests.support.contract_stack import (  # the store-parametrised stack of the contract suite
    assert_error,
    connect,
    new_conversation,
    send,
    stack,
    store_env,
)
from tests.support.stack import Stack, start_stack

__all__ = ["stack", "store_env"]


async def test_share_read_by_another_user_then_revoked(stack: Stack) -> None:
    owner, reader = await connect(stack), await connect(stack)
    try:
        cid = (await new_conversation(owner))["id"]
        for i in (1, 2):
            await send(owner, cid, f"shared question {i}")
            await owner.wait_done(cid, i)
        shown = (await owner.ok("conversation.get", {"conversation_id": cid}))["messages"]
        await owner.ok("message.feedback", {"conversation_id": cid,
                                            "message_id": shown[1]["id"], "rating": "bad",
                                            "comment": "private remark"})
        share = (await owner.ok("share.create", {"conversation_id": cid}))["share"]
        assert len(share["id"]) >= 32 and share["expires_at"] is None
        assert share["message_count"] == 4 and share["conversation_id"] == cid

        got = await reader.ok("share.get", {"share_id": share["id"]})
        assert [m["content"] for m in got["messages"]] == [m["content"] for m in shown]
        assert got["conversation"]["title"] == share["title"]
        text = repr(got)
        assert "private remark" not in text and "client_message_id" not in text
        assert "user_id" not in text  # the owner stays unnamed

        # A snapshot: what the owner says later is not in it.
        await send(owner, cid, "not for the link")
        await owner.wait_done(cid, 3)
        again = await reader.ok("share.get", {"share_id": share["id"]})
        assert len(again["messages"]) == 4

        # Only the owner lists, makes or revokes links of the conversation.
        assert [s["id"] for s in (await owner.ok("share.list", {"conversation_id": cid}))[
            "shares"]] == [share["id"]]
        assert_error(await reader.call("share.list", {"conversation_id": cid}), "not_found")
        assert_error(await reader.call("share.create", {"conversation_id": cid}), "not_found")
        assert_error(await reader.call("share.revoke", {"share_id": share["id"]}), "not_found")
        await owner.ok("share.revoke", {"share_id": share["id"]})
        assert_error(await reader.call("share.get", {"share_id": share["id"]}), "not_found")
        assert_error(await reader.call("share.get", {"share_id": "x" * 32}), "not_found")
        assert_error(await reader.call("share.get", {"share_id": "../v1/users"}), "invalid")
    finally:
        await owner.close()
        await reader.close()


async def test_expiry_and_the_conversation_deleted(stack: Stack) -> None:
    owner, reader = await connect(stack), await connect(stack)
    try:
        cid = (await new_conversation(owner))["id"]
        await send(owner, cid, "short-lived")
        await owner.wait_done(cid)
        share = (await owner.ok("share.create", {"conversation_id": cid,
                                                 "expires_in": 3600}))["share"]
        left = datetime.fromisoformat(share["expires_at"].replace("Z", "+00:00")) - datetime.now(
            UTC)
        assert 3500 < left.total_seconds() <= 3600
        assert_error(await owner.call("share.create", {"conversation_id": cid,
                                                       "expires_in": 5}), "invalid")
        await reader.ok("share.get", {"share_id": share["id"]})
        await owner.ok("conversation.delete", {"conversation_id": cid})
        assert_error(await reader.call("share.get", {"share_id": share["id"]}), "not_found")
    finally:
        await owner.close()
        await reader.close()


def test_who_may_read_with_accounts_on() -> None:
    """The rule itself: owner always; with accounts on, guests only if public links are on."""
    may_read("u1", True, "u1", accounts_on=True, public_links=False)
    may_read("u2", False, "u1", accounts_on=True, public_links=False)
    may_read("u2", True, "u1", accounts_on=False, public_links=False)
    may_read("u2", True, "u1", accounts_on=True, public_links=True)
    with pytest.raises(ForbiddenError):
        may_read("u2", True, "u1", accounts_on=True, public_links=False)


ACCOUNTS_ON = {
    # Accounts on, guests still let in: no provider is asked for a guest's token.
    "OIDC_ISSUER": "http://127.0.0.1:9/realms/none",
    "OIDC_CLIENT_ID": "chatbot",
    "GUEST_ACCESS": "true",
}


@pytest.fixture(scope="module", params=[False, True], ids=["private", "public"])
def accounts_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, bool]]:
    public = request.param
    s = start_stack(
        Path(tmp_path_factory.mktemp("shares")),
        chat_env={**ACCOUNTS_ON, "SHARE_PUBLIC_LINKS": "true" if public else "false"},
    )
    try:
        yield s, public
    finally:
        s.stop()


async def test_with_accounts_on_guests_read_only_public_links(
    accounts_stack: tuple[Stack, bool],
) -> None:
    s, public = accounts_stack
    owner, guest = await connect(s), await connect(s)
    try:
        cid = (await new_conversation(owner))["id"]
        await send(owner, cid, "for signed-in eyes")
        await owner.wait_done(cid)
        share = (await owner.ok("share.create", {"conversation_id": cid}))["share"]
        await owner.ok("share.get", {"share_id": share["id"]})  # its owner, a guest here
        ack = await guest.call("share.get", {"share_id": share["id"]})
        if public:
            assert ack["ok"] and len(ack["messages"]) == 2
        else:
            assert_error(ack, "forbidden")
    finally:
        await owner.close()
        await guest.close()


GUESTS_OFF = {**ACCOUNTS_ON, "GUEST_ACCESS": "false"}


@pytest.fixture(scope="module", params=[False, True], ids=["private", "public"])
def closed_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, bool]]:
    """Accounts on and guests off: only signed-in users chat; public links or not."""
    flag = {"SHARE_PUBLIC_LINKS": "true" if request.param else "false"}
    s = start_stack(Path(tmp_path_factory.mktemp("closed")),
                    chat_env={**GUESTS_OFF, **flag}, ui_env={**GUESTS_OFF, **flag})
    try:
        yield s, request.param
    finally:
        s.stop()


def shared_by_a_signed_in_user(s: Stack) -> str:
    """A conversation of a signed-in user and its link, made through the history service (no
    identity provider in this test)."""
    headers = {"Authorization": f"Bearer {s.internal_token}", "X-User-Id": "oidc-0000-alice"}
    with httpx.Client(base_url=s.history.url, headers=headers, timeout=10) as h:
        cid = h.post("/v1/conversations", json={"title": "Public notes"}).json()["id"]
        for role, text in (("user", "What is 2+2?"), ("assistant", "4")):
            h.post(f"/v1/conversations/{cid}/messages", json={"role": role, "content": text})
        share = h.post(f"/v1/conversations/{cid}/shares", json={})
        assert share.status_code == 201, share.text
        return str(share.json()["id"])


async def test_public_links_without_guests_use_a_reader_token(
    closed_stack: tuple[Stack, bool],
) -> None:
    s, public = closed_stack
    share_id = shared_by_a_signed_in_user(s)
    guest, _ = issue_guest_token(s.auth_secret, 600)
    with pytest.raises(socketio.exceptions.ConnectionError):  # guests are off
        await ChatClient(s.chat.url, guest).connect()
    minted = httpx.post(s.ui.url + "/auth/reader", timeout=10)
    if not public:
        assert minted.status_code == 403
        forged = issue_reader_token(s.auth_secret, 600)  # even a well-signed one is refused
        with pytest.raises(socketio.exceptions.ConnectionError):
            await ChatClient(s.chat.url, forged).connect()
        return
    reader = await ChatClient(s.chat.url, minted.json()["token"]).connect()
    try:
        got = await reader.ok("share.get", {"share_id": share_id})
        assert [m["content"] for m in got["messages"]] == ["What is 2+2?", "4"]
        # Nothing else: a reader token is not a guest.
        for event, payload in (("conversation.list", {}), ("conversation.create", {}),
                               ("message.send", {"conversation_id": "x" * 32,
                                                 "client_message_id": "c1", "content": "hi"}),
                               ("share.create", {"conversation_id": "x" * 32})):
            assert_error(await reader.call(event, payload), "forbidden")
    finally:
        await reader.close()
