"""The connections of this replica: whose they are and until when their token holds.

Each connection keeps its token's ``exp``: after it, events get ``unauthorized`` and the
connection is closed (the sweep closes idle ones too), unless the client renewed it with
``auth.renew``. Indexed by user, so a disabled user's connections close at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatbot_common.tokens import User


@dataclass
class Conn:
    sid: str
    user_id: str
    expires_at: float
    admin: bool = False
    guest: bool = True
    name: str | None = None
    reader: bool = False  # a share-link reader: share.get only

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


class Connections:
    def __init__(self) -> None:
        self._by_sid: dict[str, Conn] = {}
        self._by_user: dict[str, set[str]] = {}

    def add(self, sid: str, user: User) -> Conn:
        conn = Conn(sid, user.id, user.expires_at, user.admin, user.guest, user.name, user.reader)
        self._by_sid[sid] = conn
        self._by_user.setdefault(user.id, set()).add(sid)
        return conn

    def get(self, sid: str) -> Conn | None:
        return self._by_sid.get(sid)

    def reader(self, sid: str) -> bool:
        conn = self._by_sid.get(sid)
        return conn is not None and conn.reader

    def renew(self, sid: str, user: User) -> None:
        conn = self._by_sid.get(sid)
        if conn is not None:
            conn.expires_at = user.expires_at
            conn.admin = user.admin
            conn.name = user.name or conn.name

    def remove(self, sid: str) -> None:
        conn = self._by_sid.pop(sid, None)
        if conn is None:
            return
        sids = self._by_user.get(conn.user_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._by_user[conn.user_id]

    def of_user(self, user_id: str) -> list[str]:
        return list(self._by_user.get(user_id, ()))

    def expired(self, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        return [c.sid for c in self._by_sid.values() if c.expired(now)]

    def __len__(self) -> int:
        return len(self._by_sid)
