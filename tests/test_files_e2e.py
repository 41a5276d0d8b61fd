"""Files, sampling settings and import, end to end through real processes, on every store.

The fake upstream records every request it got (``/_fake/requests``): the tests read there
what reached the model (the extracted text, the image part, the temperature).
"""

from __future__ import annotations

import base64
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from pymongo import MongoClient

from tests.support.chat_client import ChatClient
from tests.support.mongo_server import MongoServer
from tests.support.pdf import make_pdf
from tests.support.stack import Stack, start_stack
from tests.support.upstream_log import upstream_request as received

VISION = "fake/vision-1"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
STORES = ["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)]


@pytest.fixture(scope="module", params=STORES)
def store_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
    else:
        with MongoServer() as server:
            yield {"MONGODB_URI": server.uri, "MONGODB_DATABASE": "files_e2e"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, store_env: dict[str, str]) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("files")),
        history_env=store_env,
        llm_env={"LLM_MODELS": VISION, "LLM_VISION_MODELS": VISION},
        chat_env={"LLM_MAX_TOKENS_CAP": "2000"},
    )
    try:
        yield s
    finally:
        s.stop()


class User:
    """One guest: a Socket.IO client and the HTTP routes of the chat service."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.token, self.id = stack.guest_token()
        self.client = ChatClient(stack.chat.url, self.token)
        self.http = httpx.Client(
            base_url=stack.chat.url, headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )

    async def conversation(self, **fields: Any) -> dict[str, Any]:
        return (await self.client.ok("conversation.create", fields))["conversation"]

    def upload(self, cid: str, name: str, data: bytes) -> httpx.Response:
        return self.http.post("/v1/files", params={"conversation_id": cid, "name": name},
                              content=data)

    async def ask(self, cid: str, text: str, file_ids: list[str] | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"conversation_id": cid, "client_message_id": uuid.uuid4().hex,
                                   "content": text}
        if file_ids:
            payload["file_ids"] = file_ids
        message = (await self.client.ok("message.send", payload))["message"]
        await self.client.wait_for(lambda: any(
            d["message"]["conversation_id"] == cid and d["message"]["seq"] > message["seq"]
            for d in self.client.events["message.done"]), timeout=60)
        return message


@pytest.fixture
async def user(stack: Stack) -> AsyncIterator[User]:
    u = User(stack)
    await u.client.connect()
    yield u
    await u.client.close()
    u.http.close()


def upstream_request(stack: Stack, marker: str) -> dict[str, Any]:
    return received(stack.upstream.url, marker)


def stored_files(stack: Stack, conversation_id: str) -> int:
    """Rows/documents of the conversation's files in the store itself (metadata and bytes)."""
    uri = stack.history.env.get("MONGODB_URI")
    if uri:
        with MongoClient(uri) as client:
            db = client["files_e2e"]
            query = {"conversation_id": conversation_id}
            return db["files"].count_documents(query) + db["file_chunks"].count_documents(query)
    with sqlite3.connect(stack.state_dir / "history.sqlite3") as db:
        ids = [r[0] for r in db.execute(
            "SELECT id FROM files WHERE conversation_id = ?", (conversation_id,))]
        blobs = sum(db.execute("SELECT count(*) FROM file_blobs WHERE file_id = ?",
                               (i,)).fetchone()[0] for i in ids)
        return len(ids) + blobs


async def test_a_pdf_and_a_csv_reach_the_model(stack: Stack, user: User) -> None:
    conv = await user.conversation()
    pdf = make_pdf(["Quarterly revenue was 4711 euros.", "The auditor was Ms Okonkwo."])
    r = user.upload(conv["id"], "report.pdf", pdf)
    assert r.status_code == 201, r.text
    pdf_file = r.json()["file"]
    assert (pdf_file["kind"], pdf_file["media_type"]) == ("document", "application/pdf")
    csv_file = user.upload(conv["id"], "stock.csv", b"item,count\nbolts,812\nnuts,93\n").json()
    assert csv_file["file"]["media_type"] == "text/csv"
    marker = f"q-{uuid.uuid4().hex[:8]}"
    message = await user.ask(conv["id"], f"What do the files say? {marker}",
                             [pdf_file["id"], csv_file["file"]["id"]])
    assert [f["name"] for f in message["files"]] == ["report.pdf", "stock.csv"]
    sent = upstream_request(stack, marker)["messages"][-1]["content"]
    assert isinstance(sent, str)  # documents only: one string, for any model
    assert "Quarterly revenue was 4711 euros." in sent and "Ms Okonkwo" in sent
    assert "bolts,812" in sent and sent.rstrip().endswith(marker)
    got = await user.client.ok("conversation.get", {"conversation_id": conv["id"]})
    assert got["messages"][0]["files"][0]["id"] == pdf_file["id"]


