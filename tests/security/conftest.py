"""The hostile-client tests' system: the real services, configured as a careful operator would.

One stack for the tests that do not disturb each other: guests minted through a trusted
loopback proxy (so each test mints from addresses of its own), the default mint limit, the
page's origin from ``PUBLIC_URL`` with ``ALLOWED_ORIGINS`` empty, a small ack budget, and a
second model on the LLM service's allow-list. Tests whose limit would starve others start
processes of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security._hostile import PAGE
from tests.support.stack import Stack, start_stack

HOSTILE_ENV = {
    "ui": {"TRUSTED_PROXIES": "127.0.0.1/32", "GUEST_MINTS_PER_MINUTE": "10", "PUBLIC_URL": PAGE},
    "chat": {"ALLOWED_ORIGINS": "", "PUBLIC_URL": PAGE, "MAX_ACK_BYTES": "16384",
             "MODELS_CACHE_SECONDS": "0"},
    "llm": {"LLM_MODELS": "fake/echo-2"},
}


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(
        Path(tmp_path_factory.mktemp("hostile")),
        ui_env=HOSTILE_ENV["ui"],
        chat_env=HOSTILE_ENV["chat"],
        llm_env=HOSTILE_ENV["llm"],
    )
    try:
        yield s
    finally:
        s.stop()
