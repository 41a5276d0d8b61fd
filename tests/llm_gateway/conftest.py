"""A primary and a fallback fake upstream with the LLM service in front, started once for the
package, and an openai client of it per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from tests.support.llm_gateway import TOKEN, gateway_env, start_fake
from tests.support.processes import Proc, start_service


@pytest.fixture(scope="package")
def primary() -> Iterator[Proc]:
    proc = start_fake("primary", FAKE_RETRY_AFTER="1")
    yield proc
    proc.stop()


@pytest.fixture(scope="package")
def fallback() -> Iterator[Proc]:
    proc = start_fake("fallback", FAKE_RETRY_AFTER="30")
    yield proc
    proc.stop()


@pytest.fixture(scope="package")
def gateway(primary: Proc, fallback: Proc) -> Iterator[Proc]:
    proc = start_service("llm_service", env=gateway_env(primary, [fallback]))
    yield proc
    proc.stop()


@pytest.fixture
def client(gateway: Proc) -> OpenAI:
    return OpenAI(base_url=f"{gateway.url}/v1", api_key=TOKEN, max_retries=0, timeout=60)
