"""The history app's routing: every route is reached by its own paths (no route hides
another, whatever the order ``main.py`` includes the routers in: hot routes first)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from history_service.main import create_app
from history_service.settings import HistorySettings


def _app(tmp_path: Path) -> FastAPI:
    # with an internal token, a request without it is refused before any store is used
    return create_app(HistorySettings.model_validate(
        {"STATE_DIR": str(tmp_path), "CHAT_INTERNAL_TOKEN": "t" * 32}))


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every documented operation, in the router's order."""
    return [(method.upper(), path)
            for path, item in app.openapi()["paths"].items() for method in item]


async def _routed_to(app: FastAPI, method: str, path: str) -> str | None:
    """The path template of the route a request is handed to."""
    scope: dict[str, Any] = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(),
        "root_path": "", "query_string": b"", "headers": [], "app": app, "scheme": "http",
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    with contextlib.suppress(Exception):  # probes reach a store that was never opened
        await app(scope, receive, send)
    route = scope.get("route")
    return getattr(route, "path", None)


@pytest.mark.parametrize("value", ["c_0123456789abcdef", "search", "contents"])
async def test_every_route_is_reached_by_its_own_paths(tmp_path: Path, value: str) -> None:
    app = _app(tmp_path)
    operations = _operations(app)
    assert len(operations) > 30
    literal = {(m, p) for m, p in operations if "{" not in p}
    for method, template in operations:
        path = re.sub(r"\{[^}]+\}", value, template)
        # a literal route (GET /v1/conversations/search) wins over a parameter
        expected = path if (method, path) in literal else template
        assert await _routed_to(app, method, path) == expected, (method, path)


def test_the_chat_services_calls_of_every_answer_are_matched_first(tmp_path: Path) -> None:
    first = [path for _, path in _operations(_app(tmp_path))][:8]
    for hot in ("/v1/conversations/{conversation_id}/turns",
                "/v1/conversations/{conversation_id}/messages/{message_id}/text",
                "/v1/conversations/{conversation_id}/messages/{message_id}/finish"):
        assert hot in first, first
