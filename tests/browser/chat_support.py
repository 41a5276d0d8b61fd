"""Helpers of the chat page's tests: the answers to expect, the messages the history service
keeps, and whether the page applies live deltas.

The fake upstream answers ``Echo:`` + the first six words of the question, then ``w1 w2 …``;
``[tokens:N]`` in a question sets the answer's length (5 ms per token in the stack).
"""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from playwright.sync_api import Page

from tests.support.fake_upstream import answer_tokens
from tests.support.holds import Hold
from tests.support.stack import Stack

from .pw import conversation_id, user_id, wait_streaming_text


def expected_answer(question: str, tokens: int) -> str:
    return " ".join(answer_tokens(question, tokens))


def stored_messages(stack: Stack, page: Page) -> list[dict[str, Any]]:
    """The open conversation's messages as the history service keeps them."""
    r = httpx.get(
        f"{stack.history.url}/v1/conversations/{conversation_id(page)}/messages",
        headers={"X-User-Id": user_id(page), "Authorization": f"Bearer {stack.internal_token}"},
        timeout=10,
    )
    r.raise_for_status()
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def snapshot_requests(page: Page) -> list[str | bytes]:
    """The conversation.get requests (snapshots) the page sends from now on."""
    sent: list[str | bytes] = []

    def on_frame(frame: str | bytes) -> None:
        if '"conversation.get"' in str(frame):
            sent.append(frame)

    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    return sent


def shows_live_deltas(
    page: Page, snapshots: list[str | bytes], go_on: Hold, pause: Hold, upstream_url: str
) -> None:
    """The answer held at ``go_on`` goes on to ``pause``: meanwhile the page's streaming text
    grows, with no new snapshot. (message.done carries the whole text, and the page re-reads
    an answer silent for 20 s: neither shows that the live deltas are applied.)"""
    shown, read = len(page.inner_text(".msg.streaming .markdown")), len(snapshots)
    go_on.release(upstream_url)
    pause.wait_held_sync(upstream_url)
    wait_streaming_text(page, shown)
    assert len(snapshots) == read, "the text grew by a new snapshot, not by live deltas"
