"""One conversation through the running containers: guest token from the UI, Socket.IO to chat.

    python scripts/images/e2e_conversation.py <ui port> <chat port>
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import httpx2 as httpx
import socketio


async def main(ui_port: int, chat_port: int) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        token = (await http.post(f"http://127.0.0.1:{ui_port}/auth/guest", json={})).json()["token"]
    sio = socketio.AsyncClient()
    done: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
    deltas: list[str] = []
    sio.on("message.delta", lambda d: deltas.append(d["delta"]))
    sio.on("message.done", lambda d: done.done() or done.set_result(d["message"]))
    await sio.connect(f"http://127.0.0.1:{chat_port}", auth={"token": token},
                      transports=["websocket"], wait_timeout=10)
    try:
        created = await sio.call("conversation.create", {"title": "images e2e"}, timeout=10)
        cid = created["conversation"]["id"]
        sent = await sio.call("message.send", {"conversation_id": cid, "content": "Hello there",
                                               "client_message_id": uuid.uuid4().hex}, timeout=10)
        assert sent["ok"], sent
        final = await asyncio.wait_for(done, 60)
        assert final["status"] == "complete", final
        assert "".join(deltas) == final["content"] and final["content"], final
        got = await sio.call("conversation.get", {"conversation_id": cid}, timeout=10)
        assert [m["role"] for m in got["messages"]] == ["user", "assistant"], got
        assert got["messages"][1]["content"] == final["content"]
        print(f"e2e ok: {len(deltas)} deltas, {len(final['content'])} chars answered")
    finally:
        await sio.disconnect()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
