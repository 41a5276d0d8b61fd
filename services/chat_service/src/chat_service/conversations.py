"""The contract's conversation events: ``conversation.create``, ``.list``, ``.search``, ``.get``
(stored messages, with the live text of an answer still streaming), ``.rename``, ``.update``
(sampling settings) and ``.delete``.

The messages' events (send, edit, stop, regenerate) start and stop answers, and live with the
admission in ``namespace.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chatbot_common.contract import MessageStatus
from chatbot_common.errors import InvalidError

from .acks import Ack, ok, within_budget
from .answer import as_sent, room_of
from .sampling import checked
from .schemas import (
    ConversationCreate,
    ConversationGet,
    ConversationList,
    ConversationRef,
    ConversationRename,
    ConversationSearch,
    ConversationUpdate,
    check_text,
    parse,
)
from .service import ChatService

CONVERSATION_EVENTS = (
    "conversation.create",
    "conversation.list",
    "conversation.get",
    "conversation.rename",
    "conversation.delete",
    "conversation.search",
    "conversation.update",
)


class ConversationEvents:
    """Handlers of the events above; ``emit`` and ``enter_room`` are the namespace's."""

    def __init__(
        self,
        service: ChatService,
        emit: Callable[..., Awaitable[None]],
        enter_room: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.service = service
        self.emit = emit
        self.enter_room = enter_room

    def handlers(self) -> dict[str, Callable[[str, str, Any], Awaitable[Ack]]]:
        return {
            "conversation.create": self.create,
            "conversation.list": self.list,
            "conversation.get": self.get,
            "conversation.rename": self.rename,
            "conversation.delete": self.delete,
            "conversation.search": self.search,
            "conversation.update": self.update,
        }

    async def create(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationCreate, data)
        limits = self.service.settings
        check_text("title", p.title, limits.max_title_chars)
        check_text("system_prompt", p.system_prompt, limits.max_system_prompt_chars)
        await self.service.check_model(p.model)
        history, _, _ = self.service.clients()
        body = p.model_dump(exclude_none=True)
        if p.sampling is not None:
            body["sampling"] = checked(p.sampling, limits)
        conversation = await history.create_conversation(user_id, body)
        await self.enter_room(sid, room_of(conversation["id"]))
        return ok(conversation=conversation)

    async def list(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationList, data)
        history, _, _ = self.service.clients()
        found = await history.list_conversations(user_id, p.limit, p.before)
        return ok(conversations=within_budget(found, self.service.settings.max_ack_bytes))

    async def search(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationSearch, data)
        if not p.query.strip():
            raise InvalidError("query must not be empty")
        history, _, _ = self.service.clients()
        found = await history.search_conversations(user_id, p.query, p.limit)
        return ok(conversations=within_budget(found, self.service.settings.max_ack_bytes))

    async def get(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationGet, data)
        history, _, answers = self.service.clients()
        conversation = await history.get_conversation(user_id, p.conversation_id)
        messages = await history.list_messages(user_id, p.conversation_id, p.after_seq, p.limit)
        # Join first, then read the live text: no delta can fall between the two.
        await self.enter_room(sid, room_of(p.conversation_id))
        result: list[dict[str, Any]] = []
        orphans: list[int] = []
        for m in messages:
            if m.get("status") == MessageStatus.STREAMING:
                live = await answers.overlay(m)
                if live is None:
                    orphans.append(len(result))
                else:
                    m = live
            result.append(m)
        for i in orphans:
            final = await answers.interrupt_orphan(user_id, result[i])
            if final is not None:
                result[i] = final
        # Not overlaid (Redis down or slow, or no record of a live answer): as stored, with
        # the index of the stored checkpoint.
        result = [as_sent(m) for m in result]
        budget = self.service.settings.max_ack_bytes
        return ok(conversation=conversation, messages=within_budget(result, budget, conversation))

    async def rename(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationRename, data)
        check_text("title", p.title, self.service.settings.max_title_chars, required=True)
        history, _, _ = self.service.clients()
        conversation = await history.update_conversation(
            user_id, p.conversation_id, {"title": p.title.strip()}
        )
        await self.emit(
            "conversation.updated", {"conversation": conversation}, room=room_of(conversation["id"])
        )
        return ok(conversation=conversation)

    async def update(self, sid: str, user_id: str, data: Any) -> Ack:
        """Change a conversation's sampling settings (within the operator's bounds)."""
        p = parse(ConversationUpdate, data)
        sampling = checked(p.sampling, self.service.settings)
        history, _, _ = self.service.clients()
        conversation = await history.update_conversation(
            user_id, p.conversation_id, {"sampling": sampling}
        )
        await self.emit(
            "conversation.updated", {"conversation": conversation}, room=room_of(conversation["id"])
        )
        return ok(conversation=conversation)

    async def delete(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationRef, data)
        history, _, answers = self.service.clients()
        await history.get_conversation(user_id, p.conversation_id)  # ownership
        await answers.stop(p.conversation_id)
        await history.delete_conversation(user_id, p.conversation_id)
        return ok()
