"""A fake OpenAI-compatible upstream for tests and benchmarks: deterministic, faulty on demand.

Run it as ``python -m tests.support.fake_upstream`` (from the repo root). Every option is a CLI
flag or an environment variable (the flag wins):

| flag | env | default | meaning |
| --- | --- | --- | --- |
| ``--port`` | ``PORT`` | 8090 | listening port (on ``--host`` / ``HOST``, default 127.0.0.1) |
| ``--ttft-ms`` | ``FAKE_TTFT_MS`` | 0 | delay before the first token |
| ``--token-ms`` | ``FAKE_TOKEN_MS`` | 0 | time between tokens, kept to a schedule |
| ``--tokens`` | ``FAKE_TOKENS`` | 20 | answer length in tokens (``max_tokens`` cuts it shorter) |
| ``--fault`` | ``FAKE_FAULT`` | none | fault for every request (kinds below) |
| ``--retry-after`` | ``FAKE_RETRY_AFTER`` | 1 | Retry-After seconds sent with 429 |
| ``--stall-seconds`` | ``FAKE_STALL_SECONDS`` | 300 | how long a stall lasts |
| ``--model`` | ``FAKE_MODEL`` | fake-model | id in `/v1/models` (answers echo the asked model) |
| ``--name`` | ``FAKE_NAME`` | fake | this instance's name, for ``[fault:KIND@NAME]`` |

Fault kinds: ``429`` (rate limited, with Retry-After), ``500``, ``stall-first`` (headers sent,
then nothing before the first token), ``stall`` (stops mid-stream after half the tokens),
``drop`` (closes the connection mid-stream after half the tokens). A fault can be chosen per
request, overriding ``--fault``: put ``[fault:KIND]`` in the last user message, or send header
``X-Fake-Fault: KIND``. ``KINDxN`` (e.g. ``[fault:429x2]``) fails only the first N requests
whose last user message is the same text, then answers normally: use a unique text per test.
``[fault:KIND@NAME]`` applies only to the fake started with that ``--name`` (the others answer),
so a test can fail the primary upstream and watch the fallback answer.
``[tokens:N]`` in the last user message sets the answer length for that request.
``[hold:KEY@N]`` pauses the streamed answer after N tokens until the test releases KEY
(``tests/support/holds.py``): a test pauses an answer instead of racing it.

Continuation (assistant prefill, like llama.cpp's server or vLLM's ``continue_final_message``):
when the last message is ``assistant`` with content P and P is a prefix of the answer it would
give, only the rest of that answer is generated (usage counts only those pieces), so an answer
continued from any prefix equals the uninterrupted one.

The answer is deterministic: ``Echo:`` followed by the first six words of the last user message
(tags removed), then ``w1 w2 w3 ...`` up to the answer length; one token = one word. Usage is
always computed (prompt tokens = words in all messages + 4 per message) and returned: in
non-stream answers, and in a final chunk when ``stream_options.include_usage`` is set.

Routes: ``POST /v1/chat/completions`` (stream or not), ``GET /v1/models``, ``GET /healthz``,
``GET /_fake/requests`` (the last 200 requests: ``{"count", "requests": [{"body", "headers",
"fault"}]}``), ``POST /_fake/reset`` (forget requests, fault counters and released holds),
``POST /_fake/release/KEY`` and ``GET /_fake/held/KEY?timeout=S`` (holds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.holds import HoldBoard
from tests.support.holds import parse as parse_hold

FAULTS = ("none", "429", "500", "stall-first", "stall", "drop")
_FAULT_TAG = re.compile(r"\[fault:([a-z0-9-]+?)(?:x(\d+))?(?:@([A-Za-z0-9_.-]+))?\]")
_TOKENS_TAG = re.compile(r"\[tokens:(\d+)\]")
_ANY_TAG = re.compile(r"\[(?:fault|tokens|hold):[^\]]*\]")


class FakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8090
    fake_ttft_ms: float = 0.0
    fake_token_ms: float = 0.0
    fake_tokens: int = 20
    fake_fault: str = "none"
    fake_retry_after: float = 1.0
    fake_stall_seconds: float = 300.0
    fake_model: str = "fake-model"
    fake_name: str = "fake"


class _DroppedConnection(Exception):
    """Raised mid-body: uvicorn then closes the connection without ending the response."""


@dataclass
class Plan:
    fault: str
    tokens: list[str]
    prompt_tokens: int
    prefill: str = ""  # a trailing assistant message to continue
    holds: tuple[tuple[str, int], ...] = ()  # (key, after N tokens of the whole answer)

    @property
    def pieces(self) -> list[str]:
        """The streamed texts: the tokens space-separated, minus the prefill if it is a prefix."""
        pieces = [t if i == 0 else " " + t for i, t in enumerate(self.tokens)]
        if not self.prefill or not "".join(pieces).startswith(self.prefill):
            return pieces
        rest, pos = [], 0
        for piece in pieces:
            cut = max(0, len(self.prefill) - pos)
            pos += len(piece)
            if cut < len(piece):
                rest.append(piece[cut:])
        return rest


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def answer_tokens(last_user: str, length: int) -> list[str]:
    """The deterministic answer: ``Echo:``, six words of the question, then w1 w2 ..."""
    words = _ANY_TAG.sub("", last_user).split()[:6]
    tokens = ["Echo:", *words]
    tokens += [f"w{i}" for i in range(1, max(length - len(tokens), 0) + 1)]
    return tokens[:length]


class FakeUpstream:
    def __init__(self, settings: FakeSettings) -> None:
        self.s = settings
        self.requests: deque[dict[str, Any]] = deque(maxlen=200)
        self.count = 0
        self.fault_counts: Counter[str] = Counter()
        self.holds = HoldBoard()

    def plan(self, body: dict[str, Any], headers: dict[str, str]) -> Plan:
        messages = body.get("messages") or []
        last_user = next(
            (_text(m) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        fault, limit = self.s.fake_fault, None
        tag = _FAULT_TAG.search(headers.get("x-fake-fault", "")) or _FAULT_TAG.search(last_user)
        if headers.get("x-fake-fault") and not tag:
            fault = headers["x-fake-fault"]
        if tag and tag.group(3) not in (None, self.s.fake_name):
            tag = None  # aimed at another fake upstream
        if tag:
            fault, limit = tag.group(1), int(tag.group(2)) if tag.group(2) else None
        if limit is not None:
            key = f"{fault}|{last_user}"
            self.fault_counts[key] += 1
            if self.fault_counts[key] > limit:
                fault = "none"
        length = self.s.fake_tokens
        if m := _TOKENS_TAG.search(last_user):
            length = int(m.group(1))
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(cap, int) and cap > 0:
            length = min(length, cap)
        prompt = sum(len(_text(m).split()) + 4 for m in messages)
        prefill = ""
        if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
            prefill = _text(messages[-1])
        return Plan(fault, answer_tokens(last_user, length), prompt, prefill, parse_hold(last_user))

    async def chat(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid JSON", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "messages is required", "invalid_request_error")
        headers = {k.lower(): v for k, v in request.headers.items()}
        plan = self.plan(body, headers)
        self.count += 1
        self.requests.append(
            {"body": body, "fault": plan.fault,
             "headers": {"authorization": headers.get("authorization", "")}}
        )
        if plan.fault == "429":
            return _error(
                429, "rate limited (fake)", "rate_limit_error",
                {"Retry-After": f"{self.s.fake_retry_after:g}"},
            )
        if plan.fault == "500":
            return _error(500, "internal error (fake)", "server_error")
        model = str(body.get("model") or self.s.fake_model)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                self._stream(plan, model, include_usage), media_type="text/event-stream"
            )
        await _sleep_ms(self.s.fake_ttft_ms + self.s.fake_token_ms * max(len(plan.pieces) - 1, 0))
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(plan.pieces)},
                        "finish_reason": self._finish(plan, body),
                    }
                ],
                "usage": _usage(plan),
            }
        )

    def _finish(self, plan: Plan, body: dict[str, Any]) -> str:
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        return "length" if isinstance(cap, int) and len(plan.tokens) >= cap else "stop"

    async def _stream(self, plan: Plan, model: str, include_usage: bool) -> AsyncIterator[bytes]:
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data = {
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        if plan.fault == "stall-first":
            await asyncio.sleep(self.s.fake_stall_seconds)
            return
        await _sleep_ms(self.s.fake_ttft_ms)
        pieces = plan.pieces
        half = len(pieces) // 2
        done_before = len(plan.tokens) - len(pieces)  # tokens a prefill already covered
        # Tokens keep a schedule (token i is due i * token_ms after the first), as a model on
        # its own hardware does: a loop that is late for one token is not late for the rest.
        pace = Schedule(self.s.fake_token_ms)
        for i, piece in enumerate(pieces):
            for key, after in plan.holds:
                if done_before + i == after:
                    await self.holds.hold(key, self.s.fake_stall_seconds)
                    pace.restart()  # a released hold goes on at pace, not in a catch-up burst
            if i and i == half and plan.fault in ("stall", "drop"):
                if plan.fault == "drop":
                    raise _DroppedConnection("fake upstream drops the connection")
                await asyncio.sleep(self.s.fake_stall_seconds)
                return
            if i:
                await pace.next()
            yield chunk({"content": piece})
        yield chunk({}, "stop")
        if include_usage:
            data = {
                "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [], "usage": _usage(plan),
            }
            yield f"data: {json.dumps(data)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    async def models(self, _: Request) -> Response:
        return JSONResponse(
            {"object": "list",
             "data": [{"id": self.s.fake_model, "object": "model", "created": 0,
                       "owned_by": "fake"}]}
        )

    async def seen(self, _: Request) -> Response:
        return JSONResponse({"count": self.count, "requests": list(self.requests)})

    async def reset(self, _: Request) -> Response:
        self.requests.clear()
        self.fault_counts.clear()
        self.holds.reset()
        self.count = 0
        return JSONResponse({})

    async def release(self, request: Request) -> Response:
        key = request.path_params["key"]
        return JSONResponse({"key": key, "waiting": await self.holds.release(key)})

    async def held(self, request: Request) -> Response:
        key = request.path_params["key"]
        timeout = float(request.query_params.get("timeout", "0"))
        if await self.holds.wait_held(key, timeout):
            return JSONResponse({"key": key, "held": True})
        return JSONResponse({"key": key, "held": False}, 408)


def _usage(plan: Plan) -> dict[str, int]:
    completion = len(plan.pieces)
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": plan.prompt_tokens + completion,
    }


def _error(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": None}}, status, headers=headers
    )


class Schedule:
    """Sleeps to the next token's due time, ``token_ms`` after the one before it was due."""

    def __init__(self, token_ms: float) -> None:
        self.step = token_ms / 1000
        self.restart()

    def restart(self) -> None:
        self.due = asyncio.get_running_loop().time()

    async def next(self) -> None:
        if self.step <= 0:
            return
        self.due += self.step
        # behind schedule: no sleep, but a turn of the loop for the other streams
        await asyncio.sleep(max(0.0, self.due - asyncio.get_running_loop().time()))


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)


