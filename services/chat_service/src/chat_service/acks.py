"""The one place where exceptions become Socket.IO error acks."""

from __future__ import annotations

import json
import logging
from typing import Any

from chatbot_common.errors import ChatbotError, ConflictError, UnavailableError
from pydantic import ValidationError

log = logging.getLogger(__name__)

Ack = dict[str, Any]


def ok(**fields: Any) -> Ack:
    return {"ok": True, **fields}


def within_budget(items: list[Any], budget: int, *fixed: Any) -> list[Any]:
    """The longest prefix of ``items`` whose JSON, with ``fixed`` beside it, fits in ``budget``
    bytes (as Socket.IO encodes it: ASCII-escaped), and never fewer than one item: a client
    asked for more pages on from the last item it got (``after_seq``, ``before``)."""
    used = sum(_size(f) for f in fixed)
    for n, item in enumerate(items):
        used += _size(item) + 1
        if used > budget and n > 0:
            return items[:n]
    return items


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def error_ack(exc: BaseException, event: str) -> tuple[Ack, str]:
    """``({"ok": False, "error": {...}}, code)`` for any exception a handler raised."""
    if isinstance(exc, ValidationError):
        return _error("invalid", _validation_message(exc)), "invalid"
    if isinstance(exc, ConflictError):
        # Internal only: the contract has no such code; the state moved under us.
        exc = UnavailableError("the conversation changed meanwhile; try again")
    if isinstance(exc, ChatbotError):
        body = exc.to_dict()
        return {"ok": False, "error": body}, exc.code
    log.error("unexpected error handling %s", event, exc_info=exc, extra={"event": event})
    return _error("unavailable", "something went wrong; try again"), "unavailable"


def _error(code: str, message: str) -> Ack:
    return {"ok": False, "error": {"code": code, "message": message}}


def _validation_message(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "invalid payload"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    if first.get("type") == "model_type":
        return "the payload must be an object"
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
