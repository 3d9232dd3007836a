"""The in-memory limit engine, on a fake clock: windows, tokens, leases, budgets, pruning.

The same semantics against real Redis (and this engine on a real clock) are in
test_redis_limiter.py.
"""

from __future__ import annotations

import random
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import pytest

from gatehouse.guard.limiter import LATE_SETTLE_S, Admission, Rule
from gatehouse.guard.memory_limiter import SWEEP_INTERVAL_S, MemoryLimiter
from tests.conftest import Clock

RPM = Rule("key:k1:rpm", "requests", 5, 60.0, "key 'k1' requests per minute")
TPM = Rule("key:k1:tpm", "tokens", 1000, 60.0, "key 'k1' tokens per minute")
CONC = Rule("key:k1:conc", "concurrent", 2, 0.0, "key 'k1' calls in flight")
BUDGET = Rule("team:ml:budget:2026-11", "budget", 10_000, 3600.0, "team 'ml' budget")
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Finish a MemoryLimiter call in one step: it must never await (that keeps it atomic)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("MemoryLimiter awaited something")


class Engine:
    """A MemoryLimiter on a fake clock, with synchronous calls for short tests."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.limiter = MemoryLimiter(clock=self.clock)
        self.ids = 0

    def admit(
        self,
        rules: Sequence[Rule],
        tokens: int = 0,
        cost: int = 0,
        lease_s: float = 30.0,
        request_id: str | None = None,
    ) -> Admission:
        if request_id is None:
            self.ids += 1
            request_id = f"req-{self.ids}"
        return run(self.limiter.admit(request_id, rules, tokens, cost, lease_s))

    def settle(
        self, request_id: str, rules: Sequence[Rule], tokens: int = 0, cost: int = 0
    ) -> None:
        run(self.limiter.settle(request_id, rules, tokens, cost))

    def spend(self, *rules: Rule) -> list[tuple[int, int]]:
        return run(self.limiter.spend(rules))


@pytest.fixture
def engine() -> Engine:
    return Engine()


# --- requests: an exact sliding window ----------------------------------------------------


def test_requests_burst_of_three_times_the_limit_admits_exactly_the_limit_per_window(engine):
    rule = Rule("rpm", "requests", 20, 60.0, "rpm")
    admitted = []
    for second in range(180):  # 60 requests per window, three windows
        if engine.admit([rule]).admitted:
            admitted.append(second)
        engine.clock.advance(1.0)
    per_window = [sum(1 for t in admitted if w * 60 <= t < (w + 1) * 60) for w in range(3)]
    assert per_window == [20, 20, 20]
    assert admitted[:20] == list(range(20)) and admitted[20:40] == list(range(60, 80))


def test_requests_never_more_than_the_limit_in_any_window_and_refusals_are_justified(engine):
    rule = Rule("rpm", "requests", 7, 10.0, "rpm")
    rng = random.Random(7)
    admitted: list[float] = []
    for _ in range(2000):
        engine.clock.advance(rng.choice([0.0, 0.01, 0.1, 0.5, 1.0, 3.0]))
        now = engine.clock.now
        in_window = sum(1 for t in admitted if t > now - 10.0)
        result = engine.admit([rule])
        assert result.admitted == (in_window < 7)
        if result.admitted:
            admitted.append(now)
    for t in admitted:
        assert sum(1 for u in admitted if t - 10.0 < u <= t) <= 7
    assert len(admitted) > 500


def test_requests_retry_after_is_when_the_oldest_needed_entry_leaves(engine):
    rule = Rule("rpm", "requests", 3, 10.0, "rpm")
    for _ in range(3):
        assert engine.admit([rule]).admitted
        engine.clock.advance(1.0)  # entries at 1000, 1001, 1002
    engine.clock.advance(0.5)  # now 1003.5
    refused = engine.admit([rule])
    assert not refused.admitted and refused.refused is rule
    assert refused.retry_after_s == pytest.approx(6.5)  # 1000 + 10 - 1003.5
    assert refused.states[0].used == 3 and refused.states[0].remaining == 0
    engine.clock.advance(6.5 - 1e-6)
    assert not engine.admit([rule]).admitted
    engine.clock.advance(1e-6)
    assert engine.admit([rule]).admitted


def test_requests_reset_is_when_every_entry_has_left(engine):
    rule = Rule("rpm", "requests", 5, 60.0, "rpm")
    first = engine.admit([rule]).states[0]
    assert (first.used, first.remaining, first.reset_s) == (1, 4, 60.0)
    engine.clock.advance(20.0)
    second = engine.admit([rule]).states[0]
    assert (second.used, second.remaining, second.reset_s) == (2, 3, 60.0)
    assert engine.spend(rule) == [(2, 0)]
    engine.clock.advance(45.0)  # the first left, the second has 15 s to go
    assert engine.spend(rule) == [(1, 0)]
    refused = engine.admit([rule, Rule("zero", "requests", 0, 1.0, "closed")])
    assert refused.retry_after_s is None  # a limit of 0 never admits
    assert refused.states[0].reset_s == pytest.approx(15.0)


# --- tokens: reserve at admission, correct at settle ---------------------------------------


def test_tokens_reserve_then_refund_and_charge_at_settle(engine):
    assert engine.admit([TPM], tokens=600, request_id="a").states[0].used == 600
    engine.settle("a", [TPM], tokens=200)  # refund
    assert engine.spend(TPM) == [(200, 0)]
    assert engine.admit([TPM], tokens=700, request_id="b").states[0].used == 900
    engine.settle("b", [TPM], tokens=750)  # charge
    assert engine.spend(TPM) == [(950, 0)]
    refused = engine.admit([TPM], tokens=100)
    assert not refused.admitted and refused.retry_after_s == pytest.approx(60.0)
    engine.clock.advance(60.0)  # both entries kept their admission time
    assert engine.spend(TPM) == [(0, 0)]


def test_tokens_settle_is_idempotent(engine):
    engine.admit([TPM], tokens=500, request_id="a")
    engine.settle("a", [TPM], tokens=100)
    engine.settle("a", [TPM], tokens=100)
    engine.settle("a", [TPM], tokens=900)  # a second settle changes nothing
    assert engine.spend(TPM) == [(100, 0)]


def test_tokens_settled_after_the_window_add_only_the_excess_at_now(engine):
    engine.admit([TPM], tokens=300, request_id="long")
    engine.admit([TPM], tokens=300, request_id="short")
    engine.clock.advance(90.0)  # both entries left the window before their calls ended
    engine.settle("long", [TPM], tokens=800)
    engine.settle("short", [TPM], tokens=100)  # less than reserved: nothing to add
    assert engine.spend(TPM) == [(500, 0)]
    engine.settle("long", [TPM], tokens=800)
    assert engine.spend(TPM) == [(500, 0)]
    engine.clock.advance(60.0)
    assert engine.spend(TPM) == [(0, 0)]


def test_tokens_retry_after_counts_weight_not_entries(engine):
    engine.admit([TPM], tokens=400)  # t=1000
    engine.clock.advance(10.0)
    engine.admit([TPM], tokens=300)  # t=1010
    engine.clock.advance(10.0)
    engine.admit([TPM], tokens=200)  # t=1020, sum 900
    engine.clock.advance(5.0)
    refused = engine.admit([TPM], tokens=500)  # needs 400 freed: the first entry
    assert refused.retry_after_s == pytest.approx(35.0)  # 1000 + 60 - 1025
    refused = engine.admit([TPM], tokens=700)  # needs 600: the first two
    assert refused.retry_after_s == pytest.approx(45.0)
    assert engine.admit([TPM], tokens=1001).retry_after_s is None  # more than the limit
    assert engine.admit([TPM], tokens=100).admitted


def test_late_settle_is_forgotten_after_the_grace(engine):
    engine.admit([TPM], tokens=300, request_id="a")
    engine.admit([BUDGET], cost=1000, lease_s=30.0, request_id="b")
    engine.clock.advance(60.0 + 30.0 + LATE_SETTLE_S)
    engine.settle("a", [TPM], tokens=900)
    engine.settle("b", [BUDGET], cost=1000)
    assert engine.spend(TPM, BUDGET) == [(0, 0), (0, 0)]


# --- all or nothing -------------------------------------------------------------------------


def test_a_refused_rule_leaves_the_others_untouched(engine):
    small = Rule("key:k1:tpm-small", "tokens", 100, 60.0, "tpm")
    rules = [RPM, TPM, CONC, BUDGET, small]
    result = engine.admit(rules, tokens=500, cost=100)
    assert not result.admitted and result.refused is small
    assert result.retry_after_s is None
    assert [s.used for s in result.states] == [0, 0, 0, 0, 0]
    assert [s.remaining for s in result.states] == [5, 1000, 2, 10_000, 100]
    assert engine.spend(*rules) == [(0, 0)] * 5
    ok = engine.admit(rules[:4], tokens=500, cost=100)
    assert ok.admitted and ok.refused is None and ok.retry_after_s is None
    assert [s.used for s in ok.states] == [1, 500, 1, 100]


def test_the_first_refusing_rule_in_order_is_reported(engine):
    tight = Rule("tight", "requests", 1, 60.0, "tight")
    engine.admit([tight])
    result = engine.admit([RPM, CONC, tight, Rule("zero", "concurrent", 0, 0, "z")])
    assert result.refused is tight and result.retry_after_s == pytest.approx(60.0)


def test_an_id_already_recorded_is_not_counted_twice(engine):
    rules = [RPM, TPM, CONC, BUDGET]
    first = engine.admit(rules, tokens=100, cost=100, request_id="same")
    again = engine.admit(rules, tokens=100, cost=100, request_id="same")
    assert first.admitted and again.admitted
    assert [s.used for s in again.states] == [1, 100, 1, 100]


# --- concurrency: leases ------------------------------------------------------------------


def test_concurrent_leases_release_at_settle(engine):
    assert engine.admit([CONC], request_id="a").admitted
    assert engine.admit([CONC], request_id="b").admitted
    refused = engine.admit([CONC], request_id="c")
    assert not refused.admitted and refused.retry_after_s == 1.0
    assert refused.states[0].used == 2 and refused.states[0].reset_s == 0.0
    engine.settle("a", [CONC])
    engine.settle("a", [CONC])
    assert engine.admit([CONC], request_id="c").admitted
    assert not engine.admit([CONC], request_id="d").admitted


def test_concurrent_slots_of_a_crashed_caller_come_back_when_the_lease_ends(engine):
    engine.admit([CONC], lease_s=10.0)
    engine.clock.advance(5.0)
    engine.admit([CONC], lease_s=10.0)
    engine.clock.advance(4.9)
    assert not engine.admit([CONC]).admitted
    engine.clock.advance(0.1)  # the first lease ended
    assert engine.spend(CONC) == [(1, 0)]
    assert engine.admit([CONC]).admitted


# --- budgets ------------------------------------------------------------------------------


def test_budget_reserves_then_settles_the_real_cost(engine):
    first = engine.admit([BUDGET], cost=4000, request_id="a")
    assert first.states[0].used == 4000 and first.states[0].remaining == 6000
    assert first.states[0].reset_s == 3600.0
    engine.admit([BUDGET], cost=4000, request_id="b")
    refused = engine.admit([BUDGET], cost=4000)  # 8000 reserved + 4000 > 10000
    assert not refused.admitted and refused.retry_after_s == 1.0  # others' reservations
    assert engine.spend(BUDGET) == [(0, 8000)]
    engine.settle("a", [BUDGET], cost=1500)
    assert engine.spend(BUDGET) == [(1500, 4000)]
    assert engine.admit([BUDGET], cost=4000, request_id="c").admitted


def test_budget_settle_is_idempotent_even_after_the_lease_ended(engine):
    engine.admit([BUDGET], cost=1000, lease_s=30.0, request_id="a")
    engine.admit([BUDGET], cost=1000, lease_s=30.0, request_id="b")
    engine.settle("a", [BUDGET], cost=700)
    engine.settle("a", [BUDGET], cost=700)
    engine.clock.advance(31.0)  # b's lease ended: no longer reserved...
    assert engine.spend(BUDGET) == [(700, 0)]
    engine.settle("b", [BUDGET], cost=900)  # ...but its late settle still counts, once
    engine.settle("b", [BUDGET], cost=900)
    assert engine.spend(BUDGET) == [(1600, 0)]


def test_budget_exhausted_refuses_until_the_period_ends(engine):
    engine.admit([BUDGET], cost=100, request_id="a")
    engine.settle("a", [BUDGET], cost=10_000)
    engine.clock.advance(100.0)
    refused = engine.admit([BUDGET], cost=0)  # spent >= limit refuses even a free call
    assert not refused.admitted and refused.retry_after_s == 3600.0
    assert refused.states[0].remaining == 0
    forever = Rule("key:k1:total", "budget", 500, 0.0, "lifetime")
    engine.admit([forever], cost=500, request_id="b")
    engine.settle("b", [forever], cost=500)
    assert engine.admit([forever], cost=1).retry_after_s is None
    assert engine.admit([BUDGET], cost=20_000).retry_after_s is None  # never fits
    engine.clock.advance(3500.0)  # spent expires window_s after its last write
    assert engine.admit([BUDGET], cost=100).admitted
    engine.clock.advance(1e6)
    assert engine.spend(forever) == [(500, 0)]


def test_budget_never_admits_past_its_limit(engine):
    rule = Rule("b", "budget", 50_000, 0.0, "b")
    rng = random.Random(3)
    open_calls: list[tuple[str, int]] = []
    for i in range(3000):
        if open_calls and rng.random() < 0.5:
            request_id, reserved = open_calls.pop(rng.randrange(len(open_calls)))
            engine.settle(request_id, [rule], cost=rng.randint(0, reserved))
        else:
            cost = rng.randint(1, 2000)
            if engine.admit([rule], cost=cost, request_id=f"r{i}").admitted:
                open_calls.append((f"r{i}", cost))
        spent, reserved = engine.spend(rule)[0]
        assert spent + reserved <= 50_000
    assert spent > 45_000  # it did fill up


def test_seed_only_raises_spent(engine):
    run(engine.limiter.seed(BUDGET, 3000))
    run(engine.limiter.seed(BUDGET, 1000))
    assert engine.spend(BUDGET) == [(3000, 0)]
    assert engine.admit([BUDGET], cost=7000).admitted
    assert not engine.admit([BUDGET], cost=1).admitted
    with pytest.raises(ValueError):
        run(engine.limiter.seed(RPM, 1))


def test_spend_reports_usage_of_every_kind(engine):
    engine.admit([RPM, TPM, CONC, BUDGET], tokens=50, cost=70)
    assert engine.spend(RPM, TPM, CONC, BUDGET) == [(1, 0), (50, 0), (1, 0), (0, 70)]
    assert engine.spend(Rule("never-used", "budget", 1, 0, "x")) == [(0, 0)]


# --- memory -------------------------------------------------------------------------------


def test_idle_counters_are_pruned(engine):
    limiter = engine.limiter
    for i in range(50):
        rules = [
            Rule(f"k{i}:rpm", "requests", 5, 60.0, "rpm"),
            Rule(f"k{i}:tpm", "tokens", 500, 60.0, "tpm"),
            Rule(f"k{i}:conc", "concurrent", 5, 0.0, "conc"),
            Rule(f"k{i}:budget", "budget", 500, 0.0, "budget"),
        ]
        engine.admit(rules, tokens=10, cost=10, request_id=f"r{i}")
        engine.settle(f"r{i}", rules, tokens=10, cost=0)  # nothing spent: budgets empty too
    kept = Rule("kept", "budget", 500, 0.0, "spent, never expires")
    engine.admit([kept], cost=5, request_id="k")
    engine.settle("k", [kept], cost=5)
    assert limiter.counters == 201
    engine.clock.advance(SWEEP_INTERVAL_S + 1)
    for _ in range(60):  # each call sweeps a few counters
        engine.spend(RPM)
    assert limiter.counters == 1
    assert engine.spend(kept) == [(5, 0)]


def test_rules_are_validated():
    with pytest.raises(ValueError):
        Rule("x", "requests", 5, 0.0, "a window is needed")
    with pytest.raises(ValueError):
        Rule("x", "budget", -1, 0.0, "negative")
    with pytest.raises(ValueError):
        Rule("x", "bogus", 1, 1.0, "kind")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run(MemoryLimiter().admit("r", [RPM], 0, 0, lease_s=0))
