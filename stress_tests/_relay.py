"""The floor of this stack: a single-process python-socketio relay, for side-by-side benchmarks.

One process, the same libraries as the chat service (python-socketio on uvicorn, httpx2, the
shared SSE reader), no history, no checks, no second hop: ``message.send`` is acked at once,
the upstream is asked directly and every content chunk it streams is emitted to the
conversation's room as one ``message.delta``; ``message.done`` carries the text and the
upstream's usage. It speaks just enough of the contract for ``_sio.stream_answer``.

    PORT=9000 UPSTREAM_URL=http://127.0.0.1:8090/v1 python -m stress_tests._relay
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from typing import Any

import httpx2
import socketio
import uvicorn
from chatbot_common.sse import sse_data
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def create_app(upstream_url: str) -> Any:
    sio = socketio.AsyncServer(
        async_mode="asgi", cors_allowed_origins="*", logger=False, engineio_logger=False
    )
    http = httpx2.AsyncClient(
        base_url=upstream_url.rstrip("/"),
        limits=httpx2.Limits(max_connections=2000, max_keepalive_connections=200),
        timeout=httpx2.Timeout(120.0, connect=10.0),
    )
    running: set[asyncio.Task[None]] = set()

    async def answer(cid: str, content: str) -> None:
        mid, parts, usage = uuid.uuid4().hex, [], None
        body = {"model": "fake", "messages": [{"role": "user", "content": content}],
                "stream": True, "stream_options": {"include_usage": True}}
        async with http.stream("POST", "/chat/completions", json=body) as r:
            async for data in sse_data(r.aiter_raw()):
                if data == b"[DONE]":
                    break
                event = json.loads(data)
                usage = event.get("usage") or usage
                for choice in event.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        await sio.emit("message.delta", {"conversation_id": cid,
                                                         "message_id": mid,
                                                         "index": len(parts), "delta": text},
                                       room=cid)
                        parts.append(text)
        await sio.emit("message.done", {"message": {
            "id": mid, "conversation_id": cid, "seq": 2, "role": "assistant",
            "content": "".join(parts), "status": "complete", "created_at": _now(),
            "usage": usage}}, room=cid)

    @sio.on("conversation.create")
    async def create(sid: str, data: Any) -> dict[str, Any]:
        cid = uuid.uuid4().hex
        await sio.enter_room(sid, cid)
        return {"ok": True, "conversation": {"id": cid, "title": "bench", "created_at": _now()}}

    @sio.on("message.send")
    async def send(sid: str, data: Any) -> dict[str, Any]:
        cid = data["conversation_id"]
        task = asyncio.create_task(answer(cid, data["content"]))
        running.add(task)
        task.add_done_callback(running.discard)
        return {"ok": True, "message": {
            "id": uuid.uuid4().hex, "conversation_id": cid, "seq": 1, "role": "user",
            "content": data["content"], "status": "complete", "created_at": _now()}}

    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    probes = Starlette(routes=[Route("/healthz", healthz)])
    return socketio.ASGIApp(sio, other_asgi_app=probes)


def main() -> None:
    app = create_app(os.environ["UPSTREAM_URL"])
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "9000")),
                log_level="warning", ws_max_size=1 << 20)


if __name__ == "__main__":
    main()
