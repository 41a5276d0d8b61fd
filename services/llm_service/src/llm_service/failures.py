"""What a failed upstream attempt means: retry it, fall back, or tell the caller."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import openai
from chatbot_common.errors import ChatbotError, InvalidError, RateLimitedError, UpstreamError


@dataclass(frozen=True)
class Failure:
    """``reason`` labels ``llm_upstream_errors_total`` (a small fixed set)."""

    reason: str
    message: str
    retryable: bool = True
    fallback: bool = True
    breaker: bool = True
    retry_after: float | None = None

    def error(self) -> ChatbotError:
        if self.reason == "rate_limited":
            return RateLimitedError(self.message, retry_after=self.retry_after or 1.0)
        if self.reason == "invalid_request":
            return InvalidError(self.message)
        return UpstreamError(self.message)


def retry_after_seconds(headers: object) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    raw_ms = get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


def _upstream_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:500]
    return str(exc.message)[:500]


def classify(exc: BaseException) -> Failure:
    """Map an exception from an attempt (before its first token) to a Failure."""
    if isinstance(exc, TimeoutError):
        return Failure("timeout", "the model did not start answering in time")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _upstream_message(exc)
        if status == 429:
            return Failure(
                "rate_limited",
                "the model is busy: too many requests",
                breaker=False,
                retry_after=retry_after_seconds(exc.response.headers),
            )
        if status in (400, 413, 422):
            return Failure(
                "invalid_request", f"the model refused the request: {detail}",
                retryable=False, fallback=False, breaker=False,
            )
        if status in (408, 409) or status >= 500:
            return Failure("server_error", f"the model failed (HTTP {status})")
        return Failure(
            "client_error", f"the model refused the request (HTTP {status}: {detail})",
            retryable=False,
        )
    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", "the model did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return Failure("connection", "the model could not be reached")
    if isinstance(exc, openai.APIError):
        return Failure("stream_error", f"the model failed: {str(exc)[:300]}")
    return Failure("protocol", "the model sent an answer that could not be read")
