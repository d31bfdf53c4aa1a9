"""Unit tests of bench/bounds.py (pure, no stack):

    .tools/venv/bin/python -m pytest -q -p no:cacheprovider bench/test_bounds.py
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bounds import (REGISTER_TASK_DEFINITION, UPDATE_SERVICE, drain_seconds,  # noqa: E402
                    lower_bound_seconds, transitions_cost_usd)


@pytest.mark.parametrize(
    "registrations, updates, rate_scale, polls, poll, expected",
    [
        (0, 0, 1, 1, 0, 0.0),                  # nothing to call
        (14, 10, 1, 1, 0, 0.0),                # N below both bursts: free
        (20, 50, 1, 1, 0, 0.0),                # exactly the bursts: still free
        (21, 10, 1, 1, 0, 1.0),                # one registration past the burst: 1 s at 1/s
        (504, 0, 1, 1, 0, 484.0),              # registrations alone above the burst: (504 - 20) / 1
        (0, 500, 1, 1, 0, 90.0),               # updates alone above the burst: (500 - 50) / 5
        (504, 500, 1, 1, 0, 484.0),            # both APIs: the slower bucket, not the sum (484 + 90)
        (30, 300, 1, 1, 0, 50.0),              # both APIs, updates the slower: max(10, 50)
        (104, 100, 10, 1, 0, 8.4),             # rate scale 10: (104 - 20) / 10 against (100 - 50) / 50
        (504, 500, 10, 1, 0, 48.4),            # rate scale 10 at N=500
        (104, 100, 10, 3, 2, 12.4),            # plus the last rollout: k = 3 polls 2 s apart -> 4 s
        (14, 10, 10, 3, 2, 4.0),               # below the bursts only the rollout remains
    ],
)
def test_lower_bound(registrations, updates, rate_scale, polls, poll, expected):
    assert lower_bound_seconds(registrations, updates, rate_scale, polls, poll) == pytest.approx(expected)


def test_the_buckets_are_ecs_real_rates():
    assert (REGISTER_TASK_DEFINITION.burst, REGISTER_TASK_DEFINITION.per_second) == (20, 1.0)
    assert (UPDATE_SERVICE.burst, UPDATE_SERVICE.per_second) == (50, 5.0)


def test_drain_grows_linearly_past_the_burst():
    assert drain_seconds(120, REGISTER_TASK_DEFINITION, 2) == pytest.approx(50.0)
    assert drain_seconds(119, REGISTER_TASK_DEFINITION, 2) < drain_seconds(120, REGISTER_TASK_DEFINITION, 2)


@pytest.mark.parametrize("args", [(-1, 0, 1), (0, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1, -1)])
def test_lower_bound_refuses_nonsense(args):
    with pytest.raises(ValueError):
        lower_bound_seconds(*args)


def test_transitions_cost():
    assert transitions_cost_usd(1000) == pytest.approx(0.025)
    assert transitions_cost_usd(214) == pytest.approx(0.00535)
