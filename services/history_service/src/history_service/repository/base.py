"""The store interface every history backend implements."""

from __future__ import annotations

from typing import Protocol

from chatbot_common.contract import Feedback

from ..models import (
    ConversationCreate,
    ConversationPublic,
    ConversationUpdate,
    MessageCreate,
    MessagePublic,
    MessageUpdate,
    StreamingMessage,
    TreeMessage,
)


class HistoryRepository(Protocol):
    """Conversations and their messages, every call scoped by ``user_id``.

    Implementations raise ``chatbot_common.errors`` only: ``NotFoundError`` for ids that do
    not exist *for this user* (another user's ids included), ``InvalidError``,
    ``ConflictError`` (``expect_status`` mismatch) and ``UnavailableError`` when the store
    does not answer after bounded retries. Ids are validated by the caller
    (``chatbot_common.contract.valid_id``); values reach the store only as query parameters /
    plain strings.
    """

    #: "sqlite" or "mongo" (the ``store`` label of the metrics).
    name: str

    async def open(self) -> None:
        """Connect and create the schema / indexes (idempotent)."""

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the store answers (readiness)."""

    async def create_conversation(
        self, user_id: str, data: ConversationCreate
    ) -> ConversationPublic: ...

    async def list_conversations(
        self, user_id: str, limit: int, before: str | None = None
    ) -> list[ConversationPublic]:
        """Newest ``updated_at`` first; ``before`` is an ``updated_at`` cursor (exclusive)."""

    async def search_conversations(
        self, user_id: str, query: str, limit: int
    ) -> list[ConversationPublic]:
        """Conversations whose title or any message contains ``query``, case-insensitive."""

    async def get_conversation(self, user_id: str, conversation_id: str) -> ConversationPublic: ...

    async def update_conversation(
        self, user_id: str, conversation_id: str, data: ConversationUpdate
    ) -> ConversationPublic: ...

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        """Delete the conversation and all of its messages."""

    async def list_messages(
        self, user_id: str, conversation_id: str, after_seq: int | None, limit: int
    ) -> list[MessagePublic]:
        """The active branch (``tree.py``), ascending ``seq``: the first ``limit`` after
        ``after_seq``, or the last ``limit``; ``versions`` set where a message has several."""

    async def add_message(
        self, user_id: str, conversation_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        """Store a message with the next ``seq``; ``(message, created)``.

        Idempotent on ``(user_id, client_message_id)``: a repeat returns the stored message
        and ``created=False``. Its parent is the last message of the active branch.
        """

    async def update_message(
        self, user_id: str, conversation_id: str, message_id: str, data: MessageUpdate
    ) -> MessagePublic: ...

    async def save_text(
        self, user_id: str, conversation_id: str, message_id: str, content: str,
        next_index: int | None,
    ) -> bool:
        """Checkpoint: set the content of a message still ``streaming`` and the delta index
        it reaches (``None``: unknown), in one write; False when there is no such message or
        it is no longer streaming."""

    async def delete_message(self, user_id: str, conversation_id: str, message_id: str) -> None: ...

    async def list_streaming_messages(
        self, updated_before: str | None, limit: int
    ) -> list[StreamingMessage]:
        """Assistant messages of every user still ``streaming`` (crash recovery sweep)."""

    async def edit_message(
        self, user_id: str, conversation_id: str, message_id: str, data: MessageCreate
    ) -> tuple[MessagePublic, bool]:
        """A new version of the user message ``message_id`` (of the active branch): the
        messages from it on leave the active branch and ``data`` is stored after its parent,
        as ``add_message`` does (idempotent on ``client_message_id`` alike)."""

    async def select_branch(
        self, user_id: str, conversation_id: str, message_id: str
    ) -> ConversationPublic:
        """Make the branch through ``message_id`` the active one (``tree.branch_through``)."""

    async def list_tree(
        self, user_id: str, conversation_id: str, after_seq: int | None, limit: int
    ) -> list[TreeMessage]:
        """Every message of every branch, ascending ``seq``, the first ``limit`` after
        ``after_seq`` (exports)."""

    async def set_feedback(
        self, user_id: str, conversation_id: str, message_id: str, feedback: Feedback | None
    ) -> MessagePublic:
        """Store (or with ``None`` clear) the feedback on an answer."""
