"""Chaos: kill parts of the system mid-stream and check that nothing acknowledged is lost.

Local mode (default): Redis, history, LLM (on the fake upstream) and 3 chat replicas with
REDIS_URL, as processes. ≥100 concurrent streaming conversations spread over the replicas;
then, mid-stream, one fault per scenario:
  sigkill  SIGKILL one chat replica; its clients reconnect to the others, conversation.get,
           continue from next_index;
  sigterm  SIGTERM one chat replica (graceful drain: no answer may be cut);
  redis    SIGKILL Redis and start an empty one on the same port.
Checks per scenario: 0 acked user messages lost, 0 duplicated messages, every answer
`complete` and identical to the text the client assembled, every client reconnected within
5 s, and a second turn on every conversation after the fault.

Kubernetes mode (--mode k8s): deletes pods through the Kubernetes API (random chat pod, the
LLM pod, the history pod, a MongoDB member) selected by app.kubernetes.io labels of the
`chatbot` umbrella chart, waits for replacements to be Ready and checks the same steady state.
With --kubeconfig it runs against a real cluster (traffic through --base-url); without it,
against an emulated API (kmock on loopback) whose pods are the local processes above.

    uv run python -m stress_tests.chaos_test --conversations 120
    uv run python -m stress_tests.chaos_test --mode k8s            # emulated API
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from stress_tests._conversation import ChaosConversation
from stress_tests._harness import guest_token, progress, summary, write_result
from stress_tests._replicas import Replicas, start_replicas
from stress_tests._sio import RawSio

RECONNECT_LIMIT_S = 5.0  # the default bound on a client's reconnect (--reconnect-limit)


class Router:
    """Chooses the replica URL of each (re)connect, avoiding the ones known to be down."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.down: set[int] = set()

    def for_client(self, i: int) -> Any:
        def pick(attempt: int) -> str:
            live = [k for k in range(len(self.urls)) if k not in self.down] or [0]
            if attempt == 0:
                return self.urls[i % len(self.urls)]
            return self.urls[live[(i + attempt) % len(live)]]
        return pick


async def verify(url: str, convs: list[ChaosConversation], turns: int) -> dict[str, Any]:
    """Read every conversation back through a fresh connection and count contract breaches."""
    lost = duplicated = incomplete = mismatched = missing_answers = 0
    problems: list[str] = []
    statuses: Counter[str] = Counter()
    for c in convs:
        sio = await RawSio(url, c.token).connect()
        try:
            got = await sio.ok("conversation.get", {"conversation_id": c.conversation_id,
                                                     "limit": 1000})
        finally:
            await sio.close()
        msgs = got["messages"]
        users = [m for m in msgs if m["role"] == "user"]
        answers = [m for m in msgs if m["role"] == "assistant"]
        stored_ids = [m["id"] for m in msgs]
        seqs = [m["seq"] for m in msgs]
        lost += sum(1 for a in c.acked if a["id"] not in stored_ids)
        duplicated += (len(stored_ids) - len(set(stored_ids))) + (len(seqs) - len(set(seqs)))
        duplicated += max(0, len(users) - len(c.acked)) + max(0, len(answers) - len(users))
        missing_answers += max(0, len(c.acked) - len(answers))
        incomplete += sum(1 for a in answers if a["status"] != "complete")
        statuses.update(a["status"] for a in answers)
        last = answers[-1] if answers else None
        if last is None or c.done is None or not (
                c.assembled == c.done["content"] == last["content"]):
            mismatched += 1
            if len(problems) < 5:
                stored = last or {}
                problems.append(f"{c.conversation_id}: assembled {len(c.assembled)} chars, done "
                                f"{len((c.done or {}).get('content', ''))}, stored "
                                f"{len(stored.get('content', ''))} ({stored.get('status')})")
    return {"lost_acked_user_messages": lost, "duplicated_messages": duplicated,
            "answer_statuses": dict(statuses),
            "missing_answers": missing_answers, "answers_not_complete": incomplete,
            "text_mismatches": mismatched, "examples": problems}


async def one_turn(convs: list[ChaosConversation], label: str, fault: Any, timeout: float
                   ) -> dict[str, Any]:
    bar = progress(len(convs), label)
    await asyncio.gather(*(c.send(f"{label}: tell me a story") for c in convs))

    async def wait(c: ChaosConversation) -> None:
        try:
            await c.wait_answer(timeout)
        except Exception as exc:
            c.errors.append(f"{type(exc).__name__}: {exc}")
        bar.update(1)

    waiting = [asyncio.create_task(wait(c)) for c in convs]
    fault_info: dict[str, Any] = {}
    if fault is not None:
        # strike mid-stream: once most conversations have received a few deltas
        for _ in range(100):  # at most 5 s
            if sum(len(c.deltas) >= 3 for c in convs) >= len(convs) // 2:
                break
            await asyncio.sleep(0.05)
        fault_info = await fault()
    await asyncio.gather(*waiting)
    bar.close()
    return fault_info


