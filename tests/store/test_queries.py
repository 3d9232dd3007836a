from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.store import (
    BatchWriter,
    Database,
    InvalidQuery,
    Queries,
    RequestFilter,
    RequestRecord,
)
from tests.store.sample import attempt, record


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[tuple[BatchWriter, Queries]]:
    db = Database(store_url)
    db.upgrade()
    yield BatchWriter(db, tmp_path / "spool"), Queries(db)
    db.close()


@pytest.fixture
def logged(store: tuple[BatchWriter, Queries]) -> list[RequestRecord]:
    """Twelve calls, some sharing a received_at (the cursor's tie-break on id)."""
    records = [
        record(received_at=100.0, model="a", served_model="b", status=200, key_id="k1"),
        record(received_at=101.0, model="a", deployment="d2", status=502, team_id="t2"),
        record(received_at=101.0, model="b", status=429, subject_id="u1", session_id="s1"),
        record(received_at=101.0, model="b", status=400, metadata={"app": "x", "env": "p"}),
        record(
            received_at=102.5,
            model="c",
            status=200,
            metadata={"app": "x", "env": "d"},
            client_api="anthropic",
        ),
        record(received_at=103.0, operation="embeddings", metadata={"app": "y"}),
        *(record(received_at=104.0 + i) for i in range(6)),
    ]
    store[0].write(records)
    return records


def ids(page_items: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [r["id"] for r in page_items]


def newest_first(records: list[RequestRecord]) -> list[str]:
    ordered = sorted(records, key=lambda r: (r["received_at"], r["id"]), reverse=True)
    return [r["id"] for r in ordered]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"model": "b"}, [0, 2, 3]),  # requested or served
        ({"model": "chat"}, list(range(1, 12))),  # asked or served, listed once
        ({"deployment": "d2"}, [1]),
        ({"key_id": "k1"}, [0]),
        ({"team_id": "t2"}, [1]),
        ({"subject_id": "u1", "session_id": "s1"}, [2]),
        ({"status": 429}, [2]),
        ({"status": "5xx"}, [1]),
        ({"status": "4xx"}, [2, 3]),
        ({"status": "error"}, [1, 2, 3]),
        ({"status": "400"}, [3]),
        ({"operation": "embeddings"}, [5]),
        ({"client_api": "anthropic"}, [4]),
        ({"metadata": {"app": "x"}}, [3, 4]),
        ({"metadata": {"app": "x", "env": "d"}}, [4]),
        ({"since": 101.0, "until": 102.5, "model": "a"}, [1]),
    ],
)
def test_filters(
    store: tuple[BatchWriter, Queries],
    logged: list[RequestRecord],
    filters: dict,  # type: ignore[type-arg]
    expected: list[int],
) -> None:
    page = store[1].list_requests(filters)
    assert sorted(ids(page.data)) == sorted(logged[i]["id"] for i in expected)
    assert page.next_cursor is None


def test_trace_filter_and_rows_carry_metadata_not_bodies(
    store: tuple[BatchWriter, Queries], logged: list[RequestRecord]
) -> None:
    page = store[1].list_requests(RequestFilter(trace_id=logged[4]["trace_id"]))
    (row,) = page.data
    assert row["metadata"] == {"app": "x", "env": "d"}
    assert row["attempt_count"] == 1
    assert "body" not in row and "attempts" not in row


def test_pages_cover_everything_once_while_new_calls_arrive(
    store: tuple[BatchWriter, Queries], logged: list[RequestRecord]
) -> None:
    writer, queries = store
    seen: list[str] = []
    page = queries.list_requests(None, None, limit=5)
    seen += ids(page.data)
    writer.write([record(received_at=500.0), record(received_at=101.0)])  # newer and a tie
    while page.next_cursor:
        page = queries.list_requests({}, page.next_cursor, limit=5)
        seen += ids(page.data)
    expected = newest_first(logged)
    late_tie = [i for i in seen if i not in expected]
    assert [i for i in seen if i in expected] == expected  # no gap, no repeat, in order
    assert len(late_tie) <= 1  # the late tie sorts by id: before or after the cursor


