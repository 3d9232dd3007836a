"""How a batch of records becomes rows and reaches the database, fast.

Rows are plain tuples in column order (``tables.py``), built with ``itemgetter``.
Both databases get ``INSERT … ON CONFLICT DO NOTHING`` compiled once from the
dialect's insert construct, so a replayed batch never duplicates; what differs is the
transport, chosen by measurement (``bench/writer.py``):

* SQLite: multi-row ``INSERT … VALUES (…), (…)``, one statement step per chunk.
* PostgreSQL: psycopg's ``executemany`` spends ~40 µs of Python per row even in
  pipeline mode, so rows are ``COPY``-ed (formatted in C) into session-local staging
  tables and moved with one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per table:
  about a third of the CPU per record.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gatehouse.store import tables
from gatehouse.store.records import AttemptRecord, RequestRecord

Rows = list[tuple[Any, ...]]
TableRows = tuple[Rows, Rows, Rows, Rows]
TABLES = (tables.requests, tables.request_attempts, tables.request_metadata, tables.request_bodies)

_request_fields = operator.itemgetter(*tables.REQUEST_FIELDS)
_attempt_fields = operator.itemgetter(*tables.ATTEMPT_FIELDS)


def rows_of(records: Sequence[RequestRecord]) -> TableRows:
    """The rows of each table in ``TABLES`` for ``records``."""
    requests: Rows = []
    attempts: Rows = []
    metadata: Rows = []
    bodies: Rows = []
    dumps = orjson.dumps
    for r in records:
        rid = r["id"]
        guard = r["guard"]
        tried = r["attempts"]
        inline = tried[0] if len(tried) == 1 and _inlinable(r, tried[0]) else None
        requests.append(
            (
                *_request_fields(r),
                None if guard is None else dumps(guard).decode(),
                len(tried),
                None if inline is None else inline["span_id"],
                None if inline is None else inline["started_at"],
            )
        )
        if inline is None:
            for a in tried:
                attempts.append((rid, *_attempt_fields(a)))
        for key, value in r["metadata"].items():
            metadata.append((rid, key, value))
        body = r["body"]
        if body is not None:
            bodies.append(
                (
                    rid,
                    body["request"],
                    body["response"],
                    body["truncated"],
                    body["encryption_key_id"],
                )
            )
    return requests, attempts, metadata, bodies


def _inlinable(r: RequestRecord, a: AttemptRecord) -> bool:
    """Whether the call's own fields say everything about its one attempt."""
    return (
        a["outcome"] == "ok"
        and a["idx"] == 0
        and not a["hedge"]
        and a["deployment"] == r["deployment"]
        and a["model"] == r["served_model"]
        and a["provider"] == r["provider"]
        and a["upstream_model"] == r["upstream_model"]
        and a["ended_at"] == r["done_at"]
        and a["duration_ms"]
        == (None if a["ended_at"] is None else (a["ended_at"] - a["started_at"]) * 1000.0)
        and a["status"] is None
        and a["error_type"] is None
        and a["error_code"] is None
        and a["input_tokens"] == r["input_tokens"]
        and a["output_tokens"] == r["output_tokens"]
        and a["cached_tokens"] == r["cached_tokens"]
        and a["reasoning_tokens"] == r["reasoning_tokens"]
        and a["cache_write_tokens"] == r["cache_write_tokens"]
        and a["usage_estimated"] == r["usage_estimated"]
        and a["cost_usd"] == r["cost_usd"]
    )


def inline_attempt(row: Mapping[str, Any]) -> AttemptRecord:
    """The attempt a ``requests`` row holds inline (see ``tables.requests``)."""
    started, ended = row["attempt_started_at"], row["done_at"]
    return {
        "idx": 0,
        "span_id": row["attempt_span_id"],
        "model": row["served_model"],
        "deployment": row["deployment"],
        "provider": row["provider"],
        "upstream_model": row["upstream_model"],
        "hedge": False,
        "started_at": started,
        "ended_at": ended,
        "duration_ms": None if ended is None else (ended - started) * 1000.0,
        "outcome": "ok",
        "status": None,
        "error_type": None,
        "error_code": None,
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "cached_tokens": row["cached_tokens"],
        "reasoning_tokens": row["reasoning_tokens"],
        "cache_write_tokens": row["cache_write_tokens"],
        "usage_estimated": row["usage_estimated"],
        "cost_usd": row["cost_usd"],
    }


