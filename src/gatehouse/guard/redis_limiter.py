"""The limit engine shared by every worker and replica: counters in Redis, one Lua call each.

Each `admit`, `settle`, `spend` and `seed` is a single EVALSHA of ``lua/limits.lua``,
which holds every rule of the call, so it is atomic and costs one round-trip. The
semantics are `Limiter`'s, the same as `MemoryLimiter`'s; the script uses Redis's own
clock, so replicas agree on time. Keys are ``{prefix}:{rule.name}:{part}`` (parts per
kind in `_PARTS`); every write sets their TTL, so idle counters expire by themselves.

One call's keys span several rules and therefore several hash slots: the engine needs a
single Redis (with replicas if wanted), not Redis Cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gatehouse.guard.limiter import (
    LATE_SETTLE_S,
    Admission,
    LimiterUnavailable,
    Rule,
    check_amounts,
    make_admission,
)

#: Connections per engine; one script call takes ~0.1 ms, so few serve many calls.
POOL_SIZE = 32
#: Key suffixes per kind, in the order the script reads them (see the script's header).
_PARTS: dict[str, tuple[str, ...]] = {
    "requests": ("req",),
    "tokens": ("tok", "tok:val", "tok:late", "tok:sum"),
    "concurrent": ("conc",),
    "budget": ("bud:lease", "bud:val", "bud:late", "bud:reserved", "bud:spent"),
}


@functools.cache
def _script_source() -> str:
    return resources.files("gatehouse.guard").joinpath("lua/limits.lua").read_text("utf-8")


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


class RedisLimiter:
    """Rate limits, concurrency and budgets kept in Redis; see `Limiter` for the semantics."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "gatehouse",
        timeout_s: float = 0.25,
        late_settle_s: float = LATE_SETTLE_S,
    ) -> None:
        # A burst beyond the pool waits (up to timeout_s) for a connection instead of
        # failing, as redis-py's default pool does past its size. No retries: the caller
        # has a latency budget and an on_error policy. (A retried admit would be harmless
        # anyway: an id is counted once.)
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        self._redis = Redis.from_pool(pool)
        self._script = self._redis.register_script(_script_source())
        self._prefix = prefix
        self._grace_us = _us(late_settle_s)

    async def admit(
        self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int, lease_s: float
    ) -> Admission:
        check_amounts(tokens, cost, lease_s)
        if not rules:
            return Admission(True, [], None, None)
        reply = await self._run("admit", rules, request_id, tokens, cost, _us(lease_s))
        admitted, refused_at, retry_us = reply[0], reply[1], reply[2]
        usage = [(int(reply[i]), reply[i + 1] / 1e6) for i in range(3, len(reply), 2)]
        if admitted:
            return make_admission(rules, usage, None, None)
        retry_after_s = None if retry_us < 0 else retry_us / 1e6
        return make_admission(rules, usage, refused_at - 1, retry_after_s)

    async def settle(self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int) -> None:
        rules = [rule for rule in rules if rule.kind != "requests"]  # a request just counts
        if rules:
            await self._run("settle", rules, request_id, tokens, cost, 0)

    async def spend(self, rules: Sequence[Rule]) -> list[tuple[int, int]]:
        if not rules:
            return []
        reply = await self._run("spend", rules, "", 0, 0, 0)
        return [(int(reply[i]), int(reply[i + 1])) for i in range(0, len(reply), 2)]

    async def seed(self, rule: Rule, spent: int) -> None:
        if rule.kind != "budget":
            raise ValueError(f"only a budget rule can be seeded, not {rule.kind!r}")
        await self._run("seed", [rule], "", 0, spent, 0)

    async def close(self) -> None:
        await self._redis.aclose()

    async def _run(
        self, op: str, rules: Sequence[Rule], request_id: str, tokens: int, cost: int, lease_us: int
    ) -> Any:
        keys: list[str] = []
        args: list[str | int] = [op, request_id, tokens, cost, lease_us, self._grace_us]
        for rule in rules:
            base = f"{self._prefix}:{rule.name}:"
            keys.extend(base + part for part in _PARTS[rule.kind])
            args += (rule.kind, rule.limit, _us(rule.window_s))
        try:
            return await self._script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(f"limit store (Redis) failed on {op}: {exc}") from exc
