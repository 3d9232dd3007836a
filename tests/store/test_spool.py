from __future__ import annotations

from pathlib import Path

from gatehouse.store.spool import Spool
from tests.store.sample import record


def test_records_round_trip_with_bytes_bodies(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    body = {
        "request": b"\x00\xff binary",
        "response": None,
        "truncated": False,
        "encryption_key_id": "k1",
    }
    records = [record(body=body, guard={"x": [1, 2]}), record()]
    assert spool.append(records) == 0
    assert spool.has_pending() and spool.pending() == 2
    with spool.locked():
        assert spool.read_locked() == records


def test_a_torn_last_line_is_skipped_and_later_appends_survive(tmp_path: Path) -> None:
    path = tmp_path / "spool.jsonl"
    spool = Spool(path)
    first = record()
    spool.append([first])
    with open(path, "ab") as f:
        f.write(b'{"id": "torn-by-a-kil')  # the process died mid-write
    later = record()
    spool.append([later])
    with spool.locked():
        assert [r["id"] for r in spool.read_locked()] == [first["id"], later["id"]]


def test_unencodable_records_are_counted_not_raised(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    assert spool.append([record(input_tokens=2**70), record()]) == 1
    assert spool.pending() == 1


def test_rewrite_keeps_the_rest_and_empty_removes_the_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    records = [record() for _ in range(3)]
    spool.append(records)
    with spool.locked():
        spool.rewrite_locked(records[1:])
        assert spool.read_locked() == records[1:]
        spool.rewrite_locked([])
    assert not spool.has_pending() and spool.pending() == 0
    assert not spool.path.exists()
