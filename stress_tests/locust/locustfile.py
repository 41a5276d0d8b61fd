"""Locust load profile: page visitors (HTTP) and chatting users (Socket.IO).

    uv run locust -f stress_tests/locust/locustfile.py --host http://127.0.0.1:8080 \
        --headless -u 50 -r 10 -t 1m --csv results/locust

``--host`` is the UI service (or the ingress). Chatting users read ``/config.json`` for where
Socket.IO lives, get a guest token from ``POST /auth/guest``, then create conversations, send
messages and wait for ``message.done``. Socket.IO round trips are reported as request type
``sio``; time to first token as ``sio / ttft`` and the whole answer as ``sio / answer``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urljoin

import socketio
from gevent.event import Event
from locust import FastHttpUser, between, events, task


def _fire(name: str, started: float, exc: Exception | None = None, length: int = 0) -> None:
    events.request.fire(request_type="sio", name=name,
                        response_time=(time.perf_counter() - started) * 1000,
                        response_length=length, exception=exc, context={})


class PageVisitor(FastHttpUser):
    """Someone opening the page: the page, its config, the health probe."""

    weight = 1
    wait_time = between(0.5, 2)

    @task(5)
    def page(self) -> None:
        self.client.get("/")

    @task(3)
    def config(self) -> None:
        self.client.get("/config.json")

    @task(1)
    def health(self) -> None:
        self.client.get("/healthz")


class ChatUser(FastHttpUser):
    """A user chatting over Socket.IO: create, send, wait for the answer, reopen history."""

    weight = 3
    wait_time = between(1, 3)
    answer_timeout = 60.0

    def on_start(self) -> None:
        cfg = self.client.get("/config.json").json()
        token = self.client.post("/auth/guest").json()["token"]
        chat_url = urljoin(self.host + "/", cfg.get("chat_url") or self.host)
        # like the browser, send the page's origin (the one the chat service allows)
        self.sio = socketio.Client(reconnection=False,
                                   websocket_extra_options={"origin": self.host.rstrip("/")})
        self.done: dict[str, Event] = {}
        self.first: dict[str, float] = {}
        self.sent: dict[str, float] = {}
        self.conversations: list[str] = []
        self.sio.on("message.delta", self._on_delta)
        self.sio.on("message.done", self._on_done)
        self.sio.on("message.error", self._on_error)
        started = time.perf_counter()
        try:
            self.sio.connect(chat_url, auth={"token": token}, transports=["websocket"],
                             socketio_path=cfg.get("socket_path", "/socket.io").strip("/"),
                             wait_timeout=10)
            _fire("connect", started)
        except Exception as exc:
            _fire("connect", started, exc)
            raise

    def on_stop(self) -> None:
        self.sio.disconnect()

    def _on_delta(self, data: dict[str, Any]) -> None:
        cid = data["conversation_id"]
        if cid in self.sent and cid not in self.first:
            self.first[cid] = time.perf_counter()
            _fire("ttft", self.sent[cid])

    def _on_done(self, data: dict[str, Any]) -> None:
        msg = data["message"]
        if msg["role"] == "assistant" and msg["conversation_id"] in self.done:
            self.done[msg["conversation_id"]].set()

    def _on_error(self, data: dict[str, Any]) -> None:
        cid = data.get("conversation_id")
        if cid in self.done:
            self.done[cid].set()

    def _call(self, event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            ack = self.sio.call(event, payload, timeout=30)
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"{event}: {ack!r}")
        except Exception as exc:
            _fire(event, started, exc)
            return None
        _fire(event, started)
        return ack

    @task(1)
    def new_conversation(self) -> None:
        ack = self._call("conversation.create", {"title": "locust"})
        if ack:
            self.conversations.append(ack["conversation"]["id"])
            self.send_message()

    @task(4)
    def send_message(self) -> None:
        if not self.conversations:
            return self.new_conversation()
        cid = self.conversations[-1]
        self.done[cid] = Event()
        self.first.pop(cid, None)
        self.sent[cid] = started = time.perf_counter()
        ack = self._call("message.send", {"conversation_id": cid,
                                          "client_message_id": uuid.uuid4().hex,
                                          "content": "Hello from locust"})
        if ack is None:
            return None
        if self.done[cid].wait(self.answer_timeout):
            _fire("answer", started)
        else:
            _fire("answer", started, TimeoutError("no message.done"))
        self.sent.pop(cid, None)
        return None

    @task(2)
    def open_history(self) -> None:
        if self.conversations:
            self._call("conversation.get", {"conversation_id": self.conversations[0]})
        self._call("conversation.list", {"limit": 20})

