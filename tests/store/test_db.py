from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from gatehouse.store import Database, SchemaNotCurrent
from gatehouse.store.tables import metadata

ROOT = Path(__file__).resolve().parents[2]


def test_upgrade_from_empty_creates_every_table(store_url: str) -> None:
    db = Database(store_url)
    try:
        assert db.current_revision() is None
        assert not db.is_current()
        with pytest.raises(SchemaNotCurrent, match="gatehouse db upgrade"):
            db.require_current()
        assert db.upgrade() == db.head_revision() == "0001"
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


def test_upgrade_twice_is_a_no_op(store_url: str) -> None:
    db = Database(store_url)
    try:
        db.upgrade()
        assert db.upgrade() == "0001"
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
        assert out.strip() == "0001"
    db = Database(store_url)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
                ("0001",)
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
