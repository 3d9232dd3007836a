"""Per-group numbers over a time window, computed by the database, same SQL on both.

Definitions (also in docs/store.md):

* ``errors``: calls that the gateway failed to serve: status >= 500, or 429 (rate or
  capacity limited). ``client_errors``: every other 4xx (499: the client went away).
  ``error_rate`` = errors / requests.
* ``qps`` = requests / window; ``tokens_per_s`` = output tokens / window (the group's
  throughput); ``stream_tokens_per_s`` = mean of the streams' own decode speed.
* Percentiles are nearest-rank (the value at rank ceil(p/100 * n) in ascending order),
  taken with ``ROW_NUMBER() OVER (PARTITION BY group ORDER BY x)``: one sort per metric
  inside the database, and only the three ranked rows per group come back. TTFT counts
  streams only.
* ``availability``: of the wall-clock minutes in which the group got calls, the share
  that were *available*: at least one call succeeded (status < 400) and fewer than 5%
  were errors. None when the group had no calls.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from gatehouse.store.tables import request_attempts, requests

GroupBy = Literal["model", "deployment", "key", "team", "user", "provider"]
PERCENTILES = (50, 95, 99)
AVAILABLE_MAX_ERROR_SHARE = 0.05
_R = requests.c
_A = request_attempts.c
GROUP_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "model": _R.model,
    "deployment": _R.deployment,
    "key": _R.key_id,
    "team": _R.team_id,
    "user": _R.user_id,
    "provider": _R.provider,
}


class Percentiles(TypedDict):
    p50: float | None
    p95: float | None
    p99: float | None


class GroupStats(TypedDict, total=False):
    group: str | None
    requests: int
    qps: float
    errors: int
    client_errors: int
    error_rate: float
    input_tokens: int
    output_tokens: int
    tokens_per_s: float
    stream_tokens_per_s: float | None
    cost_usd: float
    latency_ms: Percentiles
    ttft_ms: Percentiles
    availability: float | None
    active_minutes: int
    available_minutes: int
    # group_by="deployment" only: every attempt the deployment made, served or not.
    attempts: int
    attempt_errors: int


class StatsReport(TypedDict):
    group_by: str
    window_s: float
    since: float
    until: float
    groups: list[GroupStats]


class _minute(sa.sql.functions.FunctionElement[int]):
    """floor(epoch seconds / 60). CAST to integer truncates in SQLite, rounds in PG."""

    type = sa.Integer()
    inherit_cache = True


@compiles(_minute)
def _minute_sqlite(element: _minute, compiler: SQLCompiler, **kw: Any) -> str:
    # Times are positive: truncation is floor. The literal 60 (not a bound parameter)
    # keeps the expression identical in SELECT and GROUP BY.
    return f"CAST({compiler.process(element.clauses, **kw)} / 60 AS INTEGER)"


@compiles(_minute, "postgresql")
def _minute_pg(element: _minute, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor({compiler.process(element.clauses, **kw)} / 60) AS BIGINT)"


def compute_stats(
    engine: sa.Engine,
    window_s: float,
    group_by: GroupBy,
    now: float | None = None,
    team: str | None = None,
) -> list[GroupStats]:
    """``team``: only that team's calls (a team-scoped reader's view)."""
    g = GROUP_COLUMNS[group_by]
    end = time.time() if now is None else now
    in_window = [_R.received_at >= end - window_s, _R.received_at <= end]
    if team is not None:
        in_window.append(_R.team_id == team)
    error = sa.or_(_R.status >= 500, _R.status == 429)
    client_error = sa.and_(_R.status >= 400, _R.status < 500, _R.status != 429)
    totals = (
        sa.select(
            g,
            sa.func.count(),
            _count_if(error),
            _count_if(client_error),
            sa.func.sum(_R.input_tokens),
            sa.func.sum(_R.output_tokens),
            sa.func.sum(_R.cost_usd),
            sa.func.avg(sa.case((_R.stream.is_(True), _R.output_tokens_per_s))),
        )
        .where(*in_window)
        .group_by(g)
    )
    minutes = (
        sa.select(g, _count_if(_R.status < 400), _count_if(error), sa.func.count())
        .where(*in_window)
        .group_by(g, _minute(_R.received_at))
    )
    out: dict[str | None, GroupStats] = {}
    with engine.connect() as conn:
        for key, n, errors, client, tin, tout, cost, stream_tps in conn.execute(totals):
            out[key] = GroupStats(
                group=key,
                requests=n,
                qps=n / window_s,
                errors=int(errors),
                client_errors=int(client),
                error_rate=int(errors) / n,
                input_tokens=int(tin or 0),
                output_tokens=int(tout or 0),
                tokens_per_s=int(tout or 0) / window_s,
                stream_tokens_per_s=None if stream_tps is None else float(stream_tps),
                cost_usd=float(cost or 0.0),
            )
        latency = _percentiles(conn, g, _R.latency_ms, in_window)
        ttft = _percentiles(conn, g, _R.ttft_ms, [*in_window, _R.stream == sa.true()])
        active: dict[Any, int] = defaultdict(int)
        available: dict[Any, int] = defaultdict(int)
        for key, ok, errors, n in conn.execute(minutes):
            active[key] += 1
            if ok > 0 and errors < AVAILABLE_MAX_ERROR_SHARE * n:
                available[key] += 1
        if group_by == "deployment" and team is None:  # attempts carry no team
            _add_attempts(conn, out, end - window_s, end, window_s)
    for key, stats in out.items():
        stats["latency_ms"] = latency.get(key, _no_percentiles())
        stats["ttft_ms"] = ttft.get(key, _no_percentiles())
        stats["active_minutes"] = active[key]
        stats["available_minutes"] = available[key]
        stats["availability"] = available[key] / active[key] if active[key] else None
    return sorted(out.values(), key=lambda s: (-s["requests"], str(s["group"])))


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _no_percentiles() -> Percentiles:
    return Percentiles(p50=None, p95=None, p99=None)


def _percentiles(
    conn: sa.Connection,
    g: sa.ColumnElement[Any],
    value: sa.ColumnElement[Any],
    where: list[sa.ColumnElement[bool]],
) -> dict[Any, Percentiles]:
    ranked = (
        sa.select(
            g.label("g"),
            value.label("v"),
            sa.func.row_number().over(partition_by=g, order_by=value).label("rn"),
            sa.func.count().over(partition_by=g).label("n"),
        )
        .where(*where, value.is_not(None))
        .subquery()
    )
    # Nearest rank ceil(p * n / 100) in integer arithmetic, exact on both databases.
    ranks = {p: (ranked.c.n * p + 99) // 100 for p in PERCENTILES}
    query = sa.select(ranked.c.g, ranked.c.rn, ranked.c.v, ranked.c.n).where(
        sa.or_(*(ranked.c.rn == rank for rank in ranks.values()))
    )
    out: dict[Any, Percentiles] = {}
    for key, rn, v, n in conn.execute(query):
        found = out.setdefault(key, _no_percentiles())
        for p in PERCENTILES:
            if rn == (n * p + 99) // 100:
                found[f"p{p}"] = float(v)  # type: ignore[literal-required]
    return out


def _add_attempts(
    conn: sa.Connection,
    out: dict[str | None, GroupStats],
    start: float,
    end: float,
    window_s: float,
) -> None:
    """Every attempt per deployment, so one that never served still shows its failures."""
    query = (
        sa.select(_A.deployment, sa.func.count(), _count_if(_A.outcome != "ok"))
        .where(_A.started_at >= start, _A.started_at <= end)
        .group_by(_A.deployment)
    )
    # Calls served by their only attempt keep it inline in `requests` (tables.py).
    inline = (
        sa.select(_R.deployment, sa.func.count(), sa.literal(0))
        .where(
            _R.attempt_span_id.isnot(None),
            # Bounds on the indexed received_at first: an inline attempt starts within
            # moments of its call's arrival.
            _R.received_at >= start - 60,
            _R.received_at <= end,
            _R.attempt_started_at >= start,
            _R.attempt_started_at <= end,
        )
        .group_by(_R.deployment)
    )
    counts: dict[str, list[int]] = {}
    for result in (conn.execute(query), conn.execute(inline)):
        for deployment, n, failed in result:
            total = counts.setdefault(deployment, [0, 0])
            total[0] += n
            total[1] += int(failed)
    for deployment, (n, failed) in counts.items():
        stats = out.setdefault(
            deployment,
            GroupStats(
                group=deployment,
                requests=0,
                qps=0.0,
                errors=0,
                client_errors=0,
                error_rate=0.0,
                input_tokens=0,
                output_tokens=0,
                tokens_per_s=0.0,
                stream_tokens_per_s=None,
                cost_usd=0.0,
            ),
        )
        stats["attempts"] = n
        stats["attempt_errors"] = int(failed)
