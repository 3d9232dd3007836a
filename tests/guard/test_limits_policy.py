"""The policy's pieces that need no gateway: merging limits, admission clean-up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from gatehouse.config import parse_config
from gatehouse.config.access import KeyLimits
from gatehouse.guard.limiter import Admission, LimiterUnavailable, Rule
from gatehouse.guard.limits import LimitPolicy, effective_limits
from gatehouse.guard.memory_limiter import MemoryLimiter
from gatehouse.store.db import Database


def test_a_keys_own_per_model_limits_replace_the_defaults() -> None:
    defaults = KeyLimits.model_validate(
        {"rpm": 60, "models": {"gpt-4*": {"rpm": 60, "tpm": 1000}}, "parameters": {"n": {"max": 1}}}
    )
    own = KeyLimits.model_validate(
        {"models": {"gpt-4o*": {"rpm": 1000}}, "parameters": {"logprobs": {"allowed": False}}}
    )
    merged = effective_limits(defaults, own)
    assert merged.rpm == 60
    assert set(merged.models) == {"gpt-4o*"} and merged.models["gpt-4o*"].rpm == 1000
    assert set(merged.parameters) == {"n", "logprobs"}
    config = parse_config(
        yaml.safe_dump(
            {
                "providers": {"p": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}},
                "models": {"gpt-4o": {"deployments": [{"provider": "p", "model": "m"}]}},
                "limits": {"keys": defaults.model_dump(exclude_unset=True)},
            }
        ),
        "t.yaml",
        {},
    )
    from gatehouse.guard.keys import ApiKey

    key = ApiKey(id="k", name="k", prefix="gh-", hash=b"x", limits=own, updated_at=1.0)
    rules = {r.name: r.limit for r in LimitPolicy(config, {}).rules_for(key, "gpt-4o", 0).rules}
    assert rules["key:k:model:gpt-4o:rpm"] == 1000


def _failing_open() -> Any:
    """A gateway config whose limits let calls through when Redis fails."""
    return parse_config(
        yaml.safe_dump(
            {
                "providers": {"p": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}},
                "models": {"chat": {"deployments": [{"provider": "p", "model": "m"}]}},
                "redis": {"on_error": "open"},
            }
        ),
        "t.yaml",
        {},
    )


class _TimesOut(MemoryLimiter):
    """Takes the admission, then loses the answer, as a Redis reply past its timeout."""

    async def admit(
        self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int, lease_s: float
    ) -> Admission:
        await super().admit(request_id, rules, tokens, cost, lease_s)
        raise LimiterUnavailable("timed out")


def test_an_admission_whose_answer_is_lost_gives_back_what_it_took(tmp_path: Path) -> None:
    async def run() -> list[int]:
        limiter = _TimesOut()
        guard, key, exchange = await _admit_failing_open(tmp_path, limiter, rpm=1)
        assert exchange.reservation is None
        await asyncio.sleep(0)  # the clean-up runs in the background
        await asyncio.sleep(0)
        rules = guard.policy.rules_for(key, "chat", 0).rules
        assert {r.kind for r in rules} == {"requests", "concurrent"}
        return [used for used, _ in await limiter.spend(rules)]

    assert asyncio.run(run()) == [0, 0]  # the requests entry too: that call was not served


async def _admit_failing_open(
    tmp_path: Path, limiter: MemoryLimiter, **limits: int
) -> tuple[Any, Any, Any]:
    """A guard that fails open on ``limiter``, and one call of a key with a concurrency
    limit (and ``limits``) admitted by it: (guard, key, exchange)."""
    from gatehouse.guard.hub import Guard
    from gatehouse.guard.keys import ApiKey
    from gatehouse.pipeline.exchange import Exchange

    own = KeyLimits(max_concurrent=1, **limits)  # type: ignore[arg-type]
    key = ApiKey(id="k", name="k", prefix="gh-", hash=b"x", limits=own, updated_at=1)
    guard = Guard(_failing_open(), Database(f"sqlite:///{tmp_path}/g.db"), {}, None, None)
    guard.limiter = limiter
    exchange = Exchange(request_id="r1", operation="chat", body={"model": "chat"}, model="chat")
    exchange.key = key
    await guard.admit(exchange)  # fails open
    return guard, key, exchange


def test_the_reservation_bounds_every_choice_and_never_overflows() -> None:
    config = parse_config(
        yaml.safe_dump(
            {
                "providers": {"p": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}},
                "models": {"chat": {"deployments": [{"provider": "p", "model": "m"}]}},
            }
        ),
        "t.yaml",
        {},
    )
    policy = LimitPolicy(config, {"chat": (1.0, 2.0)})

    def reserved(**body: object) -> tuple[int, int]:
        return policy.estimate("chat", {"messages": [], **body}, 8)

    assert reserved(max_tokens=1000) == (1008, 2008)
    for n in (3, 3.0, "3"):  # as a lenient upstream (vLLM) reads n
        assert reserved(max_tokens=1000, n=n) == (3008, 6008)
    for odd in (2.5, "two", "²", "9" * 5000, True, -3):  # the upstream's to refuse
        assert reserved(max_tokens=1000, n=odd) == (1008, 2008)
    assert policy.estimate("chat", {"prompt": "x", "best_of": 5, "max_tokens": 10}, 1) == (51, 101)
    tokens, cost = reserved(max_tokens=1e308, n=10**30)
    assert tokens > 10**12 and 0 < cost <= 2**62  # too large for any limit, not an error


def test_reset_headers_are_written_as_openai_writes_them() -> None:
    from gatehouse.guard.limits import reset_text

    assert reset_text(0.0204) == "21ms"
    assert reset_text(1.5) == "1.5s"
    assert reset_text(59.998) == "59.998s"
    assert reset_text(360) == "6m0s"
    assert reset_text(3723.5) == "1h2m3.5s"


def test_a_lease_outlasts_a_deployment_allowed_longer_than_its_provider(tmp_path: object) -> None:
    """A concurrency slot or a budget reservation must not lapse while its call runs."""
    from gatehouse.guard.hub import Guard

    config = parse_config(
        yaml.safe_dump(
            {
                "providers": {
                    "p": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "timeout_s": 1}
                },
                "models": {
                    "chat": {
                        "deployments": [
                            {"provider": "p", "model": "m", "timeouts": {"total_s": 1000}}
                        ]
                    }
                },
            }
        ),
        "t.yaml",
        {},
    )
    guard = Guard(config, Database(f"sqlite:///{tmp_path}/g.db"), {}, None, None)
    assert guard.lease_s > 1000 + config.routing.retry.budget_s


class _Unreachable(MemoryLimiter):
    """Redis refused the connection: the admission never reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.released: list[str] = []

    async def admit(
        self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int, lease_s: float
    ) -> Admission:
        raise LimiterUnavailable("connection refused", sent=False)

    async def release(self, request_id: str, rules: Sequence[Rule]) -> None:
        self.released.append(request_id)


def test_an_admission_that_never_reached_redis_has_nothing_to_give_back(tmp_path: Path) -> None:
    """Give-backs of admissions that took nothing would only crowd the retry queue (and
    the settlements in it) during an outage."""

    async def run() -> list[str]:
        limiter = _Unreachable()
        guard, _, _ = await _admit_failing_open(tmp_path, limiter)
        await asyncio.sleep(0.01)
        assert not guard._settling
        return limiter.released

    assert asyncio.run(run()) == []
