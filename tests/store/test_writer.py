from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gatehouse.store import BatchWriter, Database, Queries, RequestRecord
from tests.conftest import Clock
from tests.store.proxy import TcpProxy
from tests.store.sample import attempt, record


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    database = Database(store_url)
    database.upgrade()
    yield database
    database.close()


def counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
            for t in ("requests", "request_attempts", "request_metadata", "request_bodies")
        }


def full_record() -> RequestRecord:
    return record(
        parent_span_id="b" * 16,
        session_id="sess-1",
        subject_id="user-7",
        stream=True,
        status=502,
        error_type="upstream_error",
        error_code="bad_gateway",
        error_message="upstream said ünïcödé no",
        received_at=1_700_000_000.123456,
        first_token_at=1_700_000_000.2,
        done_at=1_700_000_001.5,
        latency_ms=1376.544,
        ttft_ms=76.544,
        itl_ms=12.25,
        output_tokens_per_s=81.5,
        cached_tokens=3,
        reasoning_tokens=7,
        cache_write_tokens=11,
        usage_estimated=True,
        cost_usd=0.0123,
        cache_hit=True,
        finish_reason="length",
        guard={"pii": {"action": "redact", "hits": 2}, "injection": None},
        attempts=[
            attempt(idx=0, outcome="error", status=503, error_type="overloaded", ended_at=None),
            attempt(idx=1, hedge=True, deployment="dep-2", cost_usd=None, duration_ms=None),
        ],
        metadata={"app": "billing", "env": "prod", "empty": ""},
        body={
            "request": b'{"messages": [{"role": "user", "content": "hi"}]}',
            "response": b"\xff\xfe not utf-8 \x00",
            "truncated": True,
            "encryption_key_id": None,
        },
    )


def test_every_field_round_trips(db: Database, tmp_path: Path) -> None:
    writer = BatchWriter(db, tmp_path / "spool")
    original = full_record()
    plain = record(session_id=None, body=None, metadata={}, attempts=[], guard=None)
    assert writer.write([original, plain]) == 2
    queries = Queries(db)
    assert queries.get_record(original["id"]) == original
    assert queries.get_record(plain["id"]) == plain
    assert writer.counters() == {
        "written": 2,
        "spooled": 0,
        "replayed": 0,
        "rejected": 0,
        "lost": 0,
    }


def test_writing_a_batch_twice_stores_it_once(db: Database, tmp_path: Path) -> None:
    writer = BatchWriter(db, tmp_path / "spool")
    batch = [full_record(), record(metadata={"a": "1"})]
    writer.write(batch)
    writer.write(batch)
    writer.write(batch[:1])  # the one-by-one path is idempotent too
    assert counts(db) == {
        "requests": 2,
        "request_attempts": 3,
        "request_metadata": 4,
        "request_bodies": 1,
    }


def test_a_bad_record_is_skipped_not_the_batch(db: Database, tmp_path: Path) -> None:
    writer = BatchWriter(db, tmp_path / "spool")
    bad_int = record(input_tokens=2**70)  # too big for the column on both databases
    missing = record()
    del missing["metadata"]  # type: ignore[misc]
    good = [record(), record()]
    assert writer.write([good[0], bad_int, missing, good[1]]) == 2
    assert writer.rejected == 2
    assert writer.spooled == 0
    assert counts(db)["requests"] == 2
    assert writer.write([record()]) == 1  # and the next batch goes in whole


def test_database_down_spools_then_replays_in_order(store_url: str, tmp_path: Path) -> None:
    clock = Clock(0.0)
    if store_url.startswith("sqlite"):
        outage, db = _locked_sqlite(store_url)
    else:
        outage, db = _proxied_postgres(store_url)
    Database(store_url).upgrade()
    writer = BatchWriter(db, tmp_path / "spool.jsonl", retry_interval_s=5.0, clock=clock)
    first, during, also_during, after = ([record() for _ in range(n)] for n in (3, 4, 2, 3))
    try:
        assert writer.write(first) == 3
        outage.begin()
        assert writer.write(during) == 0  # the database refused: spooled
        assert writer.spooled == 4 and writer.spool_pending() == 4
        outage.end()
        clock.advance(1.0)  # within the retry interval: straight to the spool, no wait
        assert writer.write(also_during) == 0
        assert writer.spool_pending() == 6
        clock.advance(5.0)
        assert writer.write(after) == 3
        assert writer.replayed == 6 and writer.spool_pending() == 0
        assert not (tmp_path / "spool.jsonl").exists()
        writer.write(during)  # a replay of something already stored changes nothing
        assert counts(db)["requests"] == 12
        assert writer.counters()["lost"] == writer.counters()["rejected"] == 0
    finally:
        outage.end()
        writer.close()


