from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator

import pytest

from gatehouse.guard.keys import ApiKey, hash_secret, new_secret
from gatehouse.guard.keystore import KeyStore
from gatehouse.guard.snapshot import OVERLAP_S, KeySnapshot
from gatehouse.store import Database


def make_key(
    key_id: str = "key_a", updated_at: float = 100.0, **fields: object
) -> tuple[ApiKey, str]:
    secret = new_secret()
    key = ApiKey(
        id=key_id,
        name=key_id,
        prefix=secret[:11],
        hash=hash_secret(secret),
        updated_at=updated_at,
        **fields,  # type: ignore[arg-type]
    )
    return key, secret


def test_lookup_finds_a_key_by_its_secret_only() -> None:
    snapshot = KeySnapshot()
    key, secret = make_key()
    other, other_secret = make_key("key_b")
    snapshot.apply([key, other])
    assert snapshot.lookup(secret) is key
    assert snapshot.lookup(other_secret) is other
    assert snapshot.lookup(new_secret()) is None
    assert snapshot.lookup(secret + "x") is None
    assert snapshot.lookup("") is None
    assert snapshot.get("key_a") is key and snapshot.get("key_zz") is None
    # Many lookups, to show it stays a dict lookup (a timing would be flaky in CI).
    assert all(snapshot.lookup(secret) is key for _ in range(20_000))


def test_expired_keys_are_refused_from_their_expiry_on() -> None:
    snapshot = KeySnapshot()
    key, secret = make_key(expires_at=1_000.0)
    snapshot.apply([key])
    assert snapshot.lookup(secret, now=999.9) is key
    assert snapshot.lookup(secret, now=1_000.0) is None
    assert snapshot.lookup(secret) is None  # the real clock is long past 1970 + 1000 s
    assert snapshot.get(key.id) is key


def test_a_revocation_removes_the_key_from_lookups_but_not_from_get() -> None:
    snapshot = KeySnapshot()
    key, secret = make_key()
    snapshot.apply([key])
    revoked = dataclasses.replace(key, revoked_at=150.0, updated_at=150.0)
    snapshot.apply([revoked])
    assert snapshot.lookup(secret) is None
    assert snapshot.get(key.id) is revoked
    assert snapshot.active_keys() == []
    assert snapshot.watermark == 150.0


def test_a_rotation_drops_the_old_hash() -> None:
    snapshot = KeySnapshot()
    key, old = make_key()
    snapshot.apply([key])
    new = new_secret()
    rotated = dataclasses.replace(key, hash=hash_secret(new), prefix=new[:11], updated_at=120.0)
    snapshot.apply([rotated])
    assert snapshot.lookup(old) is None
    assert snapshot.lookup(new) is rotated
    assert snapshot.active_keys() == [rotated]
    # Applying the same version again changes nothing.
    snapshot.apply([rotated])
    assert snapshot.lookup(new) is rotated and snapshot.lookup(old) is None


def test_the_watermark_is_the_newest_change_applied() -> None:
    snapshot = KeySnapshot()
    assert snapshot.watermark == 0.0
    snapshot.apply([make_key("key_a", 300.0)[0], make_key("key_b", 200.0)[0]])
    assert snapshot.watermark == 300.0
    snapshot.apply([])
    assert snapshot.watermark == 300.0


@pytest.fixture
def two_stores(store_url: str) -> Iterator[tuple[KeyStore, KeyStore]]:
    """Two processes' views of one database: the gateway's and an admin's."""
    first, second = Database(store_url), Database(store_url)
    first.upgrade()
    yield KeyStore(first), KeyStore(second)
    first.close()
    second.close()


def test_the_run_loop_picks_up_a_revocation_made_elsewhere(
    two_stores: tuple[KeyStore, KeyStore],
) -> None:
    gateway, admin = two_stores
    key, secret = admin.create(name="live")
    snapshot = KeySnapshot()
    snapshot.load(gateway)
    assert snapshot.lookup(secret) == key

    async def scenario() -> tuple[float, ApiKey | None, str]:
        task = asyncio.create_task(snapshot.run(gateway, 0.2))
        try:
            await asyncio.sleep(0.3)
            created, new_secret_ = await asyncio.to_thread(admin.create, name="late")
            revoked_at = time.monotonic()
            await asyncio.to_thread(admin.revoke, key.id)
            while snapshot.lookup(secret) is not None:
                assert time.monotonic() - revoked_at < 5, "revocation never arrived"
                await asyncio.sleep(0.01)
            return time.monotonic() - revoked_at, snapshot.lookup(new_secret_), created.id
        finally:
            task.cancel()

    took, late, late_id = asyncio.run(scenario())
    assert took < 1.0
    assert late is not None and late.id == late_id  # keys created meanwhile arrive too
    revoked = snapshot.get(key.id)
    assert revoked is not None and revoked.revoked_at is not None


