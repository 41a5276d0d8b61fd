"""One exception tree for every service; each error carries a contract error code."""

from __future__ import annotations

from typing import Any, ClassVar


class ChatbotError(Exception):
    """Base of every error a client may see. ``code`` is one of the contract's codes."""

    code: ClassVar[str] = "unavailable"
    http_status: ClassVar[int] = 503

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update(self.details)
        return body


class UnauthorizedError(ChatbotError):
    code = "unauthorized"
    http_status = 401


class SignInRequiredError(UnauthorizedError):
    """Not signed in, and this way in is closed (e.g. guest access turned off)."""

    http_status = 403


class ForbiddenError(ChatbotError):
    """Signed in, but not allowed: a non-admin calling an admin event, a disabled user."""

    code = "forbidden"
    http_status = 403


class InvalidError(ChatbotError):
    code = "invalid"
    http_status = 422


class NotFoundError(ChatbotError):
    code = "not_found"
    http_status = 404


class TooLargeError(ChatbotError):
    code = "too_large"
    http_status = 413


class ConflictError(ChatbotError):
    """Internal only (service to service): a conditional update found another state."""

    code = "conflict"
    http_status = 409


class RateLimitedError(ChatbotError):
    code = "rate_limited"
    http_status = 429


class UpstreamError(ChatbotError):
    code = "upstream_error"
    http_status = 502


class UnavailableError(ChatbotError):
    code = "unavailable"
    http_status = 503


ERRORS_BY_CODE: dict[str, type[ChatbotError]] = {
    cls.code: cls
    for cls in (
        UnauthorizedError,
        ForbiddenError,
        InvalidError,
        NotFoundError,
        TooLargeError,
        ConflictError,
        RateLimitedError,
        UpstreamError,
        UnavailableError,
    )
}


def error_from_dict(body: Any, default: type[ChatbotError] = UnavailableError) -> ChatbotError:
    """Rebuild an error from ``{"code", "message"}`` (as another service sent it)."""
    if isinstance(body, dict):
        cls = ERRORS_BY_CODE.get(str(body.get("code")), default)
        return cls(str(body.get("message") or cls.code))
    return default(str(body) if body else default.code)
