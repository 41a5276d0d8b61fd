"""Users and usage in the history service (``/v1/me``, ``/v1/users``, ``/v1/usage``), served by a
real ``python -m history_service`` process on SQLite and on MongoDB (FerretDB): exact counts,
idempotent recording, periods, and records that survive a restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.mongo_server import MongoServer, mongo_server_fixture
from tests.support.processes import Proc, start_service

TOKEN = "internal-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def mongo_server() -> Iterator[MongoServer]:
    yield from mongo_server_fixture()


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    env = {"STATE_DIR": str(tmp_path), "INTERNAL_TOKEN": TOKEN}
    if request.param == "mongo":
        env["MONGODB_URI"] = request.getfixturevalue("mongo_server").uri
        env["MONGODB_DATABASE"] = f"acc_{uuid.uuid4().hex[:8]}"
    return env


def client(proc: Proc, user: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if user:
        headers["X-User-Id"] = user
    return httpx.Client(base_url=proc.url + "/v1", headers=headers, timeout=10)


def usage(user: str, model: str, status: str, p: int, c: int, ttft: float,
          at: str) -> dict[str, Any]:
    return {"message_id": uuid.uuid4().hex, "user_id": user, "conversation_id": "c1",
            "model": model, "status": status, "prompt_tokens": p, "completion_tokens": c,
            "ttft_ms": ttft, "finished_at": at}


def test_users_and_usage_are_exact_and_survive_a_restart(env: dict[str, str]) -> None:
    proc = start_service("history_service", env=env)
    try:
        with client(proc, "alice") as alice, client(proc, "bob") as bob, client(proc) as admin:
            me = alice.put("/me", json={"name": "Alice"}).json()
            assert (me["user_id"], me["name"], me["disabled"]) == ("alice", "Alice", False)
            bob.put("/me", json={"guest": True})
            assert alice.post("/conversations", json={}).status_code == 201
            records = [
                usage("alice", "m1", "complete", 10, 20, 100, "2026-11-28T10:00:00.000Z"),
                usage("alice", "m2", "error", 5, 1, 300, "2026-11-29T10:00:00.000Z"),
                usage("bob", "m1", "stopped", 7, 3, 200, "2026-11-29T23:59:59.999Z"),
            ]
            for r in records:
                assert admin.post("/usage", json=r).json() == {"created": True}
            # Recording an answer twice counts it once.
            assert admin.post("/usage", json=records[0]).json() == {"created": False}
            rows = admin.get("/usage", params={"group_by": "user"}).json()["rows"]
            assert [(r["key"], r["messages"], r["prompt_tokens"], r["completion_tokens"],
                     r["errors"]) for r in rows] == [("alice", 2, 15, 21, 1), ("bob", 1, 7, 3, 0)]
            assert rows[0]["ttft_p50_ms"] == 100 and rows[0]["ttft_p95_ms"] == 300
            by_day = admin.get("/usage", params={"group_by": "day", "since": "2026-11-29",
                                                 "until": "2026-11-29"}).json()["rows"]
            assert [(r["key"], r["messages"]) for r in by_day] == [("2026-11-29", 2)]
            by_model = admin.get("/usage", params={"group_by": "model"}).json()["rows"]
            assert [(r["key"], r["messages"]) for r in by_model] == [("m1", 2), ("m2", 1)]
            bad = admin.get("/usage", params={"group_by": "user", "since": "yesterday"})
            assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
            # counts past any answer (2**70: beyond the stores' 64-bit integers) are invalid,
            # never a 500, and change nothing
            huge = usage("alice", "m1", "complete", 2**70, 1, 1, "2026-11-29T11:00:00.000Z")
            refused = admin.post("/usage", json=huge)
            assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid"
            limited = admin.patch("/users", json={"user_id": "bob", "disabled": True,
                                                  "tokens_per_day": 500}).json()
            assert (limited["disabled"], limited["tokens_per_day"]) == (True, 500)
            assert admin.patch("/users", json={"user_id": "nobody", "disabled": True}
                               ).status_code == 404
    finally:
        proc.stop()
    proc = start_service("history_service", env=env)  # the same store after a restart
    try:
        with client(proc) as admin:
            users = {u["user_id"]: u for u in admin.get("/users").json()["users"]}
            assert users["alice"]["conversations"] == 1 and users["alice"]["name"] == "Alice"
            assert (users["bob"]["disabled"], users["bob"]["tokens_per_day"]) == (True, 500)
            assert users["bob"]["guest"] is True
            rows = admin.get("/usage", params={"group_by": "user"}).json()["rows"]
            assert [(r["key"], r["messages"]) for r in rows] == [("alice", 2), ("bob", 1)]
            # tokens_per_day 0 clears the override.
            cleared = admin.patch("/users", json={"user_id": "bob", "tokens_per_day": 0}).json()
            assert cleared["tokens_per_day"] is None
    finally:
        proc.stop()
