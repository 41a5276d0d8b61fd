"""One system of real processes for the chat service's tests (fake upstream, history, LLM,
chat), started once for the package, and a connected client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.chat_client import ChatClient
from tests.support.chat_system import System, start_system


@pytest.fixture(scope="package")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Answers of 60 tokens, 15 ms apart; a test that acts mid-answer holds it (``Hold``)."""
    s = start_system(
        tmp_path_factory.mktemp("chat"),
        {"FAKE_TTFT_MS": "30", "FAKE_TOKEN_MS": "15", "FAKE_TOKENS": "60"},
        {"DELTA_INTERVAL_MS": "20"},
    )
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
async def client(system: System) -> AsyncIterator[ChatClient]:
    c = await system.client()
    yield c
    await c.close()
