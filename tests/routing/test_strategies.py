"""Load-balancing strategies: each one's order, with seeded randomness and a fake clock."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from gatehouse.routing.stats import DeploymentStats
from gatehouse.routing.strategies import (
    STRATEGIES,
    LeastLatency,
    make_strategy,
)
from tests.conftest import Clock

DRAWS = 10_000


CLOCK = Clock()  # shared by the strategies and the stats of one test; reset per test


@pytest.fixture(autouse=True)
def _reset_clock():
    CLOCK.now = 1000.0


@dataclass(frozen=True)
class Dep:
    name: str
    weight: float = 1.0
    price_input: float | None = None
    price_output: float | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    stats: DeploymentStats = field(default_factory=lambda: DeploymentStats(clock=CLOCK))


def names(deps) -> list[str]:
    return [d.name for d in deps]


def strategy(name: str, seed: int = 7, **settings):
    if settings:
        return STRATEGIES[name](rng=random.Random(seed), clock=CLOCK, **settings)
    return make_strategy(name, random.Random(seed), clock=CLOCK)


def sample(dep: Dep, latency: float, ttft: float | None = None) -> None:
    """One successful call of `latency` seconds ending now."""
    started = dep.stats.begin()
    dep.stats.end(started - latency, ok=True, ttft_s=ttft)


def first_share(strat, deps, name: str, draws: int = DRAWS) -> float:
    return sum(strat.order(deps)[0].name == name for _ in range(draws)) / draws


# --- the registry ------------------------------------------------------------------


def test_every_strategy_is_registered_under_its_own_name():
    assert set(STRATEGIES) == {
        "weighted",
        "round-robin",
        "least-inflight",
        "least-latency",
        "lowest-cost",
        "headroom",
    }
    for name in STRATEGIES:
        assert make_strategy(name).name == name


def test_unknown_strategy_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"'fastest'.*weighted, round-robin, least-inflight"):
        make_strategy("fastest")


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_returns_a_permutation(name):
    deps = [Dep(n, weight=w) for n, w in zip("abcde", [1, 2, 3, 4, 5], strict=True)]
    strat = strategy(name)
    for _ in range(50):
        assert sorted(names(strat.order(deps))) == list("abcde")
    assert strat.order([]) == []
    assert strat.order(deps[:1]) == deps[:1]


# --- weighted ----------------------------------------------------------------------


def test_weighted_order_is_sampling_without_replacement():
    deps = [Dep("a", weight=3), Dep("b", weight=2), Dep("c", weight=1)]
    strat = strategy("weighted")
    counts = Counter("".join(names(strat.order(deps))) for _ in range(DRAWS))
    # P(x, y, z) = w_x / 6 * w_y / (6 - w_x)
    expected = {
        "abc": 3 / 6 * 2 / 3,
        "acb": 3 / 6 * 1 / 3,
        "bac": 2 / 6 * 3 / 4,
        "bca": 2 / 6 * 1 / 4,
        "cab": 1 / 6 * 3 / 5,
        "cba": 1 / 6 * 2 / 5,
    }
    for order, p in expected.items():
        assert counts[order] / DRAWS == pytest.approx(p, abs=0.015), order


def test_weighted_order_is_reproducible_with_a_seed():
    deps = [Dep(n) for n in "abcd"]
    first = [names(strategy("weighted", seed=3).order(deps)) for _ in range(5)]
    again = [names(strategy("weighted", seed=3).order(deps)) for _ in range(5)]
    assert first == again


# --- round-robin -------------------------------------------------------------------


def test_round_robin_rotates_the_start_and_keeps_list_order():
    deps = [Dep(n) for n in "abcd"]
    strat = strategy("round-robin")
    orders = ["".join(names(strat.order(deps))) for _ in range(8)]
    rotations = ["abcd", "bcda", "cdab", "dabc"]
    start = rotations.index(orders[0])
    assert orders == [rotations[(start + i) % 4] for i in range(8)]


def test_round_robin_workers_start_at_different_places():
    deps = [Dep(n) for n in "abcdefgh"]
    starts = {strategy("round-robin", seed=s).order(deps)[0].name for s in range(20)}
    assert len(starts) > 3


# --- least-inflight ----------------------------------------------------------------


def test_least_inflight_puts_the_least_busy_first():
    a, b, c = Dep("a"), Dep("b"), Dep("c")
    for dep, busy in ((a, 3), (b, 1), (c, 2)):
        for _ in range(busy):
            dep.stats.begin()
    assert names(strategy("least-inflight").order([a, b, c])) == ["b", "c", "a"]


def test_least_inflight_breaks_ties_by_weight():
    deps = [Dep("a", weight=3), Dep("b", weight=1), Dep("busy", weight=100)]
    deps[2].stats.begin()
    strat = strategy("least-inflight")
    assert first_share(strat, deps, "a") == pytest.approx(0.75, abs=0.02)
    assert all(strat.order(deps)[-1].name == "busy" for _ in range(100))


# --- least-latency -----------------------------------------------------------------


def test_least_latency_puts_the_fastest_first():
    fast, mid, slow = Dep("fast"), Dep("mid"), Dep("slow")
    sample(slow, 3.0)
    sample(fast, 0.5)
    sample(mid, 1.0)
    strat = strategy("least-latency", epsilon=0.0)
    assert all(names(strat.order([slow, mid, fast])) == ["fast", "mid", "slow"] for _ in range(50))


def test_least_latency_explores_a_new_deployment_first():
    seen, new = Dep("seen"), Dep("new")
    sample(seen, 0.1)
    strat = strategy("least-latency", epsilon=0.0)
    assert names(strat.order([seen, new])) == ["new", "seen"]
    # Once one call is on its way there, the others wait for its verdict.
    new.stats.begin()
    assert names(strat.order([seen, new])) == ["seen", "new"]


def test_least_latency_explores_a_stale_deployment_again():
    fast, slow = Dep("fast"), Dep("slow")
    sample(slow, 5.0)
    strat = strategy("least-latency", epsilon=0.0, explore_after_s=30.0)
    CLOCK.advance(29)
    sample(fast, 0.2)
    assert names(strat.order([slow, fast])) == ["fast", "slow"]
    CLOCK.advance(1.5)  # slow's only sample is now 30.5 s old
    assert names(strat.order([slow, fast])) == ["slow", "fast"]
    slow.stats.begin()  # the exploring call: back to ranking by its old score meanwhile
    assert names(strat.order([slow, fast])) == ["fast", "slow"]


def test_least_latency_scores_by_ttft_when_all_stream():
    a, b = Dep("a"), Dep("b")
    sample(a, 2.0, ttft=0.1)  # 0.1 + 0.2 * 2.0 = 0.5
    sample(b, 1.0, ttft=0.4)  # 0.4 + 0.2 * 1.0 = 0.6
    strat = strategy("least-latency", epsilon=0.0)
    assert names(strat.order([b, a])) == ["a", "b"]
    c = Dep("c")
    sample(c, 1.5)  # no TTFT known for c: everyone is compared by latency alone
    assert names(strat.order([a, b, c])) == ["b", "c", "a"]


def test_least_latency_explores_with_probability_epsilon():
    fast, slow = Dep("fast"), Dep("slow")
    sample(fast, 0.1)
    sample(slow, 1.0)
    # Exploring draws a weighted random order: slow comes first in half of those.
    assert first_share(strategy("least-latency", epsilon=0.2), [fast, slow], "slow") == (
        pytest.approx(0.1, abs=0.015)
    )
    assert first_share(strategy("least-latency", epsilon=0.0), [fast, slow], "slow") == 0.0


def test_least_latency_rejects_a_bad_epsilon():
    with pytest.raises(ValueError):
        LeastLatency(epsilon=1.5)


# --- lowest-cost -------------------------------------------------------------------


def test_lowest_cost_puts_the_cheapest_first_and_unknown_prices_last():
    deps = [
        Dep("unknown"),
        Dep("half-known", price_input=0.01),
        Dep("dear", price_input=5.0, price_output=15.0),
        Dep("cheap", price_input=0.15, price_output=0.6),
        Dep("free", price_input=0.0, price_output=0.0),
    ]
    orders = {tuple(names(strategy("lowest-cost", seed=s).order(deps))) for s in range(30)}
    assert {order[:3] for order in orders} == {("free", "cheap", "dear")}
    assert {frozenset(order[3:]) for order in orders} == {frozenset({"unknown", "half-known"})}
    assert len(orders) == 2  # the two unknowns come in either order


def test_lowest_cost_breaks_ties_by_weight():
    deps = [
        Dep("a", weight=1, price_input=1.0, price_output=2.0),
        Dep("b", weight=4, price_input=2.0, price_output=1.0),
    ]
    assert first_share(strategy("lowest-cost"), deps, "b") == pytest.approx(0.8, abs=0.02)


# --- headroom ----------------------------------------------------------------------


def finish_calls(dep: Dep, calls: int, tokens: int = 0) -> None:
    for _ in range(calls):
        dep.stats.end(dep.stats.begin(), ok=True, tokens=tokens)


def test_headroom_puts_the_most_spare_capacity_first():
    busy, idle, unknown = (
        Dep("busy", rpm_limit=100),
        Dep("idle", rpm_limit=100),
        Dep("unknown"),
    )
    finish_calls(busy, 60)
    finish_calls(idle, 10)
    finish_calls(unknown, 500)  # no limit known: counts as full headroom
    assert names(strategy("headroom").order([busy, idle, unknown])) == ["unknown", "idle", "busy"]


def test_headroom_takes_the_tighter_of_rpm_and_tpm():
    by_rpm = Dep("by_rpm", rpm_limit=100, tpm_limit=100_000)
    by_tpm = Dep("by_tpm", rpm_limit=100, tpm_limit=100_000)
    finish_calls(by_rpm, 50, tokens=100)  # rpm 50 % used, tpm 5 %
    finish_calls(by_tpm, 10, tokens=7_000)  # rpm 10 %, tpm 70 %
    assert names(strategy("headroom").order([by_tpm, by_rpm])) == ["by_rpm", "by_tpm"]


def test_headroom_counts_calls_in_flight_and_this_calls_tokens():
    a, b = Dep("a", rpm_limit=10), Dep("b", rpm_limit=10)
    finish_calls(a, 2)
    for _ in range(5):
        b.stats.begin()  # started, not finished: the upstream already counts them
    assert names(strategy("headroom").order([b, a])) == ["a", "b"]

    small, big = Dep("small", tpm_limit=10_000), Dep("big", tpm_limit=100_000)
    finish_calls(small, 1, tokens=1_000)
    finish_calls(big, 1, tokens=50_000)
    strat = strategy("headroom")
    assert names(strat.order([big, small])) == ["small", "big"]
    # A 9,500-token call would take small over its limit; big still has room.
    assert names(strat.order([small, big], estimated_tokens=9_500)) == ["big", "small"]


def test_headroom_pushes_saturated_deployments_last_until_the_minute_passes():
    full = Dep("full", weight=100, rpm_limit=5)
    over = Dep("over", weight=100, tpm_limit=1_000)
    spare = Dep("spare", weight=1, rpm_limit=1_000, tpm_limit=1_000_000)
    finish_calls(full, 5)  # exactly at its limit
    finish_calls(over, 1, tokens=5_000)
    finish_calls(spare, 990)  # 1 % left, still ahead of any saturated one
    strat = strategy("headroom")
    lasts = Counter(tuple(names(strat.order([full, over, spare]))) for _ in range(1_000))
    assert set(lasts) == {("spare", "full", "over"), ("spare", "over", "full")}
    # Saturated ones are equals among themselves: weighted random, so both come second.
    assert min(lasts.values()) > 400
    CLOCK.advance(61)  # all have full headroom again: weight decides, and spare weighs little
    assert first_share(strat, [spare, full, over], "spare", draws=1_000) < 0.05
