"""What authenticating a key and checking its limits costs per call.

    .venv/bin/python bench/limits.py                       # in memory
    .venv/bin/python bench/limits.py --redis redis://127.0.0.1:6379/0

One call's check as the gateway makes it: the key looked up in the snapshot (SHA-256
of the secret), the (key, model) rules from the policy's cache, the reservation
estimated from a ~2 KB prompt, and one admission over six rules — the key's rpm, tpm
and concurrency, its team's rpm, the model's rpm and the key's budget. Settling runs
after the response, off the path; its cost is reported apart. Limits are set high
enough that nothing is refused. Reported: p50/p99 microseconds per step.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import yaml

from gatehouse.config import parse_config
from gatehouse.config.access import BudgetConfig, KeyLimits
from gatehouse.guard.access import Access
from gatehouse.guard.keys import ApiKey, hash_secret, new_secret
from gatehouse.guard.limiter import Limiter
from gatehouse.guard.limits import LimitPolicy
from gatehouse.guard.memory_limiter import MemoryLimiter
from gatehouse.guard.snapshot import KeySnapshot
from gatehouse.telemetry.cost import estimate_input_tokens

CONFIG = {
    "providers": {"p": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}},
    "models": {"chat": {"deployments": [{"provider": "p", "model": "m"}]}},
    "limits": {"teams": {"bench": {"rpm": 10**9}}, "models": {"chat": {"rpm": 10**9}}},
}


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


async def run(limiter: Limiter, calls: int) -> dict[str, tuple[float, float]]:
    config = parse_config(yaml.safe_dump(CONFIG), "bench.yaml", {})
    policy = LimitPolicy(config, {"chat": (2.5, 10.0)})
    secret = new_secret()
    key = ApiKey(
        id="key_bench",
        name="bench",
        prefix=secret[:11],
        hash=hash_secret(secret),
        team="bench",
        limits=KeyLimits(rpm=10**9, tpm=10**12, max_concurrent=10**6),
        budget=BudgetConfig(usd=10**9, period="month"),
        updated_at=1.0,
    )
    snapshot = KeySnapshot()
    snapshot.apply([key])
    access = Access(snapshot, None, True)
    headers = {"Authorization": f"Bearer {secret}"}
    body = {
        "model": "chat",
        "max_tokens": 256,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. " * 10},
            {"role": "user", "content": "Summarise the following text. " + "lorem ipsum " * 150},
        ],
    }
    timings: dict[str, list[float]] = {"auth": [], "admit": [], "check": [], "settle": []}
    clock = time.perf_counter
    for i in range(calls):
        request_id = uuid.uuid4().hex
        t0 = clock()
        found = access.authenticate(headers, "app")
        t1 = clock()
        ruleset = policy.rules_for(found, "chat", time.time())
        tokens, cost = policy.estimate("chat", body, estimate_input_tokens(body))
        t2 = clock()
        admission = await limiter.admit(request_id, ruleset.rules, tokens, cost, 660.0)
        t3 = clock()
        assert admission.admitted
        await limiter.settle(request_id, ruleset.rules, tokens // 2, cost // 2)
        t4 = clock()
        if i >= calls // 10:  # the first tenth warms caches up
            timings["auth"].append(t1 - t0)
            timings["admit"].append(t3 - t2)
            timings["check"].append(t3 - t0)
            timings["settle"].append(t4 - t3)
    return {k: (_pct(v, 50) * 1e6, _pct(v, 99) * 1e6) for k, v in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", help="redis:// URL: check with the Redis engine")
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    limiter: Limiter
    if args.redis:
        from gatehouse.guard.redis_limiter import RedisLimiter

        limiter = RedisLimiter(args.redis, prefix=f"gatehouse-bench-{uuid.uuid4().hex[:8]}")
        engine = "Redis"
    else:
        limiter = MemoryLimiter()
        engine = "memory"

    async def go() -> dict[str, tuple[float, float]]:
        try:
            return await run(limiter, args.calls)
        finally:
            await limiter.close()

    result = asyncio.run(go())
    print(f"engine: {engine}; {args.calls:,} calls, six rules each (µs)")
    labels = {
        "auth": "authenticate (snapshot lookup)",
        "admit": "admission (one engine call)",
        "check": "whole check on the request path",
        "settle": "settlement (after the response)",
    }
    for name, label in labels.items():
        p50, p99 = result[name]
        print(f"  {label:<34} p50 {p50:8.1f}   p99 {p99:8.1f}")


if __name__ == "__main__":
    main()
