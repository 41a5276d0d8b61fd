import pytest
from chat_service.coalescer import Coalescer
from chat_service.pace import delta_interval


def test_first_text_goes_out_at_once() -> None:
    c = Coalescer(0.03)
    assert c.add("Hel", now=10.0) == "Hel"
    assert not c.pending


def test_text_within_the_interval_is_buffered_then_released_together() -> None:
    c = Coalescer(0.03)
    c.add("a", now=10.0)
    assert c.add("b", now=10.01) is None
    assert c.add("c", now=10.02) is None
    assert c.wait_time(10.02) is not None
    assert abs(c.wait_time(10.02) - 0.01) < 1e-9  # type: ignore[operator]
    assert c.add("d", now=10.031) == "bcd"


def test_wait_time_is_none_when_empty_and_take_empties() -> None:
    c = Coalescer(0.05)
    assert c.wait_time(0.0) is None
    c.add("x", now=1.0)
    c.add("y", now=1.01)
    assert c.take(1.02) == "y"
    assert c.take(1.03) == ""
    assert c.wait_time(1.03) is None


def test_empty_chunks_do_not_emit() -> None:
    c = Coalescer(0.0)
    assert c.add("", now=1.0) is None
    assert c.add("z", now=1.0) == "z"


def test_zero_interval_emits_every_chunk() -> None:
    c = Coalescer(0.0)
    assert [c.add(t, now=5.0) for t in "abc"] == ["a", "b", "c"]


def test_delta_interval_grows_with_the_loop_lag_up_to_its_bound() -> None:
    assert delta_interval(0.03, 0.25, 0.0) == 0.03  # the loop keeps up
    assert delta_interval(0.03, 0.25, 0.02) == pytest.approx(0.11)
    assert delta_interval(0.03, 0.25, 0.5) == 0.25  # bounded
    assert delta_interval(0.03, 0.0, 0.5) == 0.03  # no bound set: never below the base
