"""What a stream's reader brought since its consumer last took, as one list: one write per read.

An HTTP body read through httpx comes one chunk of the transfer encoding at a time, even when
one network read brought many (a paced read, ``paced.py``, brings every token of its interval),
and a relay that writes each as it comes pays a write per token downstream. ``gathered``
runs the source (an async iterator) in a task of its own that collects what it yields; the
consumer, woken once per batch, takes everything collected so far. The reader runs without
suspending through every chunk that one read brought (no I/O between them), so the consumer
wakes after the read's last chunk: one list per read, written at once.

At most ``limit`` items wait: beyond, the reader waits for the consumer (a slow downstream
slows the reads, as writing in the reader's place would). The source's failure comes after
the items it yielded before it; closing the consumer stops the reader and closes the source.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class _Reader(Generic[T]):
    def __init__(self, source: AsyncIterator[T], limit: int) -> None:
        self.source = source
        self.limit = limit
        self.items: list[T] = []
        self.error: Exception | None = None
        self.done = False
        self.loop = asyncio.get_running_loop()
        self.waiter: asyncio.Future[None] | None = None  # the consumer's, while it waits
        self.room: asyncio.Future[None] | None = None  # the reader's, while ``limit`` wait
        self.task = self.loop.create_task(self._run(), name="gather-reader")

    async def _run(self) -> None:
        try:
            async for item in self.source:
                self.items.append(item)
                self.wake()
                if len(self.items) >= self.limit:
                    self.room = self.loop.create_future()
                    await self.room
        except Exception as exc:
            self.error = exc
        finally:
            try:
                aclose = getattr(self.source, "aclose", None)
                if aclose is not None:  # stopped between two items: the source's finally runs
                    with contextlib.suppress(Exception):
                        await aclose()
            finally:
                self.done = True
                self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def take(self) -> list[T]:
        items, self.items = self.items, []
        if self.room is not None and not self.room.done():
            self.room.set_result(None)
        return items

    async def stop(self) -> None:
        if not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def gathered(source: AsyncIterator[T], limit: int = 256) -> AsyncGenerator[list[T], None]:
    """The items of ``source``, as lists of what arrived between two turns of the consumer
    (never empty); ``source``'s exception after its last items."""
    reader: _Reader[T] = _Reader(source, limit)
    try:
        while True:
            if not reader.items and not reader.done:
                reader.waiter = reader.loop.create_future()
                try:
                    await reader.waiter
                finally:
                    reader.waiter = None
            if reader.items:
                yield reader.take()
            elif reader.error is not None:
                raise reader.error
            elif reader.done:
                return
    finally:
        await reader.stop()
