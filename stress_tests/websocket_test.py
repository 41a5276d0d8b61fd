"""Many concurrent Socket.IO connections against ONE chat process.

Measures the connect rate, the chat process's memory per idle connection (RSS delta / N, read
with psutil) and the message round trip of a few chatting clients while the idle ones are held.
Idle connections are opened by several client processes (one Python process cannot drive
10,000 websockets quickly); RLIMIT_NOFILE is raised here and inherited by every child.

    uv run python -m stress_tests.websocket_test --connections 10000 --workers 4
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import queue
import time
import uuid
from typing import Any

from stress_tests._harness import (
    guest_token,
    progress,
    raise_nofile,
    rss_bytes,
    running_stack,
    summary,
    write_result,
)
from stress_tests._sio import RawSio, stream_answer
from tests.support.stack import Stack


def _worker(url: str, secret: str, count: int, parallel: int, out: Any, stop: Any) -> None:
    """Child process: open ``count`` idle connections, report, hold them until ``stop``."""
    raise_nofile()

    async def main() -> None:
        sem = asyncio.Semaphore(parallel)
        conns: list[RawSio] = []
        latencies: list[float] = []
        errors: list[str] = []

        async def one() -> None:
            async with sem:
                sio = RawSio(url, guest_token(secret))
                sio.record = False
                t0 = time.perf_counter()
                try:
                    await sio.connect(timeout=30)
                    latencies.append(time.perf_counter() - t0)
                    conns.append(sio)
                except Exception as exc:
                    errors.append(type(exc).__name__ + ": " + str(exc)[:120])
                if (len(conns) + len(errors)) % 250 == 0:
                    out.put(("progress", 250))

        await asyncio.gather(*(one() for _ in range(count)))
        out.put(("connected", {"ok": len(conns), "latencies": latencies, "errors": errors[:10],
                               "failed": len(errors)}))
        # the parent always sets stop (bounded by its own timeout)
        await asyncio.get_running_loop().run_in_executor(None, stop.wait, 3600)
        alive = sum(1 for c in conns if not c.closed.is_set())
        out.put(("alive", alive))
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)

    asyncio.run(main())


async def _chatters(stack: Stack, n: int, turns: int) -> dict[str, Any]:
    async def one() -> list[dict[str, Any]]:
        sio = await RawSio(stack.chat.url, guest_token(stack)).connect()
        try:
            conv = (await sio.ok("conversation.create", {}))["conversation"]
            return [await stream_answer(sio, conv["id"], f"turn {i}", uuid.uuid4().hex)
                    for i in range(turns)]
        finally:
            await sio.close()

    runs = [r for rs in await asyncio.gather(*(one() for _ in range(n))) for r in rs]
    return {
        "answers": len(runs),
        "complete": sum(1 for r in runs if r["done"] and r["done"]["status"] == "complete"),
        "ack_ms": summary([r["t_ack"] * 1000 for r in runs]),
        "ttft_ms": summary([r["ttft"] * 1000 for r in runs if r["ttft"] is not None]),
        "answer_ms": summary([r["total"] * 1000 for r in runs]),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    nofile = raise_nofile(args.connections * 2 + 4096)
    upstream = {"FAKE_TTFT_MS": "20", "FAKE_TOKEN_MS": "2", "FAKE_TOKENS": "20"}
    with running_stack(upstream_env=upstream) as stack:
        chat_pid = stack.chat.pid
        # a first chatting round warms the process up so the baseline is not inflated later
        asyncio.run(_chatters(stack, 2, 1))
        rss0 = rss_bytes(chat_pid)
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        stop = ctx.Event()
        per = [args.connections // args.workers + (i < args.connections % args.workers)
               for i in range(args.workers)]
        workers = [ctx.Process(target=_worker, daemon=True,
                               args=(stack.chat.url, stack.auth_secret, c, args.parallel, out,
                                     stop)) for c in per if c]
        bar = progress(args.connections, "idle connections")
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        reports: list[dict[str, Any]] = []
        deadline = time.monotonic() + args.timeout
        try:
            while len(reports) < len(workers) and time.monotonic() < deadline:
                try:
                    kind, payload = out.get(timeout=1)
                except queue.Empty:
                    continue
                if kind == "progress":
                    bar.update(payload)
                elif kind == "connected":
                    reports.append(payload)
            connect_s = time.perf_counter() - t0
            bar.close()
            connected = sum(r["ok"] for r in reports)
            time.sleep(2)  # let the server settle (buffers, GC) before reading its memory
            rss1 = rss_bytes(chat_pid)
            chat = asyncio.run(_chatters(stack, args.chatters, args.turns))
            rss2 = rss_bytes(chat_pid)
            stop.set()
            alive = 0
            for _ in workers:
                try:
                    kind, payload = out.get(timeout=30)
                    alive += payload if kind == "alive" else 0
                except queue.Empty:
                    break
        finally:
            stop.set()
            for w in workers:
                w.join(30)
                if w.is_alive():
                    w.kill()
        lat = [x * 1000 for r in reports for x in r["latencies"]]
        per_conn = (rss1 - rss0) / connected if connected else None
        return {
            "config": {"connections": args.connections, "workers": args.workers,
                       "parallel_connects_per_worker": args.parallel, "nofile": nofile},
            "connected": connected,
            "failed": sum(r["failed"] for r in reports),
            "errors": [e for r in reports for e in r["errors"]][:10],
            "alive_after_chat": alive,
            "connect_seconds": round(connect_s, 2),
            "connects_per_second": round(connected / connect_s, 1) if connect_s else None,
            "connect_latency_ms": summary(lat),
            "chat_rss_bytes": {"before": rss0, "idle_connections": rss1, "after_chat": rss2},
            "bytes_per_idle_connection": round(per_conn) if per_conn is not None else None,
            "kib_per_idle_connection": round(per_conn / 1024, 2) if per_conn else None,
            "chat_while_loaded": chat,
        }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=4, help="client processes")
    p.add_argument("--parallel", type=int, default=100, help="connects in flight per worker")
    p.add_argument("--chatters", type=int, default=10)
    p.add_argument("--turns", type=int, default=3)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--name", default="websocket_test")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.connections, args.workers, args.chatters, args.turns = 200, 2, 2, 1
    data = run(args)
    path = write_result(args.name, data)
    print(f"{data['connected']} idle connections ({data['failed']} failed) in "
          f"{data['connect_seconds']} s = {data['connects_per_second']}/s; "
          f"{data['kib_per_idle_connection']} KiB each; chat round trip under load: "
          f"ack p50 {data['chat_while_loaded']['ack_ms']['p50']} ms")
    print(f"results: {path}")
    return data


if __name__ == "__main__":
    main()
