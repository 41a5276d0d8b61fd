"""Streaming overhead: added time to first token, added per-token delay, CPU per relayed token.

Starts the whole system on a fake upstream with a known time to first token and time per
token, runs N concurrent conversations for each concurrency level, and measures at the client:
- added TTFT = (first ``message.delta`` - ``message.send``) - the upstream's configured TTFT;
- added per-token delay = gap between consecutive deltas - the upstream's time per token
  (meaningful with DELTA_INTERVAL_MS=0, one delta per token; with coalescing on, a delta
  carries several tokens and the gap is the coalescing interval);
- CPU µs per relayed token = CPU seconds of every service process (ui, chat, llm, history)
  over the run / completion tokens relayed.

    uv run python -m stress_tests.stream_benchmark --concurrency 1,50,100,200
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from stress_tests import _harness
from stress_tests._harness import (
    CpuMeter,
    fake_upstream_env,
    guest_token,
    progress,
    running_stack,
    service_pids,
    summary,
    write_result,
)
from stress_tests._sio import RawSio, stream_answer
from tests.support.stack import Stack


async def _one(url: str, token: str, start: asyncio.Event, bar: Any) -> dict[str, Any]:
    sio = await RawSio(url, token).connect()
    try:
        conv = (await sio.ok("conversation.create", {"title": "bench"}))["conversation"]
        await start.wait()
        res = await stream_answer(sio, conv["id"], "Tell me something long.", uuid.uuid4().hex,
                                  timeout=120)
        bar.update(1)
        return res
    finally:
        await sio.close()


async def _loop_lag(out: list[float], period: float = 0.01) -> None:
    while True:
        t = time.perf_counter()
        await asyncio.sleep(period)
        out.append((time.perf_counter() - t - period) * 1000)


async def run_level(stack: Stack, n: int, ttft_ms: float, token_ms: float) -> dict[str, Any]:
    start = asyncio.Event()
    bar = progress(n, f"{n} streams")
    meter = CpuMeter(service_pids(stack))
    tasks = [asyncio.create_task(_one(stack.chat.url, guest_token(stack), start, bar))
             for _ in range(n)]
    await asyncio.sleep(0.2 + n * 0.005)  # let every client connect and create first
    lags: list[float] = []
    lag_task = asyncio.create_task(_loop_lag(lags))
    meter.start()
    t0 = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    wall = time.perf_counter() - t0
    cpu = meter.stop()
    lag_task.cancel()
    bar.close()
    ok = [r for r in results if isinstance(r, dict) and r["done"] is not None]
    failures = [repr(r)[:200] for r in results if not (isinstance(r, dict) and r["done"])]
    tokens = sum(((r["done"].get("usage") or {}).get("completion_tokens") or 0) for r in ok)
    deltas = sum(len(r["indexes"]) for r in ok)
    added_ttft = [(r["ttft"] - ttft_ms / 1000) * 1000 for r in ok if r["ttft"] is not None]
    gaps = [g * 1000 - token_ms for r in ok for g in r["gaps"]]
    mismatches = sum(1 for r in ok if r["text"] != r["done"]["content"])
    cpu_total = sum(cpu.values())
    return {
        "concurrency": n,
        "completed": len(ok),
        "failed": len(failures),
        "failures": failures[:5],
        "text_mismatches": mismatches,
        "wall_seconds": round(wall, 3),
        "tokens_relayed": tokens,
        "deltas_received": deltas,
        "tokens_per_delta": round(tokens / deltas, 2) if deltas else None,
        "added_ttft_ms": summary(added_ttft),
        "added_token_gap_ms": summary(gaps),
        "cpu_seconds": cpu,
        "cpu_us_per_token": round(cpu_total * 1e6 / tokens, 2) if tokens else None,
        # how late this client's own event loop ran: a floor under every client-side figure
        "client_loop_lag_ms": summary(lags),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    levels = [int(x) for x in args.concurrency.split(",")]
    chat_env = {"DELTA_INTERVAL_MS": str(args.delta_interval_ms)}
    up = fake_upstream_env(args.ttft_ms, args.token_ms, args.tokens)
    out: dict[str, Any] = {
        "config": {"ttft_ms": args.ttft_ms, "token_ms": args.token_ms, "tokens": args.tokens,
                   "delta_interval_ms": args.delta_interval_ms, "concurrency": levels},
        "levels": [],
    }
    with running_stack(upstream_env=up, chat_env=chat_env) as stack:
        # warm-up: imports, connection pools, JIT-free but cache-warm paths
        await run_level(stack, 2, args.ttft_ms, args.token_ms)
        for n in levels:
            out["levels"].append(await run_level(stack, n, args.ttft_ms, args.token_ms))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--concurrency", default="1,50,100,200")
    p.add_argument("--ttft-ms", type=float, default=200)
    p.add_argument("--token-ms", type=float, default=20)
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--delta-interval-ms", type=float, default=0,
                   help="chat service coalescing (DELTA_INTERVAL_MS); 0 = one delta per token")
    p.add_argument("--name", default="stream_benchmark")
    p.add_argument("--quick", action="store_true", help="a few streams, seconds")
    args = p.parse_args(argv)
    if args.quick:
        args.concurrency, args.ttft_ms, args.token_ms, args.tokens = "1,5", 50, 5, 20
    if _harness.ATTACH is not None:  # a running stack: its fake upstream's timing applies
        up = _harness.ATTACH.upstream.env
        args.ttft_ms = float(up.get("FAKE_TTFT_MS", 0))
        args.token_ms = float(up.get("FAKE_TOKEN_MS", 0))
        args.tokens = int(up.get("FAKE_TOKENS", 20))
    data = asyncio.run(run(args))
    path = write_result(args.name, data)
    for lv in data["levels"]:
        print(f"{lv['concurrency']:>4} streams: ok {lv['completed']} failed {lv['failed']} "
              f"added TTFT p50 {lv['added_ttft_ms']['p50']} ms p99 {lv['added_ttft_ms']['p99']} "
              f"ms; token gap excess p99 {lv['added_token_gap_ms']['p99']} ms; "
              f"{lv['cpu_us_per_token']} CPU-us/token")
    print(f"results: {path}")
    return data


if __name__ == "__main__":
    main()
