"""Fit a conversation into the model's context budget.

Token estimate (a heuristic, no tokenizer is needed): ``ceil(utf8_bytes / 3) + 4`` per message.
Byte-pair tokenizers give about 4 characters per token for English and about 1 token per
character for CJK text (3 UTF-8 bytes), so bytes/3 over-estimates English by about a third and
is close for CJK: it errs on the side of fitting. The 4 covers the role and the chat template's
separators.

What is kept, in order of priority:
1. the leading system (or developer) messages,
2. the last user turn (the last user message and whatever follows it),
3. earlier turns, newest first, each kept whole (a user message with the replies after it);
   the oldest are dropped first, and nothing older than a dropped turn is kept.
If 1 and 2 alone do not fit, the longest of their texts is shortened in the middle.

Files in the conversation arrive as text inside their message (the chat service inlines a
document's extracted text), so they count, and are dropped or shortened, like any text; an
image part (``image_url``) counts ``IMAGE_TOKENS`` and is kept or dropped with its message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]

MESSAGE_OVERHEAD = 4
BYTES_PER_TOKEN = 3
#: What one image costs (vision models tile an image into some hundreds to ~1,600 tokens).
IMAGE_TOKENS = 1024
_SYSTEM_ROLES = {"system", "developer"}
_ELISION = "\n[…]\n"


def text_of(message: Message) -> str:
    """The text of a message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        )
    return ""


def estimate_text_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def images_of(message: Message) -> int:
    content = message.get("content")
    if not isinstance(content, list):
        return 0
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")


def estimate_tokens(messages: list[Message]) -> int:
    return sum(
        estimate_text_tokens(text_of(m)) + images_of(m) * IMAGE_TOKENS + MESSAGE_OVERHEAD
        for m in messages
    )


def _with_text(message: Message, text: str) -> None:
    """Replace a message's text, keeping its other content parts (images)."""
    content = message.get("content")
    if not isinstance(content, list):
        message["content"] = text
        return
    others = [p for p in content if not (isinstance(p, dict) and "text" in p)]
    message["content"] = [{"type": "text", "text": text}, *others]


@dataclass(frozen=True)
class TrimResult:
    messages: list[Message]
    dropped: int
    estimated_tokens: int
    shortened: bool = False


def trim_messages(messages: list[Message], budget: int) -> TrimResult:
    """Return the messages that fit in ``budget`` estimated tokens (see the module doc)."""
    if estimate_tokens(messages) <= budget:
        return TrimResult(list(messages), 0, estimate_tokens(messages))

    n_system = 0
    while n_system < len(messages) and messages[n_system].get("role") in _SYSTEM_ROLES:
        n_system += 1
    head = messages[:n_system]
    body = messages[n_system:]

    last_user = max((i for i, m in enumerate(body) if m.get("role") == "user"), default=None)
    if last_user is None:  # no user message: keep the newest message as the "turn"
        last_user = max(len(body) - 1, 0)
    tail = body[last_user:]
    history = body[:last_user]

    required = head + tail
    used = estimate_tokens(required)
    if used > budget:
        shortened = _shorten(required, budget)
        return TrimResult(
            shortened, len(history), estimate_tokens(shortened), shortened=True
        )

    kept_turns: list[list[Message]] = []
    for turn in reversed(_turns(history)):
        cost = estimate_tokens(turn)
        if used + cost > budget:
            break
        kept_turns.append(turn)
        used += cost
    kept = [m for turn in reversed(kept_turns) for m in turn]
    return TrimResult(head + kept + tail, len(history) - len(kept), used)


def _turns(history: list[Message]) -> list[list[Message]]:
    """Group messages into turns: each starts at a user message (the first may not)."""
    turns: list[list[Message]] = []
    for message in history:
        if message.get("role") == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns


def _shorten(messages: list[Message], budget: int) -> list[Message]:
    """Cut the middle of the longest texts until the messages fit."""
    out = [dict(m) for m in messages]
    while estimate_tokens(out) > budget:
        longest = max(range(len(out)), key=lambda i: len(text_of(out[i]).encode("utf-8")))
        text = text_of(out[longest])
        excess_bytes = (estimate_tokens(out) - budget) * BYTES_PER_TOKEN + len(_ELISION) * 3
        keep_chars = max(len(text) - excess_bytes, 0)
        if keep_chars == 0 or len(text) <= len(_ELISION):
            _with_text(out[longest], "")
            if estimate_tokens(out) > budget and all(not text_of(m) for m in out):
                break
            continue
        half = keep_chars // 2
        _with_text(out[longest], text[:half] + _ELISION + text[len(text) - half :])
    return out
