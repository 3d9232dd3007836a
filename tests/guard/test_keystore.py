from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from gatehouse.config.access import BudgetConfig, KeyLimits, RateLimits
from gatehouse.guard.keys import hash_secret
from gatehouse.guard.keystore import KeyStore
from gatehouse.guard.snapshot import KeySnapshot
from gatehouse.store import Database
from gatehouse.store.tables import api_keys


@pytest.fixture
def database(store_url: str) -> Iterator[Database]:
    db = Database(store_url)
    db.upgrade()
    yield db
    db.close()


@pytest.fixture
def store(database: Database) -> KeyStore:
    return KeyStore(database)


def test_create_returns_the_secret_once_and_stores_only_its_hash(
    store: KeyStore, database: Database
) -> None:
    before = time.time()
    key, secret = store.create(name="ci")
    assert re.fullmatch(r"key_[0-9a-f]{20}", key.id)
    assert re.fullmatch(r"gh-[A-Za-z0-9_-]{43}", secret)
    assert key.hash == hash_secret(secret) and key.prefix == secret[:11]
    assert key.roles == {"app"} and key.models == () and key.metadata == {}
    assert key.limits == KeyLimits() and key.budget is None
    assert key.owner is key.team is key.expires_at is key.revoked_at is None
    assert before <= key.created_at == key.updated_at <= time.time()
    assert store.get(key.id) == key
    with database.engine.connect() as conn:
        row = conn.execute(sa.select(api_keys)).mappings().one()
    assert secret not in repr(dict(row))
    assert bytes(row["hash"]) == hash_secret(secret)


