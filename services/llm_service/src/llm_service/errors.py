"""OpenAI-shaped errors: ``{"error": {"message", "type", "code"}}`` with the contract's codes.

The only place where the service's exceptions become HTTP answers (or SSE error events).
"""

from __future__ import annotations

from typing import Any

from chatbot_common.errors import ChatbotError, TooLargeError
from chatbot_common.http import error_response as common_error_response
from chatbot_common.http import install_error_handlers as common_handlers
from fastapi import FastAPI, Request
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


def install_error_handlers(app: FastAPI) -> None:
    common_handlers(app, body=error_body)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "invalid"
        body = {"error": {"message": str(exc.detail), "type": _TYPES[code], "code": code}}
        return JSONResponse(body, status_code=exc.status_code)


def error_response(exc: ChatbotError) -> JSONResponse:
    return common_error_response(exc, error_body)


def too_large(limit: int) -> ChatbotError:
    return TooLargeError(f"the request is larger than {limit} bytes")
