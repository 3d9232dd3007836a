"""Config of who may call, how fast and how much: auth, Redis, limits and budgets.

The same limit shapes are used in the file (defaults for every key, teams, users,
models) and on each virtual key stored in the database, so one validator checks both.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

Role = Literal["admin", "operator", "viewer", "app"]
ROLES: tuple[Role, ...] = ("admin", "operator", "viewer", "app")
BudgetPeriod = Literal["day", "week", "month", "total"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthConfig(_Strict):
    required: bool = Field(
        True,
        description="Every /v1/* call needs a valid key (Authorization: Bearer gh-…). "
        "`false` is accepted only when the server binds a loopback address.",
    )
    refresh_interval_s: float = Field(
        0.5,
        gt=0,
        le=60,
        description="How often each worker reloads changed keys from the store; a revoked "
        "or rotated key stops working everywhere within this time.",
    )


class RedisConfig(_Strict):
    url: SecretStr | None = Field(
        None,
        description="redis://[:password@]host:port/db. When set, rate limits, concurrency "
        "and budget reservations are shared by every worker and replica.",
    )
    timeout_ms: int = Field(
        250, ge=1, le=10_000, description="Connect and reply timeout of one limit check."
    )
    on_error: Literal["closed", "open"] = Field(
        "closed",
        description="When Redis can't be reached: `closed` refuses calls with 503, `open` "
        "lets them through unlimited. Either way it is logged and counted.",
    )
    key_prefix: str = Field("gatehouse", description="Prefix of every Redis key written.")

    @field_validator("url")
    @classmethod
    def _redis_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None
        if not v.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v


class RateLimits(_Strict):
    rpm: int | None = Field(None, ge=1, description="Requests per window (a minute by default).")
    tpm: int | None = Field(
        None,
        ge=1,
        description="Tokens per window: input plus output, reserved at admission from the "
        "prompt size and max_tokens, then corrected with the real usage.",
    )
    max_concurrent: int | None = Field(None, ge=1, description="Calls in flight at once.")

    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.max_concurrent is not None


class BudgetConfig(_Strict):
    usd: float = Field(ge=0.000001, le=1e12, description="Spend allowed per period, in US dollars.")
    period: BudgetPeriod = Field(
        "month",
        description="Calendar period in UTC (`day`, `week` from Monday, `month`), "
        "or `total` for a lifetime budget.",
    )
    alert_at: list[float] = Field(
        default_factory=lambda: [0.8],
        description="Shares of the budget at which a budget.threshold event is raised.",
    )

    @field_validator("alert_at")
    @classmethod
    def _shares(cls, v: list[float]) -> list[float]:
        for share in v:
            if not 0 < share < 1:
                raise ValueError("each threshold is a share between 0 and 1, e.g. 0.8")
        return sorted(set(v))


class ParameterRule(_Strict):
    """What a key may send for one request parameter."""

    allowed: bool = Field(True, description="`false`: the parameter may not be sent at all.")
    max: float | None = Field(None, description="Largest numeric value allowed.")
    values: list[Any] | None = Field(None, description="The only values allowed.")


class KeyLimits(RateLimits):
    """Limits of one key: its own rates, per-model rates and request shape."""

    max_tokens: int | None = Field(
        None, ge=1, description="Largest max_tokens (or max_completion_tokens) a call may ask."
    )
    max_body_bytes: int | None = Field(None, ge=1, description="Largest request body.")
    parameters: dict[str, ParameterRule] = Field(
        default_factory=dict,
        description="Per request parameter: e.g. {n: {max: 1}}, {logprobs: {allowed: false}}.",
    )
    models: dict[str, RateLimits] = Field(
        default_factory=dict,
        description="Rates per (key, public model); keys are model names or patterns "
        "such as 'gpt-4*'.",
    )


class TeamConfig(RateLimits):
    budget: BudgetConfig | None = Field(None, description="The team's spend limit.")


class UserConfig(_Strict):
    budget: BudgetConfig | None = Field(
        None, description="Spend limit over every key the user owns."
    )


class ModelLimits(RateLimits):
    max_tokens: int | None = Field(
        None, ge=1, description="Largest max_tokens (or max_completion_tokens) a call may ask."
    )


class LimitsConfig(_Strict):
    window_s: float = Field(
        60.0,
        gt=0,
        le=86_400,
        description="The sliding window rpm and tpm count over; the names keep OpenAI's "
        "per-minute spelling.",
    )
    unshared: Literal["warn", "refuse"] = Field(
        "warn",
        description="With several workers (or a PostgreSQL store, so likely several "
        "replicas) and no redis.url, each process counts alone and every limit multiplies: "
        "`warn` says so loudly at start-up, `refuse` will not start.",
    )
    output_tokens_estimate: int = Field(
        1024,
        ge=1,
        description="Output tokens reserved (for tpm and budgets) when a call sets no "
        "max_tokens; corrected with the real usage when it ends.",
    )
    keys: KeyLimits = Field(
        default_factory=KeyLimits,  # type: ignore[arg-type]
        description="Defaults for every key; a key's own limits override them field by field.",
    )
    teams: dict[str, TeamConfig] = Field(default_factory=dict, description="Per team.")
    users: dict[str, UserConfig] = Field(
        default_factory=dict, description="Per user (a key's owner)."
    )
    models: dict[str, ModelLimits] = Field(
        default_factory=dict, description="Per public model, over every caller."
    )

    @model_validator(mode="after")
    def _names(self) -> LimitsConfig:
        for name in list(self.teams) + list(self.users):
            if not name or len(name) > 200:
                raise ValueError(f"{name!r} is not a valid team or user name")
        return self
