"""`gatehouse db upgrade|current`, and `serve` with `store.migrate: check`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import psycopg
import yaml

from gatehouse.store import Database
from gatehouse.supervisor import WORKER_INDEX_ENV, run_workers
from tests.conftest import config_for, free_port, gatehouse_cli, wait_http


def write_config(tmp_path: Path, store: dict[str, Any], port: int = 1) -> Path:
    cfg = config_for("http://127.0.0.1:9/v1")
    cfg["server"] = {"host": "127.0.0.1", "port": port, "shutdown_grace_s": 1}
    cfg["store"] = store
    path = tmp_path / "gatehouse.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def db(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", "db", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "250"},
    )


def head() -> str:
    database = Database("sqlite://")  # in memory: only to ask for the newest revision
    try:
        revision = database.head_revision()
    finally:
        database.close()
    assert revision
    return revision


def is_current(url: str) -> bool:
    database = Database(url)
    try:
        return database.is_current()
    finally:
        database.close()


def test_db_upgrade_on_sqlite(tmp_path):
    """current (behind) → upgrade → upgrade (nothing to do) → current (ok)."""
    path = tmp_path / "x.db"
    config = write_config(tmp_path, {"url": f"sqlite:///{path}"})
    revision = head()
    fresh = db("current", "--config", str(config))
    assert fresh.returncode == 1, fresh.stdout + fresh.stderr
    assert "empty" in fresh.stdout and "needs upgrade" in fresh.stdout

    first = db("upgrade", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "upgraded" in first.stdout and f"empty → {revision}" in first.stdout

    again = db("upgrade", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert f"already at {revision}" in again.stdout

    now = db("current", "--config", str(config))
    assert now.returncode == 0, now.stdout + now.stderr
    assert revision in now.stdout and "needs upgrade" not in now.stdout
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"requests", "request_attempts", "alembic_version"} <= tables


def test_db_upgrade_on_postgresql(tmp_path, pg_url):
    config = write_config(tmp_path, {"url": pg_url})
    revision = head()
    first = db("upgrade", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert f"empty → {revision}" in first.stdout
    assert "postgresql" in first.stdout
    again = db("upgrade", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert f"already at {revision}" in again.stdout
    # The tables went into this test's schema (the URL's search_path), nowhere else.
    schema = unquote(pg_url).rsplit("search_path=", 1)[1]
    dsn = pg_url.split("?", 1)[0]
    with psycopg.connect(dsn, connect_timeout=3) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        ).fetchall()
    assert {"requests", "request_attempts", "alembic_version"} <= {r[0] for r in rows}
    assert is_current(pg_url)


def test_db_commands_on_an_unreachable_database_say_so_in_one_line(tmp_path):
    config = write_config(tmp_path, {"url": f"postgresql://postgres@127.0.0.1:{free_port()}/x"})
    for command in ("current", "upgrade"):
        result = db(command, "--config", str(config))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        assert "127.0.0.1" in result.stderr and "refused" in result.stderr, result.stderr


def test_serve_with_migrate_check_refuses_an_empty_store_then_starts_after_upgrade(tmp_path):
    port = free_port()
    config = write_config(
        tmp_path, {"url": f"sqlite:///{tmp_path / 'x.db'}", "migrate": "check"}, port
    )
    refused = gatehouse_cli("serve", "--config", str(config))
    try:
        assert refused.wait(15) == 1
    finally:
        if refused.poll() is None:
            refused.kill()
    stderr = refused.stderr.read()  # type: ignore[union-attr]
    assert "Traceback" not in stderr, stderr
    assert "run `gatehouse db upgrade`" in stderr, stderr
    assert "store.migrate is `check`" in stderr
    # `check` never migrates: the database is still empty.
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert not is_current(url)

    database = Database(url)
    try:
        database.upgrade()  # what `gatehouse db upgrade` does (tested above)
    finally:
        database.close()
    proc = gatehouse_cli("serve", "--config", str(config))
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", timeout=15)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(15) == 0


def _first_worker_fails(*_: object) -> None:
    """Worker 0 refuses to start (as with a store that is not ready); worker 1 serves."""
    if os.environ[WORKER_INDEX_ENV] == "0":
        raise SystemExit(1)
    time.sleep(30)


def test_a_worker_that_refuses_to_start_gives_the_exit_code_of_the_group():
    # With --workers, the supervisor stops the other workers when one exits on its own;
    # the group's exit code must be that worker's (1), not the SIGTERM it sent the rest.
    started = time.monotonic()
    assert run_workers(_first_worker_fails, (), 2, grace_s=1) == 1
    assert time.monotonic() - started < 10
