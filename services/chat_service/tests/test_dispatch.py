"""ChatNamespace.dispatch: every event gets an ack, whatever the payload (no server needed)."""

from typing import Any

import pytest
from chat_service.admin import ADMIN_EVENTS
from chat_service.namespace import ChatNamespace
from chat_service.service import ChatService
from chat_service.settings import Settings


class _Namespace(ChatNamespace):
    async def _user(self, sid: str) -> str:  # the session store needs a running server
        return "user-1"


@pytest.fixture
def namespace() -> ChatNamespace:
    settings = Settings(AUTH_SECRET="s")  # type: ignore[call-arg]
    return _Namespace(ChatService(settings=settings, secret="s"))


async def test_dotted_events_map_to_methods(namespace: ChatNamespace) -> None:
    assert namespace.handlers["message.send"] == namespace.on_message_send
    assert set(namespace.handlers) == set(ChatNamespace.EVENTS) | set(ADMIN_EVENTS)


async def test_admin_events_are_forbidden_to_others(namespace: ChatNamespace) -> None:
    for event in ADMIN_EVENTS:
        ack = await namespace.dispatch(event, "sid-1", ({"group_by": "user"},))
        assert ack["error"]["code"] == "forbidden", event


@pytest.mark.parametrize(
    ("event", "args", "code"),
    [
        ("no.such.event", ({},), "invalid"),
        ("conversation.get", ({"conversation_id": {"$ne": None}},), "invalid"),
        ("conversation.get", (), "invalid"),
        ("message.send", ({}, {}), "invalid"),
        ("message.send", ({"conversation_id": "a", "client_message_id": "b",
                           "content": "x" * 32_001},), "too_large"),
        ("message.send", ({"conversation_id": "a", "client_message_id": "b",
                           "content": ""},), "invalid"),
        ("conversation.rename", ({"conversation_id": "a", "title": "t" * 201},), "invalid"),
        # valid payload, but no clients yet: an unexpected error becomes `unavailable`
        ("conversation.list", ({},), "unavailable"),
    ],
)
async def test_errors_become_acks(
    namespace: ChatNamespace, event: str, args: tuple[Any, ...], code: str
) -> None:
    ack = await namespace.trigger_event(event, "sid-1", *args)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert isinstance(ack["error"]["message"], str) and ack["error"]["message"]
