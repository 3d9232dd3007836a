"""The writer process: batches written in order, everything written on close, and a
worker that carries on in its own thread if the process dies."""

from __future__ import annotations

from pathlib import Path

from gatehouse.store import Database, Queries
from gatehouse.store.process_writer import ProcessWriter
from tests.conftest import wait_for
from tests.store.sample import record


def test_batches_reach_the_database_and_close_waits_for_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    db = Database(url)
    db.upgrade()
    writer = ProcessWriter(url, tmp_path / "spool")
    writer.start()
    batches = [[record() for _ in range(50)] for _ in range(4)]
    for batch in batches:
        assert writer.write(batch) == 50
    writer.close()
    queries = Queries(db)
    for batch in batches:
        for r in (batch[0], batch[-1]):
            assert queries.get_record(r["id"]) == r
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM requests").scalar_one() == 200
    db.close()


def test_idle_ticks_report_the_counters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    Database(url).upgrade()
    writer = ProcessWriter(url, tmp_path / "spool")
    writer.start()
    writer.write([record(), record()])

    def counted() -> bool:
        writer.retry_spool()
        return writer.written == 2

    assert wait_for(counted, 10)
    assert writer.spool_pending() == 0
    writer.close()


def test_a_dead_writer_process_is_replaced_by_writing_here(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    db = Database(url)
    db.upgrade()
    writer = ProcessWriter(url, tmp_path / "spool")
    writer.start()
    writer._proc.kill()
    writer._proc.join(5)
    later = [record() for _ in range(3)]
    # The first send after the death may still fit the pipe's buffer; keep writing as
    # the recorder would, and every batch after the switch is stored here.
    for _ in range(50):
        writer.write([record()])
        if writer._fallback is not None:
            break
    assert writer._fallback is not None
    writer.write(later)
    assert all(Queries(db).get_record(r["id"]) == r for r in later)
    writer.close()
    db.close()
