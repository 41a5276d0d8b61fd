"""takeover.resume: a taken-over answer continues the same message from the next index, with
the text so far as a final assistant message; a continuation that fails before its first new
token ends ``interrupted`` with that text (stubs stand in for history and the LLM service)."""

from collections.abc import AsyncIterator
from typing import Any

from chat_service.answers import AnswerManager
from chat_service.llm_client import Chunk
from chat_service.takeover import resume
from chatbot_common.errors import UpstreamError

MESSAGE = {"id": "m2", "conversation_id": "c1", "seq": 2, "role": "assistant",
           "content": "", "status": "streaming", "model": "fake"}
CONTEXT = [{"role": "user", "content": "hi"}]


class _History:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    async def update_message(self, user_id: str, cid: str, mid: str, body: dict[str, Any]) -> Any:
        self.updates.append(body)
        return {**MESSAGE, "content": body["content"], "status": body["status"]}

    async def get_conversation(self, user_id: str, cid: str) -> Any:
        return {"id": cid}


class _Llm:
    def __init__(self, pieces: list[str], fail: bool = False) -> None:
        self.pieces, self.fail = pieces, fail
        self.asked: list[list[dict[str, str]]] = []
        self.sampling: list[object] = []

    async def stream(self, messages: list[dict[str, str]], model: str | None,
                     sampling: object = None) -> AsyncIterator[Chunk]:
        self.asked.append(messages)
        self.sampling.append(sampling)
        if self.fail:
            raise UpstreamError("the LLM service is unreachable")
        for piece in self.pieces:
            yield Chunk(text=piece)


def _manager(history: _History, llm: _Llm, emitted: list[tuple[str, Any]]) -> AnswerManager:
    async def emit(event: str, data: Any, room: str) -> None:
        emitted.append((event, data))

    return AnswerManager(history, llm, emit,  # type: ignore[arg-type]
                         context_messages=10, delta_interval=0)


async def test_continues_the_same_message_from_the_next_index() -> None:
    history, llm, emitted = _History(), _Llm([" w2", " w3"]), []
    answers = _manager(history, llm, emitted)
    answer = resume(answers, "u1", MESSAGE, ["Echo:", " w1"], CONTEXT)
    await answer.finished.wait()
    assert llm.asked == [[*CONTEXT, {"role": "assistant", "content": "Echo: w1"}]]
    deltas = [d for e, d in emitted if e == "message.delta"]
    assert [(d["index"], d["delta"]) for d in deltas] == [(2, " w2"), (3, " w3")]
    assert [u["status"] for u in history.updates] == ["complete"]
    assert history.updates[0]["content"] == "Echo: w1 w2 w3"
    assert answers.in_flight("c1") is None


async def test_a_continuation_keeps_the_conversations_sampling() -> None:
    history, llm, emitted = _History(), _Llm([" w2"]), []
    answers = _manager(history, llm, emitted)
    answer = resume(answers, "u1", MESSAGE, ["Echo:", " w1"], CONTEXT, {"temperature": 0.3})
    await answer.finished.wait()
    assert llm.sampling == [{"temperature": 0.3}]


async def test_a_failure_before_the_first_new_token_ends_interrupted() -> None:
    history, llm, emitted = _History(), _Llm([], fail=True), []
    answers = _manager(history, llm, emitted)
    answer = resume(answers, "u1", MESSAGE, ["Echo:", " w1"], CONTEXT)
    await answer.finished.wait()
    assert [(u["status"], u["content"]) for u in history.updates] == [("interrupted", "Echo: w1")]
    assert [e for e, _ in emitted if e.startswith("message.")] == ["message.done"]