def test_spool_replays_when_idle_and_survives_a_restart(db: Database, tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    BatchWriter(db, spool).spool.append([full_record(), record()])  # a previous run's
    writer = BatchWriter(db, spool)
    assert writer.spool_pending() == 2
    writer.retry_spool()
    assert writer.replayed == 2 and writer.spool_pending() == 0
    assert counts(db)["requests"] == 2


class _Outage:
    def __init__(self, begin: object, end: object) -> None:
        self.begin, self.end = begin, end  # type: ignore[method-assign]


def _locked_sqlite(url: str) -> tuple[_Outage, Database]:
    """Another process's long write transaction holds SQLite's lock past busy_timeout."""
    path = url.removeprefix("sqlite:///")
    Database(url).upgrade()
    holder = sqlite3.connect(path, isolation_level=None)
    state = {"locked": False}

    def begin() -> None:
        holder.execute("BEGIN EXCLUSIVE")
        state["locked"] = True

    def end() -> None:
        if state["locked"]:
            holder.execute("ROLLBACK")
            state["locked"] = False

    return _Outage(begin, end), Database(url, busy_timeout_s=0.2)


def _proxied_postgres(url: str) -> tuple[_Outage, Database]:
    """The writer reaches PostgreSQL through a proxy the test cuts and restores."""
    parts = urlsplit(url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.start()
    proxied = url.replace(parts.netloc, parts.netloc.replace(f":{parts.port}", f":{proxy.port}"))
    state = {"down": False}

    def begin() -> None:
        proxy.stop()
        state["down"] = True

    def end() -> None:
        if state["down"]:
            proxy.start()
            state["down"] = False

    return _Outage(begin, end), Database(proxied, connect_timeout_s=1)


def test_a_call_served_by_its_only_attempt_is_one_row(db: Database, tmp_path: Path) -> None:
    started, done = 1_000.001, 1_000.25
    only = attempt(
        started_at=started, ended_at=done, duration_ms=(done - started) * 1000.0, span_id="b" * 16
    )
    served = record(done_at=done, attempts=[only])
    retried = record(done_at=done, attempts=[attempt(outcome="error"), only | {"idx": 1}])
    writer = BatchWriter(db, tmp_path / "spool")
    assert writer.write([served, retried]) == 2
    # The common case costs one row; a call with more to say keeps its attempt rows.
    assert counts(db)["request_attempts"] == 2
    queries = Queries(db)
    assert queries.get_record(served["id"]) == served
    assert queries.get_record(retried["id"]) == retried
    deployments = {g["group"]: g for g in queries.stats(3600, "deployment", now=1_100)["groups"]}
    assert deployments["dep-1"]["attempts"] == 3
    assert deployments["dep-1"]["attempt_errors"] == 1


def test_records_spooled_by_an_earlier_version_replay_after_an_upgrade(
    db: Database, tmp_path: Path
) -> None:
    import orjson

    spool = tmp_path / "spool.jsonl"
    older = dict(full_record())  # as the version before client_api and cache writes wrote it
    del older["client_api"], older["cache_write_tokens"]
    older["body"] = None
    older["attempts"] = [
        {k: v for k, v in a.items() if k != "cache_write_tokens"} for a in older["attempts"]
    ]
    spool.write_bytes(orjson.dumps(older) + b"\n")
    writer = BatchWriter(db, spool)
    writer.retry_spool()
    assert writer.replayed == 1 and writer.rejected == 0
    stored = Queries(db).get_record(older["id"])
    assert stored is not None
    assert stored["client_api"] is None and stored["cache_write_tokens"] is None
