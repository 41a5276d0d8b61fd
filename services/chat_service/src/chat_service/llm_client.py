"""Adapter for the LLM service (OpenAI-compatible): streamed chat completions.

The LLM service is ours, so this reads its Server-Sent Events directly over httpx2 instead of
through the ``openai`` client, whose per-chunk model construction cost more CPU than the rest
of the relay (measured: stress_tests/README.md). Work per read: every complete event of one
read is parsed by one ``orjson.loads`` and comes out as one ``Chunk``.
Errors keep the OpenAI shape ``{"error": {"message", "type", "code"}}`` with our codes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import orjson
from chatbot_common import paced
from chatbot_common.errors import (
    ChatbotError,
    RateLimitedError,
    UnavailableError,
    UpstreamError,
)
from chatbot_common.paced import Interval, PacedTransport
from chatbot_common.sse import sse_batches

log = logging.getLogger(__name__)


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
        max_keepalive_connections: int = 200,
        pool_timeout: float | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {internal_token or 'unused'}"},
            # A stream holds its connection for the whole answer: the pool must be at least as
            # large as the answers in flight, and waiting for a free slot counts as connecting.
            # Paced reads once an answer streams (``stream``'s ``pace``).
            transport=PacedTransport(httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_keepalive_connections,
            )),
            timeout=httpx.Timeout(
                read_timeout,
                connect=connect_timeout,
                pool=connect_timeout if pool_timeout is None else pool_timeout,
            ),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def ready(self) -> bool:
        try:
            r = await self._http.get("/models")
        except httpx.HTTPError:
            return False
        return r.is_success

    async def models(self) -> list[dict[str, Any]]:
        """The models the LLM service offers (its allow-list, ``/v1/models``), the default
        first: ``{"id", "vision"?, ...}``."""
        try:
            r = await self._http.get("/models")
            r.raise_for_status()
            data = r.json().get("data")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
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
        try:
            async with self._http.stream("POST", "/chat/completions", json=body) as r:
                if not r.is_success:
                    raise status_error(r.status_code, await r.aread())
                started = True
                try:
                    async for batch in sse_batches(r.aiter_raw()):
                        done = batch[-1] == b"[DONE]"
                        if done:
                            batch.pop()
                        if batch:
                            yield parse_batch(batch)
                            paced.pace(r, pace)  # the first chunk came at once
                        if done:
                            return
                finally:
                    paced.pace(r, None)  # its connection may serve another request
        except httpx.TimeoutException as exc:
            raise UpstreamError("the language model did not answer in time") from exc
        except httpx.HTTPError as exc:
            if started:
                raise UpstreamError("the language model's answer broke off") from exc
            raise UpstreamError("the LLM service is unreachable") from exc


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
