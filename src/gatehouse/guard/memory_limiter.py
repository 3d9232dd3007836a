"""The in-memory limit engine: counters in dicts, deques and heaps, for one process.

Its semantics are `Limiter`'s (``limiter.py``), checked side by side with Redis's.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gatehouse.guard.limiter import (
    LATE_SETTLE_S,
    NOMINAL_RETRY_S,
    Admission,
    Rule,
    check_amounts,
    make_admission,
)

# --- the in-memory engine -------------------------------------------------------------

#: Idle counters are looked for at most this often, a few per call, so no call pays for all.
SWEEP_INTERVAL_S = 60.0
_SWEEP_BATCH = 4


class _Expiring:
    """Records by request id that end at a time: leases, reservations, unsettled leftovers.

    A heap finds what ended; removal is lazy (a heap item counts only while its record is
    the id's current one), and the heap is rebuilt when dead items pile up.
    """

    __slots__ = ("heap", "items")

    def __init__(self) -> None:
        self.items: dict[str, tuple[float, int]] = {}  # id -> (ends, amount)
        self.heap: list[tuple[float, str, tuple[float, int]]] = []

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, request_id: str) -> bool:
        return request_id in self.items

    def put(self, request_id: str, ends: float, amount: int) -> None:
        record = (ends, amount)
        self.items[request_id] = record
        heapq.heappush(self.heap, (ends, request_id, record))
        if len(self.heap) > 2 * len(self.items) + 64:
            self.heap = [(r[0], i, r) for i, r in self.items.items()]
            heapq.heapify(self.heap)

    def pop(self, request_id: str) -> int | None:
        record = self.items.pop(request_id, None)
        return None if record is None else record[1]

    def expire(self, now: float) -> list[tuple[str, float, int]]:
        """Remove and return (id, ends, amount) of every record that ended by ``now``."""
        heap, items = self.heap, self.items
        ended: list[tuple[str, float, int]] = []
        while heap and heap[0][0] <= now:
            ends, request_id, record = heapq.heappop(heap)
            if items.get(request_id) is record:
                del items[request_id]
                ended.append((request_id, ends, record[1]))
        if not items:
            heap.clear()
        return ended


@dataclass(frozen=True, slots=True)
class _Refused:
    """What a counter's ``check`` returns when its rule refuses (None when it admits)."""

    retry_after_s: float | None


_NEVER = _Refused(None)
_NOMINAL = _Refused(NOMINAL_RETRY_S)


class _Entry:
    __slots__ = ("request_id", "settled", "t", "weight")

    def __init__(self, request_id: str, t: float, weight: int, settled: bool) -> None:
        self.request_id = request_id
        self.t = t
        self.weight = weight
        self.settled = settled


class _Log:
    """The sliding-window log of a requests (weight 1) or tokens rule, with its sum."""

    __slots__ = ("entries", "grace", "index", "late", "total", "weighted", "window")

    def __init__(self, weighted: bool, grace: float) -> None:
        self.weighted = weighted
        self.grace = grace
        self.window = 0.0
        self.entries: deque[_Entry] = deque()  # oldest first
        self.index: dict[str, _Entry] = {}
        self.total = 0
        self.late = _Expiring()  # unsettled token entries that left the window: id -> weight

    def prune(self, now: float) -> None:
        entries, horizon = self.entries, now - self.window
        while entries and entries[0].t <= horizon:
            entry = entries.popleft()
            self.total -= entry.weight
            if self.index.get(entry.request_id) is entry:
                del self.index[entry.request_id]
            if not entry.settled:
                ends = entry.t + self.window + self.grace
                self.late.put(entry.request_id, ends, entry.weight)
        if self.late:
            self.late.expire(now)

    def holds(self, request_id: str) -> bool:
        return request_id in self.index or request_id in self.late

    def check(self, rule: Rule, tokens: int, cost: int, now: float) -> _Refused | None:
        weight = tokens if self.weighted else 1
        if self.total + weight <= rule.limit:
            return None
        if weight > rule.limit:
            return _NEVER
        need, freed = self.total + weight - rule.limit, 0
        for entry in self.entries:
            freed += entry.weight
            if freed >= need:
                return _Refused(entry.t + self.window - now)
        return _NEVER  # unreachable: total is the sum of the entries

    def record(self, request_id: str, tokens: int, cost: int, lease_s: float, now: float) -> None:
        if self.weighted:
            self._append(request_id, now, tokens, settled=False)
        else:
            self._append(request_id, now, 1, settled=True)

    def _append(self, request_id: str, t: float, weight: int, settled: bool) -> None:
        entry = _Entry(request_id, t, weight, settled)
        self.entries.append(entry)
        self.index[request_id] = entry
        self.total += weight

    def usage(self, now: float) -> tuple[int, float]:
        if not self.entries:
            return self.total, 0.0
        return self.total, self.entries[-1].t + self.window - now

    def settle(self, request_id: str, tokens: int, cost: int, now: float) -> None:
        if not self.weighted:
            return
        entry = self.index.get(request_id)
        if entry is not None:
            if not entry.settled:
                self.total += tokens - entry.weight
                entry.weight, entry.settled = tokens, True
            return
        reserved = self.late.pop(request_id)
        if reserved is not None and tokens > reserved:
            self._append(request_id, now, tokens - reserved, settled=True)

    def release(self, request_id: str, now: float) -> None:
        if self.weighted:
            self.settle(request_id, 0, 0, now)
            return
        entry = self.index.pop(request_id, None)
        if entry is not None:  # gone from the log, as Redis's ZREM takes it (rare: O(n))
            self.entries.remove(entry)
            self.total -= entry.weight

    def spend(self) -> tuple[int, int]:
        return self.total, 0

    def idle(self) -> bool:
        return not self.entries and not self.late


class _Leases:
    """Calls in flight of a concurrent rule, each leased until it settles or expires."""

    __slots__ = ("live", "window")

    def __init__(self) -> None:
        self.window = 0.0
        self.live = _Expiring()

    def prune(self, now: float) -> None:
        if self.live:
            self.live.expire(now)

    def holds(self, request_id: str) -> bool:
        return request_id in self.live

    def check(self, rule: Rule, tokens: int, cost: int, now: float) -> _Refused | None:
        if len(self.live) + 1 <= rule.limit:
            return None
        return _NOMINAL if rule.limit >= 1 else _NEVER

    def record(self, request_id: str, tokens: int, cost: int, lease_s: float, now: float) -> None:
        self.live.put(request_id, now + lease_s, 1)

    def usage(self, now: float) -> tuple[int, float]:
        return len(self.live), 0.0

    def settle(self, request_id: str, tokens: int, cost: int, now: float) -> None:
        self.live.pop(request_id)

    def release(self, request_id: str, now: float) -> None:
        self.live.pop(request_id)

    def spend(self) -> tuple[int, int]:
        return len(self.live), 0

    def idle(self) -> bool:
        return not self.live


class _Budget:
    """Spend of one budget period plus the live reservations of calls in flight."""

    __slots__ = ("expires_at", "grace", "late", "live", "reserved", "spent", "window")

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.window = 0.0
        self.spent = 0
        self.expires_at: float | None = None  # of spent, like a Redis key's expiry
        self.reserved = 0
        self.live = _Expiring()  # id -> reserved cost, until its lease ends
        self.late = _Expiring()  # reservations whose lease ended unsettled: id -> cost

    def prune(self, now: float) -> None:
        if self.expires_at is not None and now >= self.expires_at:
            self.spent, self.expires_at = 0, None
        if self.live:
            for request_id, ends, cost in self.live.expire(now):
                self.reserved -= cost
                self.late.put(request_id, ends + self.grace, cost)
        if self.late:
            self.late.expire(now)

    def holds(self, request_id: str) -> bool:
        return request_id in self.live or request_id in self.late

    def check(self, rule: Rule, tokens: int, cost: int, now: float) -> _Refused | None:
        spent, limit = self.spent, rule.limit
        if spent < limit and spent + self.reserved + cost <= limit:
            return None
        if cost > limit:
            return _NEVER
        if spent >= limit or spent + cost > limit:
            return _Refused(self.window) if self.window > 0 else _NEVER
        return _NOMINAL

    def record(self, request_id: str, tokens: int, cost: int, lease_s: float, now: float) -> None:
        self.live.put(request_id, now + lease_s, cost)
        self.reserved += cost

    def usage(self, now: float) -> tuple[int, float]:
        return self.spent + self.reserved, float(self.window)

    def settle(self, request_id: str, tokens: int, cost: int, now: float) -> None:
        reserved = self.live.pop(request_id)
        if reserved is not None:
            self.reserved -= reserved
        elif self.late.pop(request_id) is None:
            return  # settled already, or forgotten
        if cost > 0:
            self.spent += cost
            if self.window > 0:
                self.expires_at = now + self.window

    def release(self, request_id: str, now: float) -> None:
        self.settle(request_id, 0, 0, now)

    def seed(self, spent: int, now: float) -> None:
        if spent > self.spent:
            self.spent = spent
            if self.window > 0:
                self.expires_at = now + self.window

    def spend(self) -> tuple[int, int]:
        return self.spent, self.reserved

    def idle(self) -> bool:
        return self.spent == 0 and not self.live and not self.late


class MemoryLimiter:
    """The engine of one process: counters in dicts, deques and heaps.

    Methods are coroutines only to share the `Limiter` interface; none awaits, so under
    asyncio each runs to completion on its own (atomic). Counters that became empty are
    dropped by a sweep of a few counters per call, started once per `SWEEP_INTERVAL_S`.
    Time is the monotonic clock: a step of the wall clock (NTP, a VM resumed) neither
    lets a window hold more than its limit nor stretches leases. Every time it keeps is
    relative (a window, a lease, a budget period's remaining seconds), so that is enough.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        late_settle_s: float = LATE_SETTLE_S,
    ) -> None:
        self._clock = clock
        self._grace = late_settle_s
        self._counters: dict[tuple[str, str], _Counter] = {}
        self._to_sweep: list[tuple[str, str]] = []
        self._next_sweep = clock() + SWEEP_INTERVAL_S

    @property
    def counters(self) -> int:
        """How many counters are held (idle ones until the sweep reaches them)."""
        return len(self._counters)

    async def admit(
        self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int, lease_s: float
    ) -> Admission:
        check_amounts(tokens, cost, lease_s)
        now = self._clock()
        self._sweep(now)
        counters = [self._counter(rule, now) for rule in rules]
        held = [c.holds(request_id) for c in counters]
        for i, (rule, counter) in enumerate(zip(rules, counters, strict=True)):
            refused = None if held[i] else counter.check(rule, tokens, cost, now)
            if refused is not None:
                usage = [c.usage(now) for c in counters]
                return make_admission(rules, usage, i, refused.retry_after_s)
        for counter, was_held in zip(counters, held, strict=True):
            if not was_held:
                counter.record(request_id, tokens, cost, lease_s, now)
        return make_admission(rules, [c.usage(now) for c in counters], None, None)

    async def settle(self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int) -> None:
        self.settle_now(request_id, rules, tokens, cost)

    def settle_now(self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int) -> None:
        """``settle`` without a coroutine: the gateway calls it straight from the record's
        drain, which saves a task per call."""
        now = self._clock()
        self._sweep(now)
        for rule in rules:
            counter = self._existing(rule, now)
            if counter is not None:
                counter.settle(request_id, tokens, cost, now)

    async def release(self, request_id: str, rules: Sequence[Rule]) -> None:
        now = self._clock()
        for rule in rules:
            counter = self._existing(rule, now)
            if counter is not None:
                counter.release(request_id, now)

    async def spend(self, rules: Sequence[Rule]) -> list[tuple[int, int]]:
        now = self._clock()
        self._sweep(now)
        counters = [self._existing(rule, now) for rule in rules]
        return [(0, 0) if c is None else c.spend() for c in counters]

    async def seed(self, rule: Rule, spent: int) -> None:
        if rule.kind != "budget":
            raise ValueError(f"only a budget rule can be seeded, not {rule.kind!r}")
        now = self._clock()
        counter = self._counter(rule, now)
        assert isinstance(counter, _Budget)
        counter.seed(spent, now)

    async def check(self) -> None:
        pass  # nothing to reach

    async def close(self) -> None:
        self._counters.clear()

    def _counter(self, rule: Rule, now: float) -> _Counter:
        """The rule's counter, created when missing, pruned to ``now``."""
        counter = self._existing(rule, now)
        if counter is None:
            counter = _new_counter(rule.kind, self._grace)
            counter.window = rule.window_s
            self._counters[rule.kind, rule.name] = counter
        return counter

    def _existing(self, rule: Rule, now: float) -> _Counter | None:
        counter = self._counters.get((rule.kind, rule.name))
        if counter is not None:
            counter.window = rule.window_s
            counter.prune(now)
        return counter

    def _sweep(self, now: float) -> None:
        if not self._to_sweep:
            if now < self._next_sweep:
                return
            self._next_sweep = now + SWEEP_INTERVAL_S
            self._to_sweep = list(self._counters)
        for _ in range(min(_SWEEP_BATCH, len(self._to_sweep))):
            key = self._to_sweep.pop()
            counter = self._counters.get(key)
            if counter is not None:
                counter.prune(now)
                if counter.idle():
                    del self._counters[key]


_Counter = _Log | _Leases | _Budget


def _new_counter(kind: str, grace: float) -> _Counter:
    if kind == "requests":
        return _Log(weighted=False, grace=grace)
    if kind == "tokens":
        return _Log(weighted=True, grace=grace)
    if kind == "concurrent":
        return _Leases()
    return _Budget(grace)
