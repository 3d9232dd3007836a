"""The batched writer: records in, one transaction per batch out, a spool when down.

``BatchWriter.write`` runs on one background thread per process, beside the event
loop that serves requests, so it spends as little interpreter time per record as it
can: rows are plain tuples and statements are compiled once (see ``inserts.py``), and
``ON CONFLICT DO NOTHING`` makes a replayed batch harmless.

Failures split in two. A database that cannot be reached (or lost its schema) sends
the batch to the spool and is retried at most every ``retry_interval_s``; the spool is
replayed, in order, before anything newer. A record the database refuses for its data
(a constraint, an encoding, a type) is retried row by row and skipped, with a log line,
so it never poisons its batch.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from gatehouse.store.db import Database
from gatehouse.store.inserts import inserter_for, rows_of
from gatehouse.store.records import RequestRecord
from gatehouse.store.spool import Spool

log = logging.getLogger("gatehouse.store")


class _Unavailable(Exception):
    """The database cannot take writes now; ``remaining`` were not written."""

    def __init__(self, cause: BaseException, remaining: list[RequestRecord]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.remaining = remaining


class BatchWriter:
    """Writes batches of records into ``db``, spooling to ``spool_path`` while it is down."""

    def __init__(
        self,
        db: Database,
        spool_path: str | os.PathLike[str],
        *,
        retry_interval_s: float = 5.0,
        replay_batch: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.spool = Spool(spool_path)
        self.retry_interval_s = retry_interval_s
        self.replay_batch = replay_batch
        self._clock = clock
        self._retry_at = 0.0  # while the clock is before this, go straight to the spool
        self._inserter = inserter_for(db.engine.dialect)
        self._dbapi = db.engine.dialect.loaded_dbapi
        self.written = 0  # records committed (replayed ones included)
        self.spooled = 0  # records appended to the spool
        self.replayed = 0  # records committed from the spool
        self.rejected = 0  # records the database refused for their data, skipped
        self.lost = 0  # records neither the database nor the spool could take

    def counters(self) -> dict[str, int]:
        return {
            "written": self.written,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "rejected": self.rejected,
            "lost": self.lost,
        }

    def spool_pending(self) -> int:
        return self.spool.pending()

    def write(self, records: list[RequestRecord]) -> int:
        """Store ``records``; returns how many of them reached the database now.

        Never raises for a database failure and never blocks for much longer than a
        connect timeout. ``write([])`` is a cheap tick that replays a due spool.
        """
        if self._clock() < self._retry_at:
            self._to_spool(records)
            return 0
        try:
            if self.spool.has_pending():
                self._replay()
        except _Unavailable as exc:
            self._went_down(exc.cause)
            self._to_spool(records)  # behind the spooled ones, in order
            return 0
        before = self.written
        try:
            self._insert(records)
        except _Unavailable as exc:
            self._went_down(exc.cause)
            self._to_spool(exc.remaining)
        else:
            self._retry_at = 0.0
        return self.written - before

    def _went_down(self, cause: BaseException) -> None:
        self._retry_at = self._clock() + self.retry_interval_s
        log.warning(
            "store %s unavailable (%s); spooling to %s, retry in %.0f s",
            self.db.display_url,
            _describe(cause),
            self.spool.path,
            self.retry_interval_s,
        )

    def retry_spool(self) -> None:
        """Replay the spool if it has records and the retry interval has passed: the
        recorder thread calls this when it wakes with nothing to write."""
        self.write([])

    def close(self) -> None:
        self.db.close()

    # -- inserting -----------------------------------------------------------------

    def _insert(self, records: list[RequestRecord]) -> int:
        """One transaction for the batch; row by row if the batch has a bad record."""
        if not records:
            return 0
        try:
            self._execute(records)
        except Exception as exc:
            if not _is_data_error(exc, self._dbapi):
                raise _Unavailable(exc, records) from exc
            return self._insert_one_by_one(records)
        self.written += len(records)
        return len(records)

    def _insert_one_by_one(self, records: list[RequestRecord]) -> int:
        written = 0
        for i, record in enumerate(records):
            try:
                self._execute([record])
            except Exception as exc:
                if not _is_data_error(exc, self._dbapi):
                    raise _Unavailable(exc, records[i:]) from exc
                self.rejected += 1
                log.error("store rejected record %s, skipped: %s", record.get("id"), _describe(exc))
                continue
            written += 1
            self.written += 1
        return written

    def _execute(self, records: list[RequestRecord]) -> None:
        rows = rows_of(records)
        with self.db.engine.begin() as conn:
            self._inserter.insert(conn, rows)

    def _replay(self) -> None:
        """Spooled records first, oldest first; the file shrinks only after commits."""
        with self.spool.locked():
            records = self.spool.read_locked()
            before = self.written
            start = 0
            try:
                for start in range(0, len(records), self.replay_batch):
                    self._insert(records[start : start + self.replay_batch])
            except _Unavailable as exc:
                self.replayed += self.written - before
                end = min(start + self.replay_batch, len(records))
                self.spool.rewrite_locked(records[end - len(exc.remaining) :])
                raise
            self.replayed += self.written - before
            self.spool.rewrite_locked([])
        if records:
            log.info("store %s: replayed %d spooled records", self.db.display_url, len(records))

    def _to_spool(self, records: list[RequestRecord]) -> None:
        if not records:
            return
        try:
            unencodable = self.spool.append(records)
        except OSError as exc:
            self.lost += len(records)
            log.error("spool %s failed, %d records lost: %s", self.spool.path, len(records), exc)
            return
        self.lost += unencodable
        self.spooled += len(records) - unencodable


def _is_data_error(exc: BaseException, dbapi: Any) -> bool:
    """Whether ``exc`` is about the rows themselves, not the database being reachable.

    Errors arrive wrapped by SQLAlchemy or, from the COPY path, straight from the driver.
    """
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated or exc.orig is None:
            return False
        return _is_data_error(exc.orig, dbapi)
    if isinstance(exc, dbapi.IntegrityError | dbapi.DataError):
        return True
    if isinstance(exc, dbapi.ProgrammingError):
        # A driver that cannot bind a value (sqlite3, or psycopg client-side) has no
        # SQLSTATE; server-side ones (a missing table, permissions) mean the schema is
        # not there: spool and retry.
        return getattr(exc, "sqlstate", None) is None
    if isinstance(exc, dbapi.Error):
        return False
    # Raised while building or binding a row (a missing field, a lone surrogate, an
    # int too big for SQLite), never by an unreachable database.
    return isinstance(exc, LookupError | TypeError | ValueError | OverflowError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
