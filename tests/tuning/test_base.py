"""What a training's progress counts up to: its steps, or those its time budget lets it reach at the rate so far."""

import pytest

from ragtune.tuning.base import steps_in_budget


@pytest.mark.parametrize(("step", "max_steps", "elapsed_s", "budget_s", "expected"), [
    (6, 93, 60.0, 70.0, 7),  # 6 steps in 60 s: the 70 s budget ends it at step 7, long before 93
    (10, 12, 10.0, 600.0, 12),  # the budget is not what ends it
    (5, 93, 30.0, None, 93),  # no budget: every step
    (0, 93, 5.0, 60.0, 93),  # nothing measured yet
    (8, 93, 90.0, 60.0, 8),  # past the budget: never fewer than done
])
def test_the_steps_a_training_will_reach(step, max_steps, elapsed_s, budget_s, expected):
    assert steps_in_budget(step, max_steps, elapsed_s, budget_s) == expected


def test_remaining_budget_takes_off_the_preparation():
    from ragtune.tuning.base import remaining_budget

    assert remaining_budget(600.0, 100.0) == 500.0


def test_a_spent_budget_leaves_one_step():
    from ragtune.tuning.base import remaining_budget

    assert remaining_budget(60.0, 90.0) == 0.001


def test_no_budget_stays_none():
    from ragtune.tuning.base import remaining_budget

    assert remaining_budget(None, 90.0) is None
