"""The external contract typed once (CONTRACT.md, "Objects"): ids, times, roles, message
statuses and the conversation and message objects that cross services.

- Ids the history service hands out are 32-char hex (``new_id``); anything that does not match
  ``ID_PATTERN`` cannot be ours and is simply not found (or refused where a client sends it).
- Times are ISO-8601 UTC with milliseconds and ``Z`` (``now_iso``), so string order is time
  order.
- ``MessageStatus`` is the contract's message status. ``AnswerEnd`` is internal: how an answer
  ended on one chat replica, which may be a status (it is stored) or a hand-over to another
  replica (nothing is stored here). Only ``AnswerEnd.status`` ever reaches the contract.

The enums are ``StrEnum``: a member equals its string (``MessageStatus.STREAMING ==
"streaming"``) and serialises as it, so JSON on the wire is unchanged.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictStr,
    model_validator,
)

from .text import utf8_text

#: Ids we hand out (conversations, messages); anything else (operators, paths) is refused.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
#: Client message ids come from browsers (uuids, nanoids); no operators, no spaces.
CLIENT_MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"

_ID = re.compile(ID_PATTERN)

#: A strict string shaped like one of our ids.
Id = Annotated[StrictStr, Field(pattern=ID_PATTERN)]
#: A strict string shaped like a client message id.
ClientMessageId = Annotated[StrictStr, Field(pattern=CLIENT_MESSAGE_ID_PATTERN)]


def valid_id(value: str) -> bool:
    """True when ``value`` could be an id of ours."""
    return bool(_ID.fullmatch(value))


def new_id() -> str:
    """A new conversation or message id: 32 hex characters (uuid4)."""
    return uuid.uuid4().hex


def now_iso() -> str:
    """UTC now as ISO-8601 with milliseconds and ``Z``: string order is time order."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Role(StrEnum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    """A message's status in the contract: ``streaming`` until its answer ends, then final."""

    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    @property
    def final(self) -> bool:
        return self is not MessageStatus.STREAMING


class AnswerEnd(StrEnum):
    """How an answer ended on this replica (internal, never sent to a client).

    The first four are stored as the message's status; ``HANDOVER`` (this replica shuts down
    and leaves the answer to another one, which goes on streaming it) and ``ABANDONED`` (another
    replica has taken it over) store nothing here.
    """

    COMPLETE = "complete"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    ERROR = "error"
    HANDOVER = "handover"
    ABANDONED = "abandoned"

    @property
    def status(self) -> MessageStatus | None:
        """The final message status this end stores, None where another replica goes on."""
        if self in (AnswerEnd.HANDOVER, AnswerEnd.ABANDONED):
            return None
        return MessageStatus(self.value)


class Usage(BaseModel):
    """An answer's token counts (the upstream's, or the LLM service's estimate)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class Rating(StrEnum):
    """A user's verdict on an answer (``message.feedback``)."""

    GOOD = "good"
    BAD = "bad"


class Feedback(BaseModel):
    """Thumbs up/down on an answer with an optional comment, stored with the message."""

    model_config = ConfigDict(strict=True, extra="ignore")

    rating: Annotated[Rating, Strict(False)]  # its string value in JSON
    comment: Annotated[StrictStr, AfterValidator(utf8_text)] | None = None
class Sampling(BaseModel):
    """A conversation's sampling settings (issue 20); None = the model's default. The chat
    service holds them to the operator's bounds (``LLM_MAX_TOKENS_CAP`` and the like)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    temperature: float | None = Field(None, ge=0, le=10)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)


class FileRef(BaseModel):
    """A file as a message names it (issue 20): stored with its conversation."""

    id: str
    name: str
    media_type: str
    size: int = Field(ge=0)
    kind: Literal["document", "image"]


class Conversation(BaseModel):
    """A conversation as every service sends it."""

    id: str
    title: str
    created_at: str
    updated_at: str
    message_count: int
    model: str | None = None
    system_prompt: str | None = None
    sampling: Sampling | None = None


class Message(BaseModel):
    """A message as the history service stores and sends it.

    ``client_message_id`` is the sender's idempotency key (user messages). A ``streaming``
    message carries ``next_index``: the ``index`` of the first delta not yet in its
    ``content``. History keeps the index each checkpoint's text reaches (0 for the empty
    placeholder); the chat service overlays the live text and index where it can. A final
    message never carries it; a ``streaming`` one stored without an index (a checkpoint written
    before the index was kept) carries none either: its text reaches an unknown delta.
    """

    id: str
    conversation_id: str
    seq: int
    role: Role
    content: str
    status: MessageStatus
    created_at: str
    model: str | None = None
    usage: Usage | None = None
    client_message_id: str | None = None
    #: The message this one follows (None for a first message): the tree of versions.
    parent_id: str | None = None
    #: Ids of every version of this message (same parent), oldest first; only where there
    #: are several (a conversation's active branch as read).
    versions: list[str] | None = None
    feedback: Feedback | None = None
    files: list[FileRef] | None = None
    #: Only on ``streaming`` messages (left out of the JSON when None).
    next_index: int | None = Field(None, ge=0, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _index_while_streaming(self) -> Message:
        if self.status is not MessageStatus.STREAMING:
            self.next_index = None
        elif self.next_index is None and not self.content:
            self.next_index = 0  # nothing in it yet: the first delta is the next one
        return self
