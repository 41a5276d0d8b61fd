from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from llm_service.trimming import estimate_tokens, trim_messages


def msg(role: str, content: str) -> dict[str, Any]:
    return {"role": role, "content": content}


def conversation(turns: int, words: int = 20) -> list[dict[str, Any]]:
    out = [msg("system", "be kind")]
    for i in range(turns):
        out.append(msg("user", f"q{i} " + "word " * words))
        out.append(msg("assistant", f"a{i} " + "word " * words))
    out.append(msg("user", "last question"))
    return out


def test_short_conversation_is_untouched() -> None:
    messages = conversation(2)
    result = trim_messages(messages, 10_000)
    assert result.messages == messages
    assert result.dropped == 0


def test_estimate_is_bytes_over_three_plus_overhead() -> None:
    assert estimate_tokens([msg("user", "abcdef")]) == 2 + 4
    assert estimate_tokens([msg("user", "日本")]) == 2 + 4  # 6 UTF-8 bytes
    parts = {"role": "user", "content": [{"type": "text", "text": "abc"}]}
    assert estimate_tokens([parts]) == 1 + 4


def test_long_conversation_keeps_system_last_turn_and_newest_whole_turns() -> None:
    messages = conversation(1000)
    result = trim_messages(messages, 500)
    kept = result.messages
    assert kept[0] == messages[0]
    assert kept[-1] == messages[-1]
    assert estimate_tokens(kept) <= 500
    assert result.dropped == len(messages) - len(kept)
    middle = kept[1:-1]
    assert middle, "some history fits"
    assert middle[0]["role"] == "user"  # whole turns: starts at a user message
    assert middle == messages[len(messages) - 1 - len(middle) : -1]  # the newest ones


def test_several_system_messages_and_trailing_messages_after_last_user_are_kept() -> None:
    messages = [
        msg("system", "one"),
        msg("developer", "two"),
        *conversation(50)[1:],
        msg("assistant", "prefill"),
    ]
    result = trim_messages(messages, 200)
    assert result.messages[:2] == messages[:2]
    assert result.messages[-2:] == [msg("user", "last question"), msg("assistant", "prefill")]


def test_oversized_last_turn_is_shortened_in_the_middle() -> None:
    big = "start " + "x" * 30_000 + " end"
    result = trim_messages([msg("system", "sys"), msg("user", big)], 1000)
    assert result.shortened
    assert estimate_tokens(result.messages) <= 1000
    content = result.messages[-1]["content"]
    assert content.startswith("start ") and content.endswith(" end") and "[…]" in content
    assert result.messages[0]["content"] == "sys"


@given(
    st.lists(
        st.tuples(st.sampled_from(["user", "assistant"]), st.text(max_size=300)), max_size=60
    ),
    st.integers(min_value=50, max_value=3000),
)
def test_result_always_fits_and_keeps_the_last_message(
    history: list[tuple[str, str]], budget: int
) -> None:
    messages = [msg("system", "s"), *(msg(r, t) for r, t in history), msg("user", "final")]
    result = trim_messages(messages, budget)
    assert estimate_tokens(result.messages) <= budget
    assert result.messages[-1]["content"] == "final"
    assert result.messages[0] == messages[0]
