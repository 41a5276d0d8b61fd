from chat_service.pace import checkpoint_interval, delta_interval, load_factor


def test_the_load_factor_is_how_far_the_coalescing_interval_grew() -> None:
    assert load_factor(0.03, 0.25, 0.0) == 1.0  # the loop keeps up
    assert abs(load_factor(0.03, 0.25, 0.03) - 5.0) < 1e-9  # 30 ms + 4 x 30 ms
    assert load_factor(0.03, 0.25, 1.0) == delta_interval(0.03, 0.25, 1.0) / 0.03  # the bound
    assert load_factor(0.0, 0.25, 0.5) == 1.0  # no coalescing: nothing to grow from


def test_checkpoints_stretch_with_the_load_up_to_their_bound() -> None:
    assert checkpoint_interval(2.0, 10.0, 1.0) == 2.0
    assert checkpoint_interval(2.0, 10.0, 3.0) == 6.0
    assert checkpoint_interval(2.0, 10.0, 8.3) == 10.0
    assert checkpoint_interval(2.0, 0.0, 8.3) == 2.0  # a bound below the base: never stretched
    assert checkpoint_interval(0.0, 10.0, 5.0) == 0.0  # 0: never checkpointed
