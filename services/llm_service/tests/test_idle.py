"""``IdleWatch``: a read that waits longer than the bound ends with TimeoutError; time outside
reads never counts; the task is left uncancelled."""

import asyncio

import pytest
from llm_service.idle import IdleWatch


async def test_a_read_waiting_longer_than_the_bound_times_out() -> None:
    async def read() -> None:
        with IdleWatch(0.05) as watch:
            watch.reading()
            await asyncio.Event().wait()  # a read that never completes

    with pytest.raises(TimeoutError):
        await read()
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # no cancellation left pending


async def test_time_outside_reads_does_not_count() -> None:
    ready = asyncio.Event()
    with IdleWatch(0.05) as watch:
        for _ in range(3):
            watch.reading()
            ready.set()
            await ready.wait()  # a read that completes at once
            ready.clear()
            watch.done()
            await asyncio.sleep(0.12)  # writing downstream, longer than the bound
    await asyncio.sleep(0.12)  # the timer is gone with the block


async def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    async def reader() -> None:
        with IdleWatch(10) as watch:
            watch.reading()
            await asyncio.Event().wait()

    task = asyncio.create_task(reader())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
