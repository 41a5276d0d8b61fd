"""The answer lifecycle's transitions, one by one, on a fake clock: start, delta, checkpoint,
stop, error, a start that fails, hand-over, take-over (continue, interrupt, a continuation that
fails), abandon (another replica took the answer), finalise retries. The registry
(``registry.AnswerRegistry``) and the object running each answer (``answer_run.AnswerRun``) are
real; history, the LLM service and the Redis records are the fakes of ``lifecycle_fakes``."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from chat_service.answer import Answer
from chat_service.live import LiveAnswer, RedisLive
from chat_service.llm_client import Chunk
from chat_service.redis_gate import RedisGate
from chat_service.shared import RedisShared
from chatbot_common.errors import ConflictError, UnavailableError, UpstreamError

from services.chat_service.tests.lifecycle_fakes import (
    CID,
    HARNESSES,
    USER,
    Harness,
    ended,
    placeholder,
    until,
)


@pytest.fixture(autouse=True)
async def _no_answer_left_running() -> AsyncIterator[None]:
    yield
    while HARNESSES:
        await HARNESSES.pop().cancel_running()


async def test_start_claims_shares_and_streams_contiguous_deltas() -> None:
    h = Harness()
    answer = await h.start()
    assert h.registry.in_flight(CID) is answer
    assert h.registry.count() == 1
    assert h.shared.leases == {CID: "me"}
    h.llm.say("Hel", "lo", "!")
    await until(lambda: len(h.deltas()) == 3)
    assert h.deltas() == [(0, "Hel"), (1, "lo"), (2, "!")]
    assert h.shared.records[CID][0] == "m2"  # the message attached to the claim
    assert h.shared.deltas["m2"] == ["Hel", "lo", "!"]
    assert answer.next_index == 3
    assert h.llm.asked == [[{"role": "system", "content": "be brief"},
                            {"role": "user", "content": "hi"}]]
    assert await h.registry.overlay(placeholder()) == {**placeholder(), "content": "Hello!",
                                                       "next_index": 3}


async def test_the_llm_service_is_read_at_the_coalescing_pace() -> None:
    """After the first chunk, reading the LLM service more often than a delta can go out
    would only cost reads: the stream is paced by the coalescing interval as it is now (it
    grows with the loop's lag); with no coalescing, not at all."""
    h = Harness(interval=0.03)
    await h.start()
    await until(lambda: len(h.llm.paces) == 1)
    pace = h.llm.paces[0]
    assert pace is not None and pace() == 0.03
    h.interval = 0.12  # the loop lags: the interval grew, so does the pace
    assert pace() == 0.12
    unpaced = Harness()
    await unpaced.start()
    await until(lambda: len(unpaced.llm.paces) == 1)
    assert unpaced.llm.paces == [None]


async def test_a_second_start_in_the_same_conversation_is_refused() -> None:
    h = Harness()
    await h.start()
    with pytest.raises(UnavailableError):
        await h.start("m3")


async def test_the_end_finalises_once_releases_then_announces() -> None:
    h = Harness()
    answer = await h.start()
    h.llm.say("a", "b")
    h.llm.feed.put_nowait(Chunk(usage={"prompt_tokens": 3, "completion_tokens": 2}))
    h.llm.end()
    await ended(answer)
    assert h.history.updates == [{"content": "ab", "status": "complete",
                                  "expect_status": "streaming",
                                  "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                                  "model": "fake"}]
    assert h.shared.released == [CID]
    assert h.registry.in_flight(CID) is None
    assert [e for e, _ in h.emitted if e != "message.delta"] == [
        "message.done", "conversation.updated"]
    assert h.events("message.done")[0]["message"]["status"] == "complete"
    assert h.finished == ["complete"]
    assert h.usage == [(USER, {"prompt_tokens": 3, "completion_tokens": 2})]


async def test_the_usage_record_is_stored_with_the_final_update() -> None:
    """One history round trip ends an answer: the final update, its usage record and the
    conversation read back for ``conversation.updated``; ``on_finished`` is not asked again.
    When the answer was final already (a sweep, another replica), the record goes on its own."""
    h = Harness()
    h.registry.ports.usage_record = lambda a, status: {"status": status, "text": a.text}
    answer = await h.start()
    h.llm.say("a", "b")
    h.llm.end()
    await ended(answer)
    assert h.history.usage_records == [{"status": "complete", "text": "ab"}]
    assert h.finished == []
    assert [e for e, _ in h.emitted if e != "message.delta"] == [
        "message.done", "conversation.updated"]

    h = Harness()
    h.registry.ports.usage_record = lambda a, status: {"status": status}
    h.history.update_errors = [ConflictError("not streaming")]
    answer = await h.start()
    h.llm.say("a")
    h.llm.end()
    await ended(answer)
    assert h.history.usage_records == []
    assert h.finished == ["complete"]


async def test_the_text_is_checkpointed_once_per_interval_of_the_clock() -> None:
    h = Harness(checkpoint_interval=2.0)
    answer = await h.start()
    h.llm.say("one")
    await until(lambda: h.history.saved == ["one"])  # the first delta checkpoints at once
    h.llm.say(" two")
    await until(lambda: len(h.deltas()) == 2)
    assert h.history.saved == ["one"]  # the clock has not moved: no second checkpoint
    h.clock.t += 2.0
    h.llm.say(" three")
    await until(lambda: len(h.history.saved) == 2)
    assert h.history.saved == ["one", "one two three"]
    # each text with the number of deltas it holds: "one", " two", " three"
    assert h.history.saved_index == [1, 3]
    assert h.deltas() == [(0, "one"), (1, " two"), (2, " three")]
    h.llm.end()
    await ended(answer)


async def test_under_load_the_checkpoints_thin_out_up_to_their_bound() -> None:
    h = Harness(checkpoint_interval=2.0, checkpoint_max=10.0, load=3.0)  # the loop lags
    answer = await h.start()
    h.llm.say("one")
    await until(lambda: h.history.saved == ["one"])
    h.clock.t += 5.9  # less than 2 s x 3
    h.llm.say(" two")
    await until(lambda: len(h.deltas()) == 2)
    assert h.history.saved == ["one"]
    h.clock.t += 0.1
    h.llm.say(" three")
    await until(lambda: len(h.history.saved) == 2)
    h.load = 100.0  # heavy lag: at most the bound
    h.clock.t += 10.0
    h.llm.say(" four")
    await until(lambda: len(h.history.saved) == 3)
    assert h.history.saved == ["one", "one two three", "one two three four"]
    h.llm.end()
    await ended(answer)


async def test_stop_ends_the_answer_stopped_and_waits_until_it_is_final() -> None:
    h = Harness()
    await h.start()
    h.llm.say("partial")
    await until(lambda: len(h.deltas()) == 1)
    assert await h.registry.stop(CID)
    assert [(u["status"], u["content"]) for u in h.history.updates] == [("stopped", "partial")]
    assert len(h.events("message.done")) == 1
    assert h.registry.in_flight(CID) is None
    assert not await h.registry.stop(CID)  # nothing left to stop (and no other replica has it)


async def test_stop_of_another_replicas_answer_goes_through_redis() -> None:
    h = Harness()
    h.shared.leases[CID] = "other"
    assert await h.registry.stop(CID, "stopped")
    assert h.shared.stop_requests == [(CID, "stopped")]


async def test_an_llm_error_keeps_the_partial_text_and_says_so() -> None:
    h = Harness()
    answer = await h.start()
    h.llm.say("half")
    await until(lambda: len(h.deltas()) == 1)
    h.llm.feed.put_nowait(UpstreamError("the model went away"))
    await ended(answer)
    assert [(u["status"], u["content"]) for u in h.history.updates] == [("error", "half")]
    error, = h.events("message.error")
    assert error["message_id"] == "m2"
    assert error["error"]["code"] == "upstream_error"
    assert [e for e, _ in h.emitted if e != "message.delta"] == [
        "message.error", "message.done", "conversation.updated"]


async def test_a_start_that_cannot_create_the_message_says_so_without_a_message_id() -> None:
    h = Harness()
    h.history.create_error = UnavailableError("history down")
    answer = await h.registry.start(USER, {"id": CID}, "fake")
    await ended(answer)
    error, = h.events("message.error")
    assert "message_id" not in error
    assert error["error"]["code"] == "unavailable"
    assert h.history.updates == []
    assert h.registry.in_flight(CID) is None
    assert h.shared.released == [CID]


async def test_drain_hands_a_running_answer_over_without_finalising_it() -> None:
    h = Harness()
    answer = await h.start()
    h.llm.say("so", " far")
    await until(lambda: len(h.deltas()) == 2)
    await h.registry.drain(deadline=h.clock.now())  # the grace period is over
    assert answer.finished.is_set()
    assert h.shared.handed_over == [(CID, ["so", " far"])]
    assert h.history.updates == []  # the next replica finalises it
    assert h.events("message.done") == []
    assert h.registry.in_flight(CID) is None
    assert h.registry.draining


async def test_a_hand_over_redis_refuses_ends_interrupted() -> None:
    h = Harness()
    answer = await h.start()
    h.llm.say("so far")
    await until(lambda: len(h.deltas()) == 1)
    h.shared.leases[CID] = "other"  # our lease was lost meanwhile
    await h.registry.drain(deadline=h.clock.now())
    assert answer.finished.is_set()
    assert [(u["status"], u["content"]) for u in h.history.updates] == [
        ("interrupted", "so far")]


async def test_drain_without_redis_interrupts() -> None:
    h = Harness(takeover_mode="interrupt")
    await h.start()
    h.llm.say("so far")
    await until(lambda: len(h.deltas()) == 1)
    await h.registry.drain(deadline=h.clock.now())
    assert [u["status"] for u in h.history.updates] == ["interrupted"]
    assert len(h.events("message.done")) == 1


def _orphan(parts: list[str]) -> LiveAnswer:
    return LiveAnswer(CID, "m2", USER, "me", parts)


async def _continued(h: Harness) -> Answer:
    """Found by the take-over scan: ``m2`` with two deltas, continued here."""
    h.history.messages["m2"] = placeholder()
    h.shared.orphaned[CID] = _orphan(["Echo:", " w1"])
    await h.registry.take_over_orphans()
    answer = h.registry.in_flight(CID)
    assert answer is not None
    return answer


async def test_take_over_continues_the_same_message_from_the_next_index() -> None:
    h = Harness()
    answer = await _continued(h)
    h.llm.say(" w2", " w3")
    h.llm.end()
    await ended(answer)
    assert h.llm.asked[0][-1] == {"role": "assistant", "content": "Echo: w1"}
    assert h.llm.asked[0][0] == {"role": "system", "content": "be brief"}
    assert h.deltas() == [(2, " w2"), (3, " w3")]
    assert [(u["status"], u["content"]) for u in h.history.updates] == [
        ("complete", "Echo: w1 w2 w3")]
    assert h.registry.in_flight(CID) is None


async def test_a_continuation_that_fails_before_a_new_token_ends_interrupted() -> None:
    h = Harness()
    answer = await _continued(h)
    h.llm.feed.put_nowait(UpstreamError("no prefill here"))
    await ended(answer)
    assert [(u["status"], u["content"]) for u in h.history.updates] == [
        ("interrupted", "Echo: w1")]
    assert [e for e, _ in h.emitted if e.startswith("message.")] == ["message.done"]


async def test_take_over_in_interrupt_mode_finalises_the_text_redis_holds() -> None:
    h = Harness(takeover_mode="interrupt")
    h.history.messages["m2"] = placeholder()
    h.shared.orphaned[CID] = _orphan(["Echo:", " w1"])
    await h.registry.take_over_orphans()
    assert h.registry.in_flight(CID) is None
    assert [(u["status"], u["content"]) for u in h.history.updates] == [
        ("interrupted", "Echo: w1")]
    assert [e for e, _ in h.emitted] == ["message.done", "conversation.updated"]
    assert h.shared.released == [CID]
    assert h.llm.asked == []


async def test_a_draining_replica_takes_nothing_over() -> None:
    h = Harness()
    await h.registry.drain(deadline=h.clock.now())
    h.shared.orphaned[CID] = _orphan(["x"])
    await h.registry.take_over_orphans()
    assert CID in h.shared.orphaned  # left for another replica
    assert h.history.updates == []


async def test_an_orphan_without_redis_trace_ends_interrupted() -> None:
    h = Harness()
    stored = {**placeholder(), "content": "checkpointed"}
    h.history.messages["m2"] = stored
    final = await h.registry.interrupt_orphan(USER, stored)
    assert final is not None and final["status"] == "interrupted"
    assert [(u["status"], u["content"]) for u in h.history.updates] == [
        ("interrupted", "checkpointed")]


async def test_an_orphan_check_redis_cannot_answer_leaves_the_message_streaming() -> None:
    h = Harness()
    stored = {**placeholder(), "content": "so far"}
    h.history.messages["m2"] = stored
    h.shared.unknown = True
    assert await h.registry.interrupt_orphan(USER, stored) is None
    assert h.history.updates == []
    assert h.emitted == []


async def test_an_orphan_another_replica_holds_is_left_to_it() -> None:
    h = Harness()
    stored = {**placeholder(), "content": "so far"}
    h.shared.records[CID] = ("m2", USER)
    assert await h.registry.interrupt_orphan(USER, stored) == stored
    assert h.history.updates == []


async def test_an_answer_taken_over_elsewhere_is_abandoned_silently() -> None:
    h = Harness()
    answer = await h.start()
    h.llm.say("mine")
    await until(lambda: len(h.deltas()) == 1)
    h.shared.taken_by_other.add("m2")  # another replica appends to the list now
    h.llm.say(" theirs")
    await ended(answer)
    assert h.deltas() == [(0, "mine")]
    assert h.history.updates == []
    assert h.events("message.done") == []
    assert h.shared.released == []  # the record is the other replica's now
    assert h.registry.in_flight(CID) is None


async def test_resync_lets_an_answer_go_whose_lease_another_replica_holds() -> None:
    h = Harness()
    answer = await h.start()
    h.llm.say("x")
    await until(lambda: len(h.deltas()) == 1)
    h.shared.resync_refused.add(CID)
    await h.registry.resync(renew_first=False)
    await ended(answer)
    assert h.history.updates == []
    assert h.registry.in_flight(CID) is None


async def test_finalise_retries_with_back_off_on_the_clock() -> None:
    h = Harness()
    answer = await h.start()
    h.history.update_errors = [UnavailableError("busy"), UnavailableError("busy")]
    h.llm.say("x")
    h.llm.end()
    await ended(answer)
    assert [u["status"] for u in h.history.updates] == ["complete"] * 3
    assert len(h.clock.slept) == 2
    assert h.clock.slept[1] > h.clock.slept[0] > 0
    assert h.events("message.done")[0]["message"]["status"] == "complete"


async def test_finalise_gives_up_after_its_attempts_and_still_ends_the_answer() -> None:
    h = Harness()
    answer = await h.start()
    h.history.update_errors = [UnavailableError("down")] * 10
    h.llm.say("x")
    h.llm.end()
    await ended(answer)
    assert len(h.history.updates) == 4
    done, = h.events("message.done")
    assert (done["message"]["status"], done["message"]["content"]) == ("complete", "x")
    assert "next_index" not in done["message"]  # the placeholder's, not for a final message
    assert h.registry.in_flight(CID) is None


async def test_finalise_after_a_conflict_reports_the_stored_message() -> None:
    h = Harness()
    answer = await h.start()
    h.history.update_errors = [ConflictError("already final")]
    h.history.messages["m2"] = {**placeholder(), "content": "theirs", "status": "interrupted"}
    h.llm.say("x")
    h.llm.end()
    await ended(answer)
    done, = h.events("message.done")
    assert (done["message"]["status"], done["message"]["content"]) == ("interrupted", "theirs")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_redis_down_never_stops_an_answer() -> None:
    """The real best-effort records (``RedisShared`` over ``RedisLive`` and the gate) on a
    port where no Redis listens: the answer claims, streams and ends as if alone."""
    gate = RedisGate.from_url(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.5,
                              backoff_base=30, backoff_cap=30)
    shared = RedisShared(RedisLive(gate, "me", lease_seconds=6))
    try:
        h = Harness(shared=shared)
        answer = await h.start()
        assert not gate.up  # the claim found Redis down
        h.llm.say("a", "b")
        h.llm.end()
        await ended(answer)
        assert h.deltas() == [(0, "a"), (1, "b")]
        assert [u["status"] for u in h.history.updates] == ["complete"]
        assert h.registry.in_flight(CID) is None
        assert not await shared.busy(CID)
    finally:
        await gate.aclose()
