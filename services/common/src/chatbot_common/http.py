"""HTTP building blocks every service uses: probes, metrics, error responses, internal auth."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from .errors import ChatbotError, InvalidError, UnauthorizedError
from .metrics import HttpMetricsMiddleware, metrics_payload

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


def probes_router(checks: Callable[[], Iterable[ReadinessCheck]]) -> APIRouter:
    """``/healthz`` (alive), ``/readyz`` (own dependencies answer) and ``/metrics``."""
    router = APIRouter(tags=["probes"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> Response:
        failed: list[str] = []
        for check in checks():
            try:
                ok = await check()
            except Exception:
                log.warning("readiness check failed", exc_info=True)
                ok = False
            if not ok:
                failed.append(getattr(check, "__name__", "check"))
        if failed:
            return JSONResponse({"status": "not ready", "failed": failed}, status_code=503)
        return JSONResponse({"status": "ready"})

    @router.get("/metrics")
    async def metrics() -> Response:
        body, content_type = metrics_payload()
        return Response(body, media_type=content_type)

    return router


ErrorBody = Callable[[ChatbotError], dict[str, Any]]


def default_error_body(exc: ChatbotError) -> dict[str, Any]:
    """``{"error": {"code", "message", ...details}}``: the shape every service answers with."""
    return {"error": exc.to_dict()}


def error_response(exc: ChatbotError, body: ErrorBody = default_error_body) -> JSONResponse:
    headers = {}
    retry_after = exc.details.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(float(retry_after))))
    return JSONResponse(body(exc), status_code=exc.http_status, headers=headers)


def install_error_handlers(app: FastAPI, body: ErrorBody = default_error_body) -> None:
    """Translate the exception tree (and FastAPI's validation errors) in one place.

    ``body`` shapes the JSON of an error (the LLM service answers OpenAI's shape).
    """

    @app.exception_handler(ChatbotError)
    async def _chatbot_error(_: Request, exc: ChatbotError) -> JSONResponse:
        return error_response(exc, body)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return error_response(InvalidError(message), body)


def add_common_middleware(
    app: FastAPI,
    max_request_bytes: int,
    body: ErrorBody = default_error_body,
    larger: Mapping[str, int] | None = None,
) -> None:
    """Request metrics, and the body size limit (``MAX_REQUEST_BYTES``) of every service
    (``larger``: path prefixes with a limit of their own, e.g. file uploads)."""
    from .body_limit import BodySizeLimit  # it answers with this module's error_response

    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes, body=body, larger=larger)
    app.add_middleware(HttpMetricsMiddleware)


def internal_auth(
    *accepted: Callable[[], str | None],
) -> Callable[..., Awaitable[None]]:
    """Dependency: calls must present one of the accepted callers' tokens.

    Each argument returns one caller's token (None = that caller has none configured). With
    no token configured at all the route is open (a local run on loopback); otherwise only a
    configured caller's token passes, compared in constant time.
    """

    async def check(
        authorization: Annotated[str | None, Header()] = None,
    ) -> None:
        tokens = [t for t in (get() for get in accepted) if t]
        if not tokens:
            return
        presented = (authorization or "").removeprefix("Bearer ").strip().encode()
        # Every candidate is compared (no early exit): the time says nothing about which.
        matches = [hmac.compare_digest(presented, t.encode()) for t in tokens]
        if not any(matches):
            raise UnauthorizedError("this service only answers its internal callers")

    return check


