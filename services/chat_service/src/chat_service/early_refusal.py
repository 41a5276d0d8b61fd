"""Refusals at the pace of the frames: admission decided as an answering event is decoded.

python-socketio runs every event in a task of its own. In a burst of N sends, a send beyond
the replica's capacity waited for every task queued before it (the admitted sends' first
steps: history and LLM calls) before admission refused it: 120-190 ms for 100-400 refusals in
one burst of 200-500 sends on this machine. ``AdmittingServer`` asks the namespace as the
event's packet is decoded, before any task exists: a refusal is acked there and then. An
answering event let through counts as queued (``ChatService.queued_answers``) until its task
starts and takes its slot, so a burst still admits no more than the capacity.

The hooks are python-socketio's ``_handle_event`` and ``_handle_event_internal`` (the
version is pinned: pyproject.toml, tests/test_socketio_hooks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import socketio
from socketio import packet

from .lean_socket import LeanEngine

Ack = dict[str, Any]
#: (sid, [event, *args], can_answer) -> the refusal's ack, or None (the event goes on, queued)
Early = Callable[[str, list[Any], bool], Ack | None]
Started = Callable[[list[Any]], None]


class AdmittingServer(socketio.AsyncServer):  # type: ignore[misc]
    early: Early | None = None
    started: Started | None = None

    def _engineio_server_class(self) -> type[LeanEngine]:
        return LeanEngine

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None,
                            data: list[Any]) -> None:
        ns = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, ns)
        if self.early is not None and self.manager.is_connected(sid, ns):
            ack = self.early(sid, data, id is not None)
            if ack is not None:
                await self._send_packet(eio_sid, self.packet_class(
                    packet.ACK, namespace=ns, id=id, data=[ack]))
                return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_event_internal(self, server: Any, sid: str, eio_sid: str,
                                     data: list[Any], namespace: str, id: int | None) -> None:
        if self.started is not None:
            self.started(data)
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
