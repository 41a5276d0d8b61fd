"""Coalesce streamed tokens into fewer ``message.delta`` events (pure logic, no I/O)."""

from __future__ import annotations


class Coalescer:
    """Buffer text and release it at most once per ``interval`` seconds.

    The caller passes the clock: ``add`` returns text to emit now (or ``None`` to wait),
    ``wait_time`` says how long the buffered text may still wait, ``take`` empties the buffer.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._parts: list[str] = []
        self._last_emit: float | None = None

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    def add(self, text: str, now: float) -> str | None:
        if text:
            self._parts.append(text)
        if self._parts and self.wait_time(now) == 0.0:
            return self.take(now)
        return None

    def wait_time(self, now: float) -> float | None:
        """Seconds until the buffer is due; ``None`` when nothing is buffered."""
        if not self._parts:
            return None
        if self._last_emit is None:
            return 0.0
        return max(0.0, self._last_emit + self.interval - now)

    def take(self, now: float) -> str:
        text = "".join(self._parts)
        self._parts.clear()
        if text:
            self._last_emit = now
        return text
