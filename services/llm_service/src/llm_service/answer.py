"""One answer being streamed from the upstream that produced its first token.

The gateway hands the caller an ``Answer`` only once a first token arrived, so every error
before that point was retried or fell back. Errors after it end the answer with UpstreamError.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
from chatbot_common.errors import UpstreamError
from chatbot_common.gather import gathered

from . import metrics
from .events import Event, EventStream, must_parse, scan, text_of, unescape
from .idle import IdleWatch
from .trimming import Message, estimate_text_tokens, estimate_tokens
from .upstreams import Upstream

log = logging.getLogger(__name__)


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
    stream: EventStream
    pending: list[tuple[Event, bytes]]
    sent_messages: list[Message]
    started: float
    idle_timeout: float
    read_interval: float = 0.0  # seconds between two reads once the first chunk went out
    finished: bool = False
    usage: Usage | None = None
    _upstream_usage: dict[str, int] | None = None
    _text_bytes: list[str] = field(default_factory=list)
    _escaped: list[bytes] = field(default_factory=list)  # forwarded unparsed (sse_blocks)
    _last_token_at: float | None = None
    _finish_seen: bool = False
    _outcome: str = "cancelled"

    def __post_init__(self) -> None:
        # Bound once per answer: a labels() lookup per token costs more than the observation.
        self._labels = (self.upstream.name, self.upstream.model_label(self.model))
        self._ttft = metrics.TIME_TO_FIRST_TOKEN.labels(*self._labels)
        self._itl = metrics.INTER_TOKEN_LATENCY.labels(*self._labels)

    async def chunks(self) -> AsyncIterator[tuple[Event, bytes]]:
        """The answer's chunks as ``(event, JSON bytes to send)``; usage-only chunks withheld
        (see ``usage``). Closes the stream."""
        try:
            for event, data in self.pending:
                out = self._observe(event, data)
                if out is not None:
                    yield event, out
            self.pending = []
            while not self.finished:
                try:
                    with self._guard():
                        async with asyncio.timeout(self.idle_timeout):
                            event, data = await anext(self.stream)
                except StopAsyncIteration:
                    break
                out = self._observe(event, data)
                if out is not None:
                    yield event, out
            self._end()
        finally:
            metrics.REQUESTS.labels(*self._labels, self._outcome).inc()
            await self.stream.close()

    async def sse_blocks(self) -> AsyncIterator[tuple[Event, bytes]]:
        """The answer as SSE bytes, one block per upstream read: the chunks' own bytes are
        forwarded, parsed only where the gateway must look (errors, usage, the end); usage-only
        chunks withheld (see ``usage``). Also yields the last parsed event (its ``id``)."""
        last: Event = {}
        try:
            first = [(e, self._observe(e, d)) for e, d in self.pending]
            self.pending = []
            block = b"".join(b"data: " + d + b"\n\n" for _, d in first if d is not None)
            if first:
                last = first[-1][0]
            if block:
                yield last, block
            # The first chunk went out at once; from now on one read per interval carries
            # whatever arrived meanwhile (paced reads), read by a task of its own: one block
            # per read of everything it brought (one scan, one write; chatbot_common.gather).
            self.stream.pace(self.read_interval)
            try:
                async with contextlib.aclosing(gathered(self._reads())) as reads:
                    async for batches in reads:
                        ended, parsed, block = self._forward(
                            batches[0] if len(batches) == 1 else [d for b in batches for d in b])
                        last = parsed or last
                        if block:
                            yield last, block
                        if ended:
                            break
            except (TimeoutError, openai.APIError, ValueError) as exc:
                raise self._failure(exc) from exc
            self._end()
        finally:
            metrics.REQUESTS.labels(*self._labels, self._outcome).inc()
            await self.stream.close()

    async def _reads(self) -> AsyncIterator[list[bytes]]:
        """The data of each upstream read, up to ``[DONE]``. One idle timer for the whole
        loop: a read that waits ``idle_timeout`` (the pacing wait included) raises
        TimeoutError."""
        with IdleWatch(self.idle_timeout) as watch:
            while True:
                watch.reading()
                try:
                    batch = await self.stream.next_batch()
                except StopAsyncIteration:
                    return
                watch.done()
                yield batch
                if batch[-1].startswith(b"[DONE]"):
                    return

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """A failure reading the stream ends the answer with UpstreamError (and counts)."""
        try:
            yield
        except (TimeoutError, openai.APIError, ValueError) as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> UpstreamError:
        """What a failure reading the stream ends the answer with (counted)."""
        if isinstance(exc, TimeoutError):
            self._fail("idle_timeout")
            return UpstreamError("the model stopped answering")
        self._fail("stream_error" if isinstance(exc, openai.APIError) else "protocol")
        return UpstreamError("the model's answer broke off")

    def _end(self) -> None:
        if not self._finish_seen:
            self._fail("truncated")
            raise UpstreamError("the model's answer broke off")
        self._finish()
        self._outcome = "ok"

    def _forward(self, batch: list[bytes]) -> tuple[bool, Event | None, bytes]:
        """One read's chunks: ``(ended, last parsed event, the bytes to forward)``. Usually
        nothing in them is for the gateway: one scan of them all, forwarded as they are."""
        joined = b"\n\n".join(batch)
        if not must_parse(joined):
            finish, content = scan(joined)
            self._finish_seen = self._finish_seen or finish
            chunks = sum(1 for piece in content if piece)
            if chunks:
                self._escaped.extend(content)
                self._observe_token(time.perf_counter(), chunks)  # once per read
            return False, None, b"data: " + b"\n\ndata: ".join(batch) + b"\n\n"
        out: list[bytes] = []
        parsed: Event | None = None
        text = 0  # content chunks in this read
        for data in batch:
            if must_parse(data):
                if data.startswith(b"[DONE]"):
                    if text:  # the read that brought the end keeps its token timings
                        self._observe_token(time.perf_counter(), text)
                    return True, parsed, b"".join(out)
                parsed = self.stream.parse(data)
                before = len(self._text_bytes)
                kept = self._observe(parsed, data, timing=False)
                text += len(self._text_bytes) - before
                if kept is not None:
                    out += (b"data: ", kept, b"\n\n")
                continue
            finish, content = scan(data)
            self._finish_seen = self._finish_seen or finish
            if content and any(content):
                self._escaped.extend(content)
                text += 1
            out += (b"data: ", data, b"\n\n")
        if text:  # the token timings, once per read
            self._observe_token(time.perf_counter(), text)
        return False, parsed, b"".join(out)

    def _observe_token(self, now: float, chunks: int = 1) -> None:
        """The first token's time, or the gap between content chunks: one read that brought
        ``chunks`` of them since the last one observes the mean gap (paced reads gather many)."""
        if self._last_token_at is None:
            self._ttft.observe(now - self.started)
        else:
            self._itl.observe((now - self._last_token_at) / chunks)
        self._last_token_at = now

    async def collect(self) -> dict[str, Any]:
        """The whole answer as a non-streamed ``chat.completion`` object."""
        first_id, created = None, int(time.time())
        texts: dict[int, list[str]] = {}
        finish: dict[int, str | None] = {}
        async for event, _ in self.chunks():
            first_id = first_id or event.get("id")
            created = event.get("created") or created
            for choice in event.get("choices") or ():
                index = choice.get("index", 0)
                texts.setdefault(index, [])
                content = (choice.get("delta") or {}).get("content")
                if content:
                    texts[index].append(content)
                if choice.get("finish_reason"):
                    finish[index] = choice["finish_reason"]
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

    def _observe(self, event: Event, data: bytes, timing: bool = True) -> bytes | None:
        """Record metrics and usage; return the bytes to forward (None: withhold the chunk)."""
        usage = event.get("usage")
        if usage is not None:
            self._upstream_usage = {
                "prompt_tokens": int(usage.get("prompt_tokens") or 0),
                "completion_tokens": int(usage.get("completion_tokens") or 0),
            }
            event["usage"] = None
            data = b""  # changed: serialised again below
        choices = event.get("choices")
        if not choices:
            return None
        if any(c.get("finish_reason") for c in choices):
            self._finish_seen = True
        text = text_of(event)
        if text:
            self._text_bytes.append(text)
            if timing:
                self._observe_token(time.perf_counter())
        return data or json.dumps(event, separators=(",", ":")).encode()

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
                estimate_text_tokens("".join(self._text_bytes) + unescape(self._escaped)),
                estimated=True,
            )
        self.usage = usage
        self.finished = True
        labels = self._labels
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