class Inserter:
    """Writes ``TableRows`` inside the caller's transaction."""

    def insert(self, conn: sa.Connection, rows: TableRows) -> None:
        raise NotImplementedError


class SqliteInserter(Inserter):
    """Multi-row ``INSERT … VALUES (…), (…)``: one statement step per chunk of rows.

    The sqlite3 driver releases the GIL around every step; row by row (executemany)
    that is two GIL hand-offs per row with the event loop's thread, which cost more
    than the insert itself under load. Chunks have power-of-two sizes, so a handful of
    statements are prepared once and reused: a statement per batch size would be
    parsed again for nearly every batch, and the driver's cache of prepared
    statements, each as large as its rows, would grow with them.
    """

    MAX_ROWS = 256
    MAX_PARAMS = 32_000  # SQLite's default limit is 32,766 bound parameters

    def __init__(self, dialect: sa.Dialect) -> None:
        self._sql: list[dict[int, str]] = []
        self._sizes: list[list[int]] = []
        for table in TABLES:
            one = _compiled(sqlite.insert(table).on_conflict_do_nothing(), dialect, table)
            head, _, tail = one.partition(" VALUES ")
            values, _, _ = tail.partition(" ON CONFLICT")
            largest = min(self.MAX_ROWS, self.MAX_PARAMS // len(table.columns))
            sizes = [1 << k for k in range(largest.bit_length() - 1, -1, -1)]
            self._sizes.append(sizes)
            self._sql.append(
                {
                    n: f"{head} VALUES {', '.join([values] * n)} ON CONFLICT DO NOTHING"
                    for n in sizes
                }
            )

    def insert(self, conn: sa.Connection, rows: TableRows) -> None:
        cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for t, table_rows in enumerate(rows):
                start, left = 0, len(table_rows)
                for size in self._sizes[t]:
                    while left >= size:
                        part = table_rows[start : start + size]
                        cursor.execute(self._sql[t][size], _flat(part))
                        start += size
                        left -= size
        finally:
            cursor.close()


def _flat(rows: Rows) -> list[Any]:
    return [value for row in rows for value in row]


class PostgresInserter(Inserter):
    def __init__(self, dialect: sa.Dialect) -> None:
        quote = dialect.identifier_preparer.quote
        self._create = "; ".join(
            f"CREATE TEMP TABLE IF NOT EXISTS {_stage_name(t)} (LIKE {quote(t.name)}) "
            "ON COMMIT DELETE ROWS"
            for t in TABLES
        )
        self._copy: list[str] = []
        self._move: list[str] = []
        for t in TABLES:
            names = [c.name for c in t.columns]
            stage = sa.table(_stage_name(t), *(sa.column(n) for n in names))
            self._copy.append(
                f"COPY {_stage_name(t)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
            )
            move = (
                postgresql.insert(t).from_select(names, sa.select(stage)).on_conflict_do_nothing()
            )
            self._move.append(str(move.compile(dialect=dialect)))

    def insert(self, conn: sa.Connection, rows: TableRows) -> None:
        driver_conn: Any = conn.connection.driver_connection
        with driver_conn.cursor() as cur:
            # Every transaction: cheap, and right on a fresh or pgbouncer-swapped session.
            cur.execute(self._create)
            for copy, move, table_rows in zip(self._copy, self._move, rows, strict=True):
                if not table_rows:
                    continue
                with cur.copy(copy) as pipe:
                    for row in table_rows:
                        pipe.write_row(row)
                cur.execute(move)


def inserter_for(dialect: sa.Dialect) -> Inserter:
    if dialect.name == "postgresql":
        return PostgresInserter(dialect)
    return SqliteInserter(dialect)


def _stage_name(table: sa.Table) -> str:
    return f"_gatehouse_stage_{table.name}"


def _compiled(stmt: Any, dialect: sa.Dialect, table: sa.Table) -> str:
    compiled = stmt.compile(dialect=dialect)
    if list(compiled.positiontup or ()) != [c.name for c in table.columns]:
        raise RuntimeError(f"unexpected parameter order for {table.name}")
    return str(compiled.string)
