from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gatehouse.store import Database, SchemaNotCurrent
from gatehouse.store.tables import metadata

HEAD = "0003"

ROOT = Path(__file__).resolve().parents[2]


def test_upgrade_from_empty_creates_every_table(store_url: str) -> None:
    db = Database(store_url)
    try:
        assert db.current_revision() is None
        assert not db.is_current()
        with pytest.raises(SchemaNotCurrent, match="gatehouse db upgrade"):
            db.require_current()
        assert db.upgrade() == db.head_revision() == HEAD
        assert db.is_current()
        db.require_current()
        inspector = sa.inspect(db.engine)
        for table in metadata.tables.values():
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}, table.name
            indexes = {i["name"] for i in inspector.get_indexes(table.name)}
            assert indexes == {i.name for i in table.indexes}, table.name
    finally:
        db.close()


def _where(clause: object, dialect: sa.Dialect) -> str | None:
    """An index's WHERE clause as comparable text: no parentheses, quotes or spaces."""
    if clause is None:
        return None
    if isinstance(clause, sa.ClauseElement):
        clause = clause.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return "".join(c for c in str(clause).lower() if c not in '() "')


def test_migrated_schema_is_exactly_tables_py(store_url: str) -> None:
    """Types, nullability, indexes, uniqueness and partial-index predicates all match."""
    db = Database(store_url)
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        inspector = sa.inspect(db.engine)
        for table in metadata.tables.values():
            reflected = {i["name"]: i for i in inspector.get_indexes(table.name)}
            for index in table.indexes:
                got = reflected[str(index.name)]
                assert got["column_names"] == [c.name for c in index.columns], index.name
                assert bool(got["unique"]) == index.unique, index.name
                options: dict[str, object] = dict(got.get("dialect_options", {}))
                assert _where(options.get(f"{db.dialect}_where"), db.engine.dialect) == _where(
                    index.dialect_options[db.dialect]["where"], db.engine.dialect
                ), index.name
        partial = {
            i["name"]
            for i in inspector.get_indexes("requests")
            if i.get("dialect_options", {}).get(f"{db.dialect}_where") is not None
        }
        assert {"ix_requests_team_id", "ix_requests_user_id"} <= partial
        keys = {c["name"]: c for c in inspector.get_columns("api_keys")}
        assert not keys["hash"]["nullable"] and keys["owner"]["nullable"]
        assert inspector.get_pk_constraint("api_keys")["constrained_columns"] == ["id"]
    finally:
        db.close()


def test_0002_upgrades_a_filled_log_and_downgrades_cleanly(store_url: str) -> None:
    db = Database(store_url)
    try:
        with db._migration_lock() as conn:
            command.upgrade(db._alembic_config(conn), "0001")
            conn.commit()
            conn.execute(
                sa.text(
                    "INSERT INTO requests (id, trace_id, span_id, operation, model, stream, "
                    "status, received_at, usage_estimated, cache_hit, attempt_count, team_id) "
                    "VALUES ('r1', 't', 's', 'chat', 'm', false, 200, 1.0, false, false, 1, 'x')"
                )
            )
            conn.commit()
        assert db.current_revision() == "0001"
        assert db.upgrade() == HEAD
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, team_id, user_id FROM requests")).all()
        assert [tuple(r) for r in rows] == [("r1", "x", None)]

        with db._migration_lock() as conn:
            command.downgrade(db._alembic_config(conn), "0001")
            conn.commit()
        inspector = sa.inspect(db.engine)
        assert "api_keys" not in inspector.get_table_names()
        assert "user_id" not in {c["name"] for c in inspector.get_columns("requests")}
        indexes = {i["name"] for i in inspector.get_indexes("requests")}
        assert indexes.isdisjoint({"ix_requests_team_id", "ix_requests_user_id"})
        assert "ix_requests_key_id" in indexes
        assert db.upgrade() == HEAD  # and back up again
    finally:
        db.close()


def test_upgrade_twice_is_a_no_op(store_url: str) -> None:
    db = Database(store_url)
    try:
        db.upgrade()
        assert db.upgrade() == HEAD
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    finally:
        db.close()


def test_concurrent_upgrades_from_several_processes(store_url: str) -> None:
    start_at = time.time() + 1.5  # all three past their imports, then at once
    script = (
        "import sys, time\n"
        "from gatehouse.store import Database\n"
        "db = Database(sys.argv[1])\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "print(db.upgrade())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, store_url, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == HEAD
    db = Database(store_url)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
                (HEAD,)
            ]
    finally:
        db.close()


def test_sqlite_is_in_wal_mode_and_creates_its_directory(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/nested/dir/gatehouse.db")
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        db.close()


def test_postgres_url_uses_psycopg_keeps_options_and_hides_the_password() -> None:
    db = Database("postgresql://gh:s3cret@127.0.0.1:1/gatehouse?options=-csearch_path%3Dgh")
    try:
        assert db.url.drivername == "postgresql+psycopg"
        assert db.url.query["options"] == "-csearch_path=gh"
        assert "s3cret" not in db.display_url
        assert db.display_url.startswith("postgresql+psycopg://gh:***@127.0.0.1:1/gatehouse")
    finally:
        db.close()


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        Database("mysql://u:p@localhost/x")
