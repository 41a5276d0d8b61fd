"""Cheaper emits: one encode per emit, a direct write per recipient, orjson for the packets.

python-socketio (5.18) encodes an emit once per room already, but then creates one task per
recipient and waits for them all; the websocket transport's send only queues the packet for
the connection's writer task, so the tasks buy nothing. ``DirectEmit`` keeps the library's
manager and overrides its public ``emit`` for the common case (no callback): the packet is
encoded once and queued on each recipient's connection in turn (``eio.send_packet``), with
no task per recipient. Emits with a callback go through the library unchanged. As a mixin
it also serves the Redis manager: its local delivery (``_handle_emit``) calls this ``emit``.

``OrjsonCompat`` is the ``json`` module handed to the Socket.IO server (``dumps``/``loads``
as the standard library's, through orjson).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet


class OrjsonCompat:
    """The two functions python-socketio calls on its ``json`` module, through orjson."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            # orjson refuses JSON the standard library reads (a lone surrogate "\ud800"); the
            # event must still reach its handler, whose validation answers `invalid` (a
            # dropped packet would leave the client waiting for an ack that never comes).
            return json.loads(data)


class DirectEmit(socketio.AsyncManager):
    """A manager whose callback-less emits write straight to each recipient's queue."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        namespace = namespace or "/"
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, **kwargs)
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        # the recipients first: the room may change while a write awaits
        targets = [eio_sid for sid, eio_sid in self.get_participants(namespace, room)
                   if sid not in skip]
        if not targets:
            return
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        packets = [eio_packet.Packet(eio_packet.MESSAGE, p)
                   for p in (encoded if isinstance(encoded, list) else [encoded])]
        eio = self.server.eio
        for eio_sid in targets:
            for pkt in packets:
                await eio.send_packet(eio_sid, pkt)
