"""The router: which deployment serves a call, and what happens when one fails.

For one client request::

    for each model in [requested, *fallbacks]:        # fallbacks only for fallback_on classes
        for n in range(retry.attempts):               # no new attempt past retry.budget_s
            pick the strategy's best deployment that is untried, under its in-flight cap
                and allowed by its breaker (a tried one only when nothing else is left)
            back off (full jitter; Retry-After when the same deployment is retried)
            call it — hedged by a second deployment when the model has `hedge`
            success → done; a client error → returned as is; else record and go on
    → AllAttemptsFailed, keeping every attempt

A stream counts as answered at its first *content* event (a role-only chunk is not
content): until then a failing or silent upstream is retried invisibly; after it, a
failure reaches the client as an error event.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Container
from typing import TYPE_CHECKING, Any

from gatehouse.errors import (
    AllAttemptsFailed,
    GatehouseError,
    InvalidRequest,
    Overloaded,
    RateLimited,
    UpstreamRejected,
)
from gatehouse.providers import Reply
from gatehouse.routing.attempt import Attempt
from gatehouse.routing.failures import RETRY_SAME_MODEL, failure_class
from gatehouse.routing.outcomes import Opened, record_failure, release
from gatehouse.routing.streams import relay, total_tokens, until_content
from gatehouse.routing.table import Deployment, ModelRoute

if TYPE_CHECKING:
    from gatehouse.pipeline.exchange import Exchange


_span_bits = random.Random().getrandbits


class _Failed(Exception):
    """Attempts that failed, with the deployment each one went to."""

    def __init__(self, errors: list[tuple[Deployment, GatehouseError]]) -> None:
        self.errors = errors


class _Plus:
    """``tried`` plus one more deployment, without copying."""

    __slots__ = ("extra", "tried")

    def __init__(self, tried: Container[Deployment], extra: Deployment) -> None:
        self.tried = tried
        self.extra = extra

    def __contains__(self, dep: object) -> bool:
        return dep is self.extra or dep in self.tried


class _NextModel(Exception):
    """This model can't serve the call; the failure class says whether a fallback may."""

    def __init__(self, failure: str | None) -> None:
        self.failure = failure


