"""The per-deployment circuit breaker."""

from __future__ import annotations

import pytest

from gatehouse.routing.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from tests.conftest import Clock

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def make(**policy):
    clock = Clock()
    changes: list[tuple[str, BreakerState, BreakerState, str]] = []
    breaker = CircuitBreaker(
        "a/small",
        BreakerPolicy(**policy),
        clock=clock,
        on_change=lambda *change: changes.append(change),
    )
    return breaker, clock, changes


def fail(breaker: CircuitBreaker, times: int, reason: str = "upstream_http_error") -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure(reason)


def succeed(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_success()


def test_opens_after_consecutive_failures():
    breaker, _, changes = make(consecutive_failures=5)
    fail(breaker, 4)
    assert breaker.state is CLOSED
    fail(breaker, 1)
    assert breaker.state is OPEN
    assert not breaker.allow()
    assert changes == [
        ("a/small", CLOSED, OPEN, "5 consecutive failures (last: upstream_http_error)")
    ]


def test_a_success_breaks_the_run_of_failures():
    breaker, _, changes = make(consecutive_failures=3, min_requests=1000)
    for _ in range(5):
        fail(breaker, 2)
        succeed(breaker, 1)
    assert breaker.state is CLOSED
    assert changes == []


def test_opens_on_failure_rate_but_not_before_min_requests():
    breaker, _, changes = make(consecutive_failures=100, failure_rate=0.5, min_requests=10)
    succeed(breaker, 4)
    fail(breaker, 5)  # 5 of 9 fail: over the rate, but too few calls to judge
    assert breaker.state is CLOSED
    fail(breaker, 1)
    assert breaker.state is OPEN
    assert changes[-1][3] == "failure rate 60% over 30s (10 calls)"


def test_failure_rate_under_the_threshold_keeps_it_closed():
    breaker, _, _ = make(consecutive_failures=100, failure_rate=0.5, min_requests=10)
    for _ in range(10):
        succeed(breaker, 3)
        fail(breaker, 2)  # 40 %
    assert breaker.state is CLOSED
    assert breaker.snapshot()["failure_rate"] == 0.4


def test_failures_older_than_the_window_do_not_count():
    breaker, clock, _ = make(consecutive_failures=100, min_requests=10, window_s=30)
    fail(breaker, 9)
    clock.advance(31)
    fail(breaker, 9)  # 18 failures in a row, but never 10 calls within 30 s
    assert breaker.state is CLOSED
    snap = breaker.snapshot()
    assert (snap["window_calls"], snap["window_failures"]) == (9, 9)
    clock.advance(31)
    assert breaker.snapshot()["window_calls"] == 0


def test_cools_down_to_half_open():
    breaker, clock, changes = make(consecutive_failures=1, cooldown_s=10)
    fail(breaker, 1)
    clock.advance(9.9)
    assert breaker.state is OPEN
    assert not breaker.allow()
    assert breaker.snapshot()["half_open_in_s"] == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.state is HALF_OPEN
    assert changes[-1] == ("a/small", OPEN, HALF_OPEN, "cooldown of 10s elapsed")
    assert breaker.snapshot()["half_open_in_s"] is None


@pytest.mark.parametrize("probes", [1, 3])
def test_half_open_lets_exactly_the_probes_through(probes):
    breaker, clock, _ = make(consecutive_failures=1, half_open_probes=probes)
    fail(breaker, 1)
    clock.advance(10)
    assert [breaker.allow() for _ in range(probes + 2)] == [True] * probes + [False, False]
    breaker.release()  # a probe cancelled without a verdict frees its slot
    assert breaker.allow()
    assert not breaker.allow()
    assert breaker.state is HALF_OPEN


def test_a_successful_probe_closes_and_resets():
    breaker, clock, changes = make(consecutive_failures=2, cooldown_s=10)
    fail(breaker, 2)
    clock.advance(10)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is CLOSED
    assert changes[-1] == ("a/small", HALF_OPEN, CLOSED, "probe succeeded")
    snap = breaker.snapshot()
    assert snap["consecutive_failures"] == snap["window_calls"] == snap["window_failures"] == 0
    fail(breaker, 1)  # the run of failures starts again from zero
    assert breaker.state is CLOSED


def test_a_failed_probe_reopens_with_doubled_capped_cooldown():
    breaker, clock, changes = make(consecutive_failures=1, cooldown_s=10, max_cooldown_s=30)
    fail(breaker, 1)
    cooldowns = []
    for _ in range(4):
        clock.advance(1000)
        assert breaker.allow()
        breaker.record_failure("upstream_timeout")
        assert breaker.state is OPEN
        cooldowns.append(breaker.snapshot()["half_open_in_s"])
    assert cooldowns == [20, 30, 30, 30]
    assert changes[-1] == ("a/small", HALF_OPEN, OPEN, "probe failed: upstream_timeout")
    clock.advance(29.9)
    assert breaker.state is OPEN
    clock.advance(0.1)
    assert breaker.state is HALF_OPEN
    assert changes[-1][3] == "cooldown of 30s elapsed"

    # Once a probe succeeds the cooldown is back to the policy's.
    assert breaker.allow()
    breaker.record_success()
    fail(breaker, 1)
    assert breaker.snapshot()["half_open_in_s"] == 10


def test_trip_opens_for_the_given_time():
    breaker, clock, changes = make(cooldown_s=10)
    breaker.trip(30, "upstream_rate_limited")
    assert not breaker.allow()
    assert changes == [("a/small", CLOSED, OPEN, "tripped for 30s: upstream_rate_limited")]
    clock.advance(29)
    assert breaker.state is OPEN
    clock.advance(1)
    assert breaker.allow()  # the probe
    assert breaker.state is HALF_OPEN


def test_trip_while_open_only_lengthens_and_is_not_a_change():
    breaker, clock, changes = make(consecutive_failures=1, cooldown_s=10)
    fail(breaker, 1)
    breaker.trip(5, "upstream_rate_limited")  # shorter than what is left: no effect
    assert breaker.snapshot()["half_open_in_s"] == 10
    breaker.trip(60, "upstream_rate_limited")
    snap = breaker.snapshot()
    assert snap["half_open_in_s"] == 60
    assert snap["reason"] == "tripped for 60s: upstream_rate_limited"
    assert [new for _, _, new, _ in changes] == [OPEN]  # no OPEN -> OPEN callback
    clock.advance(59)
    assert breaker.state is OPEN


def test_a_failed_probe_after_a_short_trip_waits_at_least_the_base_cooldown():
    breaker, clock, _ = make(cooldown_s=10)
    breaker.trip(1, "upstream_rate_limited")
    clock.advance(1)
    assert breaker.allow()
    breaker.record_failure("upstream_rate_limited")
    assert breaker.snapshot()["half_open_in_s"] == 10


def test_late_verdicts_of_calls_admitted_before_opening_are_ignored():
    breaker, clock, changes = make(consecutive_failures=1)
    assert breaker.allow()  # a long call starts while closed...
    fail(breaker, 1)  # ...another one opens the breaker...
    breaker.record_success()  # ...then the long one ends well: still open
    assert breaker.state is OPEN
    clock.advance(10)
    breaker.record_success()  # half-open, but no probe was let through
    assert breaker.state is HALF_OPEN
    breaker.record_failure("upstream_timeout")
    assert breaker.state is HALF_OPEN
    assert [new for _, _, new, _ in changes] == [OPEN, HALF_OPEN]


def test_release_counts_nothing():
    breaker, _, _ = make(consecutive_failures=1)
    for _ in range(20):
        assert breaker.allow()
        breaker.release()
    snap = breaker.snapshot()
    assert snap["state"] == "closed"
    assert (snap["window_calls"], snap["consecutive_failures"]) == (0, 0)


def test_snapshot_of_an_open_breaker():
    breaker, clock, _ = make(consecutive_failures=3, min_requests=100)
    succeed(breaker, 1)
    fail(breaker, 3, "upstream_timeout")
    clock.advance(4)
    assert breaker.snapshot() == {
        "state": "open",
        "reason": "3 consecutive failures (last: upstream_timeout)",
        "half_open_in_s": 6.0,
        "consecutive_failures": 3,
        "window_calls": 4,
        "window_failures": 3,
        "failure_rate": 0.75,
    }


def test_works_without_a_callback():
    breaker = CircuitBreaker("x", BreakerPolicy(consecutive_failures=1), clock=Clock())
    breaker.record_failure("boom")
    assert breaker.state is OPEN


@pytest.mark.parametrize(
    "bad",
    [
        {"consecutive_failures": 0},
        {"failure_rate": 0.0},
        {"failure_rate": 1.5},
        {"window_s": 0},
        {"min_requests": 0},
        {"cooldown_s": -1},
        {"cooldown_s": 60, "max_cooldown_s": 30},
        {"half_open_probes": 0},
    ],
)
def test_policy_rejects_nonsense(bad):
    with pytest.raises(ValueError, match="invalid breaker policy"):
        BreakerPolicy(**bad)
