from dataclasses import dataclass, field

import pytest
from chat_service import metrics
from chat_service.admission import Admission, Refused, conversation_of, refusal_reason
from chat_service.pace import LoopLag, smoothed
from chat_service.service import ChatService
from chat_service.settings import Settings

BOUNDS = {"max_active": 100, "max_lag": 0.1, "lag_min_active": 10}


def test_refused_beyond_the_answer_bound_or_the_lag_bound_with_retry_after() -> None:
    lag = LoopLag()
    admission = Admission(max_active=2, max_lag=0.1, retry_after=2.0, loop_lag=lag,
                          lag_min_active=0)
    assert admission.refusal(1) is None
    full = admission.refusal(2)
    assert full is not None and full.reason == "max_active"
    assert full.to_dict() == {"code": "unavailable", "message": full.message, "retry_after": 2.0}
    lag.sustained = 0.15  # the loop runs 150 ms late, and has for a while
    late = admission.refusal(0)
    assert late is not None and late.reason == "lag"
    lag.lag, lag.sustained = 0.5, 0.05  # a moment's spike: the quick figure is not judged
    assert admission.refusal(1) is None


def test_the_lag_guard_waits_for_answers_of_its_own() -> None:
    # a busy machine: the loop is late with nothing streaming here
    assert refusal_reason(0, 0.5, **BOUNDS) is None
    assert refusal_reason(9, 0.5, **BOUNDS) is None
    assert refusal_reason(10, 0.5, **BOUNDS) == "lag"
    assert refusal_reason(99, 0.05, **BOUNDS) is None
    assert refusal_reason(100, 0.0, **BOUNDS) == "max_active"


def run(sustained: float, late: float, seconds: float, period: float = 0.025) -> float:
    """The sustained lag after ``seconds`` of wake-ups each ``late`` seconds late."""
    elapsed = 0.0
    while elapsed < seconds:
        sustained = smoothed(sustained, late, period + late, window=2.0)
        elapsed += period + late
    return sustained


def test_a_moments_stall_does_not_trip_the_lag_guard_a_lasting_load_does() -> None:
    # A stall of 400 ms once (while streaming), then the loop keeps up (5 ms late): the
    # guard's figure stays under 100 ms throughout.
    after_burst = smoothed(0.0, 0.4, 0.425, window=2.0)
    assert after_burst < 0.1
    assert refusal_reason(50, run(after_burst, 0.005, 1.0), **BOUNDS) is None
    # The same loop 150 ms late on every wake-up for 3 s: a load that lasts is refused.
    assert refusal_reason(50, run(0.0, 0.15, 3.0), **BOUNDS) == "lag"
    # ... and lets go once the loop keeps up again
    assert refusal_reason(50, run(run(0.0, 0.15, 3.0), 0.005, 6.0), **BOUNDS) is None


def test_the_sustained_lag_is_the_streams_not_a_burst_of_client_events() -> None:
    handling = [True]
    lag = LoopLag(window=2.0, quiet=lambda: not handling[0])
    lag.record(elapsed=1.025)  # a burst of sends handled: the loop woke a second late
    assert lag.lag > 0.1 and lag.sustained == 0.0  # the quick figure sees it, admission not
    handling[0] = False
    for _ in range(20):  # then answers stream and the loop is 150 ms late on every wake-up
        lag.record(elapsed=0.175)
    assert refusal_reason(50, lag.sustained, **BOUNDS) == "lag"


def test_lag_while_too_few_answers_stream_is_not_theirs_and_fades() -> None:
    streaming = [0]
    lag = LoopLag(window=2.0, ours=lambda: streaming[0] >= 10)
    for _ in range(40):  # 500 WebSocket handshakes: the loop 150 ms late, no answer streams
        lag.record(elapsed=0.175)
    assert lag.lag > 0.1 and lag.sustained == 0.0
    streaming[0] = 50
    for _ in range(40):  # answers stream and the loop stays that late: theirs, refused
        lag.record(elapsed=0.175)
    assert refusal_reason(50, lag.sustained, **BOUNDS) == "lag"
    streaming[0] = 0
    for _ in range(40):  # they ended; what is left of their lag fades
        lag.record(elapsed=0.175)
    assert lag.sustained < 0.02


def test_the_payloads_conversation_is_read_without_trusting_it() -> None:
    assert conversation_of(({"conversation_id": "c1", "content": "x"},)) == "c1"
    assert conversation_of(({"conversation_id": {"$ne": None}},)) is None
    assert conversation_of(("text",)) is None and conversation_of(()) is None


@dataclass
class Answers:
    """Just what admission reads of the registry: answers in flight, by conversation."""

    running: dict[str, object] = field(default_factory=dict)

    def count(self) -> int:
        return len(self.running)

    def in_flight(self, cid: str) -> object | None:
        return self.running.get(cid)


def refused_count(reason: str) -> float:
    return metrics.ANSWERS_REFUSED.labels(reason)._value.get()  # noqa: SLF001


def test_admitted_holds_a_slot_until_the_event_ends_and_refusals_are_counted() -> None:
    service = ChatService(settings=Settings(), secret="s" * 32)
    service.answers = Answers({"c1": object()})  # type: ignore[assignment]
    service.admission = Admission(max_active=2, max_lag=0.1, retry_after=3.0,
                                  loop_lag=LoopLag(), lag_min_active=0)
    before = refused_count("max_active")
    with service.admitted("c2"):  # beside c1: 1 of 2
        assert service.admitting_now == 1
        # c1 and the send in progress fill it
        with pytest.raises(Refused) as refused, service.admitted("c3"):
            raise AssertionError("admitted beyond MAX_ACTIVE_ANSWERS")
        assert refused.value.to_dict()["retry_after"] == 3.0
        assert refused_count("max_active") == before + 1
        with service.admitted("c1"):  # a new message in c1 replaces its answer: admitted
            pass
    assert service.admitting_now == 0
    with service.admitted(None):  # the slot was given back
        pass
