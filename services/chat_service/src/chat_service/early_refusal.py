"""Refusals at the pace of the frames: admission decided as an answering event is decoded.

python-socketio runs every event in a task of its own. In a burst of N sends, a send beyond
the replica's capacity waited for every task queued before it (the admitted sends' first
steps: history and LLM calls) before admission refused it: 120-190 ms for 100-400 refusals in
one burst of 200-500 sends on this machine. ``AdmittingServer`` asks the namespace as the
event's packet is decoded, before any task exists: a refusal is acked there and then. An
answering event let through counts as queued (``ChatService.queued_answers``) until its task
starts and takes its slot, so a burst still admits no more than the capacity.

Refusals first (``BurstHold``): with N sends decoded in one burst, the admitted answers'
first steps (history, the LLM service: about 10 ms of CPU each across the services) would share
the cores with the reading of the frames still to come, and the burst's last refusals waited
for them (100-170 ms for 420 refusals behind 80 admitted on two cores). Sends decoded within
``ADMISSION_BURST_GAP_MS`` of each other are a burst; once one is seen, admitted answers wait
until no send has come for ``ADMISSION_BURST_QUIET_MS`` (at most ``ADMISSION_BURST_HOLD_MS``):
the work is the same, done after the refusals. A send that comes alone does not wait.

The hooks are python-socketio's ``_handle_event`` and ``_handle_event_internal`` (the
version is pinned: pyproject.toml, tests/test_socketio_hooks.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import socketio
from socketio import packet

from .lean_socket import LeanEngine
from .ratelimit import ANSWERING_EVENTS

Ack = dict[str, Any]
#: (sid, [event, *args], can_answer) -> the refusal's ack, or None (the event goes on, queued)
Early = Callable[[str, list[Any], bool], Ack | None]
Started = Callable[[list[Any]], None]


class BurstHold:
    """Holds admitted answers' first steps while a burst of answering sends is decoded.

    Sends decoded within ``gap`` of each other are a burst. Once one has been seen, an admitted
    answer waits until no answering send has come for ``quiet`` (at most ``hold``): a burst's
    sends do not all come back to back (its clients, or this machine's other processes, pause
    now and then), and a burst's end decided on the first gap of 3 ms let its admitted answers
    start in the middle of it (seen in a trace: at 47 of 231 ms, at 20 ms x 500)."""

    def __init__(self, gap: float, quiet: float, hold: float) -> None:
        self.gap, self.quiet, self.hold = gap, quiet, hold
        self.last = float("-inf")  # loop time of the latest answering send decoded
        self.streak = 0  # sends decoded, each within ``gap`` of the one before
        self.burst_at = float("-inf")  # the latest send that was part of a burst

    def seen(self) -> None:
        now = asyncio.get_running_loop().time()
        self.streak = self.streak + 1 if now - self.last < self.gap else 1
        self.last = now
        if self.streak >= 2:
            self.burst_at = now

    async def settled(self) -> None:
        """Return at once unless a burst was seen within ``quiet``; else once no answering
        send has been decoded for ``quiet`` (or after ``hold``)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.hold <= 0 or now - self.burst_at >= self.quiet:
            return
        deadline = now + self.hold
        # waits for quiet, a span of time with no sends, which no event marks
        while (now := loop.time()) < deadline and now - self.last < self.quiet:  # noqa: ASYNC110
            await asyncio.sleep(min(self.quiet - (now - self.last), deadline - now))


class AdmittingServer(socketio.AsyncServer):  # type: ignore[misc]
    early: Early | None = None
    started: Started | None = None
    burst: BurstHold | None = None

    def _engineio_server_class(self) -> type[LeanEngine]:
        return LeanEngine

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None,
                            data: list[Any]) -> None:
        ns = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, ns)
        if self.early is not None and self.manager.is_connected(sid, ns):
            if self.burst is not None and data and data[0] in ANSWERING_EVENTS:
                self.burst.seen()
            ack = self.early(sid, data, id is not None)
            if ack is not None:
                await self._send_packet(eio_sid, self.packet_class(
                    packet.ACK, namespace=ns, id=id, data=[ack]))
                return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_event_internal(self, server: Any, sid: str, eio_sid: str,
                                     data: list[Any], namespace: str, id: int | None) -> None:
        if self.burst is not None and data and data[0] in ANSWERING_EVENTS:
            await self.burst.settled()
        if self.started is not None:
            self.started(data)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
