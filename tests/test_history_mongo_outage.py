"""Chaos: the MongoDB-wire server dies mid-conversation and comes back.

While it is down the history service refuses writes with 503 ``unavailable`` (so the chat
service refuses new messages instead of acking them) and ``/readyz`` fails; nothing it
acknowledged is lost; once the server is back on the same port and data directory, writes
work again without restarting the history service.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.support.mongo_server import MongoServer
from tests.support.processes import Proc, start_service

pytestmark = pytest.mark.mongo


@pytest.fixture
def history(mongo: MongoServer, tmp_path: Path) -> Iterator[Proc]:
    proc = start_service(
        "history_service",
        env={
            "STATE_DIR": str(tmp_path / "state"),
            "MONGODB_URI": mongo.uri,
            "MONGODB_SERVER_SELECTION_TIMEOUT_MS": "500",
            "MONGODB_CONNECT_TIMEOUT_MS": "500",
            "STORE_RETRY_ATTEMPTS": "2",
        },
    )
    try:
        yield proc
    finally:
        proc.stop()


def test_outage_refuses_writes_loses_nothing_and_recovers(
    mongo: MongoServer, history: Proc
) -> None:
    api = httpx.Client(base_url=history.url, headers={"X-User-Id": "chaos-user"}, timeout=15)
    cid = api.post("/v1/conversations", json={"title": "outage"}).json()["id"]
    acked: dict[str, int] = {}  # client_message_id -> seq

    def send(client_id: str) -> httpx.Response:
        r = api.post(
            f"/v1/conversations/{cid}/messages",
            json={"role": "user", "content": f"text {client_id}", "client_message_id": client_id},
        )
        if r.status_code in (200, 201):
            acked[client_id] = r.json()["message"]["seq"]
        return r

    for i in range(5):
        assert send(f"before-{i}").status_code == 201

    mongo.kill()  # a crash (SIGKILL), not a clean shutdown
    refused = []
    for i in range(3):
        r = send(f"during-{i}")
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "unavailable"
        refused.append(f"during-{i}")
    assert api.get(f"/v1/conversations/{cid}/messages").status_code == 503
    assert httpx.get(history.url + "/readyz", timeout=15).status_code == 503
    assert 'history_store_up{store="mongo"} 0.0' in httpx.get(history.url + "/metrics").text
    assert history.alive()

    mongo.start()  # same port, same data directory
    deadline = time.monotonic() + 30
    while True:
        r = send(refused[0])
        if r.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 201, r.text
    for client_id in refused[1:]:
        assert send(client_id).status_code == 201
    for i in range(5):
        assert send(f"after-{i}").status_code == 201
    assert httpx.get(history.url + "/readyz").status_code == 200

    messages = api.get(f"/v1/conversations/{cid}/messages").json()["messages"]
    stored = {m["client_message_id"]: m["seq"] for m in messages}
    assert stored == acked  # every acknowledged message, with the seq it was acked with
    assert [m["seq"] for m in messages] == list(range(1, 14))
    assert api.get(f"/v1/conversations/{cid}").json()["message_count"] == 13
    # a message acked before the outage is still idempotent after it
    again = send("before-0")
    assert again.status_code == 200 and again.json()["created"] is False
    api.close()


def test_service_starts_while_the_store_is_down_and_becomes_ready(tmp_path: Path) -> None:
    mongo = MongoServer(data_dir=tmp_path / "ferretdb")
    try:
        history = start_service(
            "history_service",
            env={
                "STATE_DIR": str(tmp_path / "state"),
                "MONGODB_URI": mongo.uri,
                "MONGODB_SERVER_SELECTION_TIMEOUT_MS": "300",
                "STORE_RETRY_ATTEMPTS": "1",
                "MONGODB_DATABASE": f"late_{uuid.uuid4().hex[:6]}",
            },
        )
        try:
            assert httpx.get(history.url + "/readyz", timeout=10).status_code == 503
            mongo.start()
            deadline = time.monotonic() + 30
            while httpx.get(history.url + "/readyz", timeout=10).status_code != 200:
                assert time.monotonic() < deadline, "never became ready"
                time.sleep(0.2)
            r = httpx.post(history.url + "/v1/conversations", headers={"X-User-Id": "u"}, json={})
            assert r.status_code == 201
        finally:
            history.stop()
    finally:
        mongo.close()
