"""Payloads of the client → server events, validated strictly (no coercion, no extras)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from chatbot_common.contract import ClientMessageId, Id
from chatbot_common.errors import ChatbotError, InvalidError
from chatbot_common.text import Seq, Text
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from .sampling import Sampling

Limit = Annotated[StrictInt, Field(ge=1, le=100)]


class Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ConversationCreate(Payload):
    title: Text | None = None
    system_prompt: Text | None = None
    model: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    sampling: Sampling | None = None


class ConversationUpdate(Payload):
    """Settings of a conversation that may change later (its sampling settings)."""

    conversation_id: Id
    sampling: Sampling


class ConversationList(Payload):
    limit: Limit | None = None
    before: Annotated[Text, Field(min_length=1, max_length=64)] | None = None


class ConversationGet(Payload):
    conversation_id: Id
    after_seq: Seq | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None


class ConversationRename(Payload):
    conversation_id: Id
    title: Text


class ConversationRef(Payload):
    conversation_id: Id


class ConversationSearch(Payload):
    query: Annotated[Text, Field(min_length=1, max_length=200)]
    limit: Limit | None = None


M = TypeVar("M", bound="Payload")


class MessageSend(Payload):
    conversation_id: Id
    client_message_id: ClientMessageId
    content: Text
    file_ids: Annotated[list[Id], Field(max_length=100)] | None = None


class MessageEdit(MessageSend):
    """A new version of the user message ``message_id``: the conversation continues from it."""

    message_id: Id


class ConversationBranch(Payload):
    """Show the branch through ``message_id`` (one of the versions of a message)."""

    conversation_id: Id
    message_id: Id


class MessageFeedback(Payload):
    """Thumbs up/down on an answer with an optional comment; ``rating: null`` takes it back."""

    conversation_id: Id
    message_id: Id
    rating: Literal["good", "bad"] | None
    comment: Text | None = None


class AuthRenew(Payload):
    token: Annotated[StrictStr, Field(min_length=1, max_length=8192)]


IsoDate = Annotated[StrictStr, Field(min_length=10, max_length=40)]


class AdminUsage(Payload):
    group_by: Literal["user", "model", "day"]
    since: IsoDate | None = None
    until: IsoDate | None = None


class AdminUsers(Payload):
    limit: Limit | None = None
    before: Annotated[StrictStr, Field(min_length=1, max_length=40)] | None = None


class AdminUserUpdate(Payload):
    user_id: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    disabled: StrictBool | None = None
    tokens_per_day: Annotated[StrictInt, Field(ge=0, le=10**12)] | None = None


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` (a missing payload counts as ``{}``); errors raise ValidationError."""
    return model.model_validate({} if data is None else data)


def check_text(
    name: str,
    value: str | None,
    limit: int,
    *,
    required: bool = False,
    too_long: type[ChatbotError] = InvalidError,
) -> None:
    """Length limits (``invalid`` unless told, ``too_large`` for message content) and, where
    text is needed, no blank text (``invalid``)."""
    if value is None:
        return
    if len(value) > limit:
        raise too_long(f"{name} is longer than {limit} characters")
    if required and not value.strip():
        raise InvalidError(f"{name} must not be empty")
