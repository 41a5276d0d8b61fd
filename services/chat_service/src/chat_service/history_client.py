"""Adapter for the history service's internal HTTP API (see docs/ARCHITECTURE.md).

Over aiohttp's client: every answer costs the chat service three to five history calls
(start, checkpoints, finish), and httpx2 spent 850-930 CPU-µs on each where aiohttp spends
150-170 (50 concurrent requests on loopback, this machine; httpx2's request building and
pool bookkeeping, aiohttp's C parser and O(1) pool). ``llm_client.py`` does the same.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple
from urllib.parse import quote

import aiohttp
import orjson
from chatbot_common.errors import ChatbotError, UnavailableError, error_from_dict
from yarl import URL

log = logging.getLogger(__name__)

Json = dict[str, Any]

#: Idle connections close after this: below uvicorn's keep-alive (5 s), so the history
#: service never closes one that is about to be reused.
KEEPALIVE_SECONDS = 4.0


def _seg(value: str) -> str:
    return quote(value, safe="")


class Answer(NamedTuple):
    """One response, read whole."""

    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class HistoryClient:
    """One method per route; errors come back as the chatbot_common exception tree."""

    def __init__(
        self,
        base_url: str,
        internal_token: str | None,
        timeout: float,
        *,
        max_connections: int = 1000,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {internal_token}"} if internal_token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None  # made in the running loop

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0,
                                             keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout, connector=connector,
                json_serialize=lambda v: orjson.dumps(v).decode(), raise_for_status=False)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(
        self,
        method: str,
        path: str,
        user_id: str | None,
        *,
        json: Json | None = None,
        params: Json | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> Answer:
        """One request; UnavailableError when the history service cannot be reached."""
        headers = {"X-User-Id": user_id} if user_id is not None else {}
        if json is not None:
            data, content_type = orjson.dumps(json), "application/json"
        if content_type is not None:
            headers["Content-Type"] = content_type
        # the path's segments are quoted already (_seg): sent as they are
        url = URL(self._base + path, encoded=True)
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        if clean:
            url = url.update_query(clean)
        try:
            async with self._http().request(method, url, data=data, headers=headers) as r:
                return Answer(r.status, r.headers.get("Content-Type", ""), await r.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UnavailableError("the history service is unavailable") from exc

    async def _call(
        self,
        method: str,
        path: str,
        user_id: str | None,
        *,
        json: Json | None = None,
        params: Json | None = None,
    ) -> Any:
        r = await self._send(method, path, user_id, json=json, params=params)
        if r.status == 204:
            return None
        if 200 <= r.status < 300:
            return _body_of(r)
        raise _error_of(r)

    async def _object(
        self, method: str, path: str, user_id: str | None, *, json: Json | None = None
    ) -> Json:
        """A route that answers one JSON object (a conversation, a message, a user)."""
        body = await self._call(method, path, user_id, json=json)
        if not isinstance(body, dict):
            raise UnavailableError("the history service sent a malformed answer")
        return body

    async def ready(self) -> bool:
        try:
            r = await self._send("GET", "/readyz", None)
        except UnavailableError:
            return False
        return r.status == 200

    # conversations
    async def create_conversation(self, user_id: str, body: Json) -> Json:
        return await self._object("POST", "/v1/conversations", user_id, json=body)

    async def list_conversations(
        self, user_id: str, limit: int | None, before: str | None
    ) -> list[Json]:
        body = await self._call(
            "GET", "/v1/conversations", user_id, params={"limit": limit, "before": before}
        )
        return list(body["conversations"])

    async def search_conversations(self, user_id: str, query: str, limit: int | None) -> list[Json]:
        body = await self._call(
            "GET", "/v1/conversations/search", user_id, params={"q": query, "limit": limit}
        )
        return list(body["conversations"])

    async def get_conversation(self, user_id: str, cid: str) -> Json:
        return await self._object("GET", f"/v1/conversations/{_seg(cid)}", user_id)

    async def update_conversation(self, user_id: str, cid: str, body: Json) -> Json:
        return await self._object(
            "PATCH", f"/v1/conversations/{_seg(cid)}", user_id, json=body
        )

    async def delete_conversation(self, user_id: str, cid: str) -> None:
        await self._call("DELETE", f"/v1/conversations/{_seg(cid)}", user_id)

    # messages
    async def list_messages(
        self, user_id: str, cid: str, after_seq: int | None = None, limit: int | None = None
    ) -> list[Json]:
        body = await self._call(
            "GET",
            f"/v1/conversations/{_seg(cid)}/messages",
            user_id,
            params={"after_seq": after_seq, "limit": limit},
        )
        return list(body["messages"])

    async def create_message(self, user_id: str, cid: str, body: Json) -> tuple[Json, bool]:
        answer = await self._call(
            "POST", f"/v1/conversations/{_seg(cid)}/messages", user_id, json=body
        )
        return answer["message"], bool(answer["created"])

    async def start_turn(self, user_id: str, cid: str, body: Json) -> Json:
        """Store a user message and, when new, read the context and create the answer's
        placeholder: ``{conversation, message, created, context, answer}`` (one round trip)."""
        turn: Json = await self._call(
            "POST", f"/v1/conversations/{_seg(cid)}/turns", user_id, json=body
        )
        return turn

    async def update_message(self, user_id: str, cid: str, mid: str, body: Json) -> Json:
        return await self._object(
            "PATCH", f"/v1/conversations/{_seg(cid)}/messages/{_seg(mid)}", user_id, json=body
        )

    async def finish_answer(
        self, user_id: str, cid: str, mid: str, body: Json, usage_record: Json | None
    ) -> tuple[Json, Json]:
        """``update_message`` (``body``), the answer's usage record stored when given, and the
        conversation read back, in one round trip: ``(message, conversation)``."""
        done = await self._object(
            "POST", f"/v1/conversations/{_seg(cid)}/messages/{_seg(mid)}/finish", user_id,
            json={"message": body, "usage_record": usage_record},
        )
        message, conversation = done.get("message"), done.get("conversation")
        if not isinstance(message, dict) or not isinstance(conversation, dict):
            raise UnavailableError("the history service sent a malformed answer")
        return message, conversation

    async def save_text(
        self, user_id: str, cid: str, mid: str, content: str, next_index: int
    ) -> None:
        """Checkpoint a streaming answer's text and the delta index it reaches (one write;
        ConflictError once finalised)."""
        await self._call(
            "PUT", f"/v1/conversations/{_seg(cid)}/messages/{_seg(mid)}/text", user_id,
            json={"content": content, "next_index": next_index},
        )

    async def select_branch(self, user_id: str, cid: str, mid: str) -> Json:
        """Make the branch through ``mid`` the active one; the conversation."""
        return await self._object(
            "POST", f"/v1/conversations/{_seg(cid)}/branch", user_id, json={"message_id": mid}
        )

    async def list_tree(
        self, user_id: str, cid: str, after_seq: int | None = None, limit: int | None = None
    ) -> list[Json]:
        """Every message of every branch (``parent_id``, ``active``), ascending ``seq``."""
        body = await self._call(
            "GET", f"/v1/conversations/{_seg(cid)}/tree", user_id,
            params={"after_seq": after_seq, "limit": limit},
        )
        return list(body["messages"])

    async def set_feedback(self, user_id: str, cid: str, mid: str, feedback: Json | None) -> Json:
        return await self._object(
            "PUT", f"/v1/conversations/{_seg(cid)}/messages/{_seg(mid)}/feedback", user_id,
            json={"feedback": feedback},
        )

    # share links
    async def create_share(self, user_id: str, cid: str, body: Json) -> Json:
        return await self._object("POST", f"/v1/conversations/{_seg(cid)}/shares", user_id,
                                json=body)

    async def list_shares(self, user_id: str, cid: str) -> list[Json]:
        body = await self._call("GET", f"/v1/conversations/{_seg(cid)}/shares", user_id)
        return list(body["shares"])

    async def revoke_share(self, user_id: str, share_id: str) -> None:
        await self._call("DELETE", f"/v1/shares/{_seg(share_id)}", user_id)

    async def read_share(self, share_id: str) -> Json:
        """``{share, user_id (the owner), conversation, messages}``; NotFoundError if gone."""
        return await self._object("GET", f"/v1/shares/{_seg(share_id)}", None)

    async def delete_message(self, user_id: str, cid: str, mid: str) -> None:
        await self._call("DELETE", f"/v1/conversations/{_seg(cid)}/messages/{_seg(mid)}", user_id)

    async def streaming_messages(self, updated_before: str | None, limit: int) -> list[Json]:
        body = await self._call(
            "GET",
            "/v1/streaming-messages",
            None,
            params={"updated_before": updated_before, "limit": limit},
        )
        return list(body["messages"])

    # files
    async def add_file(self, user_id: str, cid: str, name: str, data: bytes) -> Json:
        r = await self._send("POST", "/v1/files", user_id,
                             params={"conversation_id": cid, "name": name}, data=data,
                             content_type="application/octet-stream")
        if 200 <= r.status < 300:
            file = _body_of(r)
            if isinstance(file, dict):
                return file
        raise _error_of(r)

    async def get_file(self, user_id: str, fid: str) -> Json:
        return await self._object("GET", f"/v1/files/{_seg(fid)}", user_id)

    async def file_data(self, user_id: str, fid: str) -> tuple[str, bytes]:
        """``(media type, bytes)`` of one of the user's files."""
        r = await self._send("GET", f"/v1/files/{_seg(fid)}/content", user_id)
        if 200 <= r.status < 300:
            return r.content_type or "application/octet-stream", r.body
        raise _error_of(r)

    async def list_files(self, user_id: str, cid: str) -> list[Json]:
        body = await self._call("GET", "/v1/files", user_id, params={"conversation_id": cid})
        return list(body["files"])

    async def delete_file(self, user_id: str, fid: str) -> None:
        await self._call("DELETE", f"/v1/files/{_seg(fid)}", user_id)

    async def file_contents(self, user_id: str, ids: list[str]) -> list[Json]:
        """Texts (documents) and base64 bytes (images) of the user's files, for the context."""
        body = await self._call("POST", "/v1/files/contents", user_id, json={"ids": ids})
        return list(body["files"])

    async def import_messages(self, user_id: str, cid: str, messages: list[Json]) -> list[Json]:
        body = await self._call(
            "POST", "/v1/imports", user_id, params={"conversation_id": cid},
            json={"messages": messages},
        )
        return list(body["messages"])

    # users and usage (admin events)
    async def user_seen(self, user_id: str, body: Json) -> Json:
        return await self._object("PUT", "/v1/me", user_id, json=body)

    async def get_user(self, user_id: str) -> Json:
        return await self._object("GET", "/v1/me", user_id)

    async def list_users(self, limit: int | None, before: str | None) -> list[Json]:
        body = await self._call("GET", "/v1/users", None, params={"limit": limit,
                                                                   "before": before})
        return list(body["users"])

    async def update_user(self, body: Json) -> Json:
        return await self._object("PATCH", "/v1/users", None, json=body)

    async def add_usage(self, body: Json) -> bool:
        return bool((await self._call("POST", "/v1/usage", None, json=body))["created"])

    async def usage(self, group_by: str, since: str | None, until: str | None) -> list[Json]:
        body = await self._call(
            "GET", "/v1/usage", None, params={"group_by": group_by, "since": since,
                                              "until": until}
        )
        return list(body["rows"])


def _body_of(r: Answer) -> Any:
    """A successful answer's JSON body."""
    try:
        return r.json()
    except ValueError as exc:
        raise UnavailableError("the history service sent a malformed answer") from exc


def _error_of(r: Answer) -> ChatbotError:
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return error_from_dict(body["error"])
    log.warning("history service answered %s without an error body", r.status)
    return UnavailableError(f"the history service answered {r.status}")
