"""Group commit for SQLite: the writes queued meanwhile share one transaction (one fsync).

SQLite allows one writer at a time and, with ``synchronous=FULL``, every commit waits for
the disk. Alone, each write pays for a commit; under load the operations that queue up while
a transaction commits all go into the next one, so the number of fsyncs stays flat as
writers are added.

An operation is an ``async (connection) -> result`` function that raises the errors a client
can cause (``ChatbotError``) *before* it writes anything; those fail only that operation.
Any other error aborts the shared transaction; each of its operations is then run again in
a transaction of its own, so one bad operation never fails the others.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiosqlite
from chatbot_common.errors import ChatbotError, UnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")
Operation = Callable[[aiosqlite.Connection], Awaitable[Any]]
_Outcome = tuple[bool, Any]  # (ok, result or exception)


class GroupCommitWriter:
    """Serialises every write of one connection, batching those that arrive together."""

    def __init__(self, db: aiosqlite.Connection, max_batch: int = 256) -> None:
        self._db = db
        self._max_batch = max_batch
        self._pending: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def run(self, operation: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((operation, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def close(self) -> None:
        """Finish what is queued."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                outcomes = await self._run_batch([op for op, _ in batch])
            except Exception:
                log.warning("group commit failed; running its operations one by one", exc_info=True)
                outcomes = [await self._run_alone(op) for op, _ in batch]
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():  # the caller went away
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    async def _begin(self) -> None:
        try:
            await self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # another process held the lock too long
            raise UnavailableError("the history store is busy") from exc

    async def _run_batch(self, operations: list[Operation]) -> list[_Outcome]:
        await self._begin()
        outcomes: list[_Outcome] = []
        try:
            for op in operations:
                try:
                    outcomes.append((True, await op(self._db)))
                except ChatbotError as exc:  # raised before the operation wrote anything
                    outcomes.append((False, exc))
            await self._db.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise
        return outcomes

    async def _run_alone(self, op: Operation) -> _Outcome:
        try:
            await self._begin()
            try:
                result = await op(self._db)
                await self._db.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise
        except ChatbotError as exc:
            return False, exc
        except sqlite3.Error:
            log.error("history write failed", exc_info=True)
            return False, UnavailableError("the history store failed to write")
        except Exception as exc:
            return False, exc
        return True, result

    async def _rollback(self) -> None:
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            log.debug("rollback after a failed transaction", exc_info=True)