def test_pages_of_a_model_filter(
    store: tuple[BatchWriter, Queries], logged: list[RequestRecord]
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = store[1].list_requests({"model": "chat", "since": 101.0}, cursor, limit=3)
        seen += ids(page.data)
        if not (cursor := page.next_cursor):
            break
    assert seen == newest_first(
        [r for r in logged[1:] if "chat" in (r["model"], r["served_model"])]
    )


def test_limit_is_clamped_and_bad_input_is_refused(
    store: tuple[BatchWriter, Queries], logged: list[RequestRecord]
) -> None:
    queries = store[1]
    assert len(queries.list_requests(limit=0).data) == 1
    assert len(queries.list_requests(limit=10**6).data) == len(logged)
    with pytest.raises(InvalidQuery, match="cursor"):
        queries.list_requests(cursor="not-a-cursor")
    with pytest.raises(InvalidQuery, match="status"):
        queries.list_requests({"status": "6xx"})
    with pytest.raises(InvalidQuery):
        queries.list_requests({"colour": "red"})


def test_get_request_shows_bodies_as_text_or_base64(store: tuple[BatchWriter, Queries]) -> None:
    writer, queries = store
    r = record(
        body={
            "request": '{"q": "héllo"}'.encode(),
            "response": b"\xff\x00",
            "truncated": False,
            "encryption_key_id": None,
        },
        metadata={"app": "x"},
    )
    sealed = record(
        body={"request": b"plain?", "response": None, "truncated": True, "encryption_key_id": "k"}
    )
    writer.write([r, sealed])
    got = queries.get_request(r["id"])
    assert got is not None
    assert got["metadata"] == {"app": "x"}
    assert got["attempts"] == r["attempts"]
    assert got["body"] == {
        "request": '{"q": "héllo"}',
        "request_encoding": "utf-8",
        "response": "/wA=",
        "response_encoding": "base64",
        "truncated": False,
        "encryption_key_id": None,
    }
    encrypted = queries.get_request(sealed["id"])
    assert encrypted is not None and encrypted["body"]["request_encoding"] == "base64"
    without = queries.get_request(r["id"], with_body=False)
    assert without is not None and without["body"] is None
    assert queries.get_request("no-such-id") is None


def test_trace_joins_a_multi_step_call_in_order(store: tuple[BatchWriter, Queries]) -> None:
    writer, queries = store
    trace_id = "f" * 32
    steps = [
        record(
            trace_id=trace_id,
            received_at=10.0,
            done_at=11.0,
            cost_usd=0.5,
            input_tokens=100,
            output_tokens=10,
            attempts=[attempt(idx=0, outcome="error", status=502), attempt(idx=1)],
        ),
        record(trace_id=trace_id, received_at=12.0, done_at=14.5, cost_usd=0.25, status=500),
        record(trace_id=trace_id, received_at=11.5, done_at=None, cost_usd=None, status=499),
    ]
    writer.write([steps[1], record(), steps[0], steps[2]])
    found = queries.trace(trace_id)
    assert found is not None
    assert [r["id"] for r in found["requests"]] == [steps[0]["id"], steps[2]["id"], steps[1]["id"]]
    assert [a["idx"] for a in found["requests"][0]["attempts"]] == [0, 1]
    summary = found["summary"]
    assert summary["requests"] == 3
    assert (summary["start"], summary["end"]) == (10.0, 14.5)
    assert summary["duration_ms"] == pytest.approx(4500.0)
    assert summary["cost_usd"] == pytest.approx(0.75)
    assert summary["input_tokens"] == 120 and summary["output_tokens"] == 20
    assert summary["total_tokens"] == 140
    assert summary["errors"] == 2
    assert queries.trace("0" * 32) is None


def test_a_cursor_with_a_nul_is_refused_not_an_error(store: tuple[BatchWriter, Queries]) -> None:
    """PostgreSQL can't hold NUL in text: such a cursor is the caller's mistake."""
    import base64

    cursor = base64.urlsafe_b64encode(b'[1.0,"a\\u0000b"]').decode().rstrip("=")
    with pytest.raises(InvalidQuery, match="cursor"):
        store[1].list_requests(cursor=cursor)
