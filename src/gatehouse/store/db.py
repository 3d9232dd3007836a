"""The database handle: URL normalisation, engine set-up and schema migrations.

One ``Database`` per process wraps a SQLAlchemy engine for SQLite (WAL, shared by
several worker processes) or PostgreSQL (psycopg 3). ``upgrade`` brings the schema to
Alembic's head under a lock, so workers and replicas that start together never race;
``is_current`` serves ``store.migrate: check``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger("gatehouse.store")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock key for migrations: any constant shared by every replica.
_PG_MIGRATION_LOCK = 0x6761746568  # "gateh"


class SchemaNotCurrent(Exception):
    """The database schema is behind this version of Gatehouse (``migrate: check``)."""


class Database:
    """A SQLite or PostgreSQL database holding the request log.

    ``url`` is ``sqlite:///path/to/file.db`` or ``postgresql://user:pass@host/db``
    (query parameters such as ``options=-csearch_path%3Dschema`` are kept). Connection
    attempts give up after ``connect_timeout_s`` so a writer never blocks for long on a
    database that is down; SQLite waits up to ``busy_timeout_s`` for another process's
    write lock.
    """

    def __init__(
        self,
        url: str,
        *,
        connect_timeout_s: float = 3.0,
        busy_timeout_s: float = 5.0,
        pool_size: int = 4,
    ) -> None:
        self.url = _normalise(sa.make_url(url))
        self.dialect: str = self.url.get_backend_name()
        self._lock_path: Path | None = None
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(busy_timeout_s, pool_size)
        elif self.dialect == "postgresql":
            self.engine = sa.create_engine(
                self.url,
                # Positional parameters for both databases: the writer hands the driver
                # tuples, never dicts (see writer.py).
                paramstyle="format",
                pool_size=pool_size,
                pool_pre_ping=True,
                connect_args={"connect_timeout": max(1, round(connect_timeout_s))},
            )
        else:
            raise ValueError(f"unsupported store URL {self.display_url}: use sqlite or postgresql")

    @property
    def display_url(self) -> str:
        """The URL for logs and messages: the password is masked."""
        return self.url.render_as_string(hide_password=True)

    def _sqlite_engine(self, busy_timeout_s: float, pool_size: int) -> sa.Engine:
        database = self.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_path = path.with_name(path.name + ".lock")
        engine = sa.create_engine(
            self.url, pool_size=pool_size, connect_args={"timeout": busy_timeout_s}
        )
        busy_ms = int(busy_timeout_s * 1000)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets readers run beside the one writer; NORMAL skips the fsync per
            # commit (a power loss may drop the last commits, never corrupt the file).
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()

        return engine

    # -- migrations ---------------------------------------------------------------

    def _alembic_config(self, connection: sa.Connection | None = None) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        cfg.set_main_option("path_separator", "os")
        if connection is not None:
            cfg.attributes["connection"] = connection
        return cfg

    def head_revision(self) -> str | None:
        """The newest revision this version of Gatehouse knows."""
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def current_revision(self) -> str | None:
        """The revision the database is at; None for an empty database."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def is_current(self) -> bool:
        return self.current_revision() == self.head_revision()

    def require_current(self) -> None:
        """Raise ``SchemaNotCurrent`` with the fix when the schema is behind (or ahead)."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise SchemaNotCurrent(
                f"the database {self.display_url} is at schema revision {current or 'none'}, "
                f"this Gatehouse needs {head}: run `gatehouse db upgrade` "
                "(or set store.migrate: auto)"
            )

    def upgrade(self) -> str | None:
        """Migrate to head; safe to call from many processes at once. Returns the revision."""
        with self._migration_lock() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            command.upgrade(self._alembic_config(conn), "head")
            conn.commit()
            after = MigrationContext.configure(conn).get_current_revision()
        if before != after:
            log.info("store %s migrated from %s to %s", self.display_url, before or "empty", after)
        return after

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[sa.Connection]:
        if self.dialect == "postgresql":
            with self.engine.connect() as conn:
                # A session-level lock: it outlives the commits Alembic makes inside.
                conn.execute(sa.select(sa.func.pg_advisory_lock(_PG_MIGRATION_LOCK)))
                conn.commit()
                try:
                    yield conn
                finally:
                    conn.rollback()
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(_PG_MIGRATION_LOCK)))
                    conn.commit()
            return
        # SQLite: an flock on a file beside the database. DDL under SQLite's own
        # locking would still let two processes both see an empty schema and both try
        # to create it.
        with contextlib.ExitStack() as stack:
            if self._lock_path is not None:
                lock = stack.enter_context(open(self._lock_path, "a+b"))
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield stack.enter_context(self.engine.connect())

    def close(self) -> None:
        self.engine.dispose()


def _normalise(url: sa.URL) -> sa.URL:
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def open_failure(db: Database, exc: BaseException) -> str:
    """One line saying why the store could not be opened, without the URL's password."""
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else ""
    return f"cannot open the store at {db.display_url}: {type(exc).__name__}: {reason}"