async def test_images_for_vision_models_only(stack: Stack, user: User) -> None:
    text_conv = await user.conversation()
    r = user.upload(text_conv["id"], "dot.png", PNG)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", r.text
    assert user.http.get("/v1/files/nothing-here").status_code == 404
    assert stored_files(stack, text_conv["id"]) == 0
    conv = await user.conversation(model=VISION)
    image = user.upload(conv["id"], "dot.png", PNG).json()["file"]
    assert (image["kind"], image["media_type"]) == ("image", "image/png")
    marker = f"img-{uuid.uuid4().hex[:8]}"
    await user.ask(conv["id"], f"What is in the picture? {marker}", [image["id"]])
    body = upstream_request(stack, marker)
    assert body["model"] == VISION
    parts = body["messages"][-1]["content"]
    assert parts[0]["type"] == "text" and marker in parts[0]["text"]
    assert parts[1] == {"type": "image_url", "image_url": {
        "url": "data:image/png;base64," + base64.b64encode(PNG).decode()}}


async def test_sampling_settings_reach_the_upstream(stack: Stack, user: User) -> None:
    conv = await user.conversation(sampling={"temperature": 0.2})
    assert conv["sampling"]["temperature"] == 0.2
    changed = await user.client.ok("conversation.update", {
        "conversation_id": conv["id"],
        "sampling": {"temperature": 1.3, "top_p": 0.85, "max_tokens": 12}})
    assert changed["conversation"]["sampling"] == {"temperature": 1.3, "top_p": 0.85,
                                                    "max_tokens": 12}
    marker = f"t-{uuid.uuid4().hex[:8]}"
    await user.ask(conv["id"], f"Be creative {marker}")
    body = upstream_request(stack, marker)
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (1.3, 0.85, 12)
    for bad in ({"temperature": 2.5}, {"top_p": 0}, {"max_tokens": 2001}, {"temperature": "1"}):
        ack = await user.client.call("conversation.update",
                                     {"conversation_id": conv["id"], "sampling": bad})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid", (bad, ack)


