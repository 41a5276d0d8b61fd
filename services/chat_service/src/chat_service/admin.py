"""The operator's events (``admin.*``): admins only (``OIDC_ADMIN_ROLE``); others get
``forbidden``. Usage and users come from the history service; ``admin.live`` (an addition to
the contract's table) reports each replica's connections and answers in flight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chatbot_common.errors import ForbiddenError
from redis.exceptions import RedisError

from .acks import Ack, ok
from .schemas import AdminUsage, AdminUsers, AdminUserUpdate, parse
from .service import ChatService
from .sessions import Connections

log = logging.getLogger(__name__)

ADMIN_EVENTS = ("admin.usage", "admin.users", "admin.user.update", "admin.live")
USER_FIELDS = ("user_id", "name", "last_seen", "conversations", "tokens_today", "disabled",
               "tokens_per_day", "guest")


def public_user(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in USER_FIELDS if record.get(k) is not None or k in (
        "disabled", "conversations", "tokens_today")}


class AdminEvents:
    """Handlers of the admin events; ``close_user`` closes a user's connections here."""

    def __init__(
        self,
        service: ChatService,
        connections: Connections,
        close_user: Callable[[str], Awaitable[int]],
    ) -> None:
        self.service = service
        self.connections = connections
        self.close_user = close_user

    def handlers(self) -> dict[str, Callable[[str, str, Any], Awaitable[Ack]]]:
        return {
            "admin.usage": self.usage,
            "admin.users": self.users,
            "admin.user.update": self.update,
            "admin.live": self.live,
        }

    def _require_admin(self, sid: str) -> None:
        conn = self.connections.get(sid)
        if conn is None or not conn.admin:
            raise ForbiddenError("only administrators may do this")

    async def usage(self, sid: str, user_id: str, data: Any) -> Ack:
        self._require_admin(sid)
        p = parse(AdminUsage, data)
        history, _, _ = self.service.clients()
        return ok(rows=await history.usage(p.group_by, p.since, p.until))

    async def users(self, sid: str, user_id: str, data: Any) -> Ack:
        self._require_admin(sid)
        p = parse(AdminUsers, data)
        history, _, _ = self.service.clients()
        users = await history.list_users(p.limit, p.before)
        return ok(users=[public_user(u) for u in users])

    async def update(self, sid: str, user_id: str, data: Any) -> Ack:
        self._require_admin(sid)
        p = parse(AdminUserUpdate, data)
        history, _, _ = self.service.clients()
        user = await history.update_user(p.model_dump(exclude_none=True))
        self.service.accounts_forget(p.user_id)
        if user.get("disabled"):
            closed = await self.close_user(p.user_id)
            log.info("user disabled", extra={"user_id": p.user_id, "closed_here": closed})
        if self.service.live is not None:
            try:  # the other replicas forget it too (and close its connections)
                await self.service.live.user_changed(p.user_id)
            except RedisError:
                log.warning("redis unavailable: other replicas learn of the change later")
        return ok(user=public_user(user))

    async def live(self, sid: str, user_id: str, data: Any) -> Ack:
        self._require_admin(sid)
        here = self.stats()
        replicas: list[dict[str, Any]] = []
        if self.service.live is not None:
            try:
                replicas = await self.service.live.replicas()
            except RedisError:
                log.warning("redis unavailable: only this replica's figures")
        if not any(r.get("replica") == here["replica"] for r in replicas):
            replicas.append(here)
        return ok(replicas=sorted(replicas, key=lambda r: str(r["replica"])))

    def stats(self) -> dict[str, Any]:
        answers = self.service.answers.count() if self.service.answers else 0
        return {"replica": self.service.replica_id, "connections": len(self.connections),
                "answers": answers, "at": time.time()}
