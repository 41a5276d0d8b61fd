"""Adapter for the LLM service (OpenAI-compatible): streamed chat completions.

The LLM service is ours, so this reads its Server-Sent Events directly instead of through the
``openai`` client, whose per-chunk model construction cost more CPU than the rest of the relay
(measured: stress_tests/README.md), and over aiohttp rather than httpx2: its C parser and
buffered reads cost a fraction of httpx2's per read and per request (py-spy at 200 streams: a
fifth of this service's CPU was httpx2/h11 reading these streams). Work per read: every
complete event of one read is parsed by one ``orjson.loads`` and comes out as one ``Chunk``.
Paced reads: after the first chunk, the buffer is read at most once per ``pace()`` seconds,
so one read carries everything the LLM service wrote meanwhile.
Errors keep the OpenAI shape ``{"error": {"message", "type", "code"}}`` with our codes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from chatbot_common.errors import (
    ChatbotError,
    RateLimitedError,
    UnavailableError,
    UpstreamError,
)
from chatbot_common.sse import sse_batches

log = logging.getLogger(__name__)

Interval = Callable[[], float]

#: Idle connections close after this: below uvicorn's keep-alive (5 s), so the LLM service
#: never closes one that is about to be reused.
KEEPALIVE_SECONDS = 4.0


@dataclass(frozen=True, slots=True)
class Chunk:
    """What one read brought: text (may be empty), and the model/usage when the upstream says."""

    text: str = ""
    model: str | None = None
    usage: dict[str, int] | None = None


class LlmClient:
    """``max_connections`` bounds concurrent answers to the LLM service (one connection each)."""

    def __init__(
        self,
        base_url: str,
        internal_token: str | None,
        connect_timeout: float,
        read_timeout: float,
        *,
        max_connections: int = 1000,
        pool_timeout: float | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {internal_token or 'unused'}"}
        self._max_connections = max_connections
        # A stream holds its connection for the whole answer: the pool must be at least as
        # large as the answers in flight, and waiting for a free slot counts as connecting
        # (``connect``: the wait and the connection). The read timeout bounds each wait for
        # bytes, not the answer.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout if pool_timeout is None else pool_timeout,
            sock_connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None  # made in the running loop

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0,
                                             keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout,
                                                  connector=connector)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get_models(self) -> Any:
        async with self._http().get(self._base + "/models") as r:
            if r.status >= 300:
                raise UnavailableError(f"the LLM service answered {r.status}")
            return orjson.loads(await r.read())

    async def ready(self) -> bool:
        try:
            await self._get_models()
        except (aiohttp.ClientError, TimeoutError, UnavailableError, ValueError):
            return False
        return True

    async def models(self) -> list[dict[str, Any]]:
        """The models the LLM service offers (its allow-list, ``/v1/models``), the default
        first: ``{"id", "vision"?, ...}``."""
        try:
            data = (await self._get_models()).get("data")
        except (aiohttp.ClientError, TimeoutError, UnavailableError, ValueError,
                AttributeError) as exc:
            raise UnavailableError("the model list is not available; try again") from exc
        return [m for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]

    async def stream(
        self,
        messages: list[dict[str, Any]],
        model: str | None,
        sampling: dict[str, Any] | None = None,
        pace: Interval | None = None,
    ) -> AsyncIterator[Chunk]:
        """Yield the answer, one chunk per read; every failure is raised as a ChatbotError.
        ``sampling``: temperature, top_p, max_tokens (already within the operator's bounds).
        ``pace``: after the first chunk, read at most once per ``pace()`` seconds (what the
        LLM service wrote meanwhile comes as one read; chatbot_common.paced)."""
        body = {
            "model": model or "default",
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            **(sampling or {}),
        }
        started = False
        reads = _PacedReads()
        try:
            async with self._http().post(
                self._base + "/chat/completions", data=orjson.dumps(body),
                headers={"Content-Type": "application/json"},
            ) as r:
                if r.status >= 300:
                    raise status_error(r.status, await r.read())
                started = True
                async for batch in sse_batches(reads.of(r.content)):
                    done = batch[-1] == b"[DONE]"
                    if done:
                        batch.pop()
                    if batch:
                        yield parse_batch(batch)
                        reads.interval = pace  # the first chunk came at once
                    if done:
                        return
        except TimeoutError as exc:
            raise UpstreamError("the language model did not answer in time") from exc
        except aiohttp.ClientError as exc:
            if started:
                raise UpstreamError("the language model's answer broke off") from exc
            raise UpstreamError("the LLM service is unreachable") from exc


class _PacedReads:
    """A response body's reads, at most one per ``interval()`` seconds once it is set: what
    arrived meanwhile waits in aiohttp's buffer and comes as one read."""

    def __init__(self) -> None:
        self.interval: Interval | None = None

    async def of(self, content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
        last = 0.0
        while True:
            if self.interval is not None:
                wait = last + self.interval() - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            data = await content.readany()
            if not data:
                return
            last = time.monotonic()
            yield data


def parse_batch(batch: list[bytes]) -> Chunk:
    """The ``chat.completion.chunk`` events of one read, parsed at once, as one chunk (an
    ``{"error": ...}`` event among them is raised)."""
    try:
        events = orjson.loads(b"[" + b",".join(batch) + b"]")
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("the LLM service sent a malformed answer") from exc
    texts: list[str] = []
    model: str | None = None
    usage: dict[str, int] | None = None
    for event in events:
        if not isinstance(event, dict):
            raise UpstreamError("the LLM service sent a malformed answer")
        if event.get("error"):
            raise error_of(event)
        choices = event.get("choices")
        if choices:
            text = (choices[0].get("delta") or {}).get("content")
            if text:
                texts.append(text)
        model = event.get("model") or model
        found = event.get("usage")
        if found:
            usage = {k: found[k] for k in _USAGE_KEYS if k in found}
    return Chunk(text="".join(texts), model=model, usage=usage)


def parse_chunk(data: bytes) -> Chunk:
    """One ``chat.completion.chunk`` (or an ``{"error": ...}`` event, raised)."""
    return parse_batch([data])


_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def status_error(status: int, content: bytes) -> ChatbotError:
    """A non-2xx answer of the LLM service as one of ours."""
    try:
        body: Any = orjson.loads(content)
    except orjson.JSONDecodeError:
        body = None
    if status == 429:
        return RateLimitedError(_message_of(body) or "the language model is busy")
    return error_of(body, default=f"the language model failed (HTTP {status})")


def error_of(body: Any, default: str = "the language model failed") -> ChatbotError:
    """An OpenAI-shaped error body (the LLM service sends our codes in it) as one of ours."""
    code = _code_of(body)
    message = _message_of(body) or default
    if code == "rate_limited":
        return RateLimitedError(message)
    log.info("LLM call failed", extra={"error": message, "code": code})
    return UpstreamError(message)


def _code_of(body: Any) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return str(inner["code"])
    return None


def _message_of(body: Any) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])[:500]
    return None
