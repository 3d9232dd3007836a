"""The Redis limit engine against real Redis, side by side with the in-memory engine.

Shared cases run on both engines (memory on a fake clock, Redis on its own clock with
short windows and a few real sleeps) and expect the same answers; Redis-only cases
cover what only a shared store has: many clients at once, one round-trip per call,
key expiry, and an unreachable or misbehaving server.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from gatehouse.guard import redis_limiter
from gatehouse.guard.limiter import Limiter, LimiterUnavailable, Rule
from gatehouse.guard.memory_limiter import MemoryLimiter
from gatehouse.guard.redis_limiter import RedisLimiter
from tests.conftest import Clock


@dataclass
class Harness:
    """One engine under test: how to make it, how time passes, how exact its times are."""

    name: str
    make: Callable[..., Limiter]  # called inside the test's event loop
    wait: Callable[[float], Awaitable[None]]
    slack: float  # Redis's clock keeps running between calls

    def approx(self, seconds: float) -> Any:
        return pytest.approx(seconds, abs=self.slack or 1e-9)

    def run(self, body: Callable[[Limiter], Awaitable[None]], **options: Any) -> None:
        async def main() -> None:
            limiter = self.make(**options)
            try:
                await body(limiter)
            finally:
                await limiter.close()

        asyncio.run(main())


async def _delete_keys(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + ":*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def _keys(url: str, prefix: str) -> dict[str, int]:
    """Every key under the prefix and its TTL in ms (-1: none)."""
    client = Redis.from_url(url, decode_responses=True)
    try:
        return {key: await client.pttl(key) async for key in client.scan_iter(prefix + ":*")}
    finally:
        await client.aclose()


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix.rstrip(":")


@pytest.fixture
def redis_engine(redis_url: str, prefix: str):
    async def real_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds + 0.01)  # a timer may fire a hair early

    def make(**options: Any) -> RedisLimiter:
        # These cases test counting, not timeouts: a loaded CI machine (or a shared Redis
        # busy with someone else's script) can take longer than the 0.25 s default to connect.
        options.setdefault("timeout_s", 5.0)
        return RedisLimiter(redis_url, prefix=prefix, **options)

    yield Harness(
        "redis",
        make,
        real_sleep,
        slack=0.08,
    )
    asyncio.run(_delete_keys(redis_url, prefix))


@pytest.fixture(params=["memory", "redis"])
def engine(request: pytest.FixtureRequest) -> Harness:
    if request.param == "redis":
        harness: Harness = request.getfixturevalue("redis_engine")
        return harness
    clock = Clock()

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return Harness("memory", lambda **options: MemoryLimiter(clock=clock, **options), advance, 0)


RPM = Rule("key:k1:rpm", "requests", 5, 60.0, "key 'k1' requests per minute")
TPM = Rule("key:k1:tpm", "tokens", 1000, 60.0, "key 'k1' tokens per minute")
CONC = Rule("key:k1:conc", "concurrent", 2, 0.0, "key 'k1' calls in flight")
BUDGET = Rule("team:ml:budget:2026-11", "budget", 10_000, 3600.0, "team 'ml' budget")
FOREVER = Rule("key:k1:budget:total", "budget", 500, 0.0, "key 'k1' lifetime budget")


# --- shared cases ---------------------------------------------------------------------------


def test_requests_window_and_retry_after(engine: Harness):
    rule = Rule("rpm-short", "requests", 3, 0.6, "rpm")

    async def body(limiter: Limiter) -> None:
        for i in range(3):
            state = (await limiter.admit(f"r{i}", [rule], 0, 0, 10)).states[0]
            assert (state.used, state.remaining) == (i + 1, 2 - i)
            assert state.reset_s == engine.approx(0.6)
        refused = await limiter.admit("r3", [rule], 0, 0, 10)
        assert not refused.admitted and refused.refused == rule
        assert refused.retry_after_s == engine.approx(0.6)
        assert refused.states[0].used == 3
        assert refused.retry_after_s is not None
        await engine.wait(refused.retry_after_s)
        assert (await limiter.admit("r3", [rule], 0, 0, 10)).admitted
        assert await limiter.spend([rule]) == [(1, 0)]

    engine.run(body)


def test_requests_burst_of_three_times_the_limit_admits_the_limit_per_window(engine: Harness):
    rule = Rule("rpm-burst", "requests", 5, 0.4, "rpm")

    async def body(limiter: Limiter) -> None:
        per_window = []
        for w in range(3):
            results = [await limiter.admit(f"w{w}-{i}", [rule], 0, 0, 10) for i in range(15)]
            per_window.append(sum(r.admitted for r in results))
            await engine.wait(0.4)
        assert per_window == [5, 5, 5]

    engine.run(body)


def test_tokens_reserve_refund_charge_and_idempotent_settle(engine: Harness):
    async def body(limiter: Limiter) -> None:
        assert (await limiter.admit("a", [TPM], 600, 0, 10)).states[0].used == 600
        await limiter.settle("a", [TPM], 200, 0)
        await limiter.settle("a", [TPM], 900, 0)  # settled already: ignored
        assert await limiter.spend([TPM]) == [(200, 0)]
        assert (await limiter.admit("b", [TPM], 700, 0, 10)).states[0].used == 900
        await limiter.settle("b", [TPM], 750, 0)
        assert await limiter.spend([TPM]) == [(950, 0)]
        refused = await limiter.admit("c", [TPM], 100, 0, 10)
        assert refused.retry_after_s == engine.approx(60.0)  # a's entry has to leave
        assert (await limiter.admit("c", [TPM], 1001, 0, 10)).retry_after_s is None

    engine.run(body)


def test_tokens_retry_after_frees_enough_weight(engine: Harness):
    rule = Rule("tpm-retry", "tokens", 1000, 30.0, "tpm")

    async def body(limiter: Limiter) -> None:
        await limiter.admit("a", [rule], 400, 0, 10)
        await engine.wait(0.2)
        await limiter.admit("b", [rule], 300, 0, 10)
        await engine.wait(0.2)
        await limiter.admit("c", [rule], 200, 0, 10)
        refused = await limiter.admit("d", [rule], 500, 0, 10)  # needs a's 400
        assert refused.retry_after_s == engine.approx(30.0 - 0.4)
        refused = await limiter.admit("d", [rule], 700, 0, 10)  # needs a's and b's
        assert refused.retry_after_s == engine.approx(30.0 - 0.2)
        assert refused.states[0].reset_s == engine.approx(30.0)

    engine.run(body)


def test_tokens_settled_after_leaving_the_window_add_only_the_excess(engine: Harness):
    rule = Rule("tpm-late", "tokens", 1000, 0.3, "tpm")

    async def body(limiter: Limiter) -> None:
        await limiter.admit("long", [rule], 300, 0, 10)
        await limiter.admit("short", [rule], 300, 0, 10)
        await engine.wait(0.35)
        await limiter.settle("long", [rule], 800, 0)
        await limiter.settle("long", [rule], 800, 0)
        await limiter.settle("short", [rule], 100, 0)
        assert await limiter.spend([rule]) == [(500, 0)]

    engine.run(body)


def test_all_or_nothing(engine: Harness):
    small = Rule("key:k1:tpm-small", "tokens", 100, 60.0, "tpm")
    rules = [RPM, TPM, CONC, BUDGET, small]

    async def body(limiter: Limiter) -> None:
        refused = await limiter.admit("a", rules, 500, 100, 10)
        assert not refused.admitted and refused.refused == small
        assert refused.retry_after_s is None
        assert [s.used for s in refused.states] == [0, 0, 0, 0, 0]
        assert [s.remaining for s in refused.states] == [5, 1000, 2, 10_000, 100]
        assert await limiter.spend(rules) == [(0, 0)] * 5
        admitted = await limiter.admit("a", rules[:4], 500, 100, 10)
        assert admitted.admitted and admitted.refused is None and admitted.retry_after_s is None
        assert [s.used for s in admitted.states] == [1, 500, 1, 100]
        assert [s.remaining for s in admitted.states] == [4, 500, 1, 9_900]
        again = await limiter.admit("a", rules[:4], 500, 100, 10)  # same id: counted once
        assert again.admitted and [s.used for s in again.states] == [1, 500, 1, 100]

    engine.run(body)


def test_release_gives_back_everything_an_admission_took(engine: Harness):
    """An admission whose answer was lost (a timeout, a cancelled caller) takes nothing:
    not its requests entry, tokens, slot or reservation; an id never admitted, or
    released twice, changes nothing."""
    rpm = Rule("key:k1:rpm-2", "requests", 2, 60.0, "rpm")
    rules = [rpm, TPM, CONC, BUDGET]

    async def body(limiter: Limiter) -> None:
        assert (await limiter.admit("kept", rules, 100, 50, 30)).admitted
        assert (await limiter.admit("lost", rules, 300, 200, 30)).admitted
        assert await limiter.spend(rules) == [(2, 0), (400, 0), (2, 0), (0, 250)]
        for _ in range(2):
            await limiter.release("lost", rules)
        await limiter.release("never", rules)
        assert await limiter.spend(rules) == [(1, 0), (100, 0), (1, 0), (0, 50)]
        assert (await limiter.admit("next", rules, 100, 50, 30)).admitted  # rpm 2: room
        await limiter.settle("lost", rules, 300, 200)  # a late settle charges nothing
        assert await limiter.spend(rules) == [(2, 0), (200, 0), (2, 0), (0, 100)]
        # The released id is no longer held: admitting it again counts it (rpm 2 is full).
        again = await limiter.admit("lost", [rpm], 0, 0, 30)
        assert not again.admitted and again.states[0].used == 2

    engine.run(body)


def test_concurrent_leases(engine: Harness):
    async def body(limiter: Limiter) -> None:
        assert (await limiter.admit("a", [CONC], 0, 0, 0.3)).admitted
        assert (await limiter.admit("b", [CONC], 0, 0, 30)).admitted
        refused = await limiter.admit("c", [CONC], 0, 0, 30)
        assert not refused.admitted and refused.retry_after_s == 1.0
        assert (refused.states[0].used, refused.states[0].reset_s) == (2, 0.0)
        await limiter.settle("b", [CONC], 0, 0)
        await limiter.settle("b", [CONC], 0, 0)
        assert (await limiter.admit("c", [CONC], 0, 0, 30)).admitted
        assert not (await limiter.admit("d", [CONC], 0, 0, 30)).admitted
        await engine.wait(0.3)  # a never settled: its lease ends
        assert await limiter.spend([CONC]) == [(1, 0)]
        assert (await limiter.admit("d", [CONC], 0, 0, 30)).admitted

    engine.run(body)


def test_budget_reserve_settle_and_late_settle(engine: Harness):
    async def body(limiter: Limiter) -> None:
        first = await limiter.admit("a", [BUDGET], 0, 4000, 30)
        assert (first.states[0].used, first.states[0].remaining) == (4000, 6000)
        assert first.states[0].reset_s == 3600.0
        await limiter.admit("b", [BUDGET], 0, 4000, 0.3)
        refused = await limiter.admit("c", [BUDGET], 0, 4000, 30)
        assert not refused.admitted and refused.retry_after_s == 1.0
        await limiter.settle("a", [BUDGET], 0, 1500)
        await limiter.settle("a", [BUDGET], 0, 1500)
        assert await limiter.spend([BUDGET]) == [(1500, 4000)]
        await engine.wait(0.3)  # b's lease ended unsettled
        assert await limiter.spend([BUDGET]) == [(1500, 0)]
        await limiter.settle("b", [BUDGET], 0, 900)  # still charged, once
        await limiter.settle("b", [BUDGET], 0, 900)
        assert await limiter.spend([BUDGET]) == [(2400, 0)]

    engine.run(body)


def test_late_settle_is_forgotten_after_the_grace(engine: Harness):
    rule = Rule("tpm-forget", "tokens", 1000, 0.2, "tpm")

    async def body(limiter: Limiter) -> None:
        await limiter.admit("a", [rule, BUDGET], 300, 1000, 0.2)
        await engine.wait(0.5)
        await limiter.settle("a", [rule, BUDGET], 900, 1000)
        assert await limiter.spend([rule, BUDGET]) == [(0, 0), (0, 0)]

    engine.run(body, late_settle_s=0.2)


def test_budget_exhausted(engine: Harness):
    async def body(limiter: Limiter) -> None:
        await limiter.admit("a", [BUDGET, FOREVER], 0, 100, 30)
        await limiter.settle("a", [BUDGET, FOREVER], 0, 10_000)
        refused = await limiter.admit("b", [BUDGET], 0, 0, 30)  # even a free call
        assert not refused.admitted and refused.retry_after_s == 3600.0
        assert (refused.states[0].used, refused.states[0].remaining) == (10_000, 0)
        assert (await limiter.admit("b", [FOREVER], 0, 1, 30)).retry_after_s is None
        fresh = Rule("team:ml:budget:2026-12", "budget", 10_000, 3600.0, "next month")
        assert (await limiter.admit("b", [fresh], 0, 20_000, 30)).retry_after_s is None

    engine.run(body)


def test_seed_only_raises_spent(engine: Harness):
    async def body(limiter: Limiter) -> None:
        await limiter.seed(BUDGET, 3000)
        await limiter.seed(BUDGET, 1000)
        assert await limiter.spend([BUDGET]) == [(3000, 0)]
        assert (await limiter.admit("a", [BUDGET], 0, 7000, 30)).admitted
        assert not (await limiter.admit("b", [BUDGET], 0, 1, 30)).admitted
        with pytest.raises(ValueError):
            await limiter.seed(RPM, 1)

    engine.run(body)


def test_spend_of_every_kind(engine: Harness):
    async def body(limiter: Limiter) -> None:
        await limiter.admit("a", [RPM, TPM, CONC, BUDGET], 50, 70, 30)
        assert await limiter.spend([RPM, TPM, CONC, BUDGET]) == [(1, 0), (50, 0), (1, 0), (0, 70)]
        assert await limiter.spend([FOREVER]) == [(0, 0)]
        assert await limiter.spend([]) == []

    engine.run(body)


# --- Redis only -----------------------------------------------------------------------------


def test_many_clients_at_once_admit_exactly_the_limit(redis_url: str, prefix: str, redis_engine):
    rules = [
        Rule("race:rpm", "requests", 100, 60.0, "rpm"),
        Rule("race:tpm", "tokens", 10_000, 60.0, "tpm"),  # 100 calls of 100 tokens
        Rule("race:budget", "budget", 5_000, 3600.0, "budget"),  # 100 calls of 50
    ]

    async def main() -> None:
        # About the race, not latency: ~100 connections open at once on a busy machine
        # may take longer than the default quarter second.
        limiters = [RedisLimiter(redis_url, prefix=prefix, timeout_s=5.0) for _ in range(3)]
        try:
            results = await asyncio.gather(
                *(limiters[i % 3].admit(f"r{i}", rules, 100, 50, 30) for i in range(330))
            )
            assert sum(r.admitted for r in results) == 100
            assert all(s.used <= s.rule.limit for r in results for s in r.states)
            assert await limiters[0].spend(rules) == [(100, 0), (10_000, 0), (0, 5_000)]
        finally:
            for limiter in limiters:
                await limiter.close()

    asyncio.run(main())


def test_one_round_trip_per_admit_and_settle(redis_url: str, prefix: str, redis_engine):
    """What Redis sees from the engine's connections: one EVALSHA per call, nothing else."""
    name = f"limiter-{uuid.uuid4().hex[:8]}"
    named_url = f"{redis_url}{'&' if '?' in redis_url else '?'}client_name={name}"
    rules = (RPM, TPM, CONC, BUDGET, FOREVER, Rule("model:m:rpm", "requests", 9, 60, "m"))

    async def main() -> None:
        limiter = RedisLimiter(named_url, prefix=prefix)
        client = Redis.from_url(redis_url, decode_responses=True)
        try:
            await limiter.admit("warm-up", rules, 1, 1, 30)  # connects and loads the script
            async with client.monitor() as monitor:
                assert (await limiter.admit("a", rules, 10, 10, 30)).admitted
                await limiter.settle("a", rules, 5, 5)
                await limiter.settle("a", [RPM], 0, 0)  # a requests entry just counts: no call
                ours = {c["addr"] for c in await client.client_list() if c["name"] == name}
                marker = uuid.uuid4().hex
                await client.echo(marker)
                seen = []
                while marker not in (command := await monitor.next_command())["command"]:
                    if f"{command['client_address']}:{command.get('client_port')}" in ours:
                        seen.append(command["command"].split(" ", 1)[0])
            assert seen == ["EVALSHA", "EVALSHA"]
        finally:
            await client.aclose()
            await limiter.close()

    asyncio.run(main())


