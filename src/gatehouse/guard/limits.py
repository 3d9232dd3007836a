"""Which limits a call is held to, what it reserves, and the refusal when one is hit.

For a call the policy composes :class:`Rule`\\ s from the key (its own limits over the
config's key defaults), its per-model limits, its team, its owner's budget and the
public model's limits. Admission reserves an estimate — input tokens from the prompt,
output from ``max_tokens`` (or ``limits.output_tokens_estimate``), cost at the
dearest deployment the call could reach — and the call's end settles the real usage
and cost of every attempt, retries and hedges included.

The rules of a (key, model) pair are built once and cached until the key changes or
a budget period ends, so a check costs the engine's work and little else.
"""

from __future__ import annotations

import fnmatch
import math
import time
from dataclasses import dataclass
from typing import Any

from gatehouse.config import Config
from gatehouse.config.access import BudgetConfig, KeyLimits, RateLimits
from gatehouse.errors import BudgetExceeded, InvalidRequest, RateLimited, RequestTooLarge
from gatehouse.guard.keys import ApiKey
from gatehouse.guard.limiter import Admission, Rule, RuleState
from gatehouse.guard.periods import period_end, period_label

_MAX_CACHED = 10_000
# Beyond any limit, and within Redis's 64-bit integers: a max_tokens of 1e308 is just
# too large for every tokens limit, not an overflow.
_MAX_RESERVED_TOKENS = 10**12
_MAX_CHOICES = 128  # OpenAI's most n
_MAX_RESERVED_COST = 2**62


@dataclass(frozen=True, slots=True)
class Budget:
    """A budget rule and what it belongs to, for thresholds and spend views."""

    rule: Rule
    scope: str  # key | team | user
    owner: str  # the key id, team or user name
    config: BudgetConfig


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    budgets: tuple[Budget, ...]
    valid_until: float  # a budget period ends: build again


@dataclass(slots=True)
class Reservation:
    """What an admitted call holds until it ends."""

    rules: tuple[Rule, ...]
    budgets: tuple[Budget, ...]
    states: list[RuleState]  # as admitted: the response's x-ratelimit-* headers


