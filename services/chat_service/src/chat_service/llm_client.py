"""Adapter for the LLM service (OpenAI-compatible): streamed chat completions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import openai
from chatbot_common.errors import ChatbotError, RateLimitedError, UpstreamError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chunk:
    """One streamed piece: text (may be empty), and the model/usage when the upstream says."""

    text: str = ""
    model: str | None = None
    usage: dict[str, int] | None = None


class LlmClient:
    def __init__(
        self,
        base_url: str,
        internal_token: str | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=internal_token or "unused",
            timeout=openai.Timeout(read_timeout, connect=connect_timeout),
            max_retries=0,
        )
        self._base_url = base_url

    async def aclose(self) -> None:
        await self._client.close()

    async def ready(self) -> bool:
        try:
            await self._client.models.list()
        except openai.OpenAIError:
            return False
        return True

    async def stream(
        self, messages: list[dict[str, str]], model: str | None
    ) -> AsyncIterator[Chunk]:
        """Yield chunks of the answer; every failure is raised as a ChatbotError."""
        try:
            stream = await self._client.chat.completions.create(
                model=model or "default",
                messages=cast(Any, messages),
                stream=True,
                stream_options={"include_usage": True},
            )
        except openai.OpenAIError as exc:
            raise translate(exc) from exc
        try:
            async for chunk in stream:
                text = ""
                if chunk.choices:
                    text = chunk.choices[0].delta.content or ""
                usage = chunk.usage.model_dump(include=_USAGE_KEYS) if chunk.usage else None
                yield Chunk(text=text, model=chunk.model or None, usage=usage)
        except openai.OpenAIError as exc:
            raise translate(exc) from exc
        finally:
            await stream.close()


_USAGE_KEYS = {"prompt_tokens", "completion_tokens", "total_tokens"}


def translate(exc: openai.OpenAIError) -> ChatbotError:
    """An OpenAI client error as one of ours (the LLM service sends our codes in its body)."""
    code = _code_of(getattr(exc, "body", None))
    message = _message_of(getattr(exc, "body", None)) or "the language model failed"
    if code == "rate_limited" or isinstance(exc, openai.RateLimitError):
        return RateLimitedError(message)
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamError("the language model did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError("the LLM service is unreachable")
    log.info("LLM call failed", extra={"error": str(exc), "code": code})
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
