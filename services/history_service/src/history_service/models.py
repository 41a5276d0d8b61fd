"""The history API's data models: what routes accept and what the stores return."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Literal

from chatbot_common.text import Text
from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant"]
Status = Literal["complete", "streaming", "stopped", "interrupted", "error"]
Rating = Literal["good", "bad"]

#: Ids we hand out are 32-char hex; anything not matching this is simply not found.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Client message ids come from browsers (uuids, nanoids); no operators, no spaces.
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


def valid_id(value: str) -> bool:
    return bool(ID_PATTERN.fullmatch(value))


def new_id() -> str:
    return uuid.uuid4().hex


def now_iso() -> str:
    """UTC now as ISO-8601 with milliseconds and ``Z``: string order is time order."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Input(BaseModel):
    # Strict: a dict or number where a string belongs is refused (422 invalid), never coerced.
    model_config = ConfigDict(strict=True, extra="ignore")


class Usage(_Input):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class ConversationBase(_Input):
    # Lengths are checked against the configurable limits (413 too_large), see api/limits.py.
    title: Text | None = None
    system_prompt: Text | None = None
    model: Text | None = None


class ConversationCreate(ConversationBase):
    pass


class ConversationUpdate(ConversationBase):
    pass


class ConversationPublic(BaseModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    message_count: int
    model: str | None = None
    system_prompt: str | None = None


class ConversationsPublic(BaseModel):
    conversations: list[ConversationPublic]


class MessageCreate(_Input):
    role: Role
    content: Text
    status: Status = "complete"
    client_message_id: str | None = Field(None, pattern=CLIENT_ID_PATTERN)
    model: Text | None = None
    usage: Usage | None = None


class MessageUpdate(_Input):
    content: Text | None = None
    status: Status | None = None
    usage: Usage | None = None
    model: Text | None = None
    expect_status: Status | None = None


class TextUpdate(_Input):
    """A checkpoint: the text so far of an answer still streaming."""

    content: str


class Feedback(_Input):
    """A user's verdict on an answer (thumbs up/down) with an optional comment."""

    rating: Rating
    comment: Text | None = None


class FeedbackUpdate(_Input):
    """``feedback: null`` takes the verdict back."""

    feedback: Feedback | None


class MessagePublic(BaseModel):
    id: str
    conversation_id: str
    seq: int
    role: Role
    content: str
    status: Status
    created_at: str
    model: str | None = None
    usage: Usage | None = None
    client_message_id: str | None = None
    #: The message this one follows (``None`` for a first message): the tree of versions.
    parent_id: str | None = None
    #: Ids of every version of this message (siblings: same parent), oldest first; only
    #: where there is more than one (``list_messages``).
    versions: list[str] | None = None
    feedback: Feedback | None = None


class MessagesPublic(BaseModel):
    messages: list[MessagePublic]


class StreamingMessage(MessagePublic):
    """A message of the internal recovery sweep: it names its owner."""

    user_id: str


class StreamingMessages(BaseModel):
    messages: list[StreamingMessage]


class MessageStored(BaseModel):
    message: MessagePublic
    created: bool


class TurnCreate(_Input):
    """A user's message, stored (idempotent on ``client_message_id``) and, when it is new and
    ``answer`` is set, the context of its answer read and the answer's placeholder created."""

    content: str
    client_message_id: str = Field(pattern=CLIENT_ID_PATTERN)
    answer: bool = True
    context_messages: int = Field(50, ge=1, le=1000)
    default_model: str | None = None
    #: Edit: the new message is a new version of this (user) message; the messages from it
    #: on leave the active branch.
    edit_of: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class BranchSelect(_Input):
    """Show the branch through ``message_id`` (a version of some message)."""

    message_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class TreeMessage(MessagePublic):
    """A message of any branch (exports): ``active`` when on the branch shown."""

    active: bool = True


class TreePublic(BaseModel):
    messages: list[TreeMessage]


class TurnStored(BaseModel):
    conversation: ConversationPublic
    message: MessagePublic
    created: bool
    context: list[MessagePublic]
    answer: MessagePublic | None = None