async def test_export_then_import_gives_the_same_conversation(stack: Stack, user: User) -> None:
    conv = await user.conversation(system_prompt="Answer in haiku.", model=VISION,
                                   sampling={"temperature": 0.7, "max_tokens": 300})
    doc = user.upload(conv["id"], "notes.md", b"# Notes\n\nThe password is swordfish.\n")
    image = user.upload(conv["id"], "dot.png", PNG)
    await user.ask(conv["id"], "Read these", [doc.json()["file"]["id"],
                                              image.json()["file"]["id"]])
    await user.ask(conv["id"], "And once more")
    # What the page's "Export as JSON" writes: the conversation, its messages, its files.
    got = await user.client.ok("conversation.get", {"conversation_id": conv["id"]})
    ids = [f["id"] for m in got["messages"] for f in m.get("files") or []]
    export = {
        "format": "chatbot.conversation/1", "conversation": got["conversation"],
        "messages": got["messages"],
        "files": [{**f, "data_base64": base64.b64encode(
            user.http.get(f"/v1/files/{f['id']}").content).decode()}
            for m in got["messages"] for f in m.get("files") or []],
    }
    assert len(export["files"]) == 2 == len(ids)
    r = user.http.post("/v1/imports", json=export)
    assert r.status_code == 201, r.text
    imported = r.json()["conversation"]
    assert imported["id"] != conv["id"]
    again = await user.client.ok("conversation.get", {"conversation_id": imported["id"]})

    def same(c: dict[str, Any]) -> tuple[Any, ...]:
        return (c["title"], c["system_prompt"], c["model"], c["sampling"], c["message_count"])

    def shape(m: dict[str, Any]) -> tuple[Any, ...]:
        files = [(f["name"], f["size"], f["media_type"]) for f in m.get("files") or []]
        return (m["seq"], m["role"], m["content"], m["status"], m.get("model"), files)

    assert same(again["conversation"]) == same(got["conversation"])
    assert [shape(m) for m in again["messages"]] == [shape(m) for m in got["messages"]]
    new_ids = [f["id"] for m in again["messages"] for f in m.get("files") or []]
    assert set(new_ids).isdisjoint(ids)
    assert user.http.get(f"/v1/files/{new_ids[1]}").content == PNG
    # A broken export is refused and leaves nothing behind.
    before = len((await user.client.ok("conversation.list", {"limit": 100}))["conversations"])
    bad = {**export, "files": [{**export["files"][0], "data_base64": "***"}]}
    r = user.http.post("/v1/imports", json=bad)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", r.text
    after = len((await user.client.ok("conversation.list", {"limit": 100}))["conversations"])
    assert after == before


async def test_a_20_mb_pdf_is_too_large_and_nothing_is_stored(stack: Stack, user: User) -> None:
    conv = await user.conversation()
    big = make_pdf(["too big"], pad_to=20 << 20)
    r = user.upload(conv["id"], "huge.pdf", big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    assert r.headers.get("access-control-allow-origin") is None  # no Origin sent: no CORS
    assert stored_files(stack, conv["id"]) == 0
    # The page's origin may read the refusal (CORS on the error too).
    origin = f"http://127.0.0.1:{stack.ui.port}"
    r = user.http.post("/v1/files", params={"conversation_id": conv["id"], "name": "h.pdf"},
                       content=big, headers={"Origin": origin})
    assert r.status_code == 413 and r.headers["access-control-allow-origin"] == origin


async def test_another_user_cannot_fetch_a_file(stack: Stack, user: User) -> None:
    conv = await user.conversation()
    file = user.upload(conv["id"], "secret.txt", b"the vault code is 1234").json()["file"]
    own = user.http.get(f"/v1/files/{file['id']}")
    assert own.content == b"the vault code is 1234"
    # Served as a download, never rendered on the chat origin.
    assert own.headers["content-disposition"] == 'attachment; filename="secret.txt"'
    assert own.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in own.headers["content-security-policy"]
    intruder = User(stack)
    await intruder.client.connect()
    try:
        for response in (intruder.http.get(f"/v1/files/{file['id']}"),
                         intruder.http.delete(f"/v1/files/{file['id']}")):
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "not_found"
        own = await intruder.conversation()
        ack = await intruder.client.call("message.send", {
            "conversation_id": own["id"], "client_message_id": uuid.uuid4().hex,
            "content": "use it", "file_ids": [file["id"]]})
        assert ack["ok"] is False and ack["error"]["code"] == "not_found", ack
        r = intruder.upload(conv["id"], "x.txt", b"into your conversation")
        assert r.status_code == 404
        assert httpx.get(stack.chat.url + f"/v1/files/{file['id']}").status_code == 401
    finally:
        await intruder.client.close()
        intruder.http.close()
    assert user.http.get(f"/v1/files/{file['id']}").status_code == 200


async def test_deleting_the_conversation_deletes_its_files(stack: Stack, user: User) -> None:
    conv = await user.conversation()
    file = user.upload(conv["id"], "big.csv", b"a,b\n" + b"1,2\n" * 400_000).json()["file"]
    assert stored_files(stack, conv["id"]) >= 2  # metadata and bytes
    await user.client.ok("conversation.delete", {"conversation_id": conv["id"]})
    assert stored_files(stack, conv["id"]) == 0
    assert user.http.get(f"/v1/files/{file['id']}").status_code == 404