class LimitPolicy:
    def __init__(self, config: Config, max_prices: dict[str, tuple[float, float]]) -> None:
        """``max_prices``: per public model, the dearest USD per 1M input and output tokens
        of any deployment the call could reach (fallbacks included)."""
        self.limits = config.limits
        self.window_s = config.limits.window_s
        self.max_prices = max_prices
        self._cache: dict[tuple[str | None, float, str], RuleSet] = {}
        self._own: dict[tuple[str, float], KeyLimits] = {}

    def own_limits(self, key: ApiKey) -> KeyLimits:
        """The key's limits over the config's defaults (cached per version of the key)."""
        cache_key = (key.id, key.updated_at)
        found = self._own.get(cache_key)
        if found is None:
            if len(self._own) >= _MAX_CACHED:
                self._own.clear()
            found = self._own[cache_key] = effective_limits(self.limits.keys, key.limits)
        return found

    # --- rules ----------------------------------------------------------------

    def rules_for(self, key: ApiKey | None, model: str, now: float) -> RuleSet:
        cache_key = (key.id if key is not None else None, key.updated_at if key else 0.0, model)
        found = self._cache.get(cache_key)
        if found is not None and now < found.valid_until:
            return found
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        built = self._cache[cache_key] = self._build(key, model, now)
        return built

    def _build(self, key: ApiKey | None, model: str, now: float) -> RuleSet:
        rules: list[Rule] = []
        budgets: list[Budget] = []
        valid_until = math.inf
        cfg = self.limits
        if key is not None:
            own = self.own_limits(key)
            self._rates(rules, f"key:{key.id}", f"key {key.name!r}", own)
            per_model = _model_rates(own.models, model)
            if per_model is not None:
                self._rates(
                    rules,
                    f"key:{key.id}:model:{model}",
                    f"key {key.name!r} on {model!r}",
                    per_model,
                )
            team = cfg.teams.get(key.team) if key.team else None
            if team is not None:
                self._rates(rules, f"team:{key.team}", f"team {key.team!r}", team)
            for budget in self.key_budgets(key, now):
                rules.append(budget.rule)
                budgets.append(budget)
                if budget.rule.window_s > 0:  # the time left in the budget's period
                    valid_until = min(valid_until, now + budget.rule.window_s)
        model_limits = cfg.models.get(model)
        if model_limits is not None:
            self._rates(rules, f"model:{model}", f"model {model!r}", model_limits)
        return RuleSet(tuple(rules), tuple(budgets), valid_until)

    def key_budgets(self, key: ApiKey, now: float) -> list[Budget]:
        """The budgets a key's calls count against: its own, its team's, its owner's."""
        team = self.limits.teams.get(key.team) if key.team else None
        found = []
        for scope, owner, label, config in (
            ("key", key.id, f"key {key.name!r}", key.budget),
            ("team", key.team, f"team {key.team!r}", team.budget if team else None),
            ("user", key.owner, f"user {key.owner!r}", _user_budget(self.limits, key.owner)),
        ):
            if config is not None and owner is not None:
                found.append(budget_rule(scope, owner, label, config, now))
        return found

    def config_budgets(self, now: float) -> list[Budget]:
        """The teams' and users' budgets of the config file."""
        found = []
        for name, team in self.limits.teams.items():
            if team.budget is not None:
                found.append(budget_rule("team", name, f"team {name!r}", team.budget, now))
        for name, user in self.limits.users.items():
            if user.budget is not None:
                found.append(budget_rule("user", name, f"user {name!r}", user.budget, now))
        return found

    def _rates(self, rules: list[Rule], name: str, label: str, rates: RateLimits) -> None:
        per = _window_words(self.window_s)
        if rates.rpm is not None:
            rules.append(
                Rule(f"{name}:rpm", "requests", rates.rpm, self.window_s, f"{label} requests {per}")
            )
        if rates.tpm is not None:
            rules.append(
                Rule(f"{name}:tpm", "tokens", rates.tpm, self.window_s, f"{label} tokens {per}")
            )
        if rates.max_concurrent is not None:
            rules.append(
                Rule(
                    f"{name}:concurrent",
                    "concurrent",
                    rates.max_concurrent,
                    0.0,
                    f"{label} concurrent calls",
                )
            )

    # --- the request's shape ----------------------------------------------------

    def check_request(
        self, key: ApiKey | None, model: str, body: dict[str, Any], size: int
    ) -> None:
        """Body size, max_tokens and parameters against the key's and the model's limits."""
        own = self.own_limits(key) if key is not None else None
        if own is not None and own.max_body_bytes is not None and size > own.max_body_bytes:
            raise RequestTooLarge(
                f"request body of {size} bytes is larger than this key allows "
                f"({own.max_body_bytes} bytes)",
                code="body_too_large",
            )
        asked = requested_output_tokens(body)
        caps = []
        model_limits = self.limits.models.get(model)
        if model_limits is not None and model_limits.max_tokens is not None:
            caps.append((model_limits.max_tokens, f"model {model!r}"))
        if own is not None and own.max_tokens is not None:
            caps.append((own.max_tokens, "this key"))
        for cap, whose in caps:
            if asked is not None and asked > cap:
                param = next(  # the field that asked for the most
                    n
                    for n in ("max_tokens", "max_completion_tokens")
                    if body.get(n) is not None and body[n] == asked
                )
                raise InvalidRequest(
                    f"{param} is {asked}, more than {whose} allows ({cap})",
                    param=param,
                    code="max_tokens_exceeded",
                )
        if own is not None and own.parameters:
            for name, rule in own.parameters.items():
                if name not in body:
                    continue
                value = body[name]
                if not rule.allowed:
                    raise InvalidRequest(
                        f"this key may not set {name!r}", param=name, code="parameter_not_allowed"
                    )
                if rule.values is not None and value not in rule.values:
                    allowed = ", ".join(repr(v) for v in rule.values)
                    raise InvalidRequest(
                        f"this key may set {name!r} only to one of {allowed}",
                        param=name,
                        code="parameter_not_allowed",
                    )
                if rule.max is not None and (
                    not isinstance(value, int | float)
                    or isinstance(value, bool)
                    or value > rule.max
                ):
                    raise InvalidRequest(
                        f"this key may set {name!r} to at most {rule.max:g}",
                        param=name,
                        code="parameter_not_allowed",
                    )

    # --- reservation ------------------------------------------------------------

    def estimate(self, model: str, body: dict[str, Any], input_tokens: int) -> tuple[int, int]:
        """Tokens and micro-USD to reserve for a call: an upper bound when it sets max_tokens."""
        asked = requested_output_tokens(body)
        output = self.limits.output_tokens_estimate if asked is None else asked
        if "input" in body and "messages" not in body and "prompt" not in body:
            output = 0  # embeddings answer with vectors, not tokens
        # Every choice an upstream generates is paid for: n, and best_of (completions).
        choices = max(_count(body.get("n")), _count(body.get("best_of")))
        output = min(output, _MAX_RESERVED_TOKENS) * min(choices, _MAX_CHOICES)
        tokens = input_tokens + output
        price_in, price_out = self.max_prices.get(model, (0.0, 0.0))
        # USD per 1M tokens is micro-USD per token.
        cost = min(math.ceil(input_tokens * price_in + output * price_out), _MAX_RESERVED_COST)
        return tokens, cost


def budget_rule(scope: str, owner: str, label: str, config: BudgetConfig, now: float) -> Budget:
    """The counter of one budget in the period that contains ``now``."""
    end = period_end(config.period, now)
    rule = Rule(
        name=f"{scope}:{owner}:usd:{period_label(config.period, now)}",
        kind="budget",
        limit=round(config.usd * 1_000_000),
        window_s=0.0 if end is None else end - now,
        label=f"{label} budget ({_period_words(config.period)})",
    )
    return Budget(rule, scope, owner, config)


