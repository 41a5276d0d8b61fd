"""Hold an answer of the fake upstream on command, so a test pauses it instead of racing it.

Put ``[hold:KEY]`` (or ``[hold:KEY@N]``) in the last user message: the streamed answer sends its
first N tokens (default 1), then waits until the test releases KEY. A released key stays
released (a release may come first; a continuation of the same question passes). The hold
counts tokens of the whole answer, so a continuation (assistant prefill) past token N does not
stop again. A hold lasts at most the fake's ``--stall-seconds``.

Routes of the fake: ``POST /_fake/release/KEY``; ``GET /_fake/held/KEY?timeout=S`` answers
``{"held": true}`` as soon as an answer waits at KEY (at once when one already does), 408 when
none did within S seconds.

Test side: ``hold = Hold.new()`` then ``hold.tag`` in the question; ``await hold.wait_held(url)``
/ ``hold.wait_held_sync(url)`` to know the answer is paused; ``hold.release(url)`` (or
``await hold.arelease(url)``) to let it go on.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx2 as httpx

HOLD_TAG = re.compile(r"\[hold:([A-Za-z0-9_.-]+)(?:@(\d+))?\]")


@dataclass
class HoldBoard:
    """The fake upstream's side: which keys are released, which answers wait where."""

    released: set[str] = field(default_factory=set)
    waiting: Counter[str] = field(default_factory=Counter)
    _changed: asyncio.Condition | None = None

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def hold(self, key: str, limit_seconds: float) -> None:
        """Wait until ``key`` is released (at most ``limit_seconds``)."""
        async with self.changed:
            self.waiting[key] += 1
            self.changed.notify_all()
            try:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: key in self.released), limit_seconds
                )
            except TimeoutError:
                pass
            finally:
                self.waiting[key] -= 1

    async def release(self, key: str) -> int:
        async with self.changed:
            self.released.add(key)
            self.changed.notify_all()
            return self.waiting[key]

    async def wait_held(self, key: str, timeout: float) -> bool:
        async with self.changed:
            try:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: self.waiting[key] > 0), timeout
                )
            except TimeoutError:
                return False
            return True

    def reset(self) -> None:
        self.released.clear()


def parse(text: str) -> tuple[str, int] | None:
    """``(key, after_tokens)`` of the hold tag in ``text``, if any."""
    m = HOLD_TAG.search(text)
    return (m.group(1), int(m.group(2) or 1)) if m else None


@dataclass(frozen=True)
class Hold:
    """A test's handle on one hold key."""

    key: str
    after: int = 1

    @classmethod
    def new(cls, after: int = 1) -> Hold:
        return cls(f"h{uuid.uuid4().hex[:12]}", after)

    @property
    def tag(self) -> str:
        return f"[hold:{self.key}@{self.after}]"

    def release(self, upstream_url: str) -> None:
        httpx.post(f"{upstream_url}/_fake/release/{self.key}", timeout=30).raise_for_status()

    async def arelease(self, upstream_url: str) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            (await http.post(f"{upstream_url}/_fake/release/{self.key}")).raise_for_status()

    def wait_held_sync(self, upstream_url: str, timeout: float = 60) -> None:
        r = httpx.get(
            f"{upstream_url}/_fake/held/{self.key}", params={"timeout": timeout},
            timeout=timeout + 30,
        )
        assert r.status_code == 200, f"no answer reached hold {self.key} in {timeout} s"

    async def wait_held(self, upstream_url: str, timeout: float = 60) -> None:
        async with httpx.AsyncClient(timeout=timeout + 30) as http:
            r = await http.get(
                f"{upstream_url}/_fake/held/{self.key}", params={"timeout": timeout}
            )
        assert r.status_code == 200, f"no answer reached hold {self.key} in {timeout} s"
