"""Streaming cost and latency: this system as `make run` runs it, beside the floor of its stack.

For each time per token (``--token-ms``) it starts a fake upstream (known TTFT, time per token,
answer length), the whole system in `make run`'s configuration (ui, chat, llm, history on
SQLite, an internal token, every setting at its default: only the LLM service is pointed at the
fake upstream) and ``_relay`` (one python-socketio process, no history, no checks: the floor of
this stack). For each concurrency level, both in turn, N clients send one message each at once
and the client measures:
- added TTFT = (first ``message.delta`` - ``message.send``) - the upstream's TTFT;
- added completion = (``message.done`` - ``message.send``) - the upstream's own duration;
- refused answers (``message.send`` refused ``unavailable`` with ``retry_after`` by admission
  control, nothing stored) and how fast the refusal came, beside how fast every send's ack
  came (the relay acks at once: its figure is the stack's floor for a burst of N sends);
- at levels of ``--probe-from`` streams and more (the system only): how fast a user who
  arrives while the replica is full is answered. Once every send of the burst has its ack,
  ``--probes`` more clients (connected beforehand) send one message each, ``--probe-gap-ms``
  apart, while the admitted answers stream: a burst of N sends in one millisecond queues
  each refusal behind the reading of every frame before it (the relay's own acks show that
  floor), a user arriving at a busy replica does not;
  failed or mismatched streams;
- CPU µs per relayed token, per service and in total (psutil: user + system of each process
  over the level / completion tokens relayed).
Clients offer permessage-deflate as browsers do (``--client-compression none`` to turn it off).

    uv run python -m stress_tests.stream_benchmark --concurrency 50,200,500 --token-ms 20,5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from stress_tests import _harness
from stress_tests._harness import (
    CpuMeter,
    fake_upstream_env,
    guest_token,
    progress,
    raise_nofile,
    summary,
    write_result,
)
from stress_tests._sio import RawSio, stream_answer
from tests.support.processes import Proc, start_process
from tests.support.stack import Stack, start_stack

Target = tuple[str, str, dict[str, int]]  # (name, socket.io URL, measured processes)


class Countdown:
    """Set once ``n`` clients are ready (or gave up)."""

    def __init__(self, n: int) -> None:
        self.left, self.event = n, asyncio.Event()

    def one(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.event.set()


async def _one(url: str, token: str, compression: str | None, start: asyncio.Event,
               ready: Countdown, bar: Any, acked: Countdown | None = None,
               delay: float = 0.0) -> tuple[RawSio, dict[str, Any]]:
    try:
        sio = await RawSio(url, token, compression=compression).connect(timeout=60)
        conv = (await sio.ok("conversation.create", {"title": "bench"}, 60))["conversation"]
    finally:
        ready.one()
    await start.wait()
    if delay:
        await asyncio.sleep(delay)
    got_ack = False

    def on_ack() -> None:
        nonlocal got_ack
        got_ack = True
        if acked is not None:
            acked.one()

    try:
        res = await stream_answer(sio, conv["id"], "Tell me something long.", uuid.uuid4().hex,
                                  timeout=300, on_ack=on_ack)
    except Exception as exc:  # a failed stream is a result
        res = {"exception": repr(exc)[:200], "done": None, "error": None}
        if not got_ack and acked is not None:  # never acked: the probes must not wait for it
            acked.one()
    res["conversation_id"] = conv["id"]
    if bar is not None:
        bar.update(1)
    return sio, res


async def _release(starts: list[asyncio.Event]) -> None:
    """Start the burst's sends back to back, one per turn of this client's event loop.

    Woken by one event, all N sends would run in a single turn, and no reply could be read
    until the last one was written: with 500 sends that is 150-160 ms of this process's CPU
    (``client_loop_lag_ms`` max), counted in every early send's ack and refusal time. One send
    per turn lets the loop read replies in between, as N users on N machines would; the sends
    still go out as fast as this process can write them.
    """
    for ev in starts:
        ev.set()
        await asyncio.sleep(0)


async def _probes(url: str, secret: str, compression: str | None, start: asyncio.Event,
                  ready: Countdown, acked: Countdown, k: int,
                  gap: float) -> list[tuple[RawSio, dict[str, Any]]]:
    """``k`` sends, ``gap`` seconds apart, once the burst's sends all have their ack."""
    if k == 0:
        return []
    go = asyncio.Event()
    tasks = [asyncio.create_task(_one(url, guest_token(secret), compression, go, ready, None,
                                      delay=i * gap)) for i in range(k)]
    await start.wait()
    await acked.event.wait()
    go.set()
    return list(await asyncio.gather(*tasks))


