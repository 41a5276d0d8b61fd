"""The LLM gateway's cost: added time to first token and requests/s, beside LiteLLM's proxy.

Starts the fake upstream (no delay, so every millisecond measured is overhead), our
``llm_service`` in front of it and LiteLLM's proxy (its own venv, see ``_litellm.py``) in front
of the same upstream, all in this run. Then:

1. latency: streamed requests one at a time, round-robin over direct / ours / LiteLLM (so
   machine noise hits all three alike); TTFT = time to the first content token. Added TTFT =
   the gateway's TTFT minus direct, p50 and p90.
2. throughput: ``--concurrency`` streams at once for ``--seconds`` per target; requests/s and
   tokens/s relayed.

Writes results/llm_gateway.json (and results/llm_gateway_benchmark.json, the name `make bench`
reads). Not a test: nothing here asserts a speed.

    uv run python -m stress_tests.llm_gateway_benchmark            # ~1-2 minutes
    uv run python -m stress_tests.llm_gateway_benchmark --quick    # seconds (+ LiteLLM start)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx

from stress_tests._harness import RESULTS_DIR, summary, write_result
from stress_tests._litellm import LITELLM_VERSION, start_litellm
from tests.support.processes import Proc, start_process, start_service

MODEL = "fake-model"


# Both gateways check a bearer token (ours: INTERNAL_TOKEN; LiteLLM: its master key).
KEY = f"sk-bench-{secrets.token_hex(16)}"


async def one_stream(client: httpx.AsyncClient, url: str, question: str) -> tuple[float, int]:
    """Send one streamed request; return (seconds to first content token, content chunks)."""
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": question}]}
    started = time.perf_counter()
    ttft: float | None = None
    chunks = 0
    headers = {"Authorization": f"Bearer {KEY}"}
    async with client.stream(
        "POST", f"{url}/chat/completions", json=body, headers=headers
    ) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            if "error" in data:
                raise RuntimeError(data["error"])
            if any(c.get("delta", {}).get("content") for c in data.get("choices", [])):
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - started
    if ttft is None:
        raise RuntimeError(f"no content from {url}")
    return ttft, chunks


async def latency(targets: dict[str, str], rounds: int) -> dict[str, list[float]]:
    ttfts: dict[str, list[float]] = {name: [] for name in targets}
    async with httpx.AsyncClient(timeout=30) as client:
        for url in targets.values():  # warm-up: connections, imports, caches
            for _ in range(3):
                await one_stream(client, url, "warm up")
        for i in range(rounds):
            for name, url in targets.items():
                ttft, _ = await one_stream(client, url, f"question {i}")
                ttfts[name].append(ttft)
    return ttfts


async def throughput(url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    done = chunks = failed = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient, w: int) -> None:
        nonlocal done, chunks, failed
        n = 0
        while time.perf_counter() < deadline:
            try:
                _, c = await one_stream(client, url, f"worker {w} request {n}")
                done, chunks = done + 1, chunks + c
            except (httpx.HTTPError, RuntimeError):
                failed += 1
            n += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client, w) for w in range(concurrency)))
    wall = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "seconds": round(wall, 2),
        "completed": done,
        "failed": failed,
        "requests_per_second": round(done / wall, 1),
        "tokens_per_second": round(chunks / wall, 1),
    }


def ms(values: list[float]) -> dict[str, Any]:
    return summary([v * 1000 for v in values], digits=2)


def added(values: list[float], direct: list[float]) -> dict[str, float]:
    """Added TTFT in ms: the gateway's percentile minus the direct one."""
    def pct(v: list[float], p: float) -> float:
        return statistics.quantiles(v, n=100, method="inclusive")[int(p) - 1]

    return {
        "p50": round((statistics.median(values) - statistics.median(direct)) * 1000, 2),
        "p90": round((pct(values, 90) - pct(direct, 90)) * 1000, 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    procs: list[Proc] = []

    def keep(start: Callable[[], Proc]) -> Proc:
        proc = start()
        procs.append(proc)
        return proc

    result: dict[str, Any] = {
        "config": {
            "rounds": args.rounds, "concurrency": args.concurrency, "seconds": args.seconds,
            "tokens": args.tokens, "upstream": "fake (no delay)",
            "litellm_version": LITELLM_VERSION, "cpus": _cpus(),
        }
    }
    try:
        fake = keep(lambda: start_process(
            "fake-upstream-bench", [sys.executable, "-m", "tests.support.fake_upstream"],
            env={"FAKE_TOKENS": str(args.tokens), "FAKE_TTFT_MS": "0", "FAKE_TOKEN_MS": "0"},
        ))
        ours = keep(lambda: start_service("llm_service", env={
            "LLM_BASE_URL": f"{fake.url}/v1", "LLM_API_KEY": "bench", "LLM_MODEL": MODEL,
            "LLM_FALLBACKS": "[]", "INTERNAL_TOKEN": KEY, "LOG_LEVEL": "WARNING",
        }))
        targets = {"direct": f"{fake.url}/v1", "llm_service": f"{ours.url}/v1"}
        if not args.no_litellm:
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    litellm = keep(lambda: start_litellm(f"{fake.url}/v1", MODEL, Path(tmp), KEY))
                targets["litellm"] = f"{litellm.url}"
            except Exception as exc:  # reported, not hidden: the comparison is then missing
                result["litellm_error"] = f"{type(exc).__name__}: {exc}"[:2000]
        print(f"latency: {args.rounds} rounds over {list(targets)}", file=sys.stderr)
        ttfts = asyncio.run(latency(targets, args.rounds))
        for name, values in ttfts.items():
            section: dict[str, Any] = {"ttft_ms": ms(values)}
            if name != "direct":
                section["added_ttft_ms"] = added(values, ttfts["direct"])
            result[name] = section
        for name, url in targets.items():
            print(f"throughput: {name}", file=sys.stderr)
            tp = asyncio.run(throughput(url, args.concurrency, args.seconds))
            result[name]["throughput"] = tp
            if name != "direct":
                result[name]["gateway_tokens_per_second"] = tp["tokens_per_second"]
        if "litellm" in result and "llm_service" in result:
            ours_r, lite_r = result["llm_service"], result["litellm"]
            result["ratio"] = {
                "added_ttft_p50_litellm_over_ours": _ratio(
                    lite_r["added_ttft_ms"]["p50"], ours_r["added_ttft_ms"]["p50"]),
                "requests_per_second_ours_over_litellm": _ratio(
                    ours_r["throughput"]["requests_per_second"],
                    lite_r["throughput"]["requests_per_second"]),
            }
    finally:
        for proc in reversed(procs):
            proc.stop()
    return result


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b > 0 else None


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds of traffic")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM side")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.concurrency, args.seconds = 20, 4, 2.0
    result = run(args)
    for name in ("llm_gateway", "llm_gateway_benchmark"):
        path = write_result(name, result, RESULTS_DIR)
    print(json.dumps({k: result.get(k) for k in ("llm_service", "litellm", "ratio")}, indent=1))
    print(f"written: {path.parent}/llm_gateway.json", file=sys.stderr)


if __name__ == "__main__":
    main()