def test_a_script_flushed_from_redis_is_loaded_again_within_the_call(
    redis_url: str, redis_engine: Harness
):
    async def body(limiter: Limiter) -> None:
        assert (await limiter.admit("a", [RPM, TPM], 10, 0, 30)).admitted
        client = Redis.from_url(redis_url)
        await client.script_flush()  # as a restart or a failover to a fresh replica would
        await client.aclose()
        admitted = await limiter.admit("b", [RPM, TPM], 10, 0, 30)
        assert [s.used for s in admitted.states] == [2, 20]
        await limiter.settle("b", [RPM, TPM], 4, 0)
        assert await limiter.spend([RPM, TPM]) == [(2, 0), (14, 0)]

    redis_engine.run(body)


def test_a_call_cut_off_by_the_timeout_leaves_nothing_for_the_next(redis_url: str, prefix: str):
    """The reply to a timed-out call still comes; the next call must not read it as its own."""
    busy = (
        "local t = redis.call('TIME'); local start = t[1] * 1e6 + t[2]; repeat "
        "t = redis.call('TIME') until t[1] * 1e6 + t[2] - start > tonumber(ARGV[1])"
    )
    rpm = Rule("cut:rpm", "requests", 10, 60.0, "rpm")
    tpm = Rule("cut:tpm", "tokens", 1000, 60.0, "tpm")

    async def main() -> None:
        limiter = RedisLimiter(redis_url, prefix=prefix, timeout_s=0.03)
        blocker = Redis.from_url(redis_url)
        try:
            await limiter.admit("warm-up", [rpm], 0, 0, 30)  # one pooled connection, loaded
            # Redis runs one script at a time: this one holds it for 0.12 s.
            blocking = asyncio.create_task(blocker.eval(busy, 0, 120_000))
            await asyncio.sleep(0.02)
            with pytest.raises(LimiterUnavailable, match="did not answer admit within"):
                await limiter.admit("late", [rpm], 0, 0, 30)
            await blocking
            # Had the connection kept the late reply, this call would read [1, 0, -1, 2, ...].
            admitted = await limiter.admit("next", [tpm], 7, 0, 30)
            assert [(s.rule, s.used) for s in admitted.states] == [(tpm, 7)]
        finally:
            await blocker.aclose()
            await limiter.close()
            await _delete_keys(redis_url, prefix)

    asyncio.run(main())