async def run_scenario(rep: Replicas, kind: str, n: int, timeout: float,
                       reconnect_limit: float = RECONNECT_LIMIT_S) -> dict[str, Any]:
    router = Router([c.url for c in rep.chats])
    convs = [ChaosConversation(guest_token(rep.auth_secret), router.for_client(i))
             for i in range(n)]
    await asyncio.gather(*(c.start() for c in convs))
    victim = 0
    loop = asyncio.get_running_loop()

    async def fault() -> dict[str, Any]:
        if kind in ("sigkill", "sigterm"):
            router.down.add(victim)
            proc = rep.chats[victim]
            proc.popen.send_signal(signal.SIGKILL if kind == "sigkill" else signal.SIGTERM)
            on_victim = sum(1 for c in convs if c.replica == proc.url)
            return {"fault": kind, "replica_pid": proc.pid, "clients_on_victim": on_victim}
        down = await loop.run_in_executor(None, rep.restart_redis)
        return {"fault": "redis restart", "redis_down_seconds": round(down, 2)}

    t0 = time.monotonic()
    info = await one_turn(convs, f"{kind} turn 1", fault, timeout)
    if kind in ("sigkill", "sigterm"):
        exit_code = await loop.run_in_executor(None, rep.chats[victim].popen.wait, 60)
        info["victim_exit_code"] = exit_code
        await loop.run_in_executor(None, rep.restart_chat, victim)
        router.down.discard(victim)
    await one_turn(convs, f"{kind} turn 2", None, timeout)
    checks = await verify(rep.chats[-1].url, convs, 2)
    reconnects = [r for c in convs for r in c.reconnects]
    await asyncio.gather(*(c.close() for c in convs), return_exceptions=True)
    result = {
        "scenario": kind, "conversations": n, "seconds": round(time.monotonic() - t0, 2), **info,
        **checks,
        "clients_reconnected": sum(1 for c in convs if c.reconnects),
        "reconnect_seconds": summary(reconnects),
        "reconnect_limit_seconds": reconnect_limit,
        "reconnects_over_limit": sum(1 for r in reconnects if r > reconnect_limit),
        "client_errors": sum(1 for c in convs if c.errors),
        "client_error_examples": [str(c.errors[0])[:200] for c in convs if c.errors][:5],
    }
    result["passed"] = all(result[k] == 0 for k in (
        "lost_acked_user_messages", "duplicated_messages", "missing_answers",
        "answers_not_complete", "text_mismatches", "reconnects_over_limit", "client_errors"))
    return result


def run_local(args: argparse.Namespace) -> dict[str, Any]:
    upstream = {"FAKE_TTFT_MS": "100", "FAKE_TOKEN_MS": str(args.token_ms),
                "FAKE_TOKENS": str(args.tokens)}
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        rep = start_replicas(Path(tmp) / "state", 3, upstream_env=upstream)
        try:
            results = [asyncio.run(run_scenario(rep, kind, args.conversations, args.timeout,
                                                args.reconnect_limit))
                       for kind in args.scenarios.split(",")]
        finally:
            rep.stop()
    return {"mode": "local", "replicas": 3, "config": vars(args), "scenarios": results,
            "passed": all(r["passed"] for r in results)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=["local", "k8s"], default="local")
    p.add_argument("--conversations", type=int, default=120)
    p.add_argument("--scenarios", default="sigkill,sigterm,redis")
    p.add_argument("--tokens", type=int, default=60)
    p.add_argument("--token-ms", type=float, default=40)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--kubeconfig", help="k8s mode against this cluster (else emulated API)")
    p.add_argument("--namespace", default="default")
    p.add_argument("--release", default="chatbot", help="app.kubernetes.io/instance")
    p.add_argument("--base-url", help="k8s mode with --kubeconfig: the UI/ingress URL")
    p.add_argument("--targets", default="chat,llm,history,mongodb")
    p.add_argument("--reconnect-limit", type=float, default=RECONNECT_LIMIT_S,
                   help="local mode: the most seconds a client's reconnect may take")
    p.add_argument("--ready-timeout", type=float, default=300,
                   help="k8s mode: seconds for a deleted pod's replacement to be Ready")
    p.add_argument("--steady-timeout", type=float, default=300,
                   help="k8s mode: seconds for a whole conversation to complete again after a "
                   "pod kill, before turn 2 is judged (the experiments' steady state)")
    p.add_argument("--name", default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.conversations, args.tokens, args.token_ms = 10, 30, 30
    if args.mode == "local":
        data = run_local(args)
    else:
        from stress_tests import _k8s_chaos

        data = _k8s_chaos.run(args)
    name = args.name or f"chaos_{args.mode}"
    path = write_result(name, data)
    for r in data["scenarios"]:
        print(f"{r['scenario']:>8}: {'PASS' if r['passed'] else 'FAIL'}  conversations "
              f"{r['conversations']}, lost {r['lost_acked_user_messages']}, duplicated "
              f"{r['duplicated_messages']}, not complete {r['answers_not_complete']}, mismatched "
              f"{r['text_mismatches']}, reconnect max {r['reconnect_seconds']['max']} s, "
              f"client errors {r['client_errors']}")
    print(f"results: {path}")
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return data


if __name__ == "__main__":
    sys.exit(0 if main()["passed"] else 1)
