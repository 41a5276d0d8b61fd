"""An answer's LLM chunks, read by one task of its own and waited for cheaply.

The answer's loop waits for whichever comes first: the next chunk, a stop, or the coalescer's
deadline. A task per read plus ``asyncio.wait`` on it and the stop cost more CPU than the
chunk's own handling (py-spy at 50 streams: stress_tests/README.md). ``Feed`` keeps one reader
task per answer that queues what it reads, and the loop waits on one plain future that a
chunk, the end, a failure, ``wake`` (the stop) or the deadline resolves; a chunk already
queued is taken without waiting at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from .llm_client import Chunk

#: Queued after the last chunk.
END = object()


class Feed:
    def __init__(self, chunks: AsyncIterator[Chunk]) -> None:
        self._chunks = chunks
        self._loop = asyncio.get_running_loop()
        self._items: deque[Any] = deque()  # Chunk | END | the exception the read raised
        self._waiter: asyncio.Future[None] | None = None
        self._task = self._loop.create_task(self._read(), name="answer-reader")

    async def _read(self) -> None:
        try:
            async for chunk in self._chunks:
                self._put(chunk)
        except Exception as exc:
            self._put(exc)
        else:
            self._put(END)

    def _put(self, item: Any) -> None:
        self._items.append(item)
        self.wake()

    def wake(self, *_: Any) -> None:
        """End the current ``wait`` now (also a done-callback: the stop)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self, within: float | None) -> Any:
        """The next item (a ``Chunk``, ``END``, or the exception the read raised, to raise),
        or None when ``wake`` was called or ``within`` seconds passed first."""
        if not self._items:
            waiter = self._waiter = self._loop.create_future()
            timer = None if within is None else self._loop.call_later(within, self.wake)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        return self._items.popleft() if self._items else None

    async def aclose(self) -> None:
        """Stop reading (a read in progress is cancelled) and close the stream."""
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
