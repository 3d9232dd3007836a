"""Config of routing and fault tolerance: retries, breakers, timeouts, hedging, shedding.

Every key has a default that already behaves well, so a file with no routing keys at
all gets retries on another deployment and circuit breakers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StrategyName = Literal[
    "weighted", "round-robin", "least-inflight", "least-latency", "lowest-cost", "headroom"
]
FailureClass = Literal[
    "rate_limited", "timeout", "server_error", "context_window", "content_filter"
]
ALL_FAILURE_CLASSES: list[FailureClass] = [
    "rate_limited",
    "timeout",
    "server_error",
    "context_window",
    "content_filter",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeoutsConfig(_Strict):
    """Per-deployment timeouts; a key left out is the provider's."""

    connect_s: float | None = Field(None, gt=0, description="Time to open a connection.")
    first_token_s: float | None = Field(
        None, gt=0, description="Stream: time until the first content event."
    )
    stall_s: float | None = Field(
        None, gt=0, description="Stream: longest silence between two events."
    )
    total_s: float | None = Field(None, gt=0, description="Time for the whole call.")


class PriceConfig(_Strict):
    """USD per 1M tokens. A self-hosted deployment can set what its compute costs."""

    input: float = Field(ge=0, description="USD per 1M input tokens.")
    output: float = Field(ge=0, description="USD per 1M output tokens.")
    cached_input: float | None = Field(
        None, ge=0, description="USD per 1M cached input tokens (default: the input price)."
    )
    reasoning: float | None = Field(
        None, ge=0, description="USD per 1M reasoning tokens (default: the output price)."
    )
    cache_write: float | None = Field(
        None,
        ge=0,
        description="USD per 1M input tokens written to the prompt cache (Anthropic's cache "
        "creation; default: the input price).",
    )


class RetryConfig(_Strict):
    attempts: int = Field(
        3, ge=1, le=10, description="Tries per public model (the first one included)."
    )
    budget_s: float = Field(
        30.0, gt=0, description="Time budget of one client request, fallbacks included."
    )
    backoff_base_s: float = Field(
        0.05, ge=0, description="Backoff before a retry: full jitter over base * 2^n."
    )
    backoff_max_s: float = Field(2.0, ge=0, description="Cap of one backoff.")
    max_retry_after_s: float = Field(
        5.0,
        ge=0,
        description="A Retry-After up to this is waited for when the same deployment is "
        "retried; a longer one takes the deployment out for that long and fails over.",
    )


class BreakerConfig(_Strict):
    enabled: bool = Field(True, description="Circuit breakers on deployments.")
    consecutive_failures: int = Field(5, ge=1, description="Open after this many in a row.")
    failure_rate: float = Field(
        0.5, gt=0, le=1, description="…or when this share of calls fails over the window."
    )
    window_s: float = Field(30.0, gt=0, description="Window of the failure rate.")
    min_requests: int = Field(10, ge=1, description="Calls in the window before the rate counts.")
    cooldown_s: float = Field(10.0, gt=0, description="Open this long, then half-open.")
    max_cooldown_s: float = Field(300.0, gt=0, description="Cap of the doubling cooldown.")
    half_open_probes: int = Field(1, ge=1, description="Calls let through while half-open.")


class HedgeConfig(_Strict):
    after_ms: float = Field(
        gt=0, description="With no first token after this, race a second deployment."
    )


class HealthCheckConfig(_Strict):
    interval_s: float = Field(0.0, ge=0, description="Probe period (GET …/models); 0 = off.")
    timeout_s: float = Field(5.0, gt=0, description="Time a probe may take.")


class RoutingConfig(_Strict):
    """Gateway-wide routing defaults (`routing:`)."""

    retry: RetryConfig = Field(default_factory=RetryConfig)  # type: ignore[arg-type]
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)  # type: ignore[arg-type]
    health_check: HealthCheckConfig = Field(
        default_factory=HealthCheckConfig  # type: ignore[arg-type]
    )
    max_in_flight: int | None = Field(
        None, ge=1, description="Cap on calls in flight per worker; beyond it calls queue."
    )
    queue_size: int = Field(100, ge=0, description="Calls that may wait for a slot.")
    queue_timeout_s: float = Field(
        1.0, ge=0, description="Longest wait for a slot before 503 with Retry-After."
    )
