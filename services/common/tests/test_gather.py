"""chatbot_common.gather: what the reader brought between two turns of the consumer, as one
list. Event-driven: the source waits on events the test sets, never on the clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from chatbot_common.gather import gathered


class Source:
    """Yields the items of each ``read`` (a list) without suspending between them, then waits
    for the next read; ``closed`` once its finally ran."""

    def __init__(self) -> None:
        self.reads: asyncio.Queue[list[int] | Exception | None] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.yielded = 0

    async def items(self) -> AsyncIterator[int]:
        try:
            while (read := await self.reads.get()) is not None:
                if isinstance(read, Exception):
                    raise read
                for item in read:
                    self.yielded += 1
                    yield item
        finally:
            self.closed.set()


async def test_one_list_per_read_in_order_then_the_end() -> None:
    source = Source()
    got = gathered(source.items())
    for read in ([1, 2, 3], [4], [5, 6]):  # the next read once the last one was taken
        source.reads.put_nowait(read)
        assert await anext(got) == read  # one read's items: one list
    source.reads.put_nowait(None)
    with pytest.raises(StopAsyncIteration):
        await anext(got)
    assert source.closed.is_set()


async def test_a_failure_comes_after_the_items_before_it() -> None:
    source = Source()
    source.reads.put_nowait([1, 2])
    source.reads.put_nowait(ValueError("broke off"))
    got = gathered(source.items())
    assert await anext(got) == [1, 2]
    with pytest.raises(ValueError, match="broke off"):
        await anext(got)


async def test_closing_the_consumer_stops_the_reader_and_closes_the_source() -> None:
    source = Source()
    source.reads.put_nowait([1])
    got = gathered(source.items())
    assert await anext(got) == [1]  # the reader now waits for the next read
    await got.aclose()
    assert source.closed.is_set()
    assert source.reads.empty()


async def test_at_most_limit_items_wait_for_a_slow_consumer() -> None:
    source = Source()
    source.reads.put_nowait(list(range(10)))
    got = gathered(source.items(), limit=4)
    assert await anext(got) == [0, 1, 2, 3]  # the reader stopped at the limit ...
    assert source.yielded == 4
    assert await anext(got) == [4, 5, 6, 7]  # ... and went on once they were taken
    await got.aclose()  # the reader stopped between two items: the source is closed too
    assert source.closed.is_set()
    assert source.yielded == 8
