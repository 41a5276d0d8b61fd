"""``Feed``: an answer's chunks read by a task of its own; the loop takes them in order, and
is woken by the end, a failure, ``wake`` (the stop) or its deadline."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from chat_service.feed import END, Feed
from chat_service.llm_client import Chunk
from chatbot_common.errors import UpstreamError


async def source(queue: asyncio.Queue[Chunk | Exception | None],
                 closed: asyncio.Event) -> AsyncIterator[Chunk]:
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        closed.set()


async def test_chunks_in_order_then_the_end() -> None:
    queue: asyncio.Queue[Chunk | Exception | None] = asyncio.Queue()
    closed = asyncio.Event()
    feed = Feed(source(queue, closed))
    for text in ("a", "b"):
        queue.put_nowait(Chunk(text))
    queue.put_nowait(None)
    got = [await feed.next(None) for _ in range(3)]
    assert got == [Chunk("a"), Chunk("b"), END]
    await feed.aclose()


async def test_a_failure_is_handed_over_to_raise() -> None:
    queue: asyncio.Queue[Chunk | Exception | None] = asyncio.Queue()
    feed = Feed(source(queue, asyncio.Event()))
    queue.put_nowait(UpstreamError("broke off"))
    item = await feed.next(None)
    assert isinstance(item, UpstreamError) and item.message == "broke off"
    await feed.aclose()


async def test_the_deadline_and_wake_end_a_wait_and_close_cancels_the_read() -> None:
    queue: asyncio.Queue[Chunk | Exception | None] = asyncio.Queue()
    closed = asyncio.Event()
    feed = Feed(source(queue, closed))
    async with asyncio.timeout(30):  # a hang is a failure, not a wait
        assert await feed.next(0.01) is None  # nothing came: the coalescer's deadline
        waiting = asyncio.create_task(feed.next(None))
        await asyncio.sleep(0)
        feed.wake()  # the stop
        assert await waiting is None
        queue.put_nowait(Chunk("late"))
        assert await feed.next(None) == Chunk("late")
    await feed.aclose()  # the read in progress is cancelled, the stream closed
    assert closed.is_set()


@pytest.mark.parametrize("within", [None, 5.0])
async def test_a_queued_chunk_is_taken_without_waiting(within: float | None) -> None:
    queue: asyncio.Queue[Chunk | Exception | None] = asyncio.Queue()
    feed = Feed(source(queue, asyncio.Event()))
    queue.put_nowait(Chunk("x"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the reader has queued it
    assert await feed.next(within) == Chunk("x")
    await feed.aclose()