def _refused(r: dict[str, Any]) -> bool:
    err = r.get("error") or {}
    return r["done"] is None and err.get("code") == "unavailable" and "retry_after" in err


async def _loop_lag(out: list[float], period: float = 0.01) -> None:
    while True:
        t = time.perf_counter()
        await asyncio.sleep(period)
        out.append((time.perf_counter() - t - period) * 1000)


async def _lost(sio: RawSio, res: dict[str, Any]) -> int:
    """1 if the acked user message, or the finished answer, is not what history returns."""
    if "user_message" not in res:
        return 0
    got = await sio.ok("conversation.get", {"conversation_id": res["conversation_id"]}, 60)
    stored = {m["id"]: m for m in got["messages"]}
    if res["user_message"]["id"] not in stored:
        return 1
    done = res.get("done")
    if done is not None and stored.get(done["id"], {}).get("content") != done["content"]:
        return 1
    return 0


async def run_level(target: Target, n: int, ttft_ms: float, token_ms: float,
                    compression: str | None, secret: str, check_store: bool,
                    probes: int = 0, probe_gap: float = 0.02) -> dict[str, Any]:
    name, url, pids = target
    start = asyncio.Event()
    starts = [asyncio.Event() for _ in range(n)]
    bar = progress(n, f"{name} {token_ms:g} ms/token, {n} streams")
    meter = CpuMeter(pids)
    ready, acked = Countdown(n + probes), Countdown(n)
    tasks = [asyncio.create_task(_one(url, guest_token(secret), compression, starts[i], ready,
                                      bar, acked)) for i in range(n)]
    probing = asyncio.create_task(_probes(url, secret, compression, start, ready, acked,
                                          probes, probe_gap))
    await ready.event.wait()  # every client connected and its conversation created
    lags: list[float] = []
    lag_task = asyncio.create_task(_loop_lag(lags))
    load = os.getloadavg()
    meter.start()
    t0 = time.perf_counter()
    start.set()
    releasing = asyncio.create_task(_release(starts))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    probed = await probing
    await releasing
    wall = time.perf_counter() - t0
    cpu = meter.stop()
    lag_task.cancel()
    bar.close()
    pairs = [o for o in outcomes if isinstance(o, tuple)]
    results = [r for _, r in pairs]
    ok = [r for r in results if r["done"] is not None]
    refused = [r for r in results if _refused(r)]
    failed = [r for r in results if r["done"] is None and r not in refused]
    late = [r for _, r in probed]
    failures = [repr(o)[:200] for o in outcomes if not isinstance(o, tuple)]
    failures += [repr(r.get("exception") or r.get("error"))[:200] for r in failed]
    lost = sum([await _lost(s, r) for s, r in pairs]) if check_store else None
    for s, _ in pairs + probed:
        await s.close()
    tokens = sum(((r["done"].get("usage") or {}).get("completion_tokens") or 0) for r in ok)
    deltas = sum(len(r["indexes"]) for r in ok)
    added_ttft = [(r["ttft"] - ttft_ms / 1000) * 1000 for r in ok if r["ttft"] is not None]
    added_done = [(r["total"] - (ttft_ms + token_ms * max(0, _tokens(r) - 1)) / 1000) * 1000
                  for r in ok]
    cpu_total = sum(cpu.values())
    per_token = {k: round(v * 1e6 / tokens, 1) for k, v in cpu.items()} if tokens else {}
    return {
        "system": name,
        "token_ms": token_ms,
        "concurrency": n,
        "load_average_1m": round(load[0], 2),
        "completed": len(ok),
        "refused": len(refused),
        "refused_within_ms": summary([r["error_after"] * 1000 for r in refused]),
        # every message.send's ack (refused or not): the relay's is the stack's floor for a burst
        "ack_ms": summary([r["t_ack"] * 1000 for r in results if "t_ack" in r]),
        # users arriving once the burst is acked, while the admitted answers stream
        "late_arrivals": len(late),
        "late_refused": sum(1 for r in late if _refused(r)),
        "late_completed": sum(1 for r in late if r["done"] is not None),
        "late_refused_within_ms": summary([r["error_after"] * 1000 for r in late
                                           if _refused(r)]),
        "failed": len(failed) + (n - len(pairs)),
        "failures": failures[:5],
        "lost": lost,
        "text_mismatches": sum(1 for r in ok if r["text"] != r["done"]["content"]),
        "wall_seconds": round(wall, 3),
        "tokens_relayed": tokens,
        "deltas_received": deltas,
        "tokens_per_delta": round(tokens / deltas, 2) if deltas else None,
        "added_ttft_ms": summary(added_ttft),
        "added_completion_ms": summary(added_done),
        "cpu_seconds": cpu,
        "cpu_us_per_token_by_process": per_token,
        "cpu_us_per_token": round(cpu_total * 1e6 / tokens, 1) if tokens else None,
        # how late this client's own event loop ran: a floor under every client-side figure
        "client_loop_lag_ms": summary(lags),
    }


