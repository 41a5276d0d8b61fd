"""OpenAI-shaped errors: ``{"error": {"message", "type", "code"}}`` with the contract's codes.

The only place where the service's exceptions become HTTP answers (or SSE error events).
"""

from __future__ import annotations

from typing import Any

from chatbot_common.errors import ChatbotError, TooLargeError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

_TYPES = {
    "invalid": "invalid_request_error",
    "too_large": "invalid_request_error",
    "unauthorized": "authentication_error",
    "not_found": "invalid_request_error",
    "rate_limited": "rate_limit_error",
    "upstream_error": "api_error",
    "unavailable": "api_error",
}


def error_body(exc: ChatbotError) -> dict[str, Any]:
    return {
        "error": {
            "message": exc.message,
            "type": _TYPES.get(exc.code, "api_error"),
            "code": exc.code,
        }
    }


def error_response(exc: ChatbotError) -> JSONResponse:
    headers = {}
    retry_after = exc.details.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(float(retry_after))))
    return JSONResponse(error_body(exc), status_code=exc.http_status, headers=headers)


def _invalid(message: str) -> JSONResponse:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": "invalid"}}
    return JSONResponse(body, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ChatbotError)
    async def _chatbot_error(_: Request, exc: ChatbotError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        msg = first.get("msg", "invalid request")
        return _invalid(f"{where}: {msg}" if where else str(msg))

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "invalid"
        body = {"error": {"message": str(exc.detail), "type": _TYPES[code], "code": code}}
        return JSONResponse(body, status_code=exc.status_code)


def too_large(limit: int) -> ChatbotError:
    return TooLargeError(f"the request is larger than {limit} bytes")
