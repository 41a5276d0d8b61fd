"""The stores beside the history in its SQLite file (users and usage, share links): a
connection of their own (WAL: it shares the file with the history writer),
``synchronous=FULL``, ``busy_timeout``, rows by name, their own transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
from chatbot_common.errors import UnavailableError


class SqliteSideStore:
    """Opens the file and creates ``SCHEMA`` (then ``upgrade`` for files of earlier
    versions); ``db`` is the connection while open."""

    SCHEMA = ""

    def __init__(self, path: Path, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()  # this connection's writes, one at a time

    async def open(self) -> None:
        await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = sqlite3.Row
        await db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = FULL")
        await db.executescript(self.SCHEMA)
        await self.upgrade(db)
        self._db = db

    async def upgrade(self, db: aiosqlite.Connection) -> None:
        """Bring a file of an earlier version up to ``SCHEMA`` (nothing by default)."""

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise UnavailableError("the history store is not open")
        return self._db
