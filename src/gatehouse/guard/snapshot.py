"""The keys as the request path sees them: in memory, found by the hash of a secret.

No call queries the database. ``run`` polls the store for keys written since the last
poll and applies them, so a revocation or a rotation reaches every worker of every
replica within one refresh interval (plus the query's time). The store is read on a
thread of the snapshot's own, so other work in threads (request-log queries, say)
can never hold a revocation back.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from gatehouse.guard.keys import ApiKey, hash_secret
from gatehouse.guard.keystore import KeyStore

log = logging.getLogger("gatehouse.guard")

#: Each poll looks back this far before the newest change seen: a key written by a
#: replica whose clock is a little behind, or committed after a later-stamped write,
#: still shows up.
OVERLAP_S = 5.0
#: Every so often a poll compares every key's stamp, not only the recent ones: a write
#: whose commit landed more than OVERLAP_S after its stamp (a stalled writer) is then
#: applied at most this late instead of never.
FULL_CHECK_S = 30.0
_LOG_EVERY_S = 60.0

T = TypeVar("T")


class KeySnapshot:
    """Every key by id, and the usable (unrevoked) ones by the SHA-256 of their secret.

    Lookups run on the event loop and only read the two dicts; ``apply`` and the
    loaders change them on the loop too (a full load swaps in new dicts whole), so a
    lookup never sees a half-applied change.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, ApiKey] = {}
        self._by_hash: dict[bytes, ApiKey] = {}
        #: The newest ``updated_at`` applied; the next poll starts OVERLAP_S before it.
        self.watermark = 0.0
        # Polls and immediate refreshes apply results in the order they were read, so
        # an older read can never overwrite a newer one.
        self._refreshing = asyncio.Lock()
        self._failures = 0
        self._last_error_log = float("-inf")
        self._next_full_check = time.monotonic() + FULL_CHECK_S
        self._io = ThreadPoolExecutor(1, thread_name_prefix="gatehouse-keys")

    # --- the request path ---------------------------------------------------------

    def lookup(self, secret: str, now: float | None = None) -> ApiKey | None:
        """The key whose secret this is, if it exists, isn't revoked and hasn't expired."""
        digest = hash_secret(secret)
        key = self._by_hash.get(digest)
        # The dict compares bytes with memcmp; compare again in constant time so the
        # answer's timing says nothing about how much of a guessed hash matched.
        if key is None or not hmac.compare_digest(key.hash, digest):
            return None
        if key.revoked_at is not None:
            return None
        if key.expires_at is not None and key.expires_at <= (time.time() if now is None else now):
            return None
        return key

    def get(self, key_id: str) -> ApiKey | None:
        """The key with this id, revoked or expired ones included."""
        return self._by_id.get(key_id)

    def active_keys(self) -> list[ApiKey]:
        """Every key that isn't revoked (expired ones included)."""
        return list(self._by_hash.values())

    # --- changes ------------------------------------------------------------------

    def apply(self, keys: Iterable[ApiKey]) -> None:
        """Insert or replace keys by id; a rotated key's old secret stops matching."""
        newest = _index(self._by_id, self._by_hash, keys)
        self.watermark = max(self.watermark, newest)

    def load(self, store: KeyStore) -> None:
        """Replace everything with every key in the store (blocking: start-up or tests)."""
        self._replace(store.list(include_revoked=True))

    async def load_async(self, store: KeyStore) -> None:
        """``load`` with the query in a thread; database errors are raised."""
        async with self._refreshing:
            keys = await self.in_thread(lambda: store.list(include_revoked=True))
            self._replace(keys)

    async def in_thread(self, fn: Callable[[], T]) -> T:
        """Run a store call on the snapshot's own thread (its loads and polls only)."""
        return await asyncio.get_running_loop().run_in_executor(self._io, fn)

    def close(self) -> None:
        self._io.shutdown(wait=False, cancel_futures=True)

    def _replace(self, keys: list[ApiKey]) -> None:
        by_id: dict[str, ApiKey] = {}
        by_hash: dict[bytes, ApiKey] = {}
        newest = _index(by_id, by_hash, keys)
        self._by_id, self._by_hash = by_id, by_hash
        self.watermark = max(self.watermark, newest)

    # --- keeping up ---------------------------------------------------------------

    async def run(self, store: KeyStore, interval_s: float) -> None:
        """Poll the store for changed keys every ``interval_s`` until cancelled.

        A failed poll is logged (at most once a minute) and retried at the next tick:
        the keys already known keep working while the database is away.
        """
        while True:
            await self.refresh_now(store)
            await asyncio.sleep(interval_s)

    async def refresh_now(self, store: KeyStore) -> bool:
        """Apply what changed in the store now (e.g. the admin API's own write).

        Never raises for a database error, which is logged like the loop's: the write
        it follows has succeeded, and the next poll will bring it. False if it failed.
        """
        async with self._refreshing:
            since: float | None = self.watermark - OVERLAP_S
            full = time.monotonic() >= self._next_full_check
            if full:
                since = None
            try:
                known = {k.id: k.updated_at for k in self._by_id.values()}
                keys = await self.in_thread(lambda: store.changed_since(since, known))
            except Exception as exc:  # any driver's error: logged, retried next tick
                self._failed(exc)
                return False
            if full:
                self._next_full_check = time.monotonic() + FULL_CHECK_S
            self.apply(keys)
        if self._failures:
            log.info("key refresh works again after %d failed attempt(s)", self._failures)
            self._failures = 0
        return True

    def _failed(self, exc: Exception) -> None:
        self._failures += 1
        now = time.monotonic()
        if now - self._last_error_log >= _LOG_EVERY_S:
            self._last_error_log = now
            log.warning(
                "cannot refresh API keys from the store (%d failed attempt(s); known keys "
                "keep working, changes wait): %s: %s",
                self._failures,
                type(exc).__name__,
                str(exc).strip().splitlines()[0] if str(exc).strip() else "",
            )


def _index(by_id: dict[str, ApiKey], by_hash: dict[bytes, ApiKey], keys: Iterable[ApiKey]) -> float:
    """Put ``keys`` into the two maps; returns the newest ``updated_at`` among them."""
    newest = float("-inf")
    for key in keys:
        old = by_id.get(key.id)
        if old is not None:
            current = by_hash.get(old.hash)
            if current is not None and current.id == key.id:
                del by_hash[old.hash]
        by_id[key.id] = key
        if key.revoked_at is None:
            by_hash[key.hash] = key
        newest = max(newest, key.updated_at)
    return newest
