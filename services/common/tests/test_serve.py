"""chatbot_common.serve.FreezeAfterStartup: what exists once start-up is complete is frozen
out of the cyclic collector; requests and a failed start-up pass through untouched."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from chatbot_common.serve import FreezeAfterStartup


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process is not a service


async def _lifespan(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append({**message, "frozen": gc.get_freeze_count()})

    await FreezeAfterStartup(app)({"type": "lifespan"}, receive, send)
    return sent


async def test_start_up_complete_freezes_what_exists() -> None:
    made_at_startup: list[object] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        made_at_startup.extend({"n": i} for i in range(1000))
        assert gc.get_freeze_count() == 0
        await send({"type": "lifespan.startup.complete"})

    sent = await _lifespan(app)
    assert sent[0]["type"] == "lifespan.startup.complete"
    assert sent[0]["frozen"] >= 1000  # frozen before the server hears that start-up is done


async def test_a_failed_start_up_and_requests_are_left_alone() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no store"})

    sent = await _lifespan(failing)
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert sent[0]["frozen"] == 0

    seen: list[Any] = []

    async def http(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    await FreezeAfterStartup(http)({"type": "http"}, None, None)
    assert seen == ["http"] and gc.get_freeze_count() == 0