class Router:
    def __init__(self, routes: dict[str, ModelRoute], rng: random.Random | None = None) -> None:
        self.routes = routes
        self._rng = rng or random.Random()
        # Each model followed by its fallbacks, resolved once.
        self._chains = {
            name: [route, *(routes[f] for f in route.fallbacks)] for name, route in routes.items()
        }

    async def route(self, exchange: Exchange) -> None:
        """Fill the exchange with an answer from the best deployment that gives one."""
        route = exchange.route
        assert route is not None
        failures: list[tuple[str, GatehouseError]] = []
        deadline = time.monotonic() + route.retry.budget_s
        for i, model_route in enumerate(self._chains[route.name]):
            if i and time.monotonic() >= deadline:
                break
            try:
                await self._serve_with(exchange, model_route, deadline, failures)
                return
            except _NextModel as nxt:
                if nxt.failure is None or nxt.failure not in route.fallback_on:
                    break
        if not failures:
            raise no_deployment_error(route, exchange.tags)
        kept = next((e for _, e in failures if isinstance(e, FilteredAnswer)), None)
        if kept is not None:
            kept.commit(exchange)  # no fallback did better: what the model said stands
            return
        if len(failures) == 1:
            raise failures[0][1]  # one attempt: its own error says it best
        raise AllAttemptsFailed(failures)

    async def _serve_with(
        self,
        exchange: Exchange,
        route: ModelRoute,
        deadline: float,
        failures: list[tuple[str, GatehouseError]],
    ) -> None:
        tried: dict[Deployment, GatehouseError] = {}  # each tried one and its last error
        last_failure: str | None = "server_error"
        # One draw of the strategy per call: retries and hedges walk down the same
        # order, so a rotating strategy still rotates call by call.
        order = route.strategy.order(route.deployments)
        for n in range(route.retry.attempts):
            if n and time.monotonic() >= deadline:
                raise _NextModel("timeout")
            dep = self.pick(route, tried, exchange.tags, order)
            if dep is None:
                # Nothing callable (breakers open, limits reached, no such tags): a
                # fallback may still serve.
                raise _NextModel(last_failure)
            if dep in tried:
                try:
                    waited = await self._backoff(route, n, tried[dep], deadline)
                except BaseException:
                    release(dep)  # pick() reserved a half-open probe for this call
                    raise
                if not waited:
                    release(dep)
                    raise _NextModel(last_failure)
            try:
                if route.hedge_after_s is None:
                    opened = await self._open(exchange, route, dep)
                else:
                    opened = await self._hedged(
                        exchange, route, dep, tried, route.hedge_after_s, order
                    )
            except GatehouseError as err:
                failed = _Failed([(dep, err)])
            except _Failed as hedge_failed:
                failed = hedge_failed
            else:
                self._commit(exchange, route, opened)
                return
            for where, error in failed.errors:
                failure = failure_class(error)
                if failure is None:
                    raise error from None  # the client's own mistake: no deployment differs
                failures.append((f"{route.name}={where.name}", error))
                tried[where] = error
                last_failure = failure
                if (
                    isinstance(error, RateLimited)
                    and error.retry_after is not None
                    and error.retry_after > route.retry.max_retry_after_s
                    and where.breaker is not None
                ):
                    where.breaker.trip(error.retry_after, f"Retry-After {error.retry_after:g}s")
            if last_failure not in RETRY_SAME_MODEL:
                raise _NextModel(last_failure) from None
        raise _NextModel(last_failure)

    def pick(
        self,
        route: ModelRoute,
        tried: Container[Deployment] = (),
        tags: frozenset[str] = frozenset(),
        order: list[Deployment] | None = None,
    ) -> Deployment | None:
        """The best deployment to call now, or None when none may be called."""
        if order is None:
            order = route.strategy.order(route.deployments)
        for dep in order:
            if dep not in tried and _callable(dep, tags):
                return dep
        # Every untried one is out: retry a tried one (after a backoff) rather than none.
        for dep in order:
            if dep in tried and _callable(dep, tags):
                return dep
        return None

    async def _backoff(
        self, route: ModelRoute, n: int, last: GatehouseError, deadline: float
    ) -> bool:
        """Wait before retrying a deployment; False when the wait would pass the budget."""
        retry = route.retry
        delay = self._rng.uniform(0, min(retry.backoff_max_s, retry.backoff_base_s * 2 ** (n - 1)))
        if last.retry_after is not None:
            # That deployment asked for a pause; a longer one tripped its breaker instead.
            delay = max(delay, min(last.retry_after, retry.max_retry_after_s))
        if time.monotonic() + delay >= deadline:
            return False
        if delay > 0:
            await asyncio.sleep(delay)
        return True

    async def _hedged(
        self,
        exchange: Exchange,
        route: ModelRoute,
        dep: Deployment,
        tried: Container[Deployment],
        after_s: float,
        order: list[Deployment],
    ) -> Opened:
        """Race a second deployment when the first is slow to start answering."""
        racers: dict[asyncio.Future[Opened], Deployment] = {}
        racers[asyncio.ensure_future(self._open(exchange, route, dep))] = dep
        try:
            done, _ = await asyncio.wait(racers, timeout=after_s)
            if not done:
                other = self.pick(route, _Plus(tried, dep), exchange.tags, order)
                if other is dep:
                    release(dep)  # the only one left is the one already racing
                elif other is not None:
                    hedge = self._open(exchange, route, other, hedge=True)
                    racers[asyncio.ensure_future(hedge)] = other
            errors: list[tuple[Deployment, GatehouseError]] = []
            pending = set(racers)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    exc = task.exception()
                    if exc is None:
                        winner = task.result()
                        await _settle(racers, keep=task)
                        return winner
                    if not isinstance(exc, GatehouseError):
                        raise exc
                    errors.append((racers[task], exc))
            raise _Failed(errors)
        except BaseException:
            await _settle(racers, keep=None)
            raise

    async def _open(
        self, exchange: Exchange, route: ModelRoute, dep: Deployment, hedge: bool = False
    ) -> Opened:
        body = dict(exchange.body)
        body["model"] = dep.model
        for key, value in dep.defaults.items():
            body.setdefault(key, value)
        if exchange.stream and dep.stream_usage:
            _ask_for_usage(exchange, body)
        provider = dep.provider
        span_id = f"{_span_bits(64):016x}"
        attempt = Attempt(
            route.name,
            dep.name,
            time.perf_counter(),
            hedge=hedge,
            span_id=span_id,
            provider=provider.name,
            upstream_model=dep.model,
        )
        exchange.attempts.append(attempt)
        # The upstream's work joins the client's trace as a child of this attempt.
        trace = f"00-{exchange.trace_id}-{span_id}-{'01' if exchange.sampled else '00'}"
        started = dep.stats.begin()
        try:
            if exchange.stream:
                events = provider.stream(
                    exchange.operation, body, exchange.headers, dep.timeouts, trace
                )
                prefix = await until_content(events, dep)
                opened = Opened(dep, attempt, started, prefix=prefix, events=events)
                opened.ttft_s = time.monotonic() - started
            else:
                reply = await provider.complete(
                    exchange.operation, body, exchange.headers, dep.timeouts, trace
                )
                if self._may_refilter(exchange, route) and _filtered(reply):
                    raise FilteredAnswer(dep, route.name, attempt, reply)
                opened = Opened(dep, attempt, started, reply=reply)
        except GatehouseError as err:
            record_failure(dep, attempt, started, err)
            raise
        except BaseException:
            attempt.outcome = "cancelled"
            attempt.ended = time.perf_counter()
            dep.stats.cancel()
            release(dep)
            raise
        if dep.breaker is not None:
            dep.breaker.record_success()
        return opened

    def _may_refilter(self, exchange: Exchange, route: ModelRoute) -> bool:
        """Whether a filtered answer should go on to a fallback: only when there is one
        for ``content_filter`` (if it fails too, the filtered answer is still given)."""
        asked = exchange.route
        assert asked is not None
        return "content_filter" in asked.fallback_on and self._chains[asked.name][-1] is not route

    def _commit(self, exchange: Exchange, route: ModelRoute, opened: Opened) -> None:
        dep, attempt = opened.deployment, opened.attempt
        exchange.deployment = dep
        exchange.served_model = route.name
        now = time.perf_counter()
        if opened.reply is not None:
            usage = opened.reply.data.get("usage")
            attempt.outcome, attempt.ended, attempt.usage = "ok", now, usage
            exchange.response_body = opened.reply.body
            exchange.response_data = opened.reply.data
            exchange.usage = usage
            exchange.done = now
            dep.stats.end(opened.started, ok=True, tokens=total_tokens(usage))
            return
        assert opened.events is not None and opened.prefix is not None
        exchange.first_token = now
        exchange.events = relay(exchange, opened)