def _tokens(r: dict[str, Any]) -> int:
    return int((r["done"].get("usage") or {}).get("completion_tokens") or len(r["indexes"]))


@contextlib.contextmanager
def targets(args: argparse.Namespace, token_ms: float) -> Iterator[tuple[list[Target], str]]:
    """The system (as `make run` configures it) and the relay, on one fake upstream."""
    raise_nofile()
    up_env = fake_upstream_env(args.ttft_ms, token_ms, args.tokens)
    with contextlib.ExitStack() as es:
        if _harness.ATTACH is not None:
            stack: Stack = _harness.ATTACH
        else:
            import tempfile
            from pathlib import Path

            state = Path(es.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            # `make run` logs one console line per event (LOG_FORMAT), at INFO
            stack = start_stack(state / "state", env={"LOG_FORMAT": "console"},
                                upstream_env=up_env,
                                chat_env=dict(kv.split("=", 1) for kv in args.chat_env),
                                llm_env=dict(kv.split("=", 1) for kv in args.llm_env))
            es.callback(stack.stop)
        out: list[Target] = []
        if "system" in args.systems:
            out.append(("system", stack.chat.url, _harness.service_pids(stack)))
        if "relay" in args.systems:
            relay: Proc = start_process("relay", [sys.executable, "-m", "stress_tests._relay"],
                                        env={"UPSTREAM_URL": stack.upstream.url + "/v1"})
            es.callback(relay.stop)
            out.append(("relay", relay.url, {"relay": relay.pid}))
        yield out, stack.auth_secret


async def run(args: argparse.Namespace) -> dict[str, Any]:
    levels = [int(x) for x in args.concurrency.split(",")]
    compression = None if args.client_compression == "none" else args.client_compression
    out: dict[str, Any] = {
        "config": {"ttft_ms": args.ttft_ms, "token_ms": args.token_ms, "tokens": args.tokens,
                   "concurrency": levels, "systems": args.systems,
                   "client_compression": args.client_compression, "chat_env": args.chat_env,
                   "probes": args.probes, "probe_from": args.probe_from,
                   "probe_gap_ms": args.probe_gap_ms,
                   "llm_env": args.llm_env,
                   "cpu_count": os.cpu_count()},
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "levels": [],
    }
    for token_ms in [float(x) for x in str(args.token_ms).split(",")]:
        with targets(args, token_ms) as (tgts, secret):
            for tgt in tgts:  # warm-up: imports, pools, caches
                await run_level(tgt, 2, args.ttft_ms, token_ms, compression, secret, False)
            for n in levels:
                for tgt in tgts:  # side by side: the same level on each, one after the other
                    system = tgt[0] == "system"
                    probes = args.probes if system and n >= args.probe_from else 0
                    out["levels"].append(await run_level(
                        tgt, n, args.ttft_ms, token_ms, compression, secret, system,
                        probes, args.probe_gap_ms / 1000))
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out["ratios"] = ratios(out["levels"])
    return out


def ratios(levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CPU per token of the system over the relay's, at each (token_ms, concurrency)."""
    relay = {(lv["token_ms"], lv["concurrency"]): lv for lv in levels if lv["system"] == "relay"}
    rows = []
    for lv in levels:
        floor = relay.get((lv["token_ms"], lv["concurrency"]))
        if lv["system"] != "system" or floor is None:
            continue
        a, b = lv["cpu_us_per_token"], floor["cpu_us_per_token"]
        rows.append({"token_ms": lv["token_ms"], "concurrency": lv["concurrency"],
                     "system_us": a, "relay_us": b,
                     "ratio": round(a / b, 2) if a and b else None})
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--concurrency", default="50,100,200,500")
    p.add_argument("--ttft-ms", type=float, default=200)
    p.add_argument("--token-ms", default="20,5", help="comma-separated: one run per value")
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--systems", default="system,relay")
    p.add_argument("--client-compression", default="deflate", choices=["deflate", "none"])
    p.add_argument("--chat-env", action="append", default=[], metavar="KEY=VALUE",
                   help="a chat service setting changed from its default (experiments only)")
    p.add_argument("--llm-env", action="append", default=[], metavar="KEY=VALUE",
                   help="an LLM service setting changed from its default (experiments only)")
    p.add_argument("--probes", type=int, default=20,
                   help="late arrivals at levels of --probe-from streams and more")
    p.add_argument("--probe-from", type=int, default=200)
    p.add_argument("--probe-gap-ms", type=float, default=20.0)
    p.add_argument("--name", default="stream_benchmark")
    p.add_argument("--quick", action="store_true", help="a few streams, seconds")
    args = p.parse_args(argv)
    if args.quick:
        args.concurrency, args.ttft_ms, args.token_ms, args.tokens = "1,5", 50, "5", 20
    if _harness.ATTACH is not None:  # a running stack: its fake upstream's timing applies
        up = _harness.ATTACH.upstream.env
        args.ttft_ms = float(up.get("FAKE_TTFT_MS", 0))
        args.token_ms = str(float(up.get("FAKE_TOKEN_MS", 0)))
        args.tokens = int(up.get("FAKE_TOKENS", 20))
    data = asyncio.run(run(args))
    path = write_result(args.name, data)
    for lv in data["levels"]:
        print(f"{lv['system']:>6} {lv['token_ms']:>4g} ms/token {lv['concurrency']:>4} streams: "
              f"ok {lv['completed']} refused {lv['refused']} failed {lv['failed']} lost "
              f"{lv['lost']}; added TTFT p50/p99 {lv['added_ttft_ms']['p50']}/"
              f"{lv['added_ttft_ms']['p99']} ms, completion p50/p99 "
              f"{lv['added_completion_ms']['p50']}/{lv['added_completion_ms']['p99']} ms, ack "
              f"p50/p99 {lv['ack_ms']['p50']}/{lv['ack_ms']['p99']} ms; late arrivals "
              f"refused {lv['late_refused']}/{lv['late_arrivals']} within p99 "
              f"{lv['late_refused_within_ms']['p99']} ms; "
              f"{lv['cpu_us_per_token']} CPU-us/token {lv['cpu_us_per_token_by_process']} "
              f"(load {lv['load_average_1m']})")
    for r in data["ratios"]:
        print(f"ratio system/relay {r['token_ms']:g} ms/token {r['concurrency']} streams: "
              f"{r['system_us']} / {r['relay_us']} = {r['ratio']}")
    print(f"results: {path}")
    return data


if __name__ == "__main__":
    main()
