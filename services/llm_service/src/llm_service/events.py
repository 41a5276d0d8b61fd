"""An upstream's streamed answer, read as Server-Sent Events of ``chat.completion.chunk``.

The ``openai`` client sends the request (timeouts, status errors); its raw response is read
here: one ``json.loads`` per chunk, and the chunk's own bytes are forwarded unless the gateway
changes it. Building the client's typed chunk and serialising it again cost more CPU than the
rest of the relay (measured: stress_tests/README.md). Failures surface as the client's own
exceptions so ``failures.classify`` treats them as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import openai
from chatbot_common import paced
from chatbot_common.sse import sse_batches

Event = dict[str, Any]

# What a forwarded chunk is scanned for instead of parsed (streaming: work per read).
_FINISH = re.compile(rb'"finish_reason"\s*:\s*"')
_CONTENT = re.compile(rb'"content"\s*:\s*"((?:[^"\\]|\\.)*)"')
_NULL_USAGE = re.compile(rb'"usage"\s*:\s*null')


def must_parse(data: bytes) -> bool:
    """Does this chunk (or these chunks, joined) carry what the gateway reads (an error,
    usage) or the end? Never a wrong no; a rare wrong yes (such words in the text) only
    costs a parse."""
    usage = data.count(b'"usage"')
    return (
        b"[DONE]" in data
        or b'"error"' in data
        or (usage > 0 and usage > len(_NULL_USAGE.findall(data)))
    )


def scan(data: bytes) -> tuple[bool, list[bytes]]:
    """A forwarded chunk, unparsed: does it end a choice, and its content (JSON-escaped)."""
    return _FINISH.search(data) is not None, _CONTENT.findall(data)


def unescape(parts: list[bytes]) -> str:
    """The text of JSON-escaped content pieces (one parse for all of them)."""
    return str(json.loads(b'"' + b"".join(parts) + b'"')) if parts else ""


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
    """One streamed response: ``(event, data)`` pairs one at a time (``data`` being the
    event's bytes), or the raw data of everything one read delivered (``next_batch``)."""

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self._batches = sse_batches(response.aiter_raw())
        self._left: list[bytes] = []

    def __aiter__(self) -> EventStream:
        return self

    async def next_batch(self) -> list[bytes]:
        """The data of the events of the next read (StopAsyncIteration at the end, APIError)."""
        if self._left:
            batch, self._left = self._left, []
            return batch
        request = self._response.request
        try:
            return await anext(self._batches)
        except httpx2.TimeoutException as exc:
            raise openai.APITimeoutError(request=request) from exc
        except httpx2.HTTPError as exc:
            raise openai.APIConnectionError(request=request) from exc

    async def __anext__(self) -> tuple[Event, bytes]:
        """Raise StopAsyncIteration at the end, ValueError on a malformed chunk, or APIError."""
        if not self._left:
            self._left = await self.next_batch()
        data = self._left.pop(0)
        if data.startswith(b"[DONE]"):
            raise StopAsyncIteration
        return self.parse(data), data

    def parse(self, data: bytes) -> Event:
        """One chunk as an object; ValueError if it is not one, APIError if it is an error."""
        event = json.loads(data)
        if not isinstance(event, dict):
            raise ValueError("a streamed chunk is not a JSON object")
        error = event.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else None
            raise openai.APIError(
                str(message or "An error occurred during streaming"),
                self._response.request,
                body=error,
            )
        return event

    def pace(self, interval: float) -> None:
        """From now on read at most once per ``interval`` seconds (0: as bytes arrive): what
        arrives meanwhile waits in the socket and comes as one read (chatbot_common.paced)."""
        paced.pace(self._response, (lambda: interval) if interval > 0 else None)

    async def close(self) -> None:
        paced.pace(self._response, None)  # its connection may serve another request
        await self._response.aclose()
