"""The read side of the request log: listings, single calls and traces.

Synchronous on purpose: the HTTP layer runs these in a thread executor. Every method
returns JSON-able dicts (``get_record`` alone returns a ``RequestRecord`` with bytes
bodies, for exports). Listings are newest first with an opaque keyset cursor over
``(received_at, id)``: a page never repeats or skips a row that was already stored
when the listing started, whatever is inserted meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import sqlalchemy as sa

from gatehouse.store.db import Database
from gatehouse.store.inserts import inline_attempt
from gatehouse.store.records import AttemptRecord, BodyRecord, RequestRecord
from gatehouse.store.stats import GroupBy, StatsReport, compute_stats
from gatehouse.store.tables import request_attempts, request_bodies, request_metadata, requests

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_R = requests.c
_A = request_attempts.c


@dataclass(frozen=True)
class RequestFilter:
    """What ``list_requests`` keeps; every field set must match.

    ``model`` matches the requested or the served model. ``status`` is an exact code
    or a class: ``"2xx"``…``"5xx"``, ``"error"`` (>= 400) or ``"ok"`` (< 400).
    ``metadata`` pairs must all be present with exactly these values.
    """

    since: float | None = None
    until: float | None = None
    model: str | None = None
    deployment: str | None = None
    key_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    status: int | str | None = None
    subject_id: str | None = None
    trace_id: str | None = None
    session_id: str | None = None
    operation: str | None = None
    client_api: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestPage:
    data: list[dict[str, Any]]  # "data", as in OpenAI's list responses
    next_cursor: str | None


class InvalidQuery(ValueError):
    """A filter, cursor or grouping the store cannot use (the caller's mistake)."""


class Queries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list_requests(
        self,
        filters: RequestFilter | Mapping[str, Any] | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> RequestPage:
        """One page of calls, newest first, each with its metadata and attempt count.

        ``filters`` is a ``RequestFilter`` or a mapping of its field names.
        """
        if filters is None:
            filters = RequestFilter()
        elif not isinstance(filters, RequestFilter):
            try:
                filters = RequestFilter(**filters)
            except TypeError as exc:
                raise InvalidQuery(str(exc)) from exc
        limit = max(1, min(int(limit), MAX_LIMIT))
        where = _conditions(filters)
        if cursor:
            at, last_id = _decode_cursor(cursor)
            where.append(
                sa.or_(_R.received_at < at, sa.and_(_R.received_at == at, _R.id < last_id))
            )
        newest = (_R.received_at.desc(), _R.id.desc())
        query: sa.Select[Any]
        if filters.model is None:
            query = sa.select(*requests.c).where(*where).order_by(*newest).limit(limit + 1)
        else:
            # "asked for or served by" as one OR makes both databases gather every match
            # and sort it; two branches each walk their (model, received_at) index.
            asked = sa.select(*requests.c).where(*where, _R.model == filters.model)
            # UNION drops a call that matches both; a `model != x` test in the second
            # branch instead would walk the whole index when every call matches both.
            served = sa.select(*requests.c).where(*where, _R.served_model == filters.model)
            both = sa.union(
                *(b.order_by(*newest).limit(limit + 1).subquery().select() for b in (asked, served))
            ).subquery()
            query = (
                sa.select(*both.c)
                .order_by(both.c.received_at.desc(), both.c.id.desc())
                .limit(limit + 1)
            )
        with self.db.engine.connect() as conn:
            rows = [_request_dict(r._mapping) for r in conn.execute(query)]
            more = len(rows) > limit
            rows = rows[:limit]
            meta = _metadata_of(conn, [r["id"] for r in rows])
        for row in rows:
            del row[_INLINE]
            row["metadata"] = meta.get(row["id"], {})
        next_cursor = _encode_cursor(rows[-1]["received_at"], rows[-1]["id"]) if more else None
        return RequestPage(rows, next_cursor)

    def get_record(self, request_id: str, team: str | None = None) -> RequestRecord | None:
        """The call exactly as it was written (bodies as bytes), or None.

        ``request_id`` is the gateway's id or, failing that, an x-request-id a client
        sent (the latest call that sent it: clients may reuse theirs). With ``team``,
        only that team's calls are looked at, so another team reusing the client's id
        can't hide the team's own call.
        """
        of_team = [] if team is None else [_R.team_id == team]
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(*requests.c).where(_R.id == request_id, *of_team)).first()
            if row is None:
                row = conn.execute(
                    sa.select(*requests.c)
                    .where(_R.client_request_id == request_id, *of_team)
                    .order_by(_R.received_at.desc())
                    .limit(1)
                ).first()
            if row is None:
                return None
            record = _request_dict(row._mapping)
            request_id = record["id"]
            _attach_attempts([record], _attempts_of(conn, [request_id]))
            record["metadata"] = _metadata_of(conn, [request_id]).get(request_id, {})
            body = conn.execute(
                sa.select(*request_bodies.c).where(request_bodies.c.request_id == request_id)
            ).first()
        record["body"] = None
        if body is not None:
            record["body"] = BodyRecord(
                request=body.request,
                response=body.response,
                truncated=body.truncated,
                encryption_key_id=body.encryption_key_id,
            )
        del record["attempt_count"]
        return cast(RequestRecord, record)

    def get_request(
        self, request_id: str, with_body: bool = True, team: str | None = None
    ) -> dict[str, Any] | None:
        """The full call, JSON-able: attempts, metadata and (optionally) the body.

        Each body side comes with its encoding: ``"utf-8"`` (shown as text) when the
        bytes are valid UTF-8 and stored in clear, else ``"base64"`` (binary or
        encrypted at rest).
        """
        record = self.get_record(request_id, team)
        if record is None:
            return None
        out: dict[str, Any] = dict(record)
        out["attempt_count"] = len(record["attempts"])
        body = record["body"]
        if not with_body or body is None:
            out["body"] = None
            return out
        encrypted = body["encryption_key_id"] is not None
        out["body"] = {
            "truncated": body["truncated"],
            "encryption_key_id": body["encryption_key_id"],
            **_body_side("request", body["request"], encrypted),
            **_body_side("response", body["response"], encrypted),
        }
        return out

    def trace(self, trace_id: str, team: str | None = None) -> dict[str, Any] | None:
        """Every call of a trace, oldest first, with attempts and metadata; or None.
        ``team``: only that team's calls."""
        where = [_R.trace_id == trace_id]
        if team is not None:
            where.append(_R.team_id == team)
        with self.db.engine.connect() as conn:
            rows = [
                _request_dict(r._mapping)
                for r in conn.execute(
                    sa.select(*requests.c).where(*where).order_by(_R.received_at, _R.id)
                )
            ]
            if not rows:
                return None
            ids = [r["id"] for r in rows]
            attempts = _attempts_of(conn, ids)
            meta = _metadata_of(conn, ids)
        _attach_attempts(rows, attempts)
        for row in rows:
            row["metadata"] = meta.get(row["id"], {})
        start = min(r["received_at"] for r in rows)
        end = max(r["done_at"] or r["received_at"] for r in rows)
        input_tokens = sum(r["input_tokens"] or 0 for r in rows)
        output_tokens = sum(r["output_tokens"] or 0 for r in rows)
        summary = {
            "requests": len(rows),
            "start": start,
            "end": end,
            "duration_ms": (end - start) * 1000.0,
            "cost_usd": sum(r["cost_usd"] or 0.0 for r in rows),
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "errors": sum(1 for r in rows if r["status"] >= 400),
        }
        return {"trace_id": trace_id, "summary": summary, "requests": rows}

    def stats(
        self,
        window_s: float,
        group_by: GroupBy,
        now: float | None = None,
        team: str | None = None,
    ) -> StatsReport:
        """Per-group traffic, errors, tokens, cost, latency percentiles and availability
        over ``[now - window_s, now]``, busiest group first; see ``stats.py``."""
        if window_s <= 0:
            raise InvalidQuery("window_s must be positive")
        end = time.time() if now is None else now
        try:
            groups = compute_stats(self.db.engine, window_s, group_by, end, team)
        except KeyError as exc:
            raise InvalidQuery(f"cannot group by {group_by!r}") from exc
        return StatsReport(
            group_by=group_by, window_s=window_s, since=end - window_s, until=end, groups=groups
        )


def _conditions(f: RequestFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.since is not None:
        where.append(_R.received_at >= f.since)
    if f.until is not None:
        where.append(_R.received_at <= f.until)
    for column, value in (
        (_R.deployment, f.deployment),
        (_R.key_id, f.key_id),
        (_R.team_id, f.team_id),
        (_R.user_id, f.user_id),
        (_R.subject_id, f.subject_id),
        (_R.trace_id, f.trace_id),
        (_R.session_id, f.session_id),
        (_R.operation, f.operation),
        (_R.client_api, f.client_api),
    ):
        if value is not None:
            where.append(column == value)
    if f.status is not None:
        where.append(_status_condition(f.status))
    for key, value in f.metadata.items():
        where.append(
            _R.id.in_(
                sa.select(request_metadata.c.request_id).where(
                    request_metadata.c.key == key, request_metadata.c.value == value
                )
            )
        )
    return where


def _status_condition(status: int | str) -> sa.ColumnElement[bool]:
    if isinstance(status, int) or status.isdigit():
        return _R.status == int(status)
    s = status.lower()
    if s == "ok":
        return _R.status < 400
    if s == "error":
        return _R.status >= 400
    if len(s) == 3 and s[0] in "12345" and s[1:] == "xx":
        low = int(s[0]) * 100
        return sa.and_(_R.status >= low, _R.status < low + 100)
    raise InvalidQuery(f"status must be a code, 1xx-5xx, 'ok' or 'error', not {status!r}")


def _encode_cursor(received_at: float, request_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([received_at, request_id])).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        at, request_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(request_id, str) or "\x00" in request_id:  # PostgreSQL refuses NUL
            raise ValueError("not an id")
        return float(at), request_id
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidQuery("invalid cursor") from exc


def _request_dict(row: Any) -> dict[str, Any]:
    out = dict(row)
    guard = out["guard"]
    out["guard"] = None if guard is None else orjson.loads(guard)
    # Storage detail, not part of the record: a one-attempt call's attempt kept inline.
    out[_INLINE] = inline_attempt(out) if out["attempt_span_id"] is not None else None
    del out["attempt_span_id"], out["attempt_started_at"]
    return out


_INLINE = "_inline_attempt"


def _attach_attempts(rows: list[dict[str, Any]], attempts: dict[str, list[AttemptRecord]]) -> None:
    for row in rows:
        inline = row.pop(_INLINE)
        row["attempts"] = attempts.get(row["id"]) or ([inline] if inline is not None else [])


def _metadata_of(conn: sa.Connection, ids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    if ids:
        m = request_metadata.c
        for rid, key, value in conn.execute(
            sa.select(m.request_id, m.key, m.value).where(m.request_id.in_(ids))
        ):
            out[rid][key] = value
    return out


def _attempts_of(conn: sa.Connection, ids: list[str]) -> dict[str, list[AttemptRecord]]:
    out: dict[str, list[AttemptRecord]] = defaultdict(list)
    if ids:
        query = (
            sa.select(*request_attempts.c)
            .where(_A.request_id.in_(ids))
            .order_by(_A.request_id, _A.idx)
        )
        for row in conn.execute(query):
            attempt = dict(row._mapping)
            out[attempt.pop("request_id")].append(cast(AttemptRecord, attempt))
    return out


def _body_side(name: str, data: bytes | None, encrypted: bool) -> dict[str, Any]:
    if data is None:
        return {name: None, f"{name}_encoding": None}
    if not encrypted:
        try:
            return {name: data.decode("utf-8"), f"{name}_encoding": "utf-8"}
        except UnicodeDecodeError:
            pass
    return {name: base64.b64encode(data).decode("ascii"), f"{name}_encoding": "base64"}
