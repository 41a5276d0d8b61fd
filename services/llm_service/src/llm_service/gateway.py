"""Send a chat request along the chain of upstreams until one starts answering.

Per upstream: up to ``LLM_MAX_RETRIES`` repeats with capped, jittered exponential back-off
(a 429's Retry-After is waited for when it is within the cap), all before the first token.
An upstream whose circuit is open is skipped; one that keeps failing hands over to the next.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import httpx2
from chatbot_common.backoff import Backoff
from chatbot_common.errors import ChatbotError, InvalidError, TooLargeError, UnavailableError

from . import metrics
from .answer import Answer
from .events import EventStream, has_token
from .failures import Failure, classify
from .schemas import ChatCompletionRequest
from .settings import LlmSettings
from .trimming import Message, images_of, trim_messages
from .upstreams import Upstream, offered_models

log = logging.getLogger(__name__)

MIN_PROMPT_TOKENS = 256


class Gateway:
    def __init__(
        self,
        settings: LlmSettings,
        chain: Callable[[], list[Upstream]],
        warming_up: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        self.settings = settings
        self._chain = chain
        self._warming_up = warming_up
        #: The allow-list: a request naming any other model is refused (``invalid``).
        self.offered = offered_models(settings)

    def requested_model(self, request: ChatCompletionRequest) -> str | None:
        """The request's model (None or "default": the default one), if it is offered."""
        if request.model in (None, "default"):
            return None
        if request.model not in self.offered:
            raise InvalidError(f"model {request.model!r} is not offered here (see /v1/models)")
        return request.model

    def check_images(self, requested: str | None, messages: list[Message]) -> None:
        """Images only for a model marked vision-capable (``LLM_VISION_MODELS``)."""
        if not any(images_of(m) for m in messages):
            return
        model = requested or (self.offered[0] if self.offered else None)
        if model not in self.settings.vision:
            raise InvalidError(f"model {model!r} does not take images (see LLM_VISION_MODELS)")

    def backoff(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before repeat ``attempt`` (1, 2, ...); None: do not wait, move on."""
        cap = self.settings.retry_max_delay
        if retry_after is not None:
            return None if retry_after > cap else retry_after
        # At least half the step: a retry never follows a failed upstream at once.
        return Backoff(self.settings.retry_base_delay, cap, floor=0.5).delay(attempt - 1)

    async def open(self, request: ChatCompletionRequest) -> Answer:
        """Return an answer whose first token has arrived, or raise a ChatbotError."""
        requested = self.requested_model(request)
        chain = await self._ready_chain()
        if len(request.messages) > self.settings.max_messages:
            raise TooLargeError(f"at most {self.settings.max_messages} messages per request")
        messages = request.message_dicts()
        self.check_images(requested, messages)
        if messages[0].get("role") not in ("system", "developer"):
            messages.insert(0, {"role": "system", "content": self.settings.system_prompt})
        trimmed: dict[int, list[Message]] = {}  # by budget: computed (and counted) once
        last: tuple[Upstream, str, Failure] | None = None
        for upstream in chain:
            model = upstream.model_for(requested)
            answer, failure = await self._on_upstream(upstream, model, request, messages, trimmed)
            if answer is not None:
                return answer
            if failure is not None:
                last = (upstream, model, failure)
        if last is None:
            metrics.REQUESTS.labels("none", "none", "unavailable").inc()
            raise UnavailableError("every upstream is failing; try again shortly", retry_after=5)
        upstream, model, failure = last
        outcome = "rate_limited" if failure.reason == "rate_limited" else "error"
        metrics.REQUESTS.labels(upstream.name, upstream.model_label(model), outcome).inc()
        raise failure.error()

    async def _ready_chain(self) -> list[Upstream]:
        """The upstreams to try, in order; ``unavailable`` when there is none (yet)."""
        chain = self._chain()
        reason: str | None = None
        if not chain and self._warming_up is not None:
            reason = await self._warming_up()  # e.g. the local model is still loading
            chain = self._chain()
        if not chain:
            reason = reason or "no upstream is configured"
            metrics.REQUESTS.labels("none", "none", "unavailable").inc()
            raise UnavailableError(reason, retry_after=5)
        return chain

    async def _on_upstream(
        self,
        upstream: Upstream,
        model: str,
        request: ChatCompletionRequest,
        messages: list[Message],
        trimmed: dict[int, list[Message]],
    ) -> tuple[Answer | None, Failure | None]:
        """Attempts on one upstream: its answer, or its last failure (None: none was tried,
        its circuit is open) for the next upstream to follow."""
        failure: Failure | None = None
        for attempt in range(self.settings.max_retries + 1):
            if not upstream.breaker.allow():
                break
            if attempt:
                metrics.RETRIES.labels(upstream.name).inc()
            try:
                return await self._attempt(upstream, model, request, messages, trimmed), None
            except (ChatbotError, asyncio.CancelledError):
                upstream.breaker.release()
                raise
            except Exception as exc:
                failure = self._failed(upstream, model, attempt, exc)
            if not failure.retryable or attempt == self.settings.max_retries:
                break
            delay = self.backoff(attempt + 1, failure.retry_after)
            if delay is None:
                break
            await asyncio.sleep(delay)
        return None, failure

    def _failed(self, upstream: Upstream, model: str, attempt: int, exc: Exception) -> Failure:
        """Count and log a failed attempt; raise at once what no other upstream would fix."""
        failure = classify(exc)
        metrics.UPSTREAM_ERRORS.labels(upstream.name, failure.reason).inc()
        if failure.breaker:
            upstream.breaker.record_failure()
        else:
            upstream.breaker.release()
        log.warning(
            "upstream attempt failed",
            extra={
                "upstream": upstream.name, "model": model, "attempt": attempt + 1,
                "reason": failure.reason, "detail": failure.message,
            },
        )
        if not failure.fallback:
            metrics.REQUESTS.labels(upstream.name, upstream.model_label(model), "invalid").inc()
            raise failure.error()
        return failure

    def _budget_messages(
        self,
        upstream: Upstream,
        request: ChatCompletionRequest,
        messages: list[Message],
        cache: dict[int, list[Message]],
    ) -> tuple[list[Message], int]:
        context = self.settings.context_tokens
        if upstream.context_tokens:
            context = min(context, upstream.context_tokens)
        wanted = request.requested_max_tokens() or self.settings.max_tokens
        max_tokens = max(1, min(wanted, context - MIN_PROMPT_TOKENS))
        budget = context - max_tokens
        if budget in cache:
            return cache[budget], max_tokens
        trimmed = trim_messages(messages, budget)
        cache[budget] = trimmed.messages
        if (trimmed.dropped or trimmed.shortened) and len(cache) == 1:
            metrics.CONTEXT_TRIMMED.inc(trimmed.dropped)
            log.info(
                "trimmed the conversation to the context budget",
                extra={"dropped": trimmed.dropped, "kept": len(trimmed.messages),
                       "shortened": trimmed.shortened, "upstream": upstream.name},
            )
        return trimmed.messages, max_tokens

    async def _attempt(
        self,
        upstream: Upstream,
        model: str,
        request: ChatCompletionRequest,
        messages: list[Message],
        trimmed: dict[int, list[Message]],
    ) -> Answer:
        sent, max_tokens = self._budget_messages(upstream, request, messages, trimmed)
        extra: dict[str, Any] = request.passthrough()
        started = time.perf_counter()
        body = {
            "model": model,
            "messages": sent,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens,
            **extra,
        }
        async with asyncio.timeout(self.settings.first_token_timeout):
            # The raw response: its chunks are read (and forwarded) by events.EventStream. The
            # client's low-level post (its timeouts, status errors), with our JSON-ready body
            # as it is: the typed create() walks every message through its param transform,
            # a fifth of this service's CPU at 100 streams of 256 tokens (py-spy).
            response = cast(httpx2.Response, await upstream.client.post(
                "/chat/completions", cast_to=httpx2.Response, body=body, stream=True,
                stream_cls=None))
            stream = EventStream(response)
            pending = []
            try:
                while True:
                    try:
                        event = await anext(stream)
                    except StopAsyncIteration:
                        break
                    pending.append(event)
                    if has_token(event[0]):
                        break
            except BaseException:
                await stream.close()
                raise
        upstream.breaker.record_success()
        return Answer(
            upstream=upstream,
            model=model,
            stream=stream,
            pending=pending,
            sent_messages=sent,
            started=started,
            idle_timeout=self.settings.idle_timeout,
            read_interval=self.settings.stream_read_interval_ms / 1000,
            finished=False,
        )
