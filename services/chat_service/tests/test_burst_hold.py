"""``BurstHold``: admitted answers of a burst start once the burst has been read; a lone send
never waits, and no answer waits longer than the hold."""

from __future__ import annotations

import asyncio
import contextlib

from chat_service.early_refusal import BurstHold


def finishes_without_waiting(hold: BurstHold) -> bool:
    coro = hold.settled()
    try:
        coro.send(None)
    except StopIteration:
        return True
    coro.close()
    return False


async def test_a_lone_send_does_not_wait() -> None:
    hold = BurstHold(gap=10.0, hold=10.0)  # a long gap: only the streak can make it wait
    hold.seen()
    assert finishes_without_waiting(hold)


async def test_a_burst_waits_until_its_sends_stop() -> None:
    hold = BurstHold(gap=0.02, hold=30.0)
    hold.seen()
    hold.seen()  # decoded together: a burst
    assert not finishes_without_waiting(hold)
    waiting = asyncio.create_task(hold.settled())
    for _ in range(3):  # more of the burst: still waiting
        await asyncio.sleep(0)
        hold.seen()
        assert not waiting.done()
    await asyncio.wait_for(waiting, 10)  # then nothing for 20 ms: it goes on
    assert asyncio.get_running_loop().time() - hold.last >= hold.gap


async def test_no_answer_waits_longer_than_the_hold() -> None:
    hold = BurstHold(gap=0.05, hold=0.1)

    async def endless_burst() -> None:
        while True:
            hold.seen()
            await asyncio.sleep(0.001)

    sending = asyncio.create_task(endless_burst())
    try:
        await asyncio.sleep(0.005)
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(hold.settled(), 10)
        assert asyncio.get_running_loop().time() - started >= 0.1
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending


async def test_a_hold_of_zero_turns_it_off() -> None:
    hold = BurstHold(gap=10.0, hold=0.0)
    hold.seen()
    hold.seen()
    assert finishes_without_waiting(hold)
