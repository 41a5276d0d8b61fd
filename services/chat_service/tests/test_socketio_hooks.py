"""``ChatRedisManager`` overrides private hooks of python-socketio's Redis manager (``_publish``,
``_redis_listen_with_retries``, ``_listen``; and ``_thread`` reads what ``_listen`` yields), and
``AdmittingServer`` two of its server's (``_handle_event``, ``_handle_event_internal``).
python-socketio is pinned to the minor version these were written against; this test fails when
an upgrade renames, removes or re-signs them, or stops calling them, so the pin is only ever
moved together with a look at ``redis_manager.py``."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest
import socketio
from chat_service.early_refusal import AdmittingServer
from chat_service.redis_manager import ChatRedisManager
from socketio.async_pubsub_manager import AsyncPubSubManager

PINNED_MINOR = "5.18"
ENGINEIO_PINNED_MINOR = "4.15"

# hook -> (the library's class defining it, its parameters, async generator or coroutine)
HOOKS = {
    "_publish": (socketio.AsyncRedisManager, ["self", "data"], False),
    "_redis_listen_with_retries": (socketio.AsyncRedisManager, ["self"], True),
    "_listen": (socketio.AsyncRedisManager, ["self"], True),
}


def test_python_socketio_is_the_pinned_minor_version() -> None:
    assert version("python-socketio").startswith(PINNED_MINOR + "."), (
        "python-socketio moved: re-check ChatRedisManager's overrides, then this pin")


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_each_overridden_hook_still_exists_with_the_same_shape(name: str) -> None:
    owner, params, generator = HOOKS[name]
    theirs = owner.__dict__.get(name)
    assert theirs is not None, f"{owner.__name__}.{name} is gone"
    assert list(inspect.signature(theirs).parameters) == params
    assert inspect.isasyncgenfunction(theirs) is generator
    assert inspect.iscoroutinefunction(theirs) is not generator
    ours = ChatRedisManager.__dict__[name]
    assert list(inspect.signature(ours).parameters) == params
    assert inspect.isasyncgenfunction(ours) is generator


def test_the_library_still_calls_the_hooks() -> None:
    """Emits and room changes publish through ``_publish``; the listener task reads
    ``_listen``, which (in the library) reads ``_redis_listen_with_retries``."""
    assert "self._publish(" in inspect.getsource(AsyncPubSubManager.emit)
    assert "self._listen()" in inspect.getsource(vars(AsyncPubSubManager)["_thread"])
    listen = inspect.getsource(vars(socketio.AsyncRedisManager)["_listen"])
    assert "self._redis_listen_with_retries()" in listen
    for handler in ("_handle_emit", "_handle_disconnect", "_handle_enter_room",
                    "_handle_leave_room", "_handle_close_room", "_handle_callback"):
        assert callable(getattr(AsyncPubSubManager, handler, None)), handler


def test_the_servers_event_hooks_keep_their_shape_and_order() -> None:
    """``_handle_event`` decodes nothing more and hands the event to a task that runs
    ``_handle_event_internal``: early admission sits between the two."""
    server = socketio.AsyncServer
    for name, params in (("_handle_event", ["self", "eio_sid", "namespace", "id", "data"]),
                         ("_handle_event_internal",
                          ["self", "server", "sid", "eio_sid", "data", "namespace", "id"])):
        theirs = server.__dict__[name]
        assert list(inspect.signature(theirs).parameters) == params, name
        assert list(inspect.signature(AdmittingServer.__dict__[name]).parameters) == params
    handle = inspect.getsource(server.__dict__["_handle_event"])
    assert "self._handle_event_internal" in handle and "start_background_task" in handle
    assert "server._send_packet" in inspect.getsource(server.__dict__["_handle_event_internal"])


def test_engineio_hooks_keep_their_shape() -> None:
    """``lean_socket``: the socket made in ``_handle_connect`` is the library's ``AsyncSocket``,
    the ``connect`` event follows it (where it becomes a ``LeanSocket``), and the WebSocket
    handler, message receipt and the send queue are still where ``LeanSocket`` expects them."""
    import engineio
    from engineio.async_socket import AsyncSocket

    assert version("python-engineio").startswith(ENGINEIO_PINNED_MINOR + "."), (
        "python-engineio moved: re-check lean_socket.py, then this pin")
    connect = inspect.getsource(engineio.AsyncServer.__dict__["_handle_connect"])
    made = connect.index("async_socket.AsyncSocket(self, sid)")
    assert made < connect.index("self.sockets[sid] = s") < connect.index("'connect', sid")
    handler = AsyncSocket.__dict__["_websocket_handler"]
    assert list(inspect.signature(handler).parameters) == ["self", "ws"]
    assert list(inspect.signature(AsyncSocket.receive).parameters) == ["self", "pkt"]
    assert "self.queue" in inspect.getsource(AsyncSocket.send)
    assert "run_async=self.server.async_handlers" in inspect.getsource(AsyncSocket.receive)
    assert "await self.queue.join()" in inspect.getsource(AsyncSocket.close)