async def _settle(racers: dict[asyncio.Future[Opened], Deployment], keep: Any) -> None:
    """Cancel every racer but ``keep`` and undo any that succeeded anyway.

    ``asyncio.wait`` is used to wait for them because, unlike awaiting a task, it
    does not turn a cancellation of this call into the racers' (and so lose it).
    """
    others = [t for t in racers if t is not keep]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others)
    for task in others:
        if not task.cancelled() and task.exception() is None:
            await task.result().discard()


def _ask_for_usage(exchange: Exchange, body: dict[str, Any]) -> None:
    """Ask for the usage chunk the cost needs; remember to hide it if the client didn't."""
    if exchange.operation == "embeddings":
        return
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is True:
        return
    body["stream_options"] = (
        {**options, "include_usage": True} if options else {"include_usage": True}
    )
    exchange.strip_usage = True


def _filtered(reply: Reply) -> bool:
    """A 200 whose every choice was filtered: a failure a fallback may cure."""
    choices = reply.data.get("choices")
    return (
        isinstance(choices, list)
        and bool(choices)
        and all(isinstance(c, dict) and c.get("finish_reason") == "content_filter" for c in choices)
    )


class FilteredAnswer(UpstreamRejected):
    """A filtered answer, tried on a fallback; kept, and given to the client when no
    fallback answers instead (an error in its place would hide what the model said)."""

    def __init__(self, dep: Deployment, model: str, attempt: Attempt, reply: Reply) -> None:
        super().__init__(
            f"deployment {dep.name!r} filtered the answer",
            status=400,
            error_type="invalid_request_error",
            code="content_filter",
        )
        self.deployment, self.model, self.attempt, self.reply = dep, model, attempt, reply

    def commit(self, exchange: Exchange) -> None:
        attempt, reply = self.attempt, self.reply
        attempt.outcome, attempt.status = "ok", None
        attempt.error_type = attempt.error_code = None
        attempt.usage = reply.data.get("usage")
        exchange.deployment, exchange.served_model = self.deployment, self.model
        exchange.response_body, exchange.response_data = reply.body, reply.data
        exchange.usage = attempt.usage
        exchange.done = time.perf_counter()


def _callable(dep: Deployment, tags: frozenset[str]) -> bool:
    if tags and not tags <= dep.tags:
        return False
    if dep.max_in_flight is not None and dep.stats.in_flight >= dep.max_in_flight:
        return False
    # Last, because a half-open breaker's allow() reserves its probe for this call.
    return dep.breaker is None or dep.breaker.allow()


def _any_tagged(route: ModelRoute, tags: frozenset[str]) -> bool:
    return not tags or any(tags <= d.tags for d in route.deployments)


def no_deployment_error(route: ModelRoute, tags: frozenset[str]) -> GatehouseError:
    if tags and not _any_tagged(route, tags):
        wanted = ", ".join(sorted(tags))
        return InvalidRequest(
            f"no deployment of model '{route.name}' has the tags {wanted}",
            code="no_matching_deployment",
        )
    waits = [
        float(wait)
        for d in route.deployments
        if d.breaker is not None
        and isinstance(wait := d.breaker.snapshot().get("half_open_in_s"), int | float)
    ]
    return Overloaded(
        f"no deployment of model '{route.name}' can take a call now "
        "(circuit breakers open or in-flight limits reached)",
        code="no_healthy_deployment",
        retry_after=max(1.0, min(waits)) if waits else 1,
    )
