"""Unit tests of the lean streaming parsers: chatbot_common.sse, chat's chunk and error
reading, the LLM service's token test on raw chunks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from chat_service.llm_client import parse_chunk, status_error
from chatbot_common.errors import RateLimitedError, UpstreamError
from chatbot_common.sse import sse_data
from llm_service.events import has_token, text_of


async def _pieces(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def _collect(*pieces: bytes) -> list[bytes]:
    return [data async for data in sse_data(_pieces(*pieces))]


async def test_events_split_anywhere_across_reads() -> None:
    stream = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    whole = await _collect(stream)
    assert whole == [b'{"a":1}', b'{"b":2}', b"[DONE]"]
    for cut in range(1, len(stream)):
        assert await _collect(stream[:cut], stream[cut:]) == whole
    assert await _collect(*(stream[i : i + 1] for i in range(len(stream)))) == whole


async def test_crlf_multiline_data_comments_and_a_last_event_without_blank_line() -> None:
    got = await _collect(
        b": keep-alive\r\n\r\nevent: x\r\ndata: one\r",
        b"\ndata:two\r\n\r\nid: 3\n\ndata: tail",
    )
    assert got == [b"one\ntwo", b"tail"]


def test_chunk_text_model_and_usage() -> None:
    chunk = parse_chunk(
        json.dumps({"model": "m", "choices": [{"index": 0, "delta": {"content": "hi"}}]}).encode()
    )
    assert (chunk.text, chunk.model, chunk.usage) == ("hi", "m", None)
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5, "extra": 1}
    chunk = parse_chunk(json.dumps({"choices": [], "usage": usage}).encode())
    assert (chunk.text, chunk.usage) == ("", {k: usage[k] for k in list(usage)[:3]})


def test_error_events_and_statuses_keep_our_codes() -> None:
    body = {"error": {"message": "slow down", "type": "rate_limit_error", "code": "rate_limited"}}
    with pytest.raises(RateLimitedError):
        parse_chunk(json.dumps(body).encode())
    with pytest.raises(UpstreamError, match="malformed"):
        parse_chunk(b"{not json")
    assert isinstance(status_error(429, b""), RateLimitedError)
    boom = {"error": {"message": "boom", "code": "upstream_error"}}
    err = status_error(502, json.dumps(boom).encode())
    assert isinstance(err, UpstreamError) and err.message == "boom"
    assert "HTTP 503" in status_error(503, b"<html>").message


def test_has_token_on_raw_chunks() -> None:
    assert not has_token({"choices": [{"delta": {"role": "assistant", "content": ""}}]})
    assert not has_token({"choices": [], "usage": {"prompt_tokens": 1}})
    assert has_token({"choices": [{"delta": {"content": "a"}}]})
    assert has_token({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    assert has_token({"choices": [{"delta": {"reasoning_content": "hm"}}]})
    assert text_of({"choices": [{"delta": {"content": "a"}}, {"delta": {"content": "b"}}]}) == "ab"


async def test_batches_hold_every_complete_event_of_one_read() -> None:
    from chatbot_common.sse import sse_batches

    reads = [b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: {"c"', b':3}\n\n', b": ping\n\n"]
    got = [batch async for batch in sse_batches(_pieces(*reads))]
    assert got == [[b'{"a":1}', b'{"b":2}'], [b'{"c":3}']]


def test_one_read_parsed_at_once_into_one_chunk() -> None:
    from chat_service.llm_client import parse_batch

    events = [{"model": "m", "choices": [{"delta": {"content": t}}]} for t in ("a", "", "b")]
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    batch = [json.dumps(e).encode() for e in events] + [json.dumps({"choices": [],
                                                                    "usage": usage}).encode()]
    chunk = parse_batch(batch)
    assert (chunk.text, chunk.model, chunk.usage) == ("ab", "m", usage)
    with pytest.raises(RateLimitedError):
        parse_batch([batch[0], b'{"error": {"message": "x", "code": "rate_limited"}}'])
    with pytest.raises(UpstreamError, match="malformed"):
        parse_batch([batch[0], b"[1]"])


def test_forwarded_chunks_are_scanned_not_parsed() -> None:
    from llm_service.events import must_parse, scan, unescape

    text = {"choices": [{"index": 0, "delta": {"content": 'say "hi"\n'}, "finish_reason": None}],
            "usage": None}
    data = json.dumps(text).encode()
    assert not must_parse(data)
    finish, content = scan(data)
    assert not finish and unescape(content) == 'say "hi"\n'
    end = json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]}).encode()
    assert scan(end)[0]
    assert must_parse(b'{"choices": [], "usage": {"prompt_tokens": 1}}')
    assert must_parse(b'{"error": {"message": "x"}}') and must_parse(b"[DONE]")


def test_one_reads_chunks_are_scanned_at_once() -> None:
    """The LLM service scans all chunks of one read joined; must_parse never misses what one
    of them carries (a real usage among null ones, an error, the end)."""
    from llm_service.events import must_parse, scan, unescape

    def chunk(content: str, usage: object = None, finish: str | None = None) -> bytes:
        return json.dumps({"choices": [{"index": 0, "delta": {"content": content},
                                        "finish_reason": finish}], "usage": usage}).encode()

    plain = [chunk("a"), chunk(' "b"'), chunk("c\n")]
    joined = b"\n\n".join(plain)
    assert not must_parse(joined)
    finish, content = scan(joined)
    assert not finish and unescape(content) == 'a "b"c\n'
    assert scan(b"\n\n".join([*plain, chunk("", finish="stop")]))[0]
    usage = json.dumps({"choices": [], "usage": {"prompt_tokens": 1}}).encode()
    assert must_parse(b"\n\n".join([*plain, usage]))  # one real usage among null ones
    assert must_parse(b"\n\n".join([*plain, b'{"error": {"message": "x"}}']))
    assert must_parse(b"\n\n".join([*plain, b"[DONE]"]))
