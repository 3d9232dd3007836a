"""The route table: public model names compiled to their deployments at start-up.

Each deployment carries its live state in this worker — circuit breaker and
statistics — so routing decisions need no lookups.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gatehouse.config import Config
from gatehouse.config.routing import RetryConfig
from gatehouse.providers import Provider
from gatehouse.providers.base import CallTimeouts
from gatehouse.routing.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from gatehouse.routing.stats import DeploymentStats
from gatehouse.routing.strategies import Strategy, make_strategy

log = logging.getLogger("gatehouse.routing")


@dataclass(eq=False, slots=True)
class Deployment:
    """One place a public model is served: a provider and its own model name."""

    name: str  # "provider/upstream-model", unique within its public model
    provider: Provider
    model: str
    weight: float
    defaults: dict[str, Any] = field(default_factory=dict)
    timeouts: CallTimeouts = field(default_factory=CallTimeouts)
    tags: frozenset[str] = frozenset()
    price_input: float | None = None
    price_output: float | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_in_flight: int | None = None
    stream_usage: bool = True  # ask the upstream for usage on streams
    metrics_url: str | None = None  # its own Prometheus endpoint (vLLM, TGI)
    stats: DeploymentStats = field(default_factory=DeploymentStats)
    breaker: CircuitBreaker | None = None


@dataclass(eq=False, slots=True)
class ModelRoute:
    """A public model: its deployments and how calls to it are routed."""

    name: str
    deployments: list[Deployment]
    strategy: Strategy
    retry: RetryConfig
    fallbacks: tuple[str, ...] = ()
    fallback_on: frozenset[str] = frozenset()
    hedge_after_s: float | None = None

    def choose(self) -> Deployment:
        """The strategy's first choice (ignoring breakers); for tools and tests."""
        return self.strategy.order(self.deployments)[0]


def _log_breaker_change(name: str, old: BreakerState, new: BreakerState, reason: str) -> None:
    level = logging.WARNING if new == BreakerState.OPEN else logging.INFO
    log.log(level, "breaker %s: %s -> %s (%s)", name, old.value, new.value, reason)


def build_routes(
    config: Config,
    providers: dict[str, Provider],
    *,
    rng: random.Random | None = None,
    on_breaker_change: Callable[[str, BreakerState, BreakerState, str], None] | None = None,
) -> dict[str, ModelRoute]:
    rng = rng or random.Random()
    breaker_cfg = config.routing.breaker
    policy = BreakerPolicy(
        consecutive_failures=breaker_cfg.consecutive_failures,
        failure_rate=breaker_cfg.failure_rate,
        window_s=breaker_cfg.window_s,
        min_requests=breaker_cfg.min_requests,
        cooldown_s=breaker_cfg.cooldown_s,
        max_cooldown_s=breaker_cfg.max_cooldown_s,
        half_open_probes=breaker_cfg.half_open_probes,
    )
    routes: dict[str, ModelRoute] = {}
    for model_name, model in config.models.items():
        deployments: list[Deployment] = []
        seen: dict[str, int] = {}
        for dep in model.deployments:
            base = f"{dep.provider}/{dep.model}"
            seen[base] = seen.get(base, 0) + 1
            name = base if seen[base] == 1 else f"{base}#{seen[base]}"
            provider = providers[dep.provider]
            inherited = provider.default_timeouts()
            own = dep.timeouts
            breaker = None
            if breaker_cfg.enabled:
                breaker = CircuitBreaker(
                    f"{model_name}={name}",
                    policy,
                    on_change=on_breaker_change or _log_breaker_change,
                )
            deployments.append(
                Deployment(
                    name=name,
                    provider=provider,
                    model=dep.model,
                    weight=dep.weight,
                    defaults=dict(dep.defaults),
                    timeouts=CallTimeouts(
                        connect_s=own.connect_s or inherited.connect_s,
                        first_token_s=own.first_token_s or inherited.first_token_s,
                        stall_s=own.stall_s or inherited.stall_s,
                        total_s=own.total_s or inherited.total_s,
                    ),
                    tags=frozenset(dep.tags),
                    price_input=dep.price.input if dep.price else None,
                    price_output=dep.price.output if dep.price else None,
                    rpm_limit=dep.rpm,
                    tpm_limit=dep.tpm,
                    max_in_flight=dep.max_in_flight,
                    stream_usage=dep.stream_usage,
                    metrics_url=dep.metrics_url,
                    breaker=breaker,
                )
            )
        routes[model_name] = ModelRoute(
            name=model_name,
            deployments=deployments,
            strategy=make_strategy(model.strategy, rng=rng),
            retry=model.retry or config.routing.retry,
            fallbacks=tuple(model.fallbacks),
            fallback_on=frozenset(model.fallback_on),
            hedge_after_s=model.hedge.after_ms / 1000 if model.hedge else None,
        )
    return routes
