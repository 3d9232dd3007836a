"""Streams in flight, so a shutdown can end them with an error event, not a silent cut.

When the shutdown grace period runs out the server closes every connection. Just
before it does, each stream still running is cancelled here, on purpose, while its
connection is still open: the relay sees that it was cut by the shutdown, sends one
last error event and ends the response cleanly (without ``[DONE]``).
"""

from __future__ import annotations

import asyncio

from aiohttp import web


class LiveStreams:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self._cut: set[asyncio.Task[object]] = set()

    def add(self, task: asyncio.Task[object]) -> None:
        self._tasks.add(task)

    def discard(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        self._cut.discard(task)

    def was_cut(self, task: asyncio.Task[object]) -> bool:
        return task in self._cut

    def cut_all(self) -> int:
        """Cancel every stream still running; return how many there were."""
        for task in self._tasks:
            self._cut.add(task)
            task.cancel()
        return len(self._tasks)


LIVE_STREAMS = web.AppKey("live_streams", LiveStreams)
