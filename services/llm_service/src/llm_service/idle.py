"""A read that waits too long ends the stream: ``asyncio.timeout`` around each read, for less.

``asyncio.timeout`` per read schedules and cancels a timer and enters and leaves a context
each time: in the streaming hot path that cost more than the bytes forwarded (py-spy,
stress_tests/README.md). ``IdleWatch`` keeps one timer per stream, re-armed only when it fires;
a read costs a clock read. Used as ``with IdleWatch(t) as watch:`` around the read loop,
``watch.reading()`` before each read and ``watch.done()`` after it: a read that has waited
``t`` seconds is cancelled and the ``with`` raises ``TimeoutError``, as ``asyncio.timeout``
does. Time spent outside a read (the caller writing downstream) never counts.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class IdleWatch:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._since: float | None = None  # when the read in progress began (None: not reading)
        self._expired = False

    def __enter__(self) -> IdleWatch:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("IdleWatch must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._handle = self._loop.call_later(self.timeout, self._check)
        return self

    def reading(self) -> None:
        self._since = self._loop.time()

    def done(self) -> None:
        self._since = None

    def _check(self) -> None:
        now = self._loop.time()
        since = self._since
        if since is not None and now - since >= self.timeout:
            self._expired = True
            self._task.cancel()
            return
        self._handle = self._loop.call_at((now if since is None else since) + self.timeout,
                                          self._check)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._handle.cancel()
        if (self._expired and exc_type is asyncio.CancelledError
                and self._task.uncancel() <= self._cancelling):
            raise TimeoutError from exc