def test_every_field_round_trips(store: KeyStore) -> None:
    limits = KeyLimits(rpm=5, max_tokens=100, models={"gpt-4*": RateLimits(tpm=1000)})
    budget = BudgetConfig(usd=12.5, period="week", alert_at=[0.5, 0.9])
    key, _ = store.create(
        name="batch jobs",
        roles=["operator", "app"],
        owner="alice",
        team="research",
        models=["gpt-4*", "chat"],
        expires_at=2_000_000_000.5,
        metadata={"env": "prod", "cost-center": "42"},
        limits=limits,
        budget=budget,
    )
    again = store.get(key.id)
    assert again == key
    assert again is not None
    assert again.roles == {"operator", "app"} and again.models == ("gpt-4*", "chat")
    assert again.limits == limits and again.budget == budget
    assert again.expires_at == 2_000_000_000.5
    # Limits as plain data (the admin API's JSON) are validated into the same thing.
    dicts, _ = store.create(name="x", limits={"rpm": 5}, budget={"usd": 1})
    assert dicts.limits == KeyLimits(rpm=5) and dicts.budget == BudgetConfig(usd=1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "longer than 200"),
        ({"roles": []}, "at least one"),
        ({"roles": ["root"]}, "unknown root"),
        ({"roles": "admin"}, "list of strings"),
        ({"models": [""]}, "can't be empty"),
        ({"models": "gpt-4"}, "list of strings"),
        ({"owner": ""}, "owner"),
        ({"team": 3}, "team"),
        ({"metadata": {"a": 1}}, "metadata"),
        ({"metadata": {"": "x"}}, "metadata"),
        ({"limits": {"rpm": 0}}, "limits: rpm"),
        ({"limits": {"nope": 1}}, "limits: nope"),
        ({"budget": {"usd": 0}}, "budget: usd"),
        ({"budget": {"usd": 1, "period": "year"}}, "budget: period"),
        ({"expires_at": float("nan")}, "expires_at"),
        ({"expires_at": "tomorrow"}, "expires_at"),
    ],
)
def test_bad_input_is_a_value_error_and_writes_nothing(
    store: KeyStore, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.create(**{"name": "ok", **fields})
    assert store.list(include_revoked=True) == []


def test_update_changes_only_what_is_given_and_clears_none(store: KeyStore) -> None:
    key, secret = store.create(
        name="a", owner="alice", team="t", metadata={"k": "v"}, budget=BudgetConfig(usd=3)
    )
    updated = store.update(key.id, name="b", roles=["viewer"], owner=None, limits={"tpm": 9})
    assert updated.name == "b" and updated.roles == {"viewer"} and updated.owner is None
    assert updated.limits == KeyLimits(tpm=9)
    assert updated.team == "t" and updated.metadata == {"k": "v"}
    assert updated.budget == BudgetConfig(usd=3)
    assert updated.hash == key.hash == hash_secret(secret)
    assert updated.created_at == key.created_at and updated.updated_at > key.updated_at
    cleared = store.update(key.id, budget=None, metadata=None, limits=None, expires_at=None)
    assert cleared.budget is None and cleared.metadata == {} and cleared.limits == KeyLimits()
    assert store.get(key.id) == cleared

    with pytest.raises(ValueError, match="cannot update hash"):
        store.update(key.id, hash=b"x")
    with pytest.raises(ValueError, match="name"):
        store.update(key.id, name=None)
    with pytest.raises(KeyError):
        store.update("key_missing", name="x")
    store.revoke(key.id)
    with pytest.raises(KeyError):
        store.update(key.id, name="after revoke")
    revoked = store.get(key.id)
    assert revoked is not None and revoked.name == "b"


def test_rotate_replaces_the_secret_and_the_old_one_stops_working(store: KeyStore) -> None:
    key, old = store.create(name="a", team="t")
    rotated, new = store.rotate(key.id)
    assert new != old and rotated.hash == hash_secret(new) and rotated.prefix == new[:11]
    assert rotated.team == "t" and rotated.updated_at > key.updated_at
    snapshot = KeySnapshot()
    snapshot.load(store)
    assert snapshot.lookup(old) is None
    found = snapshot.lookup(new)
    assert found is not None and found.id == key.id
    store.revoke(key.id)
    with pytest.raises(KeyError):
        store.rotate(key.id)
    with pytest.raises(KeyError):
        store.rotate("key_missing")


def test_revoke_is_idempotent_and_hides_the_key_from_listings(store: KeyStore) -> None:
    a, _ = store.create(name="a", team="red")
    b, _ = store.create(name="b", team="blue")
    c, _ = store.create(name="c", team="red")
    revoked = store.revoke(b.id)
    assert revoked.revoked_at is not None and revoked.updated_at > b.updated_at
    again = store.revoke(b.id)
    assert again == revoked  # nothing written the second time
    with pytest.raises(KeyError):
        store.revoke("key_missing")
    assert [k.id for k in store.list()] == [a.id, c.id]
    assert [k.id for k in store.list(include_revoked=True)] == [a.id, b.id, c.id]
    assert [k.id for k in store.list(team="red")] == [a.id, c.id]
    assert [k.id for k in store.list(team="blue")] == []
    assert [k.id for k in store.list(team="blue", include_revoked=True)] == [b.id]


def test_changed_since_returns_every_write_at_or_after_the_watermark(store: KeyStore) -> None:
    a, _ = store.create(name="a")
    b, _ = store.create(name="b")
    assert [k.id for k in store.changed_since(0.0)] == [a.id, b.id]
    assert [k.id for k in store.changed_since(b.updated_at)] == [b.id]
    assert store.changed_since(b.updated_at + 1e-3) == []
    revoked = store.revoke(a.id)
    changed = store.changed_since(b.updated_at + 1e-6)
    assert changed == [revoked]  # revoked keys included
    assert store.get(b.id) == b


def test_a_write_is_never_stamped_before_the_newest_stamp(
    store: KeyStore, database: Database
) -> None:
    # A replica whose clock runs a minute ahead wrote a key: later writes from honest
    # clocks must still be seen by a poll starting just before that stamp.
    a, _ = store.create(name="a")
    future = time.time() + 60
    with database.engine.begin() as conn:
        conn.execute(sa.update(api_keys).values(updated_at=future))
    b, _ = store.create(name="b")
    assert b.updated_at >= future and b.created_at < future
    assert b in store.changed_since(future - 5.0)
    revoked = store.revoke(a.id)
    assert revoked.updated_at >= future
    assert revoked in store.changed_since(future - 5.0)


def test_two_stores_on_one_database_see_each_others_writes(store: KeyStore, store_url: str) -> None:
    other_db = Database(store_url)
    try:
        other = KeyStore(other_db)
        key, _ = store.create(name="shared")
        assert other.get(key.id) == key
        other.revoke(key.id)
        seen = store.get(key.id)
        assert seen is not None and seen.revoked_at is not None
    finally:
        other_db.close()


def test_a_row_this_version_cannot_read_is_refused_not_fatal(
    store: KeyStore, database: Database
) -> None:
    from gatehouse.guard.snapshot import KeySnapshot
    from gatehouse.store.tables import api_keys

    db = database
    good, good_secret = store.create(name="good")
    bad, bad_secret = store.create(name="bad")
    with db.engine.begin() as conn:  # e.g. written by a newer version
        conn.execute(
            api_keys.update()
            .where(api_keys.c.id == bad.id)
            .values(limits='{"rpm": 5, "a_future_field": 1}')
        )
    snapshot = KeySnapshot()
    snapshot.load(store)
    assert snapshot.lookup(good_secret) is not None
    assert snapshot.lookup(bad_secret) is None
    assert {k.id for k in store.changed_since(0.0)} == {good.id, bad.id}
    # Later changes still arrive.
    store.revoke(good.id)
    snapshot.apply(store.changed_since(0.0, {k.id: k.updated_at for k in [bad]}))
    assert snapshot.lookup(good_secret) is None


def test_stamps_never_repeat_even_behind_a_future_one(store: KeyStore, database: Database) -> None:
    from gatehouse.store.tables import api_keys

    db = database
    ahead, _ = store.create(name="from-a-fast-clock")
    with db.engine.begin() as conn:
        conn.execute(api_keys.update().values(updated_at=ahead.updated_at + 600))
    key, _ = store.create(name="other")
    first = store.update(key.id, limits={"rpm": 1000})
    second = store.update(key.id, limits={"rpm": 1})
    assert second.updated_at > first.updated_at > ahead.updated_at + 600


def test_concurrent_writes_of_one_key_never_share_a_stamp(
    store: KeyStore, database: Database
) -> None:
    """Behind a future stamp (a replica with a fast clock wrote last), a write that waits
    for another writer of the same key must stamp past that writer's stamp; a worker that
    read the first version would otherwise never take the second (a lost revocation)."""
    import threading

    from gatehouse.guard.keystore import _lock, _stamp

    ahead, _ = store.create(name="from-a-fast-clock")
    with database.engine.begin() as conn:
        conn.execute(api_keys.update().values(updated_at=ahead.updated_at + 30))
    key, _ = store.create(name="victim")
    revoked: list[Any] = []
    with database.engine.connect() as conn, conn.begin():  # an update, its commit delayed
        _lock(conn, key.id)
        conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key.id)
            .values(updated_at=_stamp(time.time()), name="patched")
        )
        patched_at = conn.execute(
            sa.select(api_keys.c.updated_at).where(api_keys.c.id == key.id)
        ).scalar_one()
        writer = threading.Thread(target=lambda: revoked.append(store.revoke(key.id)))
        writer.start()
        time.sleep(0.3)  # the revoke waits for the row (SQLite: for the database)
    writer.join(10)
    (final,) = revoked
    assert final.revoked_at is not None and final.name == "patched"
    assert final.updated_at > patched_at > ahead.updated_at + 30
    # A worker that polled between the two commits takes the revocation at its next poll.
    worker = KeySnapshot()
    worker.apply([dataclasses.replace(final, revoked_at=None, updated_at=patched_at)])
    worker.apply(store.changed_since(worker.watermark - 5, {key.id: patched_at}))
    assert worker.get(key.id) == final


def test_a_commit_later_than_the_overlap_is_found_by_the_full_check(
    store: KeyStore, database: Database
) -> None:
    """A revocation stamped long before it committed (a stalled writer) is below every
    poll's look-back; the periodic comparison of every key's stamp still finds it."""
    key, secret = store.create(name="victim")
    worker = KeySnapshot()
    worker.load(store)
    with database.engine.begin() as conn:  # as if committed 60 s after its stamp
        conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key.id)
            .values(revoked_at=time.time(), updated_at=key.updated_at - 60)
        )
    later, _ = store.create(name="someone-else")
    known = {k.id: k.updated_at for k in [key, later]}
    assert store.changed_since(later.updated_at - 5, known) == []  # the usual poll misses it
    worker.apply(store.changed_since(None, known))
    assert worker.lookup(secret) is None