def refusal(admission: Admission, budget_resets_in: float | None = None) -> RateLimited:
    """The 429 for a refused admission, naming the limit that was hit;
    ``budget_resets_in``: seconds until a refusing budget's period ends (None: never)."""
    rule = admission.refused
    assert rule is not None
    state = next(s for s in admission.states if s.rule is rule)
    wait = admission.retry_after_s
    if rule.kind == "budget":
        err: RateLimited = BudgetExceeded(
            f"Budget exceeded: {rule.label} is ${rule.limit / 1e6:,.2f}, with "
            f"${state.used / 1e6:,.4f} spent or reserved; this call could cost more than "
            f"what is left. {_resets(budget_resets_in)}",
            code="budget_exceeded",
            retry_after=None,
        )
        err.extra_headers = rate_headers(admission.states)
        return err
    if wait is None:
        err = RateLimited(
            f"Request too large for {rule.label}: limit {rule.limit}; lower max_tokens or "
            "the prompt, or ask for a higher limit.",
            code="rate_limit_exceeded",
            retry_after=None,
        )
        err.extra_headers = {"x-should-retry": "false", **rate_headers(admission.states)}
        return err
    err = RateLimited(
        f"Rate limit reached for {rule.label}: limit {rule.limit}, used {state.used}. "
        f"Please try again in {reset_text(wait)}.",
        code="rate_limit_exceeded",
        retry_after=math.ceil(wait),
    )
    err.extra_headers = {
        "retry-after-ms": str(max(1, math.ceil(wait * 1000))),
        **rate_headers(admission.states),
    }
    return err


def rate_headers(states: list[RuleState]) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers, from the tightest requests and tokens rules."""
    headers: dict[str, str] = {}
    for kind, suffix in (("requests", "requests"), ("tokens", "tokens")):
        tightest: RuleState | None = None
        for s in states:
            if s.rule.kind == kind and (tightest is None or s.remaining < tightest.remaining):
                tightest = s
        if tightest is not None:
            headers[f"x-ratelimit-limit-{suffix}"] = str(tightest.rule.limit)
            headers[f"x-ratelimit-remaining-{suffix}"] = str(tightest.remaining)
            headers[f"x-ratelimit-reset-{suffix}"] = reset_text(tightest.reset_s)
    return headers


def reset_text(seconds: float) -> str:
    """A duration as OpenAI writes it in headers: ``20ms``, ``1.5s``, ``6m0s``, ``1h2m3s``.

    Two of these go out with every response, so the common cases take one format each.
    """
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{minutes}m{secs + seconds - whole:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{hours}h{text}" if hours else text


def requested_output_tokens(body: dict[str, Any]) -> int | None:
    """The most output tokens a call may produce: the larger of ``max_tokens`` and
    ``max_completion_tokens`` (an upstream may honour either), or None when neither is
    set. A value that is not a whole non-negative number is a 400: it could not be
    reserved for, and the upstream would refuse it anyway."""
    asked: int | None = None
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            whole = None
        else:
            whole = int(value) if value == value // 1 and value >= 0 else None
        if whole is None:
            raise InvalidRequest(
                f"{name} must be a whole number of tokens, 0 or more",
                param=name,
                code="invalid_type",
            )
        asked = whole if asked is None else max(asked, whole)
    return asked


def _count(value: Any) -> int:
    """A count such as ``n`` as a lenient upstream reads it (3, 3.0 and "3" are 3); 1 for
    anything else (the upstream refuses it or takes its default)."""
    if isinstance(value, str):
        digits = value.strip()
        # ASCII digits only ("²" is a digit to str.isdigit, not to int), and few of them.
        value = int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 10 else 1
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        return 1
    return int(value) if value == value // 1 else 1


def effective_limits(defaults: KeyLimits, own: KeyLimits) -> KeyLimits:
    """The key's limits over the config's defaults, field by field. Parameter rules
    merge (the key's win); a key's own per-model map replaces the defaults' whole, so a
    key's pattern is never shadowed by a broader default one."""
    if not own.model_fields_set:
        return defaults
    if not defaults.model_fields_set:
        return own
    merged = defaults.model_dump(exclude_unset=True)
    for name, value in own.model_dump(exclude_unset=True).items():
        if name == "parameters":
            merged[name] = {**merged.get(name, {}), **value}
        else:
            merged[name] = value
    return KeyLimits.model_validate(merged)


def _model_rates(per_model: dict[str, RateLimits], model: str) -> RateLimits | None:
    if model in per_model:
        return per_model[model]
    for pattern, rates in per_model.items():
        if fnmatch.fnmatchcase(model, pattern):
            return rates
    return None


def _user_budget(cfg: Any, owner: str | None) -> BudgetConfig | None:
    user = cfg.users.get(owner) if owner else None
    return user.budget if user is not None else None


def _window_words(window_s: float) -> str:
    if window_s == 60:
        return "per minute"
    return f"per {window_s:g}s"


def _period_words(period: str) -> str:
    return {"day": "daily", "week": "weekly", "month": "monthly", "total": "lifetime"}[period]


def _resets(wait: float | None) -> str:
    if wait is None:
        return "It does not reset."
    at = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(time.time() + wait))
    return f"It resets at {at}."
