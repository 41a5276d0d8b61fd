"""How far behind this replica's event loop runs, and what that means for streaming.

``LoopLag`` wakes up every ``period`` and measures how late it woke (a smoothed figure): the
loop's own measure of overload. From its quick figure (``lag``), ``delta_interval`` grows the
coalescing interval (fewer, larger deltas, hence fewer emits and less CPU per token exactly
when CPU is short); from its sustained figure (``sustained``, smoothed over ``window``
seconds of wall time, and taken only while no client event is being handled: the lag of the
answers streaming here, not of a burst of connects or sends, which the figure must judge
rather than cause) admission control refuses new answers beyond a bound (``admission.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import Protocol

from . import metrics


def smoothed(previous: float, sample: float, elapsed: float, window: float) -> float:
    """An exponential moving average over wall time: ``sample`` (observed over ``elapsed``
    seconds) weighs ``1 - exp(-elapsed / window)``, so a sample that covers a long stall counts
    for its duration, not as one sample among many."""
    if window <= 0:
        return sample
    return previous + (1.0 - math.exp(-elapsed / window)) * (sample - previous)


class LoopLag:
    """Event-loop lag in seconds (0 until started): ``lag`` reacts within a few wake-ups,
    ``sustained`` is the lag smoothed over ``window`` seconds, fed only by wake-ups when
    ``quiet()`` (no client event being handled: see ``record``), and as 0 unless ``ours()``
    (enough answers stream here for the lag to be theirs)."""

    def __init__(self, period: float = 0.025, smoothing: float = 0.3,
                 window: float = 2.0, quiet: Callable[[], bool] = lambda: True,
                 ours: Callable[[], bool] = lambda: True) -> None:
        self.period = period
        self.smoothing = smoothing
        self.window = window
        self.quiet = quiet
        self.ours = ours
        self.lag = 0.0
        self.sustained = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(self.period)
            self.record(time.perf_counter() - t)

    def record(self, elapsed: float) -> None:
        """One wake-up, ``elapsed`` seconds after going to sleep for ``period``. The sustained
        figure skips it while client events are being handled: a burst of connects or sends
        stalls the loop by its own work, and admission must judge that burst by the load
        before it, not refuse it for the lag it causes itself. While too few answers stream
        for the lag to be theirs (``ours``), it counts as none: 500 clients connecting (the
        WebSocket handshakes are no client events) must not refuse the answers they then ask
        for, as they did once the smoothed lag of the handshakes outlasted them."""
        late = max(0.0, elapsed - self.period)
        self.lag += self.smoothing * (late - self.lag)
        if self.quiet():
            sample = late if self.ours() else 0.0
            self.sustained = smoothed(self.sustained, sample, elapsed, self.window)
        metrics.LOOP_LAG.set(self.lag)
        metrics.LOOP_LAG_SUSTAINED.set(self.sustained)


def load_factor(base: float, bound: float, lag: float) -> float:
    """How many times the coalescing interval has grown at this lag (1: the loop keeps up, or
    no coalescing to grow from)."""
    return delta_interval(base, bound, lag) / base if base > 0 else 1.0


def checkpoint_interval(base: float, bound: float, factor: float) -> float:
    """The checkpoint interval under load ``factor``: ``base`` stretched as the coalescing
    interval is, at most ``bound`` (never below ``base``). A crawling answer otherwise pays
    a write of its whole text every ``base`` seconds for as long as it crawls, exactly when CPU
    is short; a crash then loses at most ``bound`` seconds of text."""
    return min(max(base, bound), base * factor)


def delta_interval(base: float, bound: float, lag: float) -> float:
    """The coalescing interval at this lag: ``base`` while the loop keeps up, growing with the
    lag (four times it) up to ``bound``."""
    if lag <= 0.002:  # a loop that keeps up
        return base
    return min(max(base, bound), base + 4 * lag)


class Clock(Protocol):
    """Monotonic time and sleeping, as the answer lifecycle sees them (a fake one in tests)."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
