"""Per-deployment live statistics and the sliding counter under them."""

from __future__ import annotations

import pytest

from gatehouse.routing.stats import DeploymentStats, SlidingCounter
from tests.conftest import Clock

# --- SlidingCounter ----------------------------------------------------------------


def test_counter_sums_within_the_window():
    counter = SlidingCounter(10, now=100.0)
    counter.add(100.0)
    counter.add(103.5, 4)
    counter.add(109.9, 2)
    assert counter.total(109.9) == 7


def test_counter_forgets_each_second_as_it_leaves_the_window():
    counter = SlidingCounter(10, now=100.0)
    counter.add(100.2, 1)
    counter.add(101.7, 10)
    assert counter.total(109.99) == 11
    assert counter.total(110.0) == 10  # second 100 has left a 10 s window
    assert counter.total(111.0) == 0


@pytest.mark.timeout(5)
def test_counter_after_a_long_idle_spell_starts_from_zero():
    counter = SlidingCounter(5, now=0.0)
    for second in range(5):
        counter.add(second + 0.5, 3)
    assert counter.total(4.5) == 15
    later = 1e12  # a gap this long must cost one sweep of the ring, not one step per second
    assert counter.total(later) == 0
    counter.add(later + 0.5, 2)
    assert counter.total(later + 1.0) == 2
    assert counter.total(later + 5.0) == 0  # and the ring still turns correctly afterwards


def test_counter_keeps_counting_when_the_clock_steps_back():
    counter = SlidingCounter(5, now=50.0)
    counter.add(50.0)
    counter.add(49.0)  # counted as "now", not lost and not misplaced
    assert counter.total(50.0) == 2
    assert counter.total(55.0) == 0


def test_counter_clear_and_short_windows():
    counter = SlidingCounter(0.25, now=0.0)  # less than a second still gets one bucket
    counter.add(0.1, 5)
    assert counter.total(0.9) == 5
    counter.clear()
    assert counter.total(0.9) == 0
    with pytest.raises(ValueError):
        SlidingCounter(0, now=0.0)


# --- DeploymentStats ---------------------------------------------------------------


def call(stats: DeploymentStats, clock: Clock, seconds: float, **verdict) -> None:
    started = stats.begin()
    clock.advance(seconds)
    stats.end(started, ok=verdict.pop("ok", True), **verdict)


def test_in_flight_follows_begin_end_and_cancel():
    clock = Clock()
    stats = DeploymentStats(clock=clock)
    first, _second, _third = stats.begin(), stats.begin(), stats.begin()
    assert first == clock.now
    assert stats.in_flight == 3
    stats.end(first, ok=True)
    stats.end(first, ok=False)
    stats.cancel()
    assert stats.in_flight == 0
    stats.cancel()  # a stray extra end never drives it negative
    assert stats.in_flight == 0


def test_latency_ewma_starts_at_the_first_sample_then_smooths():
    clock = Clock()
    stats = DeploymentStats(alpha=0.2, clock=clock)
    assert stats.ewma_latency_s is None
    assert stats.last_sample_at is None
    call(stats, clock, 1.0)
    assert stats.ewma_latency_s == pytest.approx(1.0)
    call(stats, clock, 2.0)
    assert stats.ewma_latency_s == pytest.approx(1.2)  # 0.2 * 2 + 0.8 * 1
    call(stats, clock, 3.0)
    assert stats.ewma_latency_s == pytest.approx(1.56)
    assert stats.last_sample_at == clock.now


def test_ttft_ewma_only_from_calls_that_report_it():
    clock = Clock()
    stats = DeploymentStats(alpha=0.5, clock=clock)
    call(stats, clock, 1.0)
    assert stats.ewma_ttft_s is None
    call(stats, clock, 2.0, ttft_s=0.4)
    call(stats, clock, 2.0, ttft_s=0.2)
    assert stats.ewma_ttft_s == pytest.approx(0.3)


def test_failures_are_counted_but_do_not_move_latency():
    clock = Clock()
    stats = DeploymentStats(clock=clock)
    call(stats, clock, 1.0)
    sampled_at = clock.now
    call(stats, clock, 0.01, ok=False)  # a fast failure must not make it look fast
    call(stats, clock, 0.01, ok=False, ttft_s=0.001)
    assert stats.ewma_latency_s == pytest.approx(1.0)
    assert stats.ewma_ttft_s is None
    assert stats.last_sample_at == sampled_at
    assert stats.requests_last_minute() == 3
    assert stats.error_rate() == pytest.approx(2 / 3)


def test_minute_windows_expire():
    clock = Clock()
    stats = DeploymentStats(clock=clock)
    assert stats.error_rate() == 0.0
    call(stats, clock, 0.5, tokens=100)
    call(stats, clock, 0.5, ok=False, tokens=7)
    clock.advance(30)
    call(stats, clock, 0.5, tokens=1000)
    stats.add_tokens(50)
    assert stats.requests_last_minute() == 3
    assert stats.tokens_last_minute() == 1157
    clock.advance(30)  # the first two calls are now more than a minute old
    assert stats.requests_last_minute() == 1
    assert stats.tokens_last_minute() == 1050
    assert stats.error_rate() == 0.0
    clock.advance(31)
    assert (stats.requests_last_minute(), stats.tokens_last_minute()) == (0, 0)
    assert stats.ewma_latency_s == pytest.approx(0.5)  # the average itself does not expire


def test_cancel_records_nothing():
    clock = Clock()
    stats = DeploymentStats(clock=clock)
    stats.begin()
    clock.advance(5)
    stats.cancel()
    assert stats.requests_last_minute() == 0
    assert stats.ewma_latency_s is None


def test_snapshot():
    clock = Clock()
    stats = DeploymentStats(clock=clock)
    assert stats.snapshot() == {
        "in_flight": 0,
        "ewma_latency_ms": None,
        "ewma_ttft_ms": None,
        "requests_last_minute": 0,
        "tokens_last_minute": 0,
        "error_rate": 0.0,
    }
    call(stats, clock, 0.25, ttft_s=0.05, tokens=30)
    call(stats, clock, 0.25, ok=False)
    stats.begin()
    assert stats.snapshot() == {
        "in_flight": 1,
        "ewma_latency_ms": 250.0,
        "ewma_ttft_ms": 50.0,
        "requests_last_minute": 2,
        "tokens_last_minute": 30,
        "error_rate": 0.5,
    }


def test_alpha_must_be_a_fraction():
    with pytest.raises(ValueError):
        DeploymentStats(alpha=0.0)
    with pytest.raises(ValueError):
        DeploymentStats(alpha=1.5)