def test_rules_are_framed_by_value_and_the_cache_is_bounded(
    redis_engine: Harness, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(redis_limiter, "MAX_FRAMED", 3)
    one = Rule("framed:rpm", "requests", 1, 60.0, "rpm")
    five = Rule("framed:rpm", "requests", 5, 60.0, "rpm")  # same counter, another limit
    other = Rule("framed:other", "requests", 1, 60.0, "rpm")

    async def body(limiter: Limiter) -> None:
        assert isinstance(limiter, RedisLimiter)
        assert (await limiter.admit("a", (one,), 0, 0, 30)).admitted
        assert not (await limiter.admit("b", (one,), 0, 0, 30)).admitted
        assert (await limiter.admit("b", (five,), 0, 0, 30)).states[0].used == 2
        assert (await limiter.admit("c", [other], 0, 0, 30)).admitted  # a list, by value
        assert not (await limiter.admit("d", (other,), 0, 0, 30)).admitted
        assert len(limiter._framed) == 3
        for i in range(4):
            await limiter.spend([Rule(f"framed:n{i}", "requests", 1, 60.0, "rpm")])
            assert len(limiter._framed) <= 3
        assert await limiter.spend([five, other]) == [(2, 0), (1, 0)]

    redis_engine.run(body)


def test_every_key_expires_but_a_lifetime_budget(redis_url: str, prefix: str, redis_engine):
    rules = [
        Rule("ttl:rpm", "requests", 5, 0.3, "rpm"),
        Rule("ttl:tpm", "tokens", 500, 0.3, "tpm"),
        Rule("ttl:conc", "concurrent", 5, 0, "conc"),
        Rule("ttl:month", "budget", 500, 0.3, "period"),
        Rule("ttl:total", "budget", 500, 0, "lifetime"),
    ]

    async def body(limiter: Limiter) -> None:
        await limiter.admit("a", rules, 10, 10, 0.3)
        await limiter.admit("b", rules, 10, 10, 0.3)
        await limiter.settle("a", rules, 20, 10)
        keys = await _keys(redis_url, prefix)
        assert sorted(k.removeprefix(prefix + ":ttl:") for k in keys) == [
            "conc:conc",
            "month:bud:lease",
            "month:bud:reserved",
            "month:bud:spent",
            "month:bud:val",
            "rpm:req",
            "total:bud:lease",
            "total:bud:reserved",
            "total:bud:spent",
            "total:bud:val",
            "tpm:tok",
            "tpm:tok:sum",
            "tpm:tok:val",
        ]
        assert [k for k, ttl in keys.items() if ttl < 0] == [f"{prefix}:ttl:total:bud:spent"]
        await asyncio.sleep(0.7)  # windows, leases and the late-settle grace are over
        assert await _keys(redis_url, prefix) == {f"{prefix}:ttl:total:bud:spent": -1}

    redis_engine.run(body, late_settle_s=0.2)


def test_unreachable_redis_raises_limiter_unavailable_quickly():
    async def main() -> None:
        limiter = RedisLimiter("redis://127.0.0.1:1/0", timeout_s=0.25)
        started = time.monotonic()
        try:
            with pytest.raises(LimiterUnavailable):
                await limiter.admit("a", [RPM], 0, 0, 30)
            with pytest.raises(LimiterUnavailable):
                await limiter.settle("a", [CONC], 0, 0)
        finally:
            await limiter.close()
        assert time.monotonic() - started < 1.0

    asyncio.run(main())


def test_an_error_reply_raises_limiter_unavailable(redis_url: str, prefix: str, redis_engine):
    async def body(limiter: Limiter) -> None:
        client = Redis.from_url(redis_url)
        await client.set(f"{prefix}:{RPM.name}:req", "not a sorted set")
        await client.aclose()
        with pytest.raises(LimiterUnavailable, match="WRONGTYPE"):
            await limiter.admit("a", [RPM], 0, 0, 30)

    redis_engine.run(body)


def test_random_operations_get_the_same_answers_from_both_engines(redis_engine: Harness):
    """Admits, settles (twice, some), seeds and spends at random, with nothing expiring."""
    rng = random.Random(11)
    rules = [
        Rule("diff:rpm", "requests", 40, 60.0, "rpm"),
        Rule("diff:tpm", "tokens", 3000, 60.0, "tpm"),
        Rule("diff:conc", "concurrent", 6, 0, "conc"),
        Rule("diff:budget", "budget", 20_000, 3600.0, "budget"),
        Rule("diff:model-rpm", "requests", 25, 60.0, "model rpm"),
        Rule("diff:total", "budget", 15_000, 0, "lifetime"),
    ]

    async def body(redis_limiter: Limiter) -> None:
        memory = MemoryLimiter()
        admitted: list[tuple[str, list[Rule]]] = []
        for step in range(600):
            roll = rng.random()
            if roll < 0.55 or not admitted:
                request_id = f"r{rng.randrange(step + 1)}"  # sometimes an id seen before
                chosen = rng.sample(rules, rng.randint(1, len(rules)))
                tokens, cost = rng.randint(0, 400), rng.randint(0, 1500)
                got = [
                    await limiter.admit(request_id, chosen, tokens, cost, 60)
                    for limiter in (memory, redis_limiter)
                ]
                assert got[0].admitted == got[1].admitted, step
                assert got[0].refused == got[1].refused, step
                assert [(s.used, s.remaining) for s in got[0].states] == [
                    (s.used, s.remaining) for s in got[1].states
                ], step
                for a, b in zip(got[0].states, got[1].states, strict=True):
                    assert a.reset_s == pytest.approx(b.reset_s, abs=1.0)
                if got[0].retry_after_s is None or got[1].retry_after_s is None:
                    assert got[0].retry_after_s == got[1].retry_after_s, step
                else:
                    assert got[0].retry_after_s == pytest.approx(got[1].retry_after_s, abs=1.0)
                if got[0].admitted:
                    admitted.append((request_id, chosen))
            elif roll < 0.9:
                request_id, chosen = rng.choice(admitted)
                tokens, cost = rng.randint(0, 600), rng.randint(0, 2000)
                for limiter in (memory, redis_limiter):
                    await limiter.settle(request_id, chosen, tokens, cost)
            elif roll < 0.93:
                spent = rng.randint(0, 18_000)
                for limiter in (memory, redis_limiter):
                    await limiter.seed(rules[3], spent)
            assert await memory.spend(rules) == await redis_limiter.spend(rules), step

    redis_engine.run(body)


def test_a_redis_that_accepts_but_never_answers_is_unavailable_within_the_timeout():
    """A call waits for a connection within its timeout too: a wedged Redis (stopped, or
    behind a proxy whose backend is gone) must not hold calls for as long as it is
    silent. The handshake goes on in the background within its own budget, then is cut
    off, and must not leave a connection without its SELECT."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)  # the kernel accepts; nothing ever reads or answers
    port = server.getsockname()[1]

    async def main() -> None:
        limiter = RedisLimiter(f"redis://127.0.0.1:{port}/3", timeout_s=0.2)
        try:
            for attempt in range(3):  # each reconnects: a fresh handshake to cut off
                with pytest.raises(LimiterUnavailable):
                    await asyncio.wait_for(limiter.admit(f"a{attempt}", [CONC], 0, 0, 30), 5)
                with pytest.raises(LimiterUnavailable):
                    await asyncio.wait_for(limiter.settle(f"a{attempt}", [CONC], 0, 0), 5)
            await asyncio.sleep(limiter._connect_budget_s + 0.5)  # the handshakes give up
            pool = limiter._pool
            assert not pool._in_use_connections and not limiter._connecting
            assert pool._available_connections
            assert not any(c.is_connected for c in pool._available_connections)
        finally:
            await limiter.close()

    try:
        asyncio.run(main())
    finally:
        server.close()


def test_a_redis_older_than_7_is_refused_and_7_is_taken(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
):
    from gatehouse.guard import redis_limiter
    from gatehouse.guard.limiter import LimiterUnsupported
    from gatehouse.guard.redis_limiter import redis_version

    assert redis_version(b"# Server\r\nredis_version:6.2.14\r\nredis_mode:standalone\r\n") == (
        6,
        2,
    )
    assert redis_version("redis_version:7.0.15\r\n") == (7, 0)
    assert redis_version(b"no version here") == (0, 0)

    async def main() -> None:
        limiter = RedisLimiter(redis_url, timeout_s=5.0)
        try:
            await limiter.check()  # this machine's Redis is 7 or later
            monkeypatch.setattr(redis_limiter, "MIN_REDIS", (99, 0))
            with pytest.raises(LimiterUnsupported, match=r"too old .* 99\.0 or later"):
                await limiter.check()
        finally:
            await limiter.close()
        unreachable = RedisLimiter("redis://127.0.0.1:1/0", timeout_s=0.25)
        try:
            with pytest.raises(LimiterUnavailable):
                await unreachable.check()
        finally:
            await unreachable.close()

    asyncio.run(main())


class _SlowLink:
    """A relay to Redis that delays every chunk by ``delay_s`` each way."""

    def __init__(self, redis_url: str, delay_s: float) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(redis_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.db = parts.path.lstrip("/") or "0"
        self.delay_s = delay_s

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def forward() -> None:
            while True:
                at, data = await queue.get()
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                if not data:
                    dst.close()
                    return
                dst.write(data)
                await dst.drain()

        forwarding = asyncio.ensure_future(forward())
        try:
            while True:
                data = await src.read(65536)
                await queue.put((time.monotonic() + self.delay_s, data))
                if not data:
                    break
            await forwarding
        except OSError:
            forwarding.cancel()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/{self.db}"


@pytest.mark.parametrize("timeout_s", [0.15, 0.28])
def test_a_redis_too_far_for_a_fresh_connection_but_not_for_a_call_still_serves(
    redis_url: str, prefix: str, timeout_s: float
):
    """60 ms a round trip: a fresh connection needs four (TCP, the handshake, the script
    loaded), a call one. With 150 ms a call, the connection must be finished in the
    background, not cut by every call's timeout forever; with 280 ms it is ready just
    in time, too late for the command, and must be kept for the next call rather than
    sent on, cut and thrown away."""

    async def main() -> list[bool]:
        link = _SlowLink(redis_url, 0.03)
        url = await link.start()
        limiter = RedisLimiter(url, prefix=prefix, timeout_s=timeout_s)
        answered = []
        try:
            for i in range(8):
                try:
                    await limiter.admit(f"r{i}", [RPM], 0, 0, 30)
                    answered.append(True)
                except LimiterUnavailable:
                    answered.append(False)
                    await asyncio.sleep(0.2)
        finally:
            await limiter.close()
            link.server.close()
            await _delete_keys(redis_url, prefix)
        return answered

    answered = asyncio.run(main())
    assert answered[-4:] == [True] * 4, answered
