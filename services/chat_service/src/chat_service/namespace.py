"""The Socket.IO namespace: one handler per contract event, acks built in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from chatbot_common.contract import AnswerEnd, Role
from chatbot_common.errors import (
    ForbiddenError,
    InvalidError,
    NotFoundError,
    RateLimitedError,
    TooLargeError,
    UnauthorizedError,
    UnavailableError,
)
from chatbot_common.oidc import TokenVerifier

from . import metrics
from .acks import Ack, error_ack, ok
from .admin import AdminEvents
from .admission import conversation_of
from .answer import room_of
from .conversations import CONVERSATION_EVENTS, ConversationEvents
from .ratelimit import ANSWERING_EVENTS
from .schemas import (
    AuthRenew,
    ConversationRef,
    MessageEdit,
    MessageSend,
    check_text,
    parse,
)
from .service import ChatService
from .sessions import Connections
from .shares import READER_EVENTS, SHARE_EVENTS, ShareEvents
from .titles import is_untitled, title_from
from .versions import VERSION_EVENTS, VersionEvents

log = logging.getLogger(__name__)

Handler = Callable[[str, str, Any], Awaitable[Ack]]


class ChatNamespace(socketio.AsyncNamespace):
    """Contract events have dots (``message.send``); they map to ``on_message_send``."""

    EVENTS = (
        *CONVERSATION_EVENTS,
        "message.send",
        "message.stop",
        "message.regenerate",
        "message.edit",
        "auth.renew",
        *VERSION_EVENTS,
        *SHARE_EVENTS,
    )

    def __init__(self, service: ChatService, namespace: str = "/") -> None:
        super().__init__(namespace)
        self.service = service
        self.verifier = TokenVerifier(service.secret, service.settings)
        self.connections = Connections()
        self.admin = AdminEvents(service, self.connections, self.close_user)
        self.handlers: dict[str, Handler] = {
            event: getattr(self, "on_" + event.replace(".", "_"))
            for event in self.EVENTS
            if event not in CONVERSATION_EVENTS + VERSION_EVENTS + SHARE_EVENTS
        }
        self.handlers.update(ConversationEvents(service, self.emit, self.enter_room).handlers())
        self.handlers.update(self.admin.handlers())
        self.handlers.update(VersionEvents(service, self.emit).handlers())
        self.handlers.update(ShareEvents(service, self.connections).handlers())

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # The server's own connect/disconnect run while the sid is pending; the same names sent
        # by a connected client are unknown events, never the handlers (which would re-run
        # authentication or free a connection slot).
        with self.service.handling():
            if event in ("connect", "disconnect") and not self.server.manager.is_connected(
                args[0], self.namespace
            ):
                return await super().trigger_event(event, *args)
            return await self.dispatch(event, args[0], args[1:])

    async def dispatch(self, event: str, sid: str, args: tuple[Any, ...]) -> Ack:
        """Run one client event and always answer with an ack (errors translated here)."""
        label = event if event in self.handlers else "unknown"
        started = time.perf_counter()
        try:
            handler = self.handlers.get(event)
            if handler is None:
                raise InvalidError("unknown event")
            if len(args) > 1:
                raise InvalidError("send one payload object")
            user_id = await self._user(sid)
            if event not in READER_EVENTS and self.connections.reader(sid):
                raise ForbiddenError("this connection may only read share links; sign in")
            answering = event in ANSWERING_EVENTS
            gate = (self.service.admitted(conversation_of(args)) if answering
                    else contextlib.nullcontext())
            with gate:  # admission first: a refusal touches no store (admission.py)
                own_limit = await self._allowed(sid, user_id) if answering else None
                await self.service.limiter.check(user_id, event, sid, own_limit)
                ack = await handler(sid, user_id, args[0] if args else None)
            outcome = "ok"
        except Exception as exc:
            ack, outcome = error_ack(exc, label)
        metrics.EVENTS.labels(label, outcome).inc()
        metrics.EVENT_DURATION.labels(label).observe(time.perf_counter() - started)
        return ack

    def refuse_early(self, sid: str, data: list[Any], can_answer: bool) -> Ack | None:
        """Admission for an answering event as its packet is decoded (``early_refusal.py``):
        the refusal's ack, or None (the event goes on to ``dispatch``, counted as queued
        until its task starts). Whatever ``dispatch`` would answer before admission (not
        signed in, token expired, a share reader, more than one payload) is left to it."""
        event = data[0] if data else None
        if event not in ANSWERING_EVENTS:
            return None
        conn = self.connections.get(sid)
        if (can_answer and conn is not None and not conn.expired()
                and not self.connections.reader(sid) and len(data) <= 2):
            refused = self.service.refusal(conversation_of(tuple(data[1:])))
            if refused is not None:
                refused.count()
                ack, outcome = error_ack(refused, str(event))
                metrics.EVENTS.labels(str(event), outcome).inc()
                return ack
        self.service.queued_answers += 1
        return None

    def answering_started(self, data: list[Any]) -> None:
        """An event's task starts: an answering one is no longer queued (``refuse_early``)."""
        if data and data[0] in ANSWERING_EVENTS:
            self.service.queued_answers = max(0, self.service.queued_answers - 1)

    async def _user(self, sid: str) -> str:
        session = await self.get_session(sid)
        user_id = session.get("user_id") if session else None
        conn = self.connections.get(sid)
        if not isinstance(user_id, str) or conn is None:
            raise UnauthorizedError("not signed in")
        if conn.expired():
            # Answered first (the ack is queued before this task runs), then closed.
            self.service.spawn(self._close(sid), "token-expired")
            raise UnauthorizedError("the token has expired; renew it with auth.renew")
        return user_id

    async def _allowed(self, sid: str, user_id: str) -> int | None:
        """The user's own daily token limit; a user disabled meanwhile is closed."""
        record = await self.service.accounts.policy(user_id) if self.service.accounts else None
        if record is None:
            return None
        if record.get("disabled"):
            self.service.spawn(self._close(sid), "user-disabled")
            raise ForbiddenError("this account is disabled")
        limit = record.get("tokens_per_day")
        return limit if isinstance(limit, int) and limit > 0 else None

    async def _close(self, sid: str) -> None:
        with contextlib.suppress(Exception):
            await self.disconnect(sid)

    async def close_user(self, user_id: str) -> int:
        """Close every connection of ``user_id`` on this replica at once."""
        sids = self.connections.of_user(user_id)
        for sid in sids:
            await self._close(sid)
        return len(sids)

    async def on_user_changed(self, user_id: str) -> None:
        """Another replica's admin changed this user: forget it, close it if disabled."""
        self.service.accounts_forget(user_id)
        if not self.connections.of_user(user_id) or self.service.accounts is None:
            return
        record = await self.service.accounts.policy(user_id)
        if record is not None and record.get("disabled"):
            await self.close_user(user_id)

    async def watch_expiry(self, interval: float) -> None:
        """Close connections whose token expired unrenewed, even if they send nothing."""
        while True:
            await asyncio.sleep(interval)
            for sid in self.connections.expired():
                metrics.EVENTS.labels("connect", "expired").inc()
                await self._close(sid)

    # ---- connection ----------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user = await self.verifier.verify(token)
            record = (await self.service.accounts.seen(user)
                      if self.service.accounts and not user.reader else None)
            if record is not None and record.get("disabled"):
                raise ForbiddenError("this account is disabled")
            self.service.limiter.connect(user.id, sid)
        except (UnauthorizedError, ForbiddenError, RateLimitedError, UnavailableError) as exc:
            metrics.EVENTS.labels("connect", exc.code).inc()
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code, "message": exc.message}
            ) from None
        self.connections.add(sid, user)
        await self.save_session(sid, {"user_id": user.id})
        metrics.CONNECTIONS.inc()
        metrics.EVENTS.labels("connect", "ok").inc()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.connections.remove(sid)
        self.service.limiter.disconnect(sid)
        metrics.CONNECTIONS.dec()

    async def on_auth_renew(self, sid: str, user_id: str, data: Any) -> Ack:
        """A new token for this connection, before the old one expires (same user only)."""
        p = parse(AuthRenew, data)
        user = await self.verifier.verify(p.token)
        if user.id != user_id:
            raise UnauthorizedError("the new token belongs to another user")
        self.connections.renew(sid, user)
        return ok()

    # ---- messages ------------------------------------------------------------------------
    async def on_message_send(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(MessageSend, data)
        check_text(
            "content",
            p.content,
            self.service.settings.max_content_chars,
            required=True,
            too_long=TooLargeError,
        )
        if len(p.file_ids or ()) > self.service.settings.max_files_per_message:
            raise InvalidError(
                f"at most {self.service.settings.max_files_per_message} files per message")
        return await self._send(sid, user_id, p)

    async def on_message_edit(self, sid: str, user_id: str, data: Any) -> Ack:
        """A new version of a user message (``versions.py``): sent like ``message.send``, its
        answer streams; the messages after the old version leave the active branch."""
        p = parse(MessageEdit, data)
        check_text("content", p.content, self.service.settings.max_content_chars,
                   required=True, too_long=TooLargeError)
        return await self._send(sid, user_id, p)

    async def _send(self, sid: str, user_id: str, p: MessageSend) -> Ack:
        history, _, answers = self.service.clients()
        settings = self.service.settings
        # One round trip: the message stored, and when new, the context read and the
        # answer's placeholder created (admitted already: dispatch).
        turn = await history.start_turn(user_id, p.conversation_id, {
            "content": p.content, "client_message_id": p.client_message_id,
            "answer": True, "context_messages": settings.history_messages,
            "default_model": settings.default_model, "file_ids": p.file_ids or [],
            "edit_of": p.message_id if isinstance(p, MessageEdit) else None})
        conversation, message = turn["conversation"], turn["message"]
        room = room_of(p.conversation_id)
        await self.enter_room(sid, room)
        if turn["created"]:
            metrics.MESSAGES_STORED.inc()
            await self.emit("message.created", {"message": message}, room=room, skip_sid=sid)
            if message["seq"] == 1 and is_untitled(conversation.get("title")):
                self.service.spawn(self._auto_title(user_id, conversation, p.content), "title")
            # One answer per conversation: a new message stops the one still streaming (and
            # its text, once final, belongs to the new answer's context).
            stopped = await answers.stop(p.conversation_id)
            recent = turn["context"]
            if stopped:
                recent = await history.list_messages(
                    user_id, p.conversation_id, limit=settings.history_messages)
            placeholder = turn["answer"]
            try:
                await answers.start(user_id, conversation, placeholder.get("model"),
                                    prepared=(recent, placeholder))
            except UnavailableError:  # another send of this conversation started one just now
                with contextlib.suppress(NotFoundError):
                    await history.delete_message(user_id, p.conversation_id, placeholder["id"])
            return ok(message=message)
        if await answers.busy(p.conversation_id) or await history.list_messages(
            user_id, p.conversation_id, after_seq=message["seq"], limit=1
        ):
            return ok(message=message)  # a repeat: the answer exists or is streaming
        await answers.start(user_id, conversation, await self._model(conversation))
        return ok(message=message)

    async def on_message_stop(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationRef, data)
        history, _, answers = self.service.clients()
        await history.get_conversation(user_id, p.conversation_id)  # ownership
        await answers.stop(p.conversation_id, AnswerEnd.STOPPED)
        return ok()

    async def on_message_regenerate(self, sid: str, user_id: str, data: Any) -> Ack:
        p = parse(ConversationRef, data)
        history, _, answers = self.service.clients()
        conversation = await history.get_conversation(user_id, p.conversation_id)
        await answers.stop(p.conversation_id, AnswerEnd.STOPPED)
        recent = await history.list_messages(
            user_id, p.conversation_id, limit=self.service.settings.history_messages
        )
        last_user = max((m["seq"] for m in recent if m["role"] == Role.USER), default=None)
        if last_user is None:
            raise InvalidError("there is no message to answer again")
        for m in recent:
            if m["seq"] > last_user:
                with contextlib.suppress(NotFoundError):
                    await history.delete_message(user_id, p.conversation_id, m["id"])
        await self.enter_room(sid, room_of(p.conversation_id))
        if not await answers.busy(p.conversation_id):
            await answers.start(user_id, conversation, await self._model(conversation))
        return ok()

    # ---- helpers -------------------------------------------------------------------------
    async def _model(self, conversation: dict[str, Any]) -> str | None:
        return conversation.get("model") or self.service.settings.default_model

    async def _auto_title(self, user_id: str, conversation: dict[str, Any], content: str) -> None:
        history, _, _ = self.service.clients()
        title = title_from(content, self.service.settings.title_chars)
        try:
            named = await history.update_conversation(user_id, conversation["id"], {"title": title})
        except Exception:
            log.warning("could not set a title", exc_info=True)
            return
        # the update's answer is the conversation as stored: no second read
        await self.emit("conversation.updated", {"conversation": named},
                        room=room_of(conversation["id"]))
