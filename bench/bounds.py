"""Pure figures of a bench run: the API-rate lower bound of its wall time and the price of its transitions.

No I/O and no stack: bench.py feeds these the counts it measured, and bench/test_bounds.py checks them.
"""

from dataclasses import dataclass

# Step Functions Standard Workflows: $0.025 per 1,000 state transitions (us-east-1 and most regions; the first
# 4,000 a month are free and left out here). Source: https://aws.amazon.com/step-functions/pricing/
USD_PER_1000_TRANSITIONS = 0.025


@dataclass(frozen=True)
class Bucket:
    """One ECS token bucket: full at `burst` tokens, refilled at `per_second` (both before any rate scale)."""

    burst: float
    per_second: float


# ECS's real request throttling, the numbers local/convoy_local/moto_server.py's ECS_BUCKETS uses:
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
REGISTER_TASK_DEFINITION = Bucket(burst=20, per_second=1.0)
UPDATE_SERVICE = Bucket(burst=50, per_second=5.0)


def drain_seconds(calls: int, bucket: Bucket, rate_scale: float = 1.0) -> float:
    """Earliest time the last of `calls` calls can be accepted by a bucket that is full at t = 0.

    The bucket holds `burst` tokens at the start and gains `per_second * rate_scale` a second, and each accepted
    call takes one token, so the n-th call cannot be accepted before (n - burst) / rate. Calls within the burst
    cost no time.
    """
    if calls < 0 or rate_scale <= 0:
        raise ValueError("calls must be >= 0 and rate_scale > 0")
    return max(0.0, (calls - bucket.burst) / (bucket.per_second * rate_scale))


def lower_bound_seconds(registrations: int, updates: int, rate_scale: float = 1.0, rollout_polls: int = 1,
                        poll_seconds: float = 0.0) -> float:
    """Minimum wall time ECS's token buckets allow a release that makes `registrations` RegisterTaskDefinition
    and `updates` UpdateService calls, with refill rates multiplied by `rate_scale`.

        max(max(0, (R - 20) / (1 x s)), max(0, (U - 50) / (5 x s))) + (k - 1) x poll

    The two buckets are separate and refill at the same time, so the release is bound by the slower one, not by
    their sum. The last UpdateService cannot be accepted before that; its rollout is then seen complete no sooner
    than after k DescribeServices (`rollout_polls`, the simulator's steps), and check-stability polls at once and
    then every `poll_seconds`, so (k - 1) x poll more. Everything else (Lambda invokes, reads, the state machine's
    own transitions) is taken as free: the bound is one no implementation can beat, not an estimate.
    """
    if rollout_polls < 1 or poll_seconds < 0:
        raise ValueError("rollout_polls must be >= 1 and poll_seconds >= 0")
    calls = max(drain_seconds(registrations, REGISTER_TASK_DEFINITION, rate_scale),
                drain_seconds(updates, UPDATE_SERVICE, rate_scale))
    return calls + (rollout_polls - 1) * poll_seconds


def transitions_cost_usd(transitions: int) -> float:
    """Price of one execution's state transitions at Step Functions Standard's list price."""
    return transitions * USD_PER_1000_TRANSITIONS / 1000
