"""The history service's HTTP API, served by a real ``python -m history_service`` process.

Runs once on the embedded SQLite store and once on MongoDB (FerretDB on loopback).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.mongo_server import MongoServer, mongo_server_fixture
from tests.support.processes import Proc, start_service

TOKEN = "internal-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def mongo_server() -> Iterator[MongoServer]:
    yield from mongo_server_fixture()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proc]:
    env = {
        "STATE_DIR": str(tmp_path_factory.mktemp("history")),
        "INTERNAL_TOKEN": TOKEN,
        "MAX_CONTENT_CHARS": "32000",
    }
    if request.param == "mongo":
        env["MONGODB_URI"] = request.getfixturevalue("mongo_server").uri
        env["MONGODB_DATABASE"] = f"api_{uuid.uuid4().hex[:8]}"
    proc = start_service("history_service", env=env)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def api(service: Proc) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=service.url + "/v1",
        headers={"Authorization": f"Bearer {TOKEN}", "X-User-Id": f"u-{uuid.uuid4().hex}"},
        timeout=10,
    ) as client:
        yield client


def new_conversation(api: httpx.Client, **body: Any) -> dict[str, Any]:
    r = api.post("/conversations", json=body)
    assert r.status_code == 201, r.text
    conv: dict[str, Any] = r.json()
    return conv


def error_code(r: httpx.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


def test_probes_and_metrics(service: Proc, api: httpx.Client) -> None:
    assert httpx.get(service.url + "/healthz").status_code == 200
    assert httpx.get(service.url + "/readyz").json() == {"status": "ready"}
    conv = new_conversation(api)
    api.post(f"/conversations/{conv['id']}/messages", json={"role": "user", "content": "x"})
    metrics = httpx.get(service.url + "/metrics").text
    assert "history_store_up{store=" in metrics
    assert 'history_messages_stored_total{role="user"}' in metrics
    assert 'history_operation_duration_seconds_count{operation="add_message"' in metrics


def test_conversation_and_message_flow(service: Proc, api: httpx.Client) -> None:
    conv = new_conversation(api, title="Hello", system_prompt="Be brief.", model="m")
    assert set(conv) == {
        "id", "title", "created_at", "updated_at", "message_count", "model", "system_prompt",
        "sampling",
    }  # fmt: skip
    cid = conv["id"]
    send = {"role": "user", "content": "Hi there", "client_message_id": "c-1"}
    r1 = api.post(f"/conversations/{cid}/messages", json=send)
    assert r1.status_code == 201 and r1.json()["created"] is True
    msg = r1.json()["message"]
    assert (msg["seq"], msg["status"], msg["role"]) == (1, "complete", "user")
    r2 = api.post(f"/conversations/{cid}/messages", json=send)
    assert r2.status_code == 200 and r2.json() == {"message": msg, "created": False}

    answer = api.post(
        f"/conversations/{cid}/messages",
        json={"role": "assistant", "content": "", "status": "streaming"},
    ).json()["message"]
    streaming = httpx.get(
        service.url + "/v1/streaming-messages", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer["id"] in {m["id"] for m in streaming.json()["messages"]}
    done = api.patch(
        f"/conversations/{cid}/messages/{answer['id']}",
        json={
            "content": "Hello!",
            "status": "complete",
            "expect_status": "streaming",
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        },
    )
    assert done.status_code == 200 and done.json()["content"] == "Hello!"
    again = api.patch(
        f"/conversations/{cid}/messages/{answer['id']}",
        json={"status": "interrupted", "expect_status": "streaming"},
    )
    assert again.status_code == 409 and error_code(again) == "conflict"

    messages = api.get(f"/conversations/{cid}/messages").json()["messages"]
    assert [(m["seq"], m["content"]) for m in messages] == [(1, "Hi there"), (2, "Hello!")]
    assert (
        api.get(f"/conversations/{cid}/messages", params={"after_seq": 1}).json()["messages"][0][
            "seq"
        ]
        == 2
    )
    assert api.get(f"/conversations/{cid}").json()["message_count"] == 2
    assert [
        c["id"]
        for c in api.get("/conversations/search", params={"q": "THERE"}).json()["conversations"]
    ] == [cid]

    renamed = api.patch(f"/conversations/{cid}", json={"title": "Renamed"})
    assert renamed.json()["title"] == "Renamed"
    assert api.get("/conversations").json()["conversations"][0]["title"] == "Renamed"

    assert api.delete(f"/conversations/{cid}/messages/{answer['id']}").status_code == 204
    assert api.delete(f"/conversations/{cid}").status_code == 204
    gone = api.get(f"/conversations/{cid}/messages")
    assert gone.status_code == 404 and error_code(gone) == "not_found"


def test_conversation_list_pagination(api: httpx.Client) -> None:
    ids = []
    for i in range(3):
        ids.append(new_conversation(api, title=f"c{i}")["id"])
        time.sleep(0.003)  # distinct millisecond timestamps: the cursor is updated_at
    page1 = api.get("/conversations", params={"limit": 2}).json()["conversations"]
    assert [c["id"] for c in page1] == [ids[2], ids[1]]
    before = page1[-1]["updated_at"]
    page2 = api.get("/conversations", params={"limit": 2, "before": before}).json()
    assert [c["id"] for c in page2["conversations"]] == [ids[0]]


def test_users_are_isolated(api: httpx.Client) -> None:
    conv = new_conversation(api, title="mine")
    other = {"X-User-Id": "someone-else"}
    for method, path in [
        ("GET", f"/conversations/{conv['id']}"),
        ("PATCH", f"/conversations/{conv['id']}"),
        ("DELETE", f"/conversations/{conv['id']}"),
        ("GET", f"/conversations/{conv['id']}/messages"),
        ("POST", f"/conversations/{conv['id']}/messages"),
    ]:
        body = {"role": "user", "content": "x"} if method in ("PATCH", "POST") else None
        r = api.request(method, path, headers=other, json=body)
        assert r.status_code == 404 and error_code(r) == "not_found", (method, path, r.text)
    assert api.get(f"/conversations/{conv['id']}").json()["title"] == "mine"


def test_limits(api: httpx.Client) -> None:
    cid = new_conversation(api)["id"]
    too_long = api.post(
        f"/conversations/{cid}/messages", json={"role": "user", "content": "x" * 32001}
    )
    assert too_long.status_code == 413 and error_code(too_long) == "too_large"
    assert api.get(f"/conversations/{cid}/messages").json()["messages"] == []
    ok = api.post(f"/conversations/{cid}/messages", json={"role": "user", "content": "x" * 32000})
    assert ok.status_code == 201
    title = api.post("/conversations", json={"title": "t" * 201})
    assert title.status_code == 413 and error_code(title) == "too_large"
    rename = api.patch(f"/conversations/{cid}", json={"title": "t" * 201})
    assert rename.status_code == 413
    assert api.post("/conversations", json={"title": "t" * 200}).status_code == 201
    prompt = api.post("/conversations", json={"system_prompt": "p" * 8001})
    assert prompt.status_code == 413
    big_page = api.get("/conversations", params={"limit": 101})
    assert big_page.status_code == 422 and error_code(big_page) == "invalid"


@pytest.mark.parametrize(
    "body",
    [
        {"role": "user", "content": {"$ne": None}},
        {"role": {"$ne": None}, "content": "x"},
        {"role": "user", "content": "x", "client_message_id": {"$ne": None}},
        {"role": "user", "content": "x", "client_message_id": "has space"},
        {"role": "user", "content": "x", "status": {"$in": ["complete"]}},
        {"role": "system", "content": "x"},
        {"role": "user", "content": 5},
        ["role", "user"],
        "not an object",
    ],
)
def test_malformed_messages_are_invalid(api: httpx.Client, body: Any) -> None:
    cid = new_conversation(api)["id"]
    r = api.post(f"/conversations/{cid}/messages", json=body)
    assert r.status_code == 422 and error_code(r) == "invalid", r.text
    assert api.get(f"/conversations/{cid}/messages").json()["messages"] == []


def test_operator_objects_never_reach_a_query(api: httpx.Client) -> None:
    cid = new_conversation(api, title="victim")["id"]
    r = api.post("/conversations", json={"title": {"$gt": ""}})
    assert r.status_code == 422 and error_code(r) == "invalid"
    r = api.patch(f"/conversations/{cid}", json={"title": {"$set": "x"}})
    assert r.status_code == 422
    for path_id in ['{"$ne": null}', "{'$gt':''}", "a.b", "x" * 65]:
        for r in (
            api.get(f"/conversations/{path_id}"),
            api.get(f"/conversations/{path_id}/messages"),
            api.delete(f"/conversations/{cid}/messages/{path_id}"),
        ):
            assert r.status_code == 404 and error_code(r) == "not_found", (path_id, r.text)
    bad_user = api.get("/conversations", headers={"X-User-Id": '{"$ne": null}'})
    assert bad_user.status_code == 200 and bad_user.json()["conversations"] == []
    r = api.get("/conversations", params={"before[$ne]": "x", "limit": "{}"})
    assert r.status_code == 422
    r = api.get("/conversations/search", params={"q": ".*"})
    assert r.json()["conversations"] == []
    r = api.post(
        "/conversations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and error_code(r) == "invalid"


def test_user_header_and_internal_token_are_required(service: Proc) -> None:
    no_user = httpx.get(
        service.url + "/v1/conversations", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert no_user.status_code == 422 and error_code(no_user) == "invalid"
    no_token = httpx.get(service.url + "/v1/conversations", headers={"X-User-Id": "u"})
    assert no_token.status_code == 401 and error_code(no_token) == "unauthorized"
    wrong = httpx.get(
        service.url + "/v1/streaming-messages", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401


def test_one_turn_stores_the_message_reads_the_context_and_creates_the_placeholder(
    api: httpx.Client,
) -> None:
    conv = new_conversation(api, title="turns", model="m-1")
    cid = conv["id"]
    body = {"content": "hello", "client_message_id": "t-1", "context_messages": 10,
            "default_model": "m-default"}
    r = api.post(f"/conversations/{cid}/turns", json=body)
    assert r.status_code == 201, r.text
    turn = r.json()
    assert turn["created"] is True and turn["conversation"]["id"] == cid
    assert turn["message"]["role"] == "user" and turn["message"]["seq"] == 1
    assert [m["content"] for m in turn["context"]] == ["hello"]
    placeholder = turn["answer"]
    assert (placeholder["role"], placeholder["status"], placeholder["seq"]) == (
        "assistant", "streaming", 2)
    assert placeholder["model"] == "m-1"  # the conversation's model over the default
    # a repeat: the same message, nothing more created
    again = api.post(f"/conversations/{cid}/turns", json=body)
    assert again.status_code == 200
    assert again.json()["message"]["id"] == turn["message"]["id"]
    assert again.json()["answer"] is None and again.json()["context"] == []
    stored = api.get(f"/conversations/{cid}/messages").json()["messages"]
    assert [m["seq"] for m in stored] == [1, 2]
    # no answer wanted (refused by the chat service): only the message is stored
    r = api.post(f"/conversations/{cid}/turns",
                 json={**body, "client_message_id": "t-2", "answer": False})
    assert r.status_code == 201 and r.json()["answer"] is None
    assert len(api.get(f"/conversations/{cid}/messages").json()["messages"]) == 3
    # limits and ownership as on the message routes
    big = api.post(f"/conversations/{cid}/turns",
                   json={**body, "client_message_id": "t-3", "content": "x" * 32_001})
    assert big.status_code == 413
    other = api.post(f"/conversations/{cid}/turns", json=body, headers={"X-User-Id": "u-else"})
    assert other.status_code == 404


def test_checkpoint_sets_the_text_of_a_streaming_answer_only(api: httpx.Client) -> None:
    cid = new_conversation(api)["id"]
    answer = api.post(f"/conversations/{cid}/messages",
                      json={"role": "assistant", "content": "", "status": "streaming"}).json()
    mid = answer["message"]["id"]
    assert answer["message"]["next_index"] == 0  # the placeholder: the first delta is next
    assert api.put(f"/conversations/{cid}/messages/{mid}/text",
                   json={"content": "so far", "next_index": 2}).status_code == 204
    stored = api.get(f"/conversations/{cid}/messages").json()["messages"][0]
    assert (stored["content"], stored["status"], stored["next_index"]) == (
        "so far", "streaming", 2)
    disagree = api.put(f"/conversations/{cid}/messages/{mid}/text",
                       json={"content": "so far", "next_index": 0})
    assert disagree.status_code == 422 and disagree.json()["error"]["code"] == "invalid"
    # without an index (an earlier chat service) the text's index is unknown: none is sent
    assert api.put(f"/conversations/{cid}/messages/{mid}/text",
                   json={"content": "so far!"}).status_code == 204
    assert "next_index" not in api.get(f"/conversations/{cid}/messages").json()["messages"][0]
    other = api.put(f"/conversations/{cid}/messages/{mid}/text", json={"content": "x"},
                    headers={"X-User-Id": "u-else"})
    assert other.status_code == 409  # never another user's message
    api.patch(f"/conversations/{cid}/messages/{mid}",
              json={"content": "final", "status": "complete"}).raise_for_status()
    late = api.put(f"/conversations/{cid}/messages/{mid}/text", json={"content": "late"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"
    final = api.get(f"/conversations/{cid}/messages").json()["messages"][0]
    assert final["content"] == "final" and "next_index" not in final


def test_finish_ends_an_answer_with_its_usage_in_one_round_trip(api: httpx.Client) -> None:
    """The chat service's end of an answer: the final update (``expect_status``), the usage
    record (ids from the route, not the body) and the conversation, or nothing on a conflict."""
    user, forged = api.headers["X-User-Id"], f"u-{uuid.uuid4().hex}"
    cid = new_conversation(api, title="t")["id"]
    answer = api.post(f"/conversations/{cid}/messages",
                      json={"role": "assistant", "content": "", "status": "streaming"}).json()
    mid = answer["message"]["id"]
    record = {"message_id": "forged", "user_id": forged, "conversation_id": "forged",
              "model": "m", "status": "complete", "prompt_tokens": 3, "completion_tokens": 2,
              "ttft_ms": 12.5, "finished_at": "2026-12-01T00:00:00.000Z"}
    body = {"message": {"content": "done", "status": "complete", "expect_status": "streaming"},
            "usage_record": record}
    other = api.post(f"/conversations/{cid}/messages/{mid}/finish", json=body,
                     headers={"X-User-Id": "u-else"})
    assert other.status_code == 404  # never another user's answer
    r = api.post(f"/conversations/{cid}/messages/{mid}/finish", json=body)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["message"]["id"], done["message"]["content"], done["message"]["status"]) == (
        mid, "done", "complete")
    assert (done["conversation"]["id"], done["conversation"]["title"]) == (cid, "t")
    again = api.post(f"/conversations/{cid}/messages/{mid}/finish", json=body)
    assert again.status_code == 409 and error_code(again) == "conflict"
    usage = api.get("/usage", params={"group_by": "user"}).json()
    rows = {row["key"]: row for row in usage["rows"]}
    assert forged not in rows
    assert (rows[user]["messages"], rows[user]["prompt_tokens"],
            rows[user]["completion_tokens"]) == (1, 3, 2)
    bad = api.post(f"/conversations/{cid}/messages/{mid}/finish",
                   json={"message": {"status": "complete"}, "usage_record": {"status": "x"}})
    assert bad.status_code == 422 and error_code(bad) == "invalid"
