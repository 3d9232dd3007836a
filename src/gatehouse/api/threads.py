"""Threads of an admin area's own, for its blocking store calls.

Admin reads can be slow (stats over a month of calls, every key of the store). On
threads of their own they wait for each other, never for the threads the request path
(guardrail scans) and the key refresh use, and no number of dashboards can hold a
revocation back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web


class AdminThreads:
    def __init__(self, count: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(count, thread_name_prefix=f"gatehouse-{name}")

    def attach(self, app: web.Application) -> None:
        """Shut the threads down with the app (after its handlers have finished)."""
        app.on_cleanup.append(self._close)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def _close(self, app: web.Application) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
