"""Load shedding: a cap on calls in flight per worker, with a short bounded queue.

Beyond the cap a call waits in a FIFO queue of ``queue_size`` for at most
``queue_timeout_s``; a call that finds the queue full, or waits too long, is refused
at once with 503 and Retry-After. Latency stays bounded instead of growing without
limit when upstreams are slower than the arrival rate.
"""

from __future__ import annotations

import asyncio
from collections import deque

from gatehouse.errors import Overloaded


class AdmissionControl:
    def __init__(self, max_in_flight: int, queue_size: int, queue_timeout_s: float) -> None:
        self.max_in_flight = max_in_flight
        self.queue_size = queue_size
        self.queue_timeout_s = queue_timeout_s
        self.in_flight = 0
        self.shed = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> None:
        if self.in_flight < self.max_in_flight and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.queue_size:
            self.shed += 1
            raise self._refusal("queue full")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.queue_timeout_s)
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return  # the slot arrived at the last moment: keep it
            waiter.cancel()
            self.shed += 1
            raise self._refusal(f"no slot within {self.queue_timeout_s:g}s") from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot while being cancelled: pass it on
            waiter.cancel()
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def release(self) -> None:
        """Free a slot, handing it straight to the oldest waiter if there is one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return  # the slot passes on; in_flight is unchanged
        self.in_flight -= 1

    def _refusal(self, why: str) -> Overloaded:
        return Overloaded(
            f"the gateway is at its limit of {self.max_in_flight} calls in flight ({why}); "
            "retry shortly",
            code="overloaded",
            retry_after=1,
        )
