"""Crash: the history service is killed (SIGKILL) while writes are in flight.

Every message it acknowledged is still there after a restart on the same state directory,
with the seq it was acknowledged with (SQLite: WAL + synchronous=FULL; group commit
acknowledges a write only after its transaction committed).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx2 as httpx

from tests.support.processes import start_service


async def test_acked_messages_survive_sigkill(tmp_path: Path) -> None:
    env = {"STATE_DIR": str(tmp_path / "state")}
    history = start_service("history_service", env=env)
    headers = {"X-User-Id": "crash-user"}
    acked: dict[str, int] = {}
    try:
        async with httpx.AsyncClient(base_url=history.url, headers=headers, timeout=10) as api:
            cid = (await api.post("/v1/conversations", json={})).json()["id"]
            sem = asyncio.Semaphore(16)

            async def send(i: int) -> None:
                async with sem:
                    try:
                        r = await api.post(
                            f"/v1/conversations/{cid}/messages",
                            json={"role": "user", "content": f"m{i}", "client_message_id": f"k{i}"},
                        )
                    except httpx.HTTPError:
                        return  # the process is gone: not acknowledged
                if r.status_code == 201:
                    acked[f"k{i}"] = r.json()["message"]["seq"]
                    if len(acked) == 40:  # kill it while writes are in flight
                        history.stop(signal.SIGKILL)

            await asyncio.gather(*(send(i) for i in range(200)))
    finally:
        history.stop()
    assert 40 <= len(acked) < 200

    restarted = start_service("history_service", env=env)
    try:
        with httpx.Client(base_url=restarted.url, headers=headers, timeout=10) as api:
            messages = api.get(f"/v1/conversations/{cid}/messages", params={"limit": 1000}).json()[
                "messages"
            ]
            stored = {m["client_message_id"]: m["seq"] for m in messages}
            # every acknowledged message, with its seq (a few more may have committed unacked)
            assert {k: stored.get(k) for k in acked} == acked
            assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
            conv = api.get(f"/v1/conversations/{cid}").json()
            assert conv["message_count"] == len(messages)
    finally:
        restarted.stop()
