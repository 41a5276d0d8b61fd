from chat_service.admission import Admission
from chat_service.pace import LoopLag


def test_refused_beyond_the_answer_bound_or_the_lag_bound_with_retry_after() -> None:
    lag = LoopLag()
    admission = Admission(max_active=2, max_lag=0.1, retry_after=2.0, loop_lag=lag,
                          lag_min_active=0)
    assert admission.refusal(1) is None
    full = admission.refusal(2)
    assert full is not None and full.reason == "max_active"
    assert full.to_dict() == {"code": "unavailable", "message": full.message, "retry_after": 2.0}
    lag.lag = 0.15  # the loop runs 150 ms late
    late = admission.refusal(0)
    assert late is not None and late.reason == "lag"
    lag.lag = 0.05
    assert admission.refusal(1) is None


def test_the_lag_guard_waits_for_answers_of_its_own() -> None:
    lag = LoopLag()
    lag.lag = 0.5  # a busy machine: the loop is late with nothing streaming here
    admission = Admission(max_active=100, max_lag=0.1, retry_after=2.0, loop_lag=lag,
                          lag_min_active=10)
    assert admission.refusal(0) is None and admission.refusal(9) is None
    refused = admission.refusal(10)
    assert refused is not None and refused.reason == "lag"