async def _healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: FakeSettings | None = None) -> Starlette:
    fake = FakeUpstream(settings or FakeSettings())
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", fake.chat, methods=["POST"]),
            Route("/chat/completions", fake.chat, methods=["POST"]),
            Route("/v1/models", fake.models),
            Route("/healthz", _healthz),
            Route("/_fake/requests", fake.seen),
            Route("/_fake/reset", fake.reset, methods=["POST"]),
            Route("/_fake/release/{key}", fake.release, methods=["POST"]),
            Route("/_fake/held/{key}", fake.held),
        ]
    )
    app.state.fake = fake
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag, field in (
        ("--host", "host"), ("--port", "port"), ("--ttft-ms", "fake_ttft_ms"),
        ("--token-ms", "fake_token_ms"), ("--tokens", "fake_tokens"), ("--fault", "fake_fault"),
        ("--retry-after", "fake_retry_after"), ("--stall-seconds", "fake_stall_seconds"),
        ("--model", "fake_model"), ("--name", "fake_name"),
    ):
        parser.add_argument(flag, dest=field, default=None)
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    settings = FakeSettings(**overrides)
    if settings.fake_fault.split("x")[0] not in FAULTS:
        parser.error(f"--fault must be one of {FAULTS}")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port,
        log_level="warning", access_log=False,
    )


if __name__ == "__main__":
    main()
