"""The history API's data models: what routes accept and what the stores return.

The objects themselves (conversation, message, usage, statuses, ids) are the contract's, from
``chatbot_common.contract``; this module adds the request bodies and envelopes of the API and
the rules that turn a request into what is stored (new ids and times, the default title, which
fields an update sets, when an update or a repeated send is refused), so that every store only
reads and writes (``repository/``).
"""

from __future__ import annotations

from typing import Annotated, Any

from chatbot_common.contract import (
    CLIENT_MESSAGE_ID_PATTERN,
    ID_PATTERN,
    Conversation,
    Feedback,
    FileRef,
    Message,
    MessageStatus,
    Role,
    Sampling,
    Usage,
    new_id,
    now_iso,
)
from chatbot_common.errors import ConflictError, InvalidError
from chatbot_common.text import Text
from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from .accounts import UsageCreate

# Enums accept their string values (the body is JSON) although the input models are strict.
RoleIn = Annotated[Role, Strict(False)]
StatusIn = Annotated[MessageStatus, Strict(False)]

ConversationPublic = Conversation
MessagePublic = Message

#: The title of a conversation created without one.
DEFAULT_TITLE = "New conversation"


class _Input(BaseModel):
    # Strict: a dict or number where a string belongs is refused (422 invalid), never coerced.
    model_config = ConfigDict(strict=True, extra="ignore")


class ConversationBase(_Input):
    # Lengths are checked against the configurable limits (413 too_large), see api/limits.py.
    title: Text | None = None
    system_prompt: Text | None = None
    model: Text | None = None
    sampling: Sampling | None = None


class ConversationCreate(ConversationBase):
    def new(self) -> Conversation:
        """The conversation this request creates: a new id, created now, no messages yet."""
        now = now_iso()
        return Conversation(
            id=new_id(),
            title=self.title or DEFAULT_TITLE,
            created_at=now,
            updated_at=now,
            message_count=0,
            model=self.model,
            system_prompt=self.system_prompt,
            sampling=self.sampling,
        )


class ConversationUpdate(ConversationBase):
    def changes(self) -> dict[str, Any]:
        """The fields to set: those sent; a null title is ignored (there always is one)."""
        fields = self.model_dump(exclude_unset=True)
        if fields.get("title") is None:
            fields.pop("title", None)
        return fields


class ConversationsPublic(BaseModel):
    conversations: list[ConversationPublic]


class MessageCreate(_Input):
    role: RoleIn
    content: Text
    status: StatusIn = MessageStatus.COMPLETE
    client_message_id: str | None = Field(None, pattern=CLIENT_MESSAGE_ID_PATTERN)
    model: Text | None = None
    usage: Usage | None = None
    files: list[FileRef] | None = None  # set by the routes from stored files, never by callers

    def new(self, conversation_id: str, seq: int) -> Message:
        """The message this request stores as number ``seq``: a new id, created now."""
        return Message(
            id=new_id(), conversation_id=conversation_id, seq=seq, created_at=now_iso(),
            **self.model_dump(),
        )  # fmt: skip

    def repeat(self, existing: Message, conversation_id: str) -> Message:
        """``existing`` (stored with this ``client_message_id``) as this send's answer: an
        idempotent repeat, refused if that id was used in another conversation."""
        if existing.conversation_id != conversation_id:
            raise InvalidError("client_message_id was used in another conversation")
        return existing


class MessageUpdate(_Input):
    content: Text | None = None
    status: StatusIn | None = None
    usage: Usage | None = None
    model: Text | None = None
    expect_status: StatusIn | None = None

    def changes(self) -> dict[str, Any]:
        """The fields to set: those sent and not null (``usage`` and ``model`` may be cleared);
        ``usage`` as a plain dict. New content reaches no known delta index (a checkpoint's
        index belongs to its own text): ``next_index`` is cleared with it."""
        fields = self.model_dump(exclude_unset=True, exclude={"expect_status"})
        changed = {k: v for k, v in fields.items() if v is not None or k in ("usage", "model")}
        if "content" in changed:
            changed["next_index"] = None
        return changed

    def allows(self, status: MessageStatus) -> bool:
        """True unless ``expect_status`` names another status than the message's."""
        return self.expect_status is None or status == self.expect_status

    def conflict(self, status: MessageStatus) -> ConflictError:
        """The refusal of an update whose ``expect_status`` the message (``status``) fails."""
        return ConflictError(f"the message is {status}, not {self.expect_status}", status=status)


class TextUpdate(_Input):
    """A checkpoint: the text so far of an answer still streaming and the delta index it
    reaches (the number of deltas in it), stored together. Without ``next_index`` (a chat
    service of an earlier version) the text's index is unknown and stored so."""

    content: str
    next_index: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _agree(self) -> TextUpdate:
        # Every delta carries text: no deltas is no text, and some deltas are some text.
        if self.next_index is not None and (self.next_index == 0) != (self.content == ""):
            raise ValueError("content and next_index disagree")
        return self


class FeedbackUpdate(_Input):
    """``feedback: null`` takes the verdict back."""

    feedback: Feedback | None


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
    #: Edit: the new message is a new version of this (user) message; the messages from it
    #: on leave the active branch (``tree.py``).
    edit_of: str | None = Field(None, pattern=ID_PATTERN)
    file_ids: list[str] = Field(default_factory=list, max_length=100)


class BranchSelect(_Input):
    """Show the branch through ``message_id`` (a version of some message)."""

    message_id: str = Field(pattern=ID_PATTERN)


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


class AnswerFinish(_Input):
    """An answer made final in one round trip (``messages/{id}/finish``): the message's update
    (with ``expect_status``) and, when given, the answer's usage record (its ids are the
    route's)."""

    message: MessageUpdate
    usage_record: UsageCreate | None = None


class AnswerFinished(BaseModel):
    message: MessagePublic
    conversation: ConversationPublic
