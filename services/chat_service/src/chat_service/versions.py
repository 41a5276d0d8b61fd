"""Message versions and feedback (additions to the contract's events).

- ``conversation.branch {conversation_id, message_id}`` → ``{conversation}``: show the branch
  through ``message_id`` (a version of some message: its ancestors and latest continuation);
  an answer streaming there is stopped first; the room gets ``conversation.updated``.
- ``conversation.tree {conversation_id, after_seq?, limit?}`` → ``{conversation, messages}``:
  every message of every branch (each with ``parent_id`` and ``active``), ascending ``seq``,
  paged like ``conversation.get`` (exports).
- ``message.feedback {conversation_id, message_id, rating: "good"|"bad"|null, comment?}`` →
  ``{message}``: stored with the answer, counted per model (``chat_feedback_total`` and the
  operator's usage rows).

``message.edit`` (a new version of a user message) is a send and lives with it in
``namespace.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chatbot_common.contract import AnswerEnd
from chatbot_common.errors import TooLargeError

from . import metrics
from .acks import Ack, ok, within_budget
from .answer import as_sent, room_of
from .schemas import ConversationBranch, ConversationGet, MessageFeedback, check_text, parse
from .service import ChatService

Emit = Callable[..., Awaitable[None]]
VERSION_EVENTS = ("conversation.branch", "conversation.tree", "message.feedback")


class VersionEvents:
    """Handlers of the events above; ``emit`` is the namespace's."""

    def __init__(self, service: ChatService, emit: Emit) -> None:
        self.service = service
        self.emit = emit

    def handlers(self) -> dict[str, Callable[[str, str, Any], Awaitable[Ack]]]:
        return {
            "conversation.branch": self.branch,
            "conversation.tree": self.tree,
            "message.feedback": self.feedback,
        }

    async def branch(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationBranch, data)
        history, _, answers = self.service.clients()
        await history.get_conversation(user_id, p.conversation_id)  # ownership
        await answers.stop(p.conversation_id, AnswerEnd.STOPPED)
        conversation = await history.select_branch(user_id, p.conversation_id, p.message_id)
        await self.emit("conversation.updated", {"conversation": conversation},
                        room=room_of(p.conversation_id))
        return ok(conversation=conversation)

    async def tree(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationGet, data)
        history, _, _ = self.service.clients()
        conversation = await history.get_conversation(user_id, p.conversation_id)
        messages = [as_sent(m) for m in
                    await history.list_tree(user_id, p.conversation_id, p.after_seq, p.limit)]
        budget = self.service.settings.max_ack_bytes
        return ok(conversation=conversation, messages=within_budget(messages, budget,
                                                                     conversation))

    async def feedback(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(MessageFeedback, data)
        limit = self.service.settings.max_feedback_chars
        check_text("comment", p.comment, limit, too_long=TooLargeError)
        history, _, _ = self.service.clients()
        verdict = None
        if p.rating is not None:
            comment = p.comment.strip() if p.comment else None
            verdict = {"rating": p.rating, "comment": comment or None}
        message = await history.set_feedback(user_id, p.conversation_id, p.message_id, verdict)
        metrics.FEEDBACK.labels(message.get("model") or "", p.rating or "none").inc()
        return ok(message=as_sent(message))
