"""What the end of an attempt does to its deployment's breaker and statistics.

Every attempt that ``pick()`` let through ends in exactly one verdict for the
breaker (success, failure or release) and one end for the statistics (end or
cancel); the helpers here are the only places that give them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from gatehouse.errors import GatehouseError
from gatehouse.providers import Reply
from gatehouse.routing.attempt import Attempt
from gatehouse.routing.failures import RETRY_SAME_MODEL, failure_class
from gatehouse.routing.table import Deployment

#: Failure classes that count against a deployment's breaker.
BREAKER_CLASSES = RETRY_SAME_MODEL


@dataclass(slots=True)
class Opened:
    """A successful attempt, not yet handed to the client."""

    deployment: Deployment
    attempt: Attempt
    started: float
    reply: Reply | None = None
    prefix: list[bytes] | None = None
    events: AsyncGenerator[bytes, None] | None = None
    ttft_s: float | None = None

    async def discard(self) -> None:
        """Undo an attempt that succeeded but lost (a hedge race); safe to call twice."""
        if self.attempt.outcome == "cancelled":
            return
        self.attempt.outcome = "cancelled"
        self.attempt.ended = time.perf_counter()
        if self.reply is not None:
            # It ran to the end upstream and is billed: its usage still counts.
            self.attempt.usage = self.reply.data.get("usage")
        elif self.prefix is not None:
            self.attempt.content_events = sum(b.count(b"data:") for b in self.prefix)
        try:
            if self.events is not None:
                await self.events.aclose()
        finally:
            self.deployment.stats.cancel()


def record_failure(
    dep: Deployment,
    attempt: Attempt,
    started: float,
    err: GatehouseError,
    after_content: bool = False,
) -> None:
    attempt.outcome = "error"
    attempt.ended = time.perf_counter()
    attempt.error_type = err.error_type
    attempt.error_code = err.code
    attempt.status = err.http_status
    dep.stats.end(started, ok=False)
    if dep.breaker is None:
        return
    failure = failure_class(err)
    if failure in BREAKER_CLASSES:
        dep.breaker.record_failure(err.code or err.error_type)
    elif not after_content:
        dep.breaker.release()  # a verdict-free end (e.g. a context-window refusal)


def release(dep: Deployment) -> None:
    if dep.breaker is not None:
        dep.breaker.release()
