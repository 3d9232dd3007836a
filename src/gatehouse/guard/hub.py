"""Access control and limits for one worker, built once at start-up.

The :class:`Guard` holds the key snapshot (refreshed from the store in the
background), the limit engine (in memory, or Redis when ``redis.url`` is set) and the
policy, and settles every admitted call when its record is built — off the request
path, with every attempt's real usage and cost.

State, per worker or shared:

* keys: shared through the store; each worker keeps a snapshot it refreshes every
  ``auth.refresh_interval_s``;
* rate windows, concurrency slots and budget reservations: shared through Redis when
  it is set, else per process (the server warns, or refuses by config);
* budgets' settled spend: in the request log, re-read every ``_SYNC_INTERVAL_S`` and
  at start, so a restart or a flushed Redis never forgets what was spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from gatehouse.config import Config
from gatehouse.errors import Overloaded
from gatehouse.guard.access import Access
from gatehouse.guard.keys import ApiKey
from gatehouse.guard.keystore import KeyStore
from gatehouse.guard.limiter import Limiter, LimiterUnavailable, Rule
from gatehouse.guard.limits import Budget, LimitPolicy, Reservation, refusal
from gatehouse.guard.memory_limiter import MemoryLimiter
from gatehouse.guard.periods import period_end, period_start
from gatehouse.guard.snapshot import KeySnapshot
from gatehouse.pipeline.exchange import Exchange
from gatehouse.store.db import Database
from gatehouse.store.records import RequestRecord
from gatehouse.store.spend import SpendColumn, settled_spend
from gatehouse.telemetry.cost import estimate_input_tokens
from gatehouse.telemetry.metrics import GatewayMetrics

log = logging.getLogger("gatehouse.guard")
events = logging.getLogger("gatehouse.events")

_SYNC_INTERVAL_S = 30.0
_LOG_EVERY_S = 10.0
_SHORT_SECRET = 20
#: A concurrency slot or budget reservation outlives its call by this much at most
#: (when the process holding it dies), on top of the longest call the config allows.
_LEASE_MARGIN_S = 60.0
#: A settle (or a give-back) that Redis didn't take is tried again after about 0.5 s,
#: 1 s, 2 s ... every 30 s at most, until the call's lease ends; at most this many of
#: each wait at once (the rest lapse with their leases).
_RETRY_FIRST_S = 0.5
_RETRY_MAX_S = 30.0
_MAX_WAITING = {"settle": 10_000, "release": 1_000}
_COLUMNS: dict[str, SpendColumn] = {"key": "key_id", "team": "team_id", "user": "user_id"}


class Guard:
    def __init__(
        self,
        config: Config,
        database: Database,
        max_prices: dict[str, tuple[float, float]],
        metrics: GatewayMetrics | None,
        admin_secret: str | None,
    ) -> None:
        self.config = config
        self.store = KeyStore(database)
        self.snapshot = KeySnapshot()
        self.access = Access(
            self.snapshot,
            admin_secret,
            config.auth.required,
            metrics.auth_failures if metrics is not None else None,
        )
        if admin_secret and len(admin_secret) < _SHORT_SECRET:
            log.warning(
                "GATEHOUSE_ADMIN_KEY is only %d characters: anyone who guesses it owns the "
                "gateway; use a long random one (e.g. `openssl rand -base64 32`)",
                len(admin_secret),
            )
        self.policy = LimitPolicy(config, max_prices)
        self.metrics = metrics
        redis = config.redis
        self.limiter: Limiter
        if redis.url is not None:
            from gatehouse.guard.redis_limiter import RedisLimiter

            self.limiter = RedisLimiter(
                redis.url.get_secret_value(),
                prefix=redis.key_prefix,
                timeout_s=redis.timeout_ms / 1000,
            )
        else:
            self.limiter = MemoryLimiter()
        self.fail_open = redis.on_error == "open"
        self.lease_s = _longest_call_s(config) + _LEASE_MARGIN_S
        self.record_spend = config.recording.enabled and config.recording.bodies != "none"
        self._database = database
        self._tasks: list[asyncio.Task[None]] = []
        self._settling: set[asyncio.Task[Any]] = set()
        self._waiting = {"settle": 0, "release": 0}  # writes waiting to be retried
        self._alerted: set[tuple[str, float]] = set()
        self._last_logged: dict[str, float] = {}  # action -> when it was last logged

    # --- life cycle -------------------------------------------------------------

    async def start(self) -> None:
        """Load every key before the first call; then keep the snapshot and spend fresh.

        A Redis too old for the limits is refused (LimiterUnsupported); one that can't be
        reached yet is only logged: calls then fail open or closed, as configured.
        """
        try:
            await self.limiter.check()
        except LimiterUnavailable as exc:
            log.warning(
                "rate limits: %s; calls with limits fail %s until it answers",
                exc,
                "open" if self.fail_open else "closed",
            )
        await self.snapshot.load_async(self.store)
        self._tasks.append(
            asyncio.create_task(self.snapshot.run(self.store, self.config.auth.refresh_interval_s))
        )
        if self.record_spend:
            self._tasks.append(asyncio.create_task(self._sync_spend_forever()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._settling:
            await asyncio.wait(self._settling, timeout=2.0)
            for task in list(self._settling):  # retrying for a Redis that is away
                task.cancel()
        await self.limiter.close()
        self.snapshot.close()

    # --- admission --------------------------------------------------------------

    async def admit(self, exchange: Exchange) -> None:
        """Reserve the call's share of every limit it is held to, or refuse it."""
        key = exchange.key
        now = time.time()
        ruleset = self.policy.rules_for(key, exchange.model, now)
        if not ruleset.rules:
            return
        input_tokens = estimate_input_tokens(exchange.body)
        tokens, cost = self.policy.estimate(exchange.model, exchange.body, input_tokens)
        request_id = exchange.request_id
        try:
            admission = await self.limiter.admit(
                request_id, ruleset.rules, tokens, cost, self.lease_s
            )
        except (LimiterUnavailable, asyncio.CancelledError) as exc:
            # The script may have run in Redis even though its answer never came (a
            # timeout, or the client left): give back whatever it took, or it would be
            # held for a whole lease. One that never reached Redis took nothing.
            if not isinstance(exc, LimiterUnavailable) or exc.sent:
                self._background(self._release(request_id, ruleset.rules))
            if isinstance(exc, asyncio.CancelledError):
                raise
            self._unavailable(exc)
            return  # failing open: the call goes through unlimited
        if not admission.admitted:
            rule = admission.refused
            assert rule is not None
            if self.metrics is not None:
                self.metrics.limit_refusals.labels(_scope(rule.name), rule.kind).value += 1
            raise refusal(admission, _budget_resets_in(ruleset.budgets, rule, now))
        exchange.reservation = Reservation(ruleset.rules, ruleset.budgets, admission.states)

    async def _release(self, request_id: str, rules: tuple[Rule, ...]) -> None:
        await self._retrying(
            "release", request_id, lambda attempt: self.limiter.release(request_id, rules)
        )

    def _background(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    def _unavailable(self, exc: Exception) -> None:
        action = "open" if self.fail_open else "closed"
        self._trouble(
            action,
            True,
            logging.ERROR,
            "rate limits unavailable (Redis: %s); failing %s: calls are %s",
            exc,
            action,
            "let through unlimited" if self.fail_open else "refused with 503",
        )
        if not self.fail_open:
            raise Overloaded(
                "rate limits cannot be checked right now; try again shortly",
                code="limits_unavailable",
                retry_after=1,
            ) from exc

    # --- settlement (from the recorder, once the record is built) ----------------

    def settle(self, exchange: Exchange, record: RequestRecord) -> None:
        reservation: Reservation | None = exchange.reservation
        if reservation is None:
            return
        exchange.reservation = None
        tokens = 0
        attempts = record["attempts"]
        if attempts:
            for a in attempts:
                tokens += (a["input_tokens"] or 0) + (a["output_tokens"] or 0)
        else:
            tokens = (record["input_tokens"] or 0) + (record["output_tokens"] or 0)
        cost_usd = record["cost_usd"] or 0.0
        cost = round(cost_usd * 1_000_000)
        limiter = self.limiter
        if isinstance(limiter, MemoryLimiter) and not (reservation.budgets and cost > 0):
            # Nothing to wait for: settled here, without a task per call.
            limiter.settle_now(exchange.request_id, reservation.rules, tokens, cost)
            return
        self._background(self._settle(exchange.request_id, reservation, tokens, cost))

    async def _settle(
        self, request_id: str, reservation: Reservation, tokens: int, cost: int
    ) -> None:
        rules = reservation.rules

        def settle(attempt: int) -> Coroutine[Any, Any, None]:
            # A retried settle gives the budgets their reservation back but leaves the
            # cost to the spend sync, which reads it from the request log: had the sync
            # run while this waited, charging it here too would count the call twice
            # for the rest of the period. Without a request log, nothing else charges it.
            charged = cost if attempt == 0 or not self.record_spend else 0
            return self.limiter.settle(request_id, rules, tokens, charged)

        settled = await self._retrying("settle", request_id, settle)
        if settled and reservation.budgets and cost > 0:
            try:
                await self._check_thresholds(reservation.budgets)
            except LimiterUnavailable:
                pass  # the next settled call of the budget checks again
            except Exception:
                log.exception("checking budget thresholds after %s failed", request_id)

    def _trouble(self, action: str, count: bool, level: int, message: str, *args: Any) -> None:
        """Redis failed us: counted (once per call) by what the gateway did about it, and
        logged at most every `_LOG_EVERY_S` per action."""
        if count and self.metrics is not None:
            self.metrics.limiter_errors.labels(action).value += 1
        now = time.monotonic()
        if now - self._last_logged.get(action, float("-inf")) >= _LOG_EVERY_S:
            self._last_logged[action] = now
            log.log(level, message, *args)

    async def _retrying(
        self,
        what: Literal["settle", "release"],
        request_id: str,
        write: Callable[[int], Coroutine[Any, Any, None]],
    ) -> bool:
        """Run a settle or a give-back (``write(attempt)``), retried while Redis is away:
        both are idempotent.

        Retries back off (0.5 s doubling to 30 s, jittered so a recovering Redis isn't
        hit by all of them at once) and stop when the call's lease ends (its slots and
        reservations lapse then anyway) or when too many of the kind wait already;
        give-backs have a smaller share, so they can't crowd settlements out. The spend
        is re-read from the store either way. False if it never got through.
        """
        give_up = time.monotonic() + self.lease_s
        delay = _RETRY_FIRST_S
        attempt = 0
        while True:
            try:
                await write(attempt)
                return True
            except LimiterUnavailable as exc:
                self._trouble(
                    what,
                    attempt == 0,
                    logging.WARNING,
                    "could not %s request %s with Redis (retried until its lease ends): %s",
                    what,
                    request_id,
                    exc,
                )
                now = time.monotonic()
                if now + delay > give_up or self._waiting[what] >= _MAX_WAITING[what]:
                    return False
            except Exception:
                log.exception("%s of request %s failed", what, request_id)
                return False
            self._waiting[what] += 1
            try:
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            finally:
                self._waiting[what] -= 1
            delay = min(delay * 2, _RETRY_MAX_S)
            attempt += 1

    async def _check_thresholds(self, budgets: tuple[Budget, ...]) -> None:
        spends = await self.limiter.spend([b.rule for b in budgets])
        for budget, (spent, _reserved) in zip(budgets, spends, strict=True):
            share = spent / budget.rule.limit if budget.rule.limit else 0.0
            for threshold in [*budget.config.alert_at, 1.0]:
                mark = (budget.rule.name, threshold)
                if share < threshold or mark in self._alerted:
                    continue
                self._alerted.add(mark)
                if self.metrics is not None:
                    self.metrics.budget_alerts.labels(budget.scope, f"{threshold:g}").value += 1
                events.warning(
                    "budget.threshold %s %s crossed %d%% of its %s budget: $%.4f of $%.2f",
                    budget.scope,
                    budget.owner,
                    round(threshold * 100),
                    budget.config.period,
                    spent / 1e6,
                    budget.config.usd,
                    extra={
                        "event": "budget.threshold",
                        "scope": budget.scope,
                        "owner": budget.owner,
                        "threshold": threshold,
                        "spent_usd": spent / 1e6,
                        "budget_usd": budget.config.usd,
                        "period": budget.rule.name.rsplit(":", 1)[1],
                    },
                )

    # --- spend ------------------------------------------------------------------

    def budgets_now(self, now: float) -> list[Budget]:
        """Every budget in force: keys' from the snapshot, teams' and users' from config."""
        found: dict[str, Budget] = {}
        for key in self.snapshot.active_keys():
            for budget in self.policy.key_budgets(key, now):
                found[budget.rule.name] = budget
        for budget in self.policy.config_budgets(now):
            found[budget.rule.name] = budget
        return list(found.values())

    async def spend_of(self, budgets: list[Budget]) -> list[dict[str, Any]]:
        """Live spend of budgets: settled plus reserved, as the limiter counts it."""
        if not budgets:
            return []
        try:
            spends = await self.limiter.spend([b.rule for b in budgets])
        except LimiterUnavailable:
            spends = [(-1, -1)] * len(budgets)
        return [
            {
                "scope": b.scope,
                "owner": b.owner,
                "period": b.config.period,
                "budget_usd": b.config.usd,
                "spent_usd": None if spent < 0 else spent / 1e6,
                "reserved_usd": None if reserved < 0 else reserved / 1e6,
            }
            for b, (spent, reserved) in zip(budgets, spends, strict=True)
        ]

    async def _sync_spend_forever(self) -> None:
        while True:
            try:
                await self.sync_spend()
            except Exception as exc:  # the store may be down: retried next time
                log.warning("could not read budgets' spend from the store: %s", exc)
            await asyncio.sleep(_SYNC_INTERVAL_S)

    async def sync_spend(self) -> None:
        """Raise each budget's counter to what the request log says was spent."""
        now = time.time()
        groups: dict[tuple[str, str], list[Budget]] = {}
        for budget in self.budgets_now(now):
            groups.setdefault((budget.scope, budget.config.period), []).append(budget)
        loop = asyncio.get_running_loop()
        for (scope, period), budgets in groups.items():
            try:
                owners = [b.owner for b in budgets]
                since = period_start(period, now)
                spent = await loop.run_in_executor(
                    None, settled_spend, self._database, _COLUMNS[scope], since, owners
                )
                for budget in budgets:
                    usd = spent.get(budget.owner, 0.0)
                    if usd > 0:
                        await self.limiter.seed(budget.rule, round(usd * 1_000_000))
            except Exception as exc:  # one group failing must not stop the others
                log.warning("could not sync the %s %s budgets' spend: %s", period, scope, exc)

    def key_of(self, key_id: str) -> ApiKey | None:
        return self.snapshot.get(key_id)


def _longest_call_s(config: Config) -> float:
    """The longest a call can last, queueing, retries and fallbacks included: the most a
    concurrency slot or a budget reservation may need to be held."""
    retries = [config.routing.retry] + [m.retry for m in config.models.values() if m.retry]
    budget_s = max(r.budget_s for r in retries)  # no attempt starts after it
    attempt_s = max(p.timeout_s for p in config.providers.values())
    for model in config.models.values():  # a deployment may allow itself longer
        for dep in model.deployments:
            attempt_s = max(attempt_s, dep.timeouts.total_s or 0.0)
    queue_s = config.routing.queue_timeout_s if config.routing.max_in_flight else 0.0
    return queue_s + budget_s + attempt_s


def _scope(rule_name: str) -> str:
    scope = rule_name.split(":", 1)[0]
    return "key_model" if scope == "key" and ":model:" in rule_name else scope


def _budget_resets_in(budgets: tuple[Budget, ...], rule: Rule, now: float) -> float | None:
    for budget in budgets:
        if budget.rule is rule:
            end = period_end(budget.config.period, now)
            return None if end is None else end - now
    return None
