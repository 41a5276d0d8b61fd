"""A connection of its own to the history's SQLite file, for the stores beside it (users and
usage, share links): WAL (it shares the file with the history writer), ``synchronous=FULL``,
``busy_timeout``, rows by name, our own transactions, the schema created."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite


async def open_side_store(path: Path, busy_timeout_ms: int, schema: str) -> aiosqlite.Connection:
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = FULL")
    await db.executescript(schema)
    return db
