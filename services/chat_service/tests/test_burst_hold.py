"""``BurstHold``: admitted answers of a burst start once the burst has been read (no send for
the quiet time, pauses shorter than it included); a lone send never waits, and no answer waits
longer than the hold."""

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
    hold = BurstHold(gap=10.0, quiet=10.0, hold=10.0)  # only a streak can make it wait
    hold.seen()
    assert finishes_without_waiting(hold)


async def test_a_burst_waits_until_its_sends_stop() -> None:
    hold = BurstHold(gap=1.0, quiet=0.5, hold=30.0)  # wide: a busy machine stalls anywhere
    hold.seen()
    hold.seen()  # decoded together: a burst
    assert not finishes_without_waiting(hold)
    waiting = asyncio.create_task(hold.settled())
    for _ in range(3):  # more of the burst: still waiting
        await asyncio.sleep(0)
        hold.seen()
        assert not waiting.done()
    await asyncio.wait_for(waiting, 10)  # then nothing for 0.5 s: it goes on
    assert asyncio.get_running_loop().time() - hold.last >= hold.quiet


async def test_no_answer_waits_longer_than_the_hold() -> None:
    hold = BurstHold(gap=0.05, quiet=5.0, hold=0.1)  # a stall of the sends is no quiet

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
    hold = BurstHold(gap=10.0, quiet=10.0, hold=0.0)
    hold.seen()
    hold.seen()
    assert finishes_without_waiting(hold)


async def test_a_pause_within_a_burst_does_not_end_it() -> None:
    """A burst's sends paused for longer than the gap, shorter than the quiet time: answers
    admitted before the pause, and the one admitted right after it, wait on (here until the
    hold ends them: the quiet time is longer)."""
    loop = asyncio.get_running_loop()
    hold = BurstHold(gap=0.05, quiet=60.0, hold=0.5)
    hold.seen()
    hold.seen()
    entered = loop.time()
    before = asyncio.create_task(hold.settled())
    await asyncio.sleep(0.1)  # the clients pause: longer than the gap
    hold.seen()  # a streak of one again, but within the quiet time of the burst
    assert hold.streak == 1
    assert not finishes_without_waiting(hold)
    after = asyncio.create_task(hold.settled())
    await asyncio.sleep(0)
    assert not before.done()
    await asyncio.wait_for(asyncio.gather(before, after), 10)
    assert loop.time() - entered >= 0.5  # ended by the hold, not by the pause


async def test_a_send_long_after_a_burst_does_not_wait() -> None:
    hold = BurstHold(gap=0.003, quiet=0.01, hold=30.0)
    hold.seen()
    hold.seen()
    await asyncio.sleep(0.02)  # the burst is over: quiet for longer than the quiet time
    hold.seen()
    assert finishes_without_waiting(hold)
