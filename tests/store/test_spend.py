from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.store import BatchWriter, Database
from gatehouse.store.spend import settled_spend
from tests.store.sample import record


@pytest.fixture
def db(store_url: str, tmp_path: Path) -> Iterator[Database]:
    database = Database(store_url)
    database.upgrade()
    BatchWriter(database, tmp_path / "spool").write(
        [
            record(received_at=100.0, key_id="k1", team_id="t1", user_id="u1", cost_usd=0.5),
            record(received_at=200.0, key_id="k1", team_id="t1", user_id="u1", cost_usd=0.25),
            record(received_at=200.0, key_id="k2", team_id="t1", user_id=None, cost_usd=1.0),
            record(received_at=300.0, key_id="k2", team_id="t2", user_id="u2", cost_usd=None),
            record(received_at=300.0, key_id=None, team_id=None, user_id=None, cost_usd=9.0),
            record(received_at=400.0, key_id="k3", team_id="t2", user_id="u2", cost_usd=2.0),
        ]
    )
    yield database
    database.close()


def test_sums_cost_per_key_team_and_user_ignoring_unset_ids(db: Database) -> None:
    assert settled_spend(db, "key_id", 0.0) == pytest.approx({"k1": 0.75, "k2": 1.0, "k3": 2.0})
    assert settled_spend(db, "team_id", 0.0) == pytest.approx({"t1": 1.75, "t2": 2.0})
    assert settled_spend(db, "user_id", 0.0) == pytest.approx({"u1": 0.75, "u2": 2.0})


def test_counts_calls_received_at_or_after_since(db: Database) -> None:
    assert settled_spend(db, "key_id", 200.0) == pytest.approx({"k1": 0.25, "k2": 1.0, "k3": 2.0})
    # k2's only call since 300 has no cost: it is there, with nothing spent.
    assert settled_spend(db, "key_id", 300.0) == pytest.approx({"k2": 0.0, "k3": 2.0})
    assert settled_spend(db, "key_id", 400.5) == {}


def test_only_the_ids_asked_for(db: Database) -> None:
    assert settled_spend(db, "key_id", 0.0, ["k1", "nope"]) == pytest.approx({"k1": 0.75})
    assert settled_spend(db, "team_id", 0.0, ["t2"]) == pytest.approx({"t2": 2.0})
    assert settled_spend(db, "key_id", 0.0, []) == {}
    # More ids than one statement takes: asked in several.
    many = [f"x{i}" for i in range(1_234)] + ["k3", "k1"]
    assert settled_spend(db, "key_id", 0.0, many) == pytest.approx({"k1": 0.75, "k3": 2.0})


def test_other_columns_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="cannot sum spend by 'model'"):
        settled_spend(db, "model", 0.0)  # type: ignore[arg-type]
