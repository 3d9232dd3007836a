"""The gateway's metrics: what ``GET /metrics`` shows about every call.

Names and buckets follow the OpenTelemetry GenAI semantic conventions, translated to
Prometheus style (dots to underscores, the unit as a suffix); the ``gatehouse_*``
metrics cover what the conventions do not (status, cost, attempts, the recorder).
The recorder hands finished calls to ``GatewayMetrics.observe`` in batches, off the
request's latency path; only ``in_flight_inc``/``in_flight_dec`` run on it.
docs/metrics.md lists every metric.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable

from gatehouse.store.records import RequestRecord
from gatehouse.telemetry.exposition import CONTENT_TYPE, render
from gatehouse.telemetry.multiprocess import METRICS_DIR_ENV, WorkerSnapshots, merge
from gatehouse.telemetry.registry import (
    Collector,
    CounterSeries,
    Family,
    GaugeSeries,
    HistogramSeries,
    Registry,
    gauge_family,
)
from gatehouse.telemetry.resources import HostResources, ProcessResources

__all__ = ["CONTENT_TYPE", "METRICS_DIR_ENV", "GatewayMetrics"]

# Explicit bucket boundaries the GenAI semantic conventions recommend.
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)

# Our operation names → gen_ai.operation.name values.
OPERATION_NAMES = {"chat": "chat", "completions": "text_completion", "embeddings": "embeddings"}
GENAI_LABELS = (
    "gen_ai_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_response_model",
    "gatehouse_deployment",
    "error_type",
)
BREAKER_STATES = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}
# The request model is whatever a client typed; past this many distinct call series
# new ones are counted under model "other" so a typo storm cannot exhaust memory.
MAX_CALL_SERIES = 2000
OVERFLOW_MODEL = "other"

# The raw record fields a call series is cached under (see GatewayMetrics.observe).
_CallKey = tuple[str, str | None, str, str | None, str | None, str | None, int]


class _FromEnv(enum.Enum):
    FROM_ENV = enum.auto()


class _CallSeries:
    """The series one combination of call labels updates, bound on first use.

    Histograms are bound lazily so that, say, a non-streamed call leaves no empty
    time-to-first-token series behind.
    """

    __slots__ = (
        "cost",
        "duration",
        "labels",
        "requests",
        "short",
        "tokens_in",
        "tokens_out",
        "tpot",
        "ttft",
    )

    def __init__(self, labels: tuple[str, ...], short: tuple[str, str], requests: CounterSeries):
        self.labels = labels  # the GenAI label values
        self.short = short  # (model, deployment) for the gatehouse_* metrics
        self.requests = requests
        self.duration: HistogramSeries | None = None
        self.tokens_in: HistogramSeries | None = None
        self.tokens_out: HistogramSeries | None = None
        self.ttft: HistogramSeries | None = None
        self.tpot: HistogramSeries | None = None
        self.cost: CounterSeries | None = None


class GatewayMetrics:
    """The registry of the gateway's metrics and the one place that updates them.

    With a ``metrics_dir`` (by default ``GATEHOUSE_METRICS_DIR``, which the supervisor
    sets for ``--workers N``), ``start()`` begins writing this worker's snapshot there
    every ``snapshot_interval_s``, ``render()`` merges every worker's, and ``stop()``
    writes the last one. ``metrics_dir=None``: this process only.
    """

    def __init__(
        self,
        *,
        metrics_dir: str | os.PathLike[str] | _FromEnv | None = _FromEnv.FROM_ENV,
        pid: int | None = None,
        snapshot_interval_s: float = 1.0,
        resources: bool = True,
        max_call_series: int = MAX_CALL_SERIES,
    ) -> None:
        self.registry = reg = Registry()
        self._duration = reg.histogram(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration: one observation per client request, all attempts included.",
            GENAI_LABELS,
            DURATION_BUCKETS,
        )
        self._tokens = reg.histogram(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used per request (unit: tokens).",
            (*GENAI_LABELS, "gen_ai_token_type"),
            TOKEN_BUCKETS,
        )
        self._ttft = reg.histogram(
            "gen_ai_server_time_to_first_token_seconds",
            "Time from receiving a streamed request to its first token.",
            GENAI_LABELS,
            TTFT_BUCKETS,
        )
        self._tpot = reg.histogram(
            "gen_ai_server_time_per_output_token_seconds",
            "Mean time per output token after the first (streams).",
            GENAI_LABELS,
            TPOT_BUCKETS,
        )
        self._requests = reg.counter(
            "gatehouse_requests_total",
            "Client requests by public model, deployment that served and HTTP status.",
            ("model", "deployment", "status"),
        )
        self._cost = reg.counter(
            "gatehouse_cost_usd_total",
            "Estimated upstream cost in US dollars, every attempt included.",
            ("model", "deployment"),
        )
        self._attempt_count = reg.counter(
            "gatehouse_upstream_attempts_total",
            "Upstream attempts (retries, fallbacks and hedges each count) by outcome.",
            ("model", "deployment", "outcome"),
        )
        self._attempt_duration = reg.histogram(
            "gatehouse_upstream_attempt_duration_seconds",
            "Duration of each upstream attempt.",
            ("deployment", "outcome"),
            DURATION_BUCKETS,
        )
        self.in_flight: GaugeSeries = reg.gauge(
            "gatehouse_requests_in_flight", "Client requests being served now."
        ).labels()
        dropped = reg.counter(
            "gatehouse_recorder_dropped_total",
            "Records or bodies the recorder dropped because its queue was full.",
            ("what",),
        )
        self._dropped = {what: dropped.labels(what) for what in ("record", "body")}
        self._dropped_metric = dropped
        self._queue_depth = reg.gauge(
            "gatehouse_recorder_queue_depth", "Records waiting for the store writer."
        ).labels()

        # Access control and limits: counted where they happen, on the request path.
        self.auth_failures = reg.counter(
            "gatehouse_auth_failures_total",
            "Calls refused by authentication or authorization, by reason.",
            ("reason",),
        )
        self.limit_refusals = reg.counter(
            "gatehouse_limit_refusals_total",
            "Calls refused by a rate limit, concurrency limit or budget, by scope and kind.",
            ("scope", "kind"),
        )
        self.limiter_errors = reg.counter(
            "gatehouse_limiter_errors_total",
            "Calls whose limits Redis could not serve, by what the gateway did (open: let "
            "the call through; closed: refused it; settle, release: retried the call's "
            "settlement or the give-back of its lost admission).",
            ("action",),
        )
        self.budget_alerts = reg.counter(
            "gatehouse_budget_alerts_total",
            "Budget thresholds crossed (budget.threshold events), by scope and share.",
            ("scope", "threshold"),
        )

        # Guardrails: one verdict per scanner per direction of a call it ran on.
        self.guardrail_verdicts = reg.counter(
            "gatehouse_guardrail_verdicts_total",
            "Guardrail verdicts by direction, scanner and outcome (clean, flagged, redacted, "
            "blocked, timeout).",
            ("direction", "scanner", "outcome"),
        )
        self.guardrail_findings = reg.counter(
            "gatehouse_guardrail_findings_total",
            "Entities guardrail scanners found at or above their threshold, by type.",
            ("direction", "scanner", "type"),
        )
        self.guardrail_seconds = reg.histogram(
            "gatehouse_guardrail_scan_seconds",
            "Time one call's scan took per direction and where it ran (inline: in the "
            "gateway worker; worker: the scan worker process, round trip included).",
            ("direction", "where"),
            (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )

        self._calls: dict[_CallKey, _CallSeries] = {}
        self._overflow: dict[tuple[str, ...], _CallSeries] = {}
        self._attempts: dict[tuple[str, str, str], tuple[CounterSeries, HistogramSeries]] = {}
        self._max_call_series = max_call_series
        if resources:
            reg.add_collector(ProcessResources(pid=pid).collect, per_worker=True)
            reg.add_collector(HostResources().collect, per_worker=False)
        if isinstance(metrics_dir, _FromEnv):
            metrics_dir = os.environ.get(METRICS_DIR_ENV) or None
        self.snapshots = (
            WorkerSnapshots(reg, metrics_dir, pid=pid, interval_s=snapshot_interval_s)
            if metrics_dir
            else None
        )

    # --- the recorder's side -------------------------------------------------

    def observe(self, records: Iterable[RequestRecord]) -> None:
        """Count a batch of finished calls (each record once, each attempt once)."""
        calls = self._calls
        attempts = self._attempts
        for rec in records:
            key: _CallKey = (
                rec["operation"],
                rec["provider"],
                rec["model"],
                rec["upstream_model"],
                rec["deployment"],
                rec["error_type"],
                rec["status"],
            )
            s = calls.get(key)
            if s is None:
                s = self._bind_call(key)
            s.requests.value += 1
            value: float | None = rec["latency_ms"]
            if value is not None:
                h = s.duration
                if h is None:
                    h = s.duration = self._duration.labels(*s.labels)
                h.observe(value / 1000)
            value = rec["input_tokens"]
            if value is not None:
                h = s.tokens_in
                if h is None:
                    h = s.tokens_in = self._tokens.labels(*s.labels, "input")
                h.observe(value)
            value = rec["output_tokens"]
            if value is not None:
                h = s.tokens_out
                if h is None:
                    h = s.tokens_out = self._tokens.labels(*s.labels, "output")
                h.observe(value)
            value = rec["ttft_ms"]
            if value is not None:
                h = s.ttft
                if h is None:
                    h = s.ttft = self._ttft.labels(*s.labels)
                h.observe(value / 1000)
            value = rec["itl_ms"]
            if value is not None:
                h = s.tpot
                if h is None:
                    h = s.tpot = self._tpot.labels(*s.labels)
                h.observe(value / 1000)
            value = rec["cost_usd"]
            if value is not None:
                c = s.cost
                if c is None:
                    c = s.cost = self._cost.labels(*s.short)
                c.value += value
            for att in rec["attempts"]:
                akey = (att["model"], att["deployment"], att["outcome"])
                bound = attempts.get(akey)
                if bound is None:
                    bound = self._bind_attempt(akey)
                bound[0].value += 1
                value = att["duration_ms"]
                if value is not None:
                    bound[1].observe(value / 1000)

    def in_flight_inc(self) -> None:
        self.in_flight.value += 1

    def in_flight_dec(self) -> None:
        self.in_flight.value -= 1

    def dropped(self, what: str, n: int = 1) -> None:
        """Count ``n`` dropped items; ``what`` is ``record`` or ``body``."""
        series = self._dropped.get(what)
        if series is None:
            series = self._dropped[what] = self._dropped_metric.labels(what)
        series.value += n

    def set_queue_depth(self, n: int) -> None:
        self._queue_depth.value = n

    # --- the server's side ---------------------------------------------------

    def add_collector(self, collector: Collector, *, per_worker: bool = True) -> None:
        """Add families computed at scrape time (and, if ``per_worker``, at each snapshot)."""
        self.registry.add_collector(collector, per_worker=per_worker)

    def watch_breakers(self, states: Callable[[], Iterable[tuple[str, str, str | int]]]) -> None:
        """Expose breaker states read from ``states()``: (model, deployment, state) triples.

        A state is ``closed``/``half_open``/``open`` (a str enum works) or 0/1/2. Breakers
        are per worker; across workers the gauge shows the most open one.
        """

        def collect() -> list[Family]:
            series: dict[tuple[str, ...], float] = {}
            for model, deployment, state in states():
                level = state if isinstance(state, int) else BREAKER_STATES.get(str(state))
                if level is not None:
                    series[(model, deployment)] = float(level)
            family = gauge_family(
                "gatehouse_deployment_breaker_state",
                "Circuit breaker per deployment: 0 closed, 1 half-open, 2 open.",
                ("model", "deployment"),
                series,
                agg="max",
            )
            return [family]

        self.registry.add_collector(collect, per_worker=True)

    def render(self) -> bytes:
        """The exposition page: this worker live, merged with the others' snapshots."""
        live = self.registry.collect()
        if self.snapshots is not None:
            return render(self.snapshots.merged(live))
        return render(merge([live]))

    async def start(self) -> None:
        """Begin writing snapshots (multi-process only), on the running loop."""
        if self.snapshots is not None:
            self.snapshots.start()

    async def stop(self) -> None:
        """Write the last snapshot so this worker's totals outlive it."""
        if self.snapshots is not None:
            await self.snapshots.stop()

    # --- binding series --------------------------------------------------------

    def _bind_call(self, key: _CallKey) -> _CallSeries:
        operation, provider, model, upstream_model, deployment, error_type, status = key
        overflow = len(self._calls) >= self._max_call_series
        if overflow:
            model = OVERFLOW_MODEL
        labels = (
            OPERATION_NAMES.get(operation, operation),
            provider or "",
            model,
            upstream_model or "",
            deployment or "",
            error_type or (str(status) if status >= 400 else ""),
        )
        overflow_key = (*labels, str(status))
        if overflow and overflow_key in self._overflow:
            return self._overflow[overflow_key]
        short = (model, deployment or "")
        series = _CallSeries(labels, short, self._requests.labels(*short, str(status)))
        if overflow:
            self._overflow[overflow_key] = series
        else:
            self._calls[key] = series
        return series

    def _bind_attempt(self, key: tuple[str, str, str]) -> tuple[CounterSeries, HistogramSeries]:
        model, deployment, outcome = key
        bound = (
            self._attempt_count.labels(model, deployment, outcome),
            self._attempt_duration.labels(deployment, outcome),
        )
        self._attempts[key] = bound
        return bound
