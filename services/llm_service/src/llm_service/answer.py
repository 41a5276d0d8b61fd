"""One answer being streamed from the upstream that produced its first token.

The gateway hands the caller an ``Answer`` only once a first token arrived, so every error
before that point was retried or fell back. Errors after it end the answer with UpstreamError.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import openai
from chatbot_common.errors import UpstreamError
from openai import AsyncStream
from openai.types.chat import ChatCompletionChunk

from . import metrics
from .trimming import Message, estimate_text_tokens, estimate_tokens
from .upstreams import Upstream

log = logging.getLogger(__name__)


def has_token(chunk: ChatCompletionChunk) -> bool:
    """Does this chunk carry output (text, a tool call or the end of a choice)?"""
    for choice in chunk.choices:
        delta = choice.delta
        if delta.content or delta.tool_calls or choice.finish_reason:
            return True
        if (delta.model_extra or {}).get("reasoning_content"):
            return True
    return False


@dataclass
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass
class Answer:
    upstream: Upstream
    model: str
    stream: AsyncStream[ChatCompletionChunk]
    pending: list[ChatCompletionChunk]
    sent_messages: list[Message]
    started: float
    idle_timeout: float
    finished: bool = False
    usage: Usage | None = None
    _upstream_usage: dict[str, int] | None = None
    _text_bytes: list[str] = field(default_factory=list)
    _last_token_at: float | None = None
    _finish_seen: bool = False
    _outcome: str = "cancelled"

    async def chunks(self) -> AsyncIterator[ChatCompletionChunk]:
        """The answer's chunks (usage-only chunks withheld: see ``usage``); closes the stream."""
        labels = (self.upstream.name, self.upstream.model_label(self.model))
        try:
            for chunk in self.pending:
                if self._observe(chunk):
                    yield chunk
            self.pending = []
            while not self.finished:
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        chunk = await anext(self.stream)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    self._fail("idle_timeout")
                    raise UpstreamError("the model stopped answering") from None
                except (openai.APIError, ValueError) as exc:
                    self._fail("stream_error" if isinstance(exc, openai.APIError) else "protocol")
                    raise UpstreamError("the model's answer broke off") from exc
                if self._observe(chunk):
                    yield chunk
            if not self._finish_seen:
                self._fail("truncated")
                raise UpstreamError("the model's answer broke off")
            self._finish()
            self._outcome = "ok"
        finally:
            metrics.REQUESTS.labels(*labels, self._outcome).inc()
            await self.stream.close()

    async def collect(self) -> dict[str, Any]:
        """The whole answer as a non-streamed ``chat.completion`` object."""
        first_id, created = None, int(time.time())
        texts: dict[int, list[str]] = {}
        finish: dict[int, str | None] = {}
        async for chunk in self.chunks():
            first_id = first_id or chunk.id
            created = chunk.created or created
            for choice in chunk.choices:
                texts.setdefault(choice.index, [])
                if choice.delta.content:
                    texts[choice.index].append(choice.delta.content)
                if choice.finish_reason:
                    finish[choice.index] = choice.finish_reason
        choices = [
            {
                "index": index,
                "message": {"role": "assistant", "content": "".join(parts)},
                "finish_reason": finish.get(index, "stop"),
                "logprobs": None,
            }
            for index, parts in sorted(texts.items())
        ] or [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ""},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ]
        assert self.usage is not None
        return {
            "id": first_id or f"chatcmpl-{int(self.started * 1e6):x}",
            "object": "chat.completion",
            "created": created,
            "model": self.model,
            "choices": choices,
            "usage": self.usage.to_dict(),
        }

    def _observe(self, chunk: ChatCompletionChunk) -> bool:
        """Record metrics and usage; return whether the chunk should be forwarded."""
        now = time.perf_counter()
        if chunk.usage is not None:
            self._upstream_usage = {
                "prompt_tokens": chunk.usage.prompt_tokens,
                "completion_tokens": chunk.usage.completion_tokens,
            }
            chunk.usage = None
        if any(c.finish_reason for c in chunk.choices):
            self._finish_seen = True
        text = "".join(c.delta.content or "" for c in chunk.choices)
        if text:
            self._text_bytes.append(text)
            labels = (self.upstream.name, self.upstream.model_label(self.model))
            if self._last_token_at is None:
                metrics.TIME_TO_FIRST_TOKEN.labels(*labels).observe(now - self.started)
            else:
                metrics.INTER_TOKEN_LATENCY.labels(*labels).observe(now - self._last_token_at)
            self._last_token_at = now
        return bool(chunk.choices)

    def _finish(self) -> None:
        if self._upstream_usage is not None:
            usage = Usage(
                self._upstream_usage["prompt_tokens"],
                self._upstream_usage["completion_tokens"],
                estimated=False,
            )
        else:
            usage = Usage(
                estimate_tokens(self.sent_messages),
                estimate_text_tokens("".join(self._text_bytes)),
                estimated=True,
            )
        self.usage = usage
        self.finished = True
        labels = (self.upstream.name, self.upstream.model_label(self.model))
        metrics.TOKENS.labels(*labels, "prompt").inc(usage.prompt_tokens)
        metrics.TOKENS.labels(*labels, "completion").inc(usage.completion_tokens)
        self.upstream.breaker.record_success()

    def _fail(self, reason: str) -> None:
        self._outcome = "error"
        metrics.UPSTREAM_ERRORS.labels(self.upstream.name, reason).inc()
        self.upstream.breaker.record_failure()
        log.warning(
            "upstream failed mid-answer",
            extra={"upstream": self.upstream.name, "model": self.model, "reason": reason},
        )
