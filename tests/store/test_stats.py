from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.store import BatchWriter, Database, GroupStats, InvalidQuery, Queries, RequestRecord
from tests.store.sample import attempt, record

BASE = 1_700_000_040.0  # a whole minute
NOW = BASE + 3000.0
WINDOW = 3600.0


def group_a() -> list[RequestRecord]:
    """100 calls over 10 minutes; latency i ms; even ones stream with TTFT 2i ms."""
    status_of = {11: 500, 21: 429, 31: 400, 32: 400, 33: 400}
    status_of |= {i: 503 for i in range(51, 61)}  # minute 5: nothing served
    out = []
    for i in range(1, 101):
        minute = (i - 1) // 10
        stream = i % 2 == 0
        out.append(
            record(
                model="a",
                deployment="dep-a",
                received_at=BASE + minute * 60 + (i - 1) % 10,
                status=status_of.get(i, 200),
                latency_ms=float(i),
                stream=stream,
                ttft_ms=2.0 * i if stream else 9999.0,  # not a stream: must not count
                output_tokens_per_s=50.0 if stream else None,
                input_tokens=10,
                output_tokens=36,
                cost_usd=0.001,
                attempts=[attempt(deployment="dep-a", started_at=BASE + minute * 60)],
            )
        )
    return out


def others() -> list[RequestRecord]:
    return [
        record(model="b", received_at=BASE + 5, latency_ms=30.0, status=200),
        record(model="b", received_at=BASE + 6, latency_ms=10.0, status=200),
        record(model="b", received_at=BASE + 7, latency_ms=20.0, status=200, cost_usd=None),
        # Either side of a minute boundary by 0.4 ms: two minutes, on both databases.
        record(model="c", received_at=BASE + 119.9996, latency_ms=None, input_tokens=None),
        record(model="c", received_at=BASE + 120.0004, latency_ms=None, output_tokens=None),
        # Outside the window.
        record(model="a", received_at=NOW - WINDOW - 1, latency_ms=1e6, status=500),
        record(model="a", received_at=NOW + 1, latency_ms=1e6, status=500),
        # A deployment that never served: only its failed attempts show.
        record(
            model="d",
            deployment="dep-a",
            received_at=BASE + 8,
            attempts=[
                attempt(idx=0, deployment="dep-down", started_at=BASE + 8, outcome="error"),
                attempt(idx=1, deployment="dep-a", started_at=BASE + 8.5),
            ],
        ),
    ]


@pytest.fixture
def stats(store_url: str, tmp_path: Path) -> Queries:
    db = Database(store_url)
    db.upgrade()
    BatchWriter(db, tmp_path / "spool").write(group_a() + others())
    yield Queries(db)  # type: ignore[misc]
    db.close()


def by_group(rows: list[GroupStats]) -> dict[str | None, GroupStats]:
    return {r["group"]: r for r in rows}


def test_model_stats_match_the_inserted_calls(stats: Queries) -> None:
    report = stats.stats(WINDOW, "model", now=NOW)
    assert (report["since"], report["until"]) == (NOW - WINDOW, NOW)
    rows = report["groups"]
    assert [r["group"] for r in rows] == ["a", "b", "c", "d"]  # busiest first
    a = by_group(rows)["a"]
    assert a["requests"] == 100
    assert a["qps"] == pytest.approx(100 / WINDOW)
    assert (a["errors"], a["client_errors"]) == (12, 3)  # 500 + 429 + ten 503s; three 400s
    assert a["error_rate"] == pytest.approx(0.12)
    assert (a["input_tokens"], a["output_tokens"]) == (1000, 3600)
    assert a["tokens_per_s"] == pytest.approx(1.0)
    assert a["stream_tokens_per_s"] == pytest.approx(50.0)
    assert a["cost_usd"] == pytest.approx(0.1)
    assert a["latency_ms"] == {"p50": 50.0, "p95": 95.0, "p99": 99.0}  # nearest rank
    assert a["ttft_ms"] == {"p50": 100.0, "p95": 192.0, "p99": 200.0}  # streams only
    # Minutes 1 (one 500 in ten), 2 (one 429) and 5 (all 503) fail; 3 (400s) does not.
    assert (a["active_minutes"], a["available_minutes"]) == (10, 7)
    assert a["availability"] == pytest.approx(0.7)

    b = by_group(rows)["b"]
    assert b["latency_ms"] == {"p50": 20.0, "p95": 30.0, "p99": 30.0}
    assert b["ttft_ms"] == {"p50": None, "p95": None, "p99": None}
    assert b["availability"] == 1.0 and b["errors"] == 0
    assert b["cost_usd"] == pytest.approx(0.002)  # a None cost counts as nothing

    c = by_group(rows)["c"]
    assert c["active_minutes"] == 2
    assert c["latency_ms"]["p50"] is None
    assert (c["input_tokens"], c["output_tokens"]) == (10, 5)


def test_deployment_stats_include_attempts_of_deployments_that_never_served(
    stats: Queries,
) -> None:
    groups = by_group(stats.stats(WINDOW, "deployment", now=NOW)["groups"])
    assert groups["dep-a"]["requests"] == 101
    assert groups["dep-a"]["attempts"] == 101
    down = groups["dep-down"]
    assert (down["requests"], down["attempts"], down["attempt_errors"]) == (0, 1, 1)


def test_key_and_provider_grouping_and_validation(stats: Queries) -> None:
    assert [r["group"] for r in stats.stats(WINDOW, "key", now=NOW)["groups"]] == ["key-1"]
    (local,) = stats.stats(WINDOW, "provider", now=NOW)["groups"]
    assert local["requests"] == 106
    assert stats.stats(60, "model", now=BASE - 100)["groups"] == []
    with pytest.raises(InvalidQuery):
        stats.stats(WINDOW, "colour", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(InvalidQuery):
        stats.stats(0, "model", now=NOW)
