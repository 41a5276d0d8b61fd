"""One very long conversation: answer latency and history load time must not grow with length.

1,000+ turns in one conversation on a fast fake upstream; reports the answer latency and the
``conversation.get`` time at turn 10, 100, 1000 and their least-squares slope per 1,000 turns;
then checks that context trimming holds: the requests the LLM service sent upstream stay
within the token budget (the fake upstream's recorded requests), and the LLM service's
``llm_context_trimmed_messages_total`` counter.

    uv run python -m stress_tests.long_conversation_test --turns 1000
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import uuid
from typing import Any

import httpx2 as httpx

from stress_tests._harness import (
    guest_token,
    progress,
    running_stack,
    slope,
    summary,
    write_result,
)
from stress_tests._sio import RawSio, stream_answer
from tests.support.stack import Stack

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi"


_WORDS = WORDS.split()


def _content(turn: int, words: int) -> str:
    return f"turn {turn}: " + " ".join(_WORDS[(turn + i) % len(_WORDS)] for i in range(words))


def _prompt_words(req: dict[str, Any]) -> int:
    body = req.get("body", req)
    msgs = body.get("messages") or []
    return sum(len(str(m.get("content", "")).split()) + 4 for m in msgs)


async def run(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    sio = await RawSio(stack.chat.url, guest_token(stack)).connect()
    sio.record = False
    checkpoints = sorted({t for t in (10, 100, 1000, args.turns) if t <= args.turns}
                         | set(range(args.every, args.turns + 1, args.every)))
    latency: dict[int, float] = {}
    loads: dict[int, float] = {}
    failures: list[str] = []
    bar = progress(args.turns, "turns")
    try:
        cid = (await sio.ok("conversation.create", {"title": "long"}))["conversation"]["id"]
        for turn in range(1, args.turns + 1):
            res = await stream_answer(sio, cid, _content(turn, args.words), uuid.uuid4().hex)
            if not res["done"] or res["done"]["status"] != "complete":
                failures.append(f"turn {turn}: {res.get('error') or res['done']}")
            latency[turn] = res["total"] * 1000
            if turn in checkpoints:
                t0 = time.perf_counter()
                got = await sio.ok("conversation.get", {"conversation_id": cid})
                loads[turn] = (time.perf_counter() - t0) * 1000
                if got["conversation"]["message_count"] != 2 * turn:
                    failures.append(f"turn {turn}: message_count "
                                    f"{got['conversation']['message_count']} != {2 * turn}")
            bar.update(1)
    finally:
        bar.close()
        await sio.close()
    async with httpx.AsyncClient(timeout=10) as http:
        seen = (await http.get(stack.upstream.url + "/_fake/requests")).json()
        metrics = (await http.get(stack.llm.url + "/metrics")).text
    trimmed = sum(float(m.group(1)) for m in re.finditer(
        r"^llm_context_trimmed_messages_total(?:\{[^}]*\})? ([0-9.e+]+)$", metrics, re.M))
    prompt_sizes = [_prompt_words(r) for r in seen.get("requests", [])]

    def near(t: int) -> float | None:  # median of the 5 turns ending at t (one turn is noisy)
        window = [latency[k] for k in range(max(1, t - 4), t + 1) if k in latency]
        return summary(window)["p50"] if window else None

    turns = sorted(latency)
    return {
        "config": {"turns": args.turns, "words_per_message": args.words},
        "failures": failures[:10],
        "failed_turns": len(failures),
        "answer_ms_at": {str(t): near(t) for t in (10, 100, 1000) if t <= args.turns},
        "answer_ms": summary(list(latency.values())),
        "answer_ms_slope_per_1000_turns": round((slope(turns, [latency[t] for t in turns])
                                                 or 0) * 1000, 3),
        "history_load_ms_at": {str(t): round(v, 2) for t, v in loads.items()},
        "history_load_ms_slope_per_1000_turns": round(
            (slope(list(loads), list(loads.values())) or 0) * 1000, 3),
        "llm_context_trimmed_messages_total": trimmed,
        "upstream_prompt_words": summary([float(p) for p in prompt_sizes], 0),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--turns", type=int, default=1000)
    p.add_argument("--words", type=int, default=120, help="words per user message")
    p.add_argument("--every", type=int, default=50, help="history load checkpoint interval")
    p.add_argument("--context-tokens", type=int, default=4096, help="LLM_CONTEXT_TOKENS")
    p.add_argument("--name", default="long_conversation_test")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.turns, args.every = 20, 10  # within the default 30 messages/minute of a user
    upstream = {"FAKE_TTFT_MS": "0", "FAKE_TOKEN_MS": "0", "FAKE_TOKENS": "8"}
    with running_stack(upstream_env=upstream,
                       llm_env={"LLM_CONTEXT_TOKENS": str(args.context_tokens)}) as stack:
        data = asyncio.run(run(stack, args))
    data["config"]["context_tokens"] = args.context_tokens
    # the fake upstream counts words (+4 per message): a lower bound of the tokens sent
    biggest = data["upstream_prompt_words"]["max"] or 0
    data["prompt_within_budget"] = biggest <= args.context_tokens
    path = write_result(args.name, data)
    print(f"answer ms at {data['answer_ms_at']}, slope {data['answer_ms_slope_per_1000_turns']}"
          f" ms/1000 turns; history load ms slope {data['history_load_ms_slope_per_1000_turns']};"
          f" trimmed {data['llm_context_trimmed_messages_total']}; upstream prompt words max "
          f"{data['upstream_prompt_words']['max']}; failed turns {data['failed_turns']}")
    print(f"results: {path}")
    return data


if __name__ == "__main__":
    main()
