"""150 answers streamed at once through chat→LLM service→upstream, all open at the same time.

Real processes (the LLM service in front of the fake upstream) and the chat service's own
``LlmClient``. Each stream reads its first chunk, then waits at a barrier until all 150 have
one: the barrier is only passed if every hop's connection pool holds 150 streams at once (a
pool of 100 anywhere would leave the 101st waiting for a connection that never frees).
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable, Iterator

import pytest
from chat_service.llm_client import Chunk, LlmClient
from chatbot_common.errors import UpstreamError

from tests.support.holds import Hold
from tests.support.processes import Proc, start_process, start_service

STREAMS = 150
# Each upstream answer lasts ~4 s (20 tokens, 200 ms apart), so the LLM service's connections
# upstream stay busy while the 150 streams gather at the barrier.
TOKENS = 20
TOKEN_MS = 200
TOKEN = "internal-test-token"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Proc]:
    proc = start_process(
        "fake-concurrency",
        [sys.executable, "-m", "tests.support.fake_upstream"],
        env={"FAKE_TOKENS": str(TOKENS), "FAKE_TTFT_MS": "0", "FAKE_TOKEN_MS": str(TOKEN_MS)},
        health_path="/v1/models",
    )
    yield proc
    proc.stop()


def _llm(upstream: Proc, **env: str) -> Proc:
    return start_service(
        "llm_service",
        env={
            "LLM_BASE_URL": f"{upstream.url}/v1",
            "LLM_API_KEY": "upstream-key",
            "LLM_MODEL": "fake-model",
            "INTERNAL_TOKEN": TOKEN,
            "LLM_CONNECT_TIMEOUT": "2",
            "LLM_MAX_RETRIES": "0",
            "LLM_BREAKER_FAILURES": "100000",
            **env,
        },
    )


@pytest.fixture(scope="module")
def llm(upstream: Proc) -> Iterator[Proc]:
    proc = _llm(upstream)  # default pool limits
    yield proc
    proc.stop()


async def _stream_all(
    client: LlmClient,
    barrier_timeout: float,
    tag: str = "",
    settled: Callable[[], Awaitable[None]] | None = None,
) -> list[str | BaseException]:
    """Open STREAMS answers at once; ``settled`` runs once each has its first chunk or failed."""
    barrier = asyncio.Barrier(STREAMS)
    arrived = 0
    all_arrived = asyncio.Event()

    def arrive() -> None:
        nonlocal arrived
        arrived += 1
        if arrived == STREAMS:
            all_arrived.set()

    async def one(i: int) -> str:
        chunks = client.stream([{"role": "user", "content": f"question {i}{tag}"}], None)
        try:
            try:
                first: Chunk = await anext(chunks)
            finally:
                arrive()
            parts = [first.text]
            async with asyncio.timeout(barrier_timeout):
                await barrier.wait()  # every stream is open now
            async for chunk in chunks:
                parts.append(chunk.text)
            return "".join(parts)
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    async def when_settled() -> None:
        await all_arrived.wait()
        if settled is not None:
            await settled()

    watcher = asyncio.create_task(when_settled())
    try:
        return await asyncio.gather(*(one(i) for i in range(STREAMS)), return_exceptions=True)
    finally:
        watcher.cancel()
        await client.aclose()


def _client(llm: Proc, max_connections: int = 1000, pool_timeout: float | None = None) -> LlmClient:
    return LlmClient(
        f"{llm.url}/v1", TOKEN, connect_timeout=5, read_timeout=30,
        max_connections=max_connections, pool_timeout=pool_timeout,
    )


async def test_150_concurrent_streams_all_complete(llm: Proc) -> None:
    results = await _stream_all(_client(llm), barrier_timeout=60)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    assert len(results) == STREAMS
    for i, text in enumerate(results):
        assert isinstance(text, str)
        assert text.startswith(f"Echo: question {i} w1 ") and len(text.split()) == TOKENS, text


async def test_a_chat_pool_smaller_than_the_streams_is_what_fails(
    upstream: Proc, llm: Proc
) -> None:
    """The same load through a pool of 100: streams beyond it cannot get a connection. The
    upstream holds every answer after its first token, so the first 100 keep their
    connections however slow the machine is (a free-running answer could end and free one)."""
    hold = Hold.new()
    release = functools.partial(hold.arelease, upstream.url)
    try:
        results = await _stream_all(
            _client(llm, max_connections=100, pool_timeout=1), barrier_timeout=5,
            tag=f" {hold.tag}", settled=release,  # released once every stream opened or failed
        )
    finally:
        await release()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors
    assert any(isinstance(e, UpstreamError) and "in time" in e.message for e in errors)


async def test_an_upstream_pool_smaller_than_the_streams_is_what_fails(upstream: Proc) -> None:
    """The LLM service's own pool towards its upstream bounds the streams just as well (the
    answers held upstream, as above)."""
    hold = Hold.new()
    release = functools.partial(hold.arelease, upstream.url)
    small = _llm(upstream, LLM_UPSTREAM_MAX_CONNECTIONS="100", LLM_CONNECT_TIMEOUT="1")
    try:
        results = await _stream_all(
            _client(small), barrier_timeout=5, tag=f" {hold.tag}", settled=release
        )
    finally:
        await release()
        small.stop()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors
    assert any(isinstance(e, UpstreamError) for e in errors)
