"""The recorder: finished calls go to metrics, the request log and traces, off the path.

``record()`` is all the request path pays: an append and, once per loop turn, a
scheduled drain. The drain (on the loop, after the responses of that turn were
written) builds the records and updates the metrics; a writer thread takes them
from a bounded queue in batches into the store and the span exporter, so the loop
never waits for a database or a collector.

A full queue drops bodies before records, and counts every drop. ``close()``
writes out everything queued (into the spool if the store is down) before it
returns, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from gatehouse.pipeline.exchange import Exchange
from gatehouse.store.records import RequestRecord
from gatehouse.telemetry.record import RecordBuilder

log = logging.getLogger("gatehouse.recorder")


class RecordSink(Protocol):
    """Where batches go in the writer thread: the store, the span exporter."""

    def write(self, records: list[RequestRecord]) -> Any: ...


class RecorderMetrics(Protocol):
    def observe(self, records: list[RequestRecord]) -> None: ...
    def dropped(self, what: str, n: int = 1) -> None: ...
    def set_queue_depth(self, n: int) -> None: ...


class Recorder:
    def __init__(
        self,
        builder: RecordBuilder,
        metrics: RecorderMetrics | None,
        sinks: list[RecordSink],
        *,
        queue_size: int = 50_000,
        queue_body_bytes: int = 64 * 1024 * 1024,
        batch_size: int = 500,
        flush_interval_s: float = 0.2,
        idle: Any = None,
    ) -> None:
        self.builder = builder
        self.metrics = metrics
        self.sinks = sinks
        self.queue_size = queue_size
        self.queue_body_bytes = queue_body_bytes
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._idle = idle  # called in the writer thread when it wakes with nothing to do
        #: Called on the loop with each call and its record once built (limits settle
        #: there with the real usage and cost).
        self.observers: list[Callable[[Exchange, RequestRecord], None]] = []
        self._finished: list[Exchange] = []
        self._drain_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: collections.deque[RequestRecord] = collections.deque()
        self._body_bytes = 0
        self._body_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.recorded = 0
        self.dropped_records = 0
        self.dropped_bodies = 0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.sinks:
            self._thread = threading.Thread(
                target=self._write_loop, name="gatehouse-recorder", daemon=True
            )
            self._thread.start()

    def record(self, exchange: Exchange) -> None:
        """Take a finished call; never blocks (until shut down), never raises."""
        self._finished.append(exchange)
        if self._drain_scheduled:
            return
        if self._loop is not None:
            self._drain_scheduled = True
            self._loop.call_soon(self.drain)
        elif self._closed:
            self._write_late()

    def _write_late(self) -> None:
        """A call that ended after close() (cut by the shutdown deadline a few loop turns
        late): written here and now rather than lost; only ever at shutdown."""
        finished, self._finished = self._finished, []
        records = self._build(finished)
        self._safely(self.builder.mask_bodies, records)
        for sink in self.sinks:
            self._safely(sink.write, records)

    def _build(self, finished: list[Exchange]) -> list[RequestRecord]:
        """The records of finished calls, counted in the metrics; a bad one is skipped."""
        records: list[RequestRecord] = []
        for exchange in finished:
            try:
                record = self.builder.build(exchange)
            except Exception:  # a record must never take the gateway down
                log.exception("could not build the record of request %s", exchange.request_id)
                continue
            records.append(record)
            for observe in self.observers:
                try:
                    observe(exchange, record)
                except Exception:
                    log.exception("an observer of request %s failed", exchange.request_id)
        self.recorded += len(records)
        if self.metrics is not None:
            try:
                self.metrics.observe(records)
            except Exception:
                log.exception("metrics update failed")
        return records

    def drain(self) -> None:
        """Build the records of the calls finished since the last drain and pass them on."""
        self._drain_scheduled = False
        finished, self._finished = self._finished, []
        if not finished:
            return
        records = self._build(finished)
        if self.sinks:
            self._enqueue(records)

    def _enqueue(self, records: list[RequestRecord]) -> None:
        queue = self._queue
        half = self.queue_size // 2
        for record in records:
            depth = len(queue)
            if depth >= self.queue_size:
                self.dropped_records += 1
                if self.metrics is not None:
                    self.metrics.dropped("record")
                continue
            body = record.get("body")
            if body is not None:
                size = len(body["request"] or b"") + len(body["response"] or b"")
                if depth >= half or self._body_bytes + size > self.queue_body_bytes:
                    record["body"] = None
                    self.dropped_bodies += 1
                    if self.metrics is not None:
                        self.metrics.dropped("body")
                else:
                    with self._body_lock:
                        self._body_bytes += size
            queue.append(record)
        if self.metrics is not None:
            self.metrics.set_queue_depth(len(queue))
        if len(queue) >= self.batch_size:
            self._wake.set()

    def _write_loop(self) -> None:
        queue = self._queue
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            stopping = self._stopping
            if not queue and self._idle is not None:
                self._safely(self._idle)
            while queue:
                n = min(len(queue), self.batch_size)
                batch = [queue.popleft() for _ in range(n)]
                freed = 0  # as counted when queued, before any masking changes sizes
                for record in batch:
                    body = record.get("body")
                    if body is not None:
                        freed += len(body["request"] or b"") + len(body["response"] or b"")
                self._safely(self.builder.mask_bodies, batch)
                for sink in self.sinks:
                    self._safely(sink.write, batch)
                if freed:
                    with self._body_lock:
                        self._body_bytes -= freed
            if stopping and not queue:
                return

    @staticmethod
    def _safely(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("recorder sink failed")

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    async def close(self, timeout_s: float = 30.0) -> None:
        """Drain, then write out everything queued; returns when it is written."""
        self.drain()
        self._loop = None  # calls finishing after this are written at once (_write_late)
        self._closed = True
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wake.set()
        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, thread.join, timeout_s)
        if thread.is_alive():
            log.error(
                "the recorder could not write %d queued record(s) within %gs",
                len(self._queue),
                time.monotonic() - started,
            )
        self._thread = None
