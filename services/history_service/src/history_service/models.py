"""The history API's data models: what routes accept and what the stores return.

The objects themselves (conversation, message, usage, statuses, ids) are the contract's, from
``chatbot_common.contract``; this module adds the request bodies and envelopes of the API.
"""

from __future__ import annotations

from typing import Annotated

from chatbot_common.contract import (
    CLIENT_MESSAGE_ID_PATTERN,
    Conversation,
    Message,
    MessageStatus,
    Role,
    Usage,
)
from chatbot_common.text import Text
from pydantic import BaseModel, ConfigDict, Field, Strict

# Enums accept their string values (the body is JSON) although the input models are strict.
RoleIn = Annotated[Role, Strict(False)]
StatusIn = Annotated[MessageStatus, Strict(False)]

ConversationPublic = Conversation
MessagePublic = Message


class _Input(BaseModel):
    # Strict: a dict or number where a string belongs is refused (422 invalid), never coerced.
    model_config = ConfigDict(strict=True, extra="ignore")


class ConversationBase(_Input):
    # Lengths are checked against the configurable limits (413 too_large), see api/limits.py.
    title: Text | None = None
    system_prompt: Text | None = None
    model: Text | None = None


class ConversationCreate(ConversationBase):
    pass


class ConversationUpdate(ConversationBase):
    pass


class ConversationsPublic(BaseModel):
    conversations: list[ConversationPublic]


class MessageCreate(_Input):
    role: RoleIn
    content: Text
    status: StatusIn = MessageStatus.COMPLETE
    client_message_id: str | None = Field(None, pattern=CLIENT_MESSAGE_ID_PATTERN)
    model: Text | None = None
    usage: Usage | None = None


class MessageUpdate(_Input):
    content: Text | None = None
    status: StatusIn | None = None
    usage: Usage | None = None
    model: Text | None = None
    expect_status: StatusIn | None = None


class TextUpdate(_Input):
    """A checkpoint: the text so far of an answer still streaming."""

    content: str


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
    client_message_id: str = Field(pattern=CLIENT_MESSAGE_ID_PATTERN)
    answer: bool = True
    context_messages: int = Field(50, ge=1, le=1000)
    default_model: str | None = None


class TurnStored(BaseModel):
    conversation: ConversationPublic
    message: MessagePublic
    created: bool
    context: list[MessagePublic]
    answer: MessagePublic | None = None
