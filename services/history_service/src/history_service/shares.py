"""Share links: a read-only snapshot of a conversation behind an unguessable id.

A share is made from the conversation's active branch at the time (later messages are not
in it), carries no feedback, usage or client ids, may expire, and is gone when its owner
revokes it or deletes the conversation. Who may read it is the chat service's rule (accounts,
``SHARE_PUBLIC_LINKS``); here a share is found by its id alone, never listed across users.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from chatbot_common.contract import now_iso
from pydantic import BaseModel, ConfigDict, Field

from .models import ConversationPublic, MessagePublic

#: The message fields a snapshot keeps.
SNAPSHOT_FIELDS = ("id", "seq", "role", "content", "status", "created_at", "model", "parent_id",
                   "next_index")  # next_index: on a message still streaming then


def new_share_id() -> str:
    """192 random bits, URL-safe (32 characters): not guessable, not enumerable."""
    return secrets.token_urlsafe(24)


class ShareCreate(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    #: Seconds until the link stops working; ``None``: until revoked.
    expires_in: int | None = Field(None, ge=60, le=10 * 365 * 86400)


class ShareInfo(BaseModel):
    id: str
    conversation_id: str
    title: str
    created_at: str
    expires_at: str | None = None
    message_count: int


class SharesPublic(BaseModel):
    shares: list[ShareInfo]


class ShareRecord(ShareInfo):
    """As stored: the owner and the snapshot."""

    user_id: str
    snapshot: dict[str, Any]


class ShareSnapshot(BaseModel):
    """What a reader gets (``user_id``: the owner, for the chat service's rule only)."""

    share: ShareInfo
    user_id: str
    conversation: dict[str, Any]
    messages: list[dict[str, Any]]


def expires_at(expires_in: int | None) -> str | None:
    if expires_in is None:
        return None
    moment = datetime.now(UTC) + timedelta(seconds=expires_in)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_share(
    user_id: str, conversation: ConversationPublic, messages: list[MessagePublic],
    data: ShareCreate,
) -> ShareRecord:
    snapshot = {
        "conversation": {"id": conversation.id, "title": conversation.title,
                         "created_at": conversation.created_at, "model": conversation.model},
        "messages": [m.model_dump(include=set(SNAPSHOT_FIELDS)) for m in messages],
    }
    return ShareRecord(
        id=new_share_id(), conversation_id=conversation.id, title=conversation.title,
        created_at=now_iso(), expires_at=expires_at(data.expires_in),
        message_count=len(messages), user_id=user_id, snapshot=snapshot,
    )


def readable(share: ShareRecord | None) -> ShareRecord | None:
    """The share while it may be read (not expired)."""
    if share is None or (share.expires_at is not None and share.expires_at <= now_iso()):
        return None
    return share


def snapshot_of(share: ShareRecord) -> ShareSnapshot:
    return ShareSnapshot(
        share=ShareInfo.model_validate(share.model_dump(include=set(ShareInfo.model_fields))),
        user_id=share.user_id,
        conversation=share.snapshot.get("conversation", {}),
        messages=share.snapshot.get("messages", []),
    )