def test_refresh_now_applies_a_change_at_once(two_stores: tuple[KeyStore, KeyStore]) -> None:
    gateway, admin = two_stores
    snapshot = KeySnapshot()
    snapshot.load(gateway)

    async def scenario() -> None:
        key, secret = await asyncio.to_thread(admin.create, name="now")
        assert snapshot.lookup(secret) is None
        assert await snapshot.refresh_now(gateway)
        assert snapshot.lookup(secret) == key
        rotated, new = await asyncio.to_thread(admin.rotate, key.id)
        await snapshot.refresh_now(gateway)
        assert snapshot.lookup(secret) is None and snapshot.lookup(new) == rotated

    asyncio.run(scenario())


def test_load_async_replaces_everything(two_stores: tuple[KeyStore, KeyStore]) -> None:
    gateway, admin = two_stores
    kept, kept_secret = admin.create(name="kept")
    gone, gone_secret = admin.create(name="gone")
    admin.revoke(gone.id)
    snapshot = KeySnapshot()
    stray, stray_secret = make_key("key_stray", 1.0)
    snapshot.apply([stray])
    asyncio.run(snapshot.load_async(gateway))
    assert snapshot.lookup(kept_secret) == kept
    assert snapshot.lookup(gone_secret) is None and snapshot.get(gone.id) is not None
    assert snapshot.lookup(stray_secret) is None
    assert snapshot.watermark >= kept.updated_at


async def eventually(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5.0
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


class FlakyStore:
    """A store whose database is down until told otherwise."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = keys
        self.down = True
        self.asked: list[float | None] = []

    def changed_since(
        self, watermark: float | None, known: dict[str, float] | None = None
    ) -> list[ApiKey]:
        self.asked.append(watermark)
        if self.down:
            raise ConnectionRefusedError("connection refused\nsecond line")
        known = known or {}
        since = float("-inf") if watermark is None else watermark
        return [k for k in self.keys if k.updated_at >= since and known.get(k.id) != k.updated_at]


def test_database_errors_are_logged_once_a_minute_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    known, known_secret = make_key("key_known", 1_000.0)
    late, late_secret = make_key("key_late", 1_003.0)
    snapshot = KeySnapshot()
    snapshot.apply([known])
    store = FlakyStore([known, late])

    async def scenario() -> None:
        task = asyncio.create_task(snapshot.run(store, 0.01))  # type: ignore[arg-type]
        try:
            await eventually(lambda: len(store.asked) >= 10)
            assert not task.done()  # errors never end the loop
            assert snapshot.lookup(known_secret) is known  # known keys keep working
            store.down = False
            await eventually(lambda: snapshot.lookup(late_secret) is not None)
        finally:
            task.cancel()

    with caplog.at_level(logging.INFO, logger="gatehouse.guard"):
        asyncio.run(scenario())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "ConnectionRefusedError: connection refused" in warnings[0].getMessage()
    assert "second line" not in warnings[0].getMessage()
    assert any("works again" in r.getMessage() for r in caplog.records)
    # Every poll looked back OVERLAP_S before the newest change it had applied.
    assert store.asked[0] == 1_000.0 - OVERLAP_S


def test_a_poll_compares_every_key_once_per_full_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from gatehouse.guard import snapshot as module

    key, _ = make_key("key_a", 1_000.0)
    snapshot = KeySnapshot()
    snapshot.apply([key])
    store = FlakyStore([key])
    store.down = False
    clock = [0.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    snapshot._next_full_check = module.FULL_CHECK_S

    async def polls() -> None:
        for t in (1.0, 2.0, module.FULL_CHECK_S, module.FULL_CHECK_S + 1, 2 * module.FULL_CHECK_S):
            clock[0] = t
            assert await snapshot.refresh_now(store)  # type: ignore[arg-type]

    asyncio.run(polls())
    since = 1_000.0 - OVERLAP_S
    assert store.asked == [since, since, None, since, None]
    snapshot.close()
