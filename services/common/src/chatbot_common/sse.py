"""Read Server-Sent Events from a byte stream (as the OpenAI-compatible APIs stream them)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


def _data_of(event: bytes) -> bytes | None:
    """The data of one event (its ``data:`` lines joined by newlines), None when it has none."""
    if event.startswith(b"data:") and b"\n" not in event:  # the usual case: one line
        return event[6:] if event.startswith(b"data: ") else event[5:]
    lines = [
        line[6:] if line.startswith(b"data: ") else line[5:]
        for line in event.split(b"\n")
        if line.startswith(b"data:")
    ]
    return b"\n".join(lines) if lines else None


async def sse_batches(raw: AsyncIterable[bytes]) -> AsyncIterator[list[bytes]]:
    """The ``data`` of every complete event of each read, one list per read (never empty).

    Work per read, not per event: a caller handles everything one read delivered as one unit.
    Events without data (comments, keep-alives) are skipped; an event split across reads comes
    with the read that completes it. The usual event, one ``data:`` line, costs a ``find`` and
    two slices.
    """
    buffer = b""
    async for piece in raw:
        buffer += piece
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):  # maybe the first half of a CRLF: wait for the rest
                continue
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        start, batch = 0, []
        while (end := buffer.find(b"\n\n", start)) >= 0:
            data = _data_of(buffer[start:end])
            start = end + 2
            if data is not None:
                batch.append(data)
        buffer = buffer[start:]
        if batch:
            yield batch
    rest = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").strip(b"\n")
    if rest:  # a last event without its blank line
        data = _data_of(rest)
        if data is not None:
            yield [data]


async def sse_data(raw: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The ``data`` of each event, one at a time (``sse_batches`` flattened)."""
    async for batch in sse_batches(raw):
        for data in batch:
            yield data
