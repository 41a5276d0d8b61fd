"""An upstream's streamed answer, read as Server-Sent Events of ``chat.completion.chunk``.

The ``openai`` client sends the request (timeouts, status errors); its raw response is read
here: one ``json.loads`` per chunk, and the chunk's own bytes are forwarded unless the gateway
changes it. Building the client's typed chunk and serialising it again cost more CPU than the
rest of the relay (measured: stress_tests/README.md). Failures surface as the client's own
exceptions so ``failures.classify`` treats them as before.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
from chatbot_common.sse import sse_data

Event = dict[str, Any]


def has_token(event: Event) -> bool:
    """Does this chunk carry output (text, a tool call, reasoning or the end of a choice)?"""
    for choice in event.get("choices") or ():
        delta = choice.get("delta") or {}
        if (
            delta.get("content")
            or delta.get("tool_calls")
            or choice.get("finish_reason")
            or delta.get("reasoning_content")
        ):
            return True
    return False


def text_of(event: Event) -> str:
    return "".join((c.get("delta") or {}).get("content") or "" for c in event.get("choices") or ())


class EventStream:
    """``(event, data)`` pairs of one streamed response, ``data`` being the event's bytes."""

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self._data = sse_data(response.aiter_raw())

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> tuple[Event, bytes]:
        """Raise StopAsyncIteration at the end, ValueError on a malformed chunk, or APIError."""
        request = self._response.request
        try:
            data = await anext(self._data)
        except httpx2.TimeoutException as exc:
            raise openai.APITimeoutError(request=request) from exc
        except httpx2.HTTPError as exc:
            raise openai.APIConnectionError(request=request) from exc
        if data.startswith(b"[DONE]"):
            raise StopAsyncIteration
        event = json.loads(data)
        if not isinstance(event, dict):
            raise ValueError("a streamed chunk is not a JSON object")
        error = event.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else None
            raise openai.APIError(
                str(message or "An error occurred during streaming"), request, body=error
            )
        return event, data

    async def close(self) -> None:
        await self._response.aclose()
