"""The batch writer in a process of its own, behind the same ``write`` interface.

Inserting into SQLite or PostgreSQL is CPU work in the driver. In a worker's own
thread it competes with the event loop for the GIL, and the hand-offs slow the loop
by more than the inserts cost (measured: bench/RESULTS.md). Here the worker's
recorder thread only pickles each batch into a pipe; a child process (spawned, so it
shares no state) owns the database connection, the spool and the replay.

The child ignores SIGINT and SIGTERM (a Ctrl-C or a service manager signals the whole
process group): it stops when its worker says so or goes away (end of the pipe),
after writing everything it was sent. If the child dies, the worker writes in its
own thread from then on (a ``BatchWriter``); batches the child had taken and not yet
written are lost, and the error log says so.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from gatehouse.store.records import RequestRecord

log = logging.getLogger("gatehouse.store")

_CLOSE = "close"
_TICK = "tick"


def _child(url: str, spool_path: str, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from gatehouse.store.db import Database
    from gatehouse.store.writer import BatchWriter

    writer = BatchWriter(Database(url), spool_path)
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the worker is gone; all it sent has been written
                return
            if message == _CLOSE:
                return
            if message == _TICK:
                writer.retry_spool()
                conn.send(writer.counters() | {"pending": writer.spool_pending()})
            else:
                writer.write(message)
    finally:
        writer.close()
        conn.close()


class ProcessWriter:
    """``write(records)`` hands a batch to the writer process (called from one thread)."""

    def __init__(self, url: str, spool_path: str | os.PathLike[str]) -> None:
        self.url = url
        self.spool_path = os.fspath(spool_path)
        self._conn: Connection | None = None
        self._proc: Any = None
        self._lock = threading.Lock()
        self._fallback: Any = None
        self._counters: dict[str, int] = {}

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(
            target=_child,
            args=(self.url, self.spool_path, child_conn),
            name="gatehouse-writer",
            daemon=True,
        )
        self._proc.start()
        child_conn.close()
        # Should the worker end without close() (an error on the way out), this runs
        # in multiprocessing's exit hook *before* it joins its children — which would
        # otherwise wait forever for a child that is waiting for us.
        self._finalizer = multiprocessing.util.Finalize(self, self.close, exitpriority=10)

    def write(self, records: list[RequestRecord]) -> int:
        """Hand the batch over; returns how many were taken (written later, in order)."""
        if self._fallback is None and self._conn is not None:
            try:
                with self._lock:
                    conn = self._conn
                    if conn is not None:  # close() may have run meanwhile
                        conn.send(records)
                        return len(records)
            except (OSError, ValueError):
                self._fall_back()
        return int(self._writer_here().write(records))

    def retry_spool(self) -> None:
        """An idle tick: the child replays a due spool and reports its counters."""
        if self._fallback is not None or self._conn is None:
            self._writer_here().retry_spool()
            return
        try:
            with self._lock:
                conn = self._conn
                if conn is None:
                    return
                # A reply that came after an earlier wait gave up is stale: read past it,
                # so that replies never fall behind their ticks.
                while conn.poll(0):
                    self._counters = conn.recv()
                conn.send(_TICK)
                if conn.poll(10):
                    self._counters = conn.recv()
        except (OSError, EOFError, ValueError):
            self._fall_back()

    def counters(self) -> dict[str, int]:
        if self._fallback is not None:
            return dict(self._fallback.counters())
        return {k: v for k, v in self._counters.items() if k != "pending"}

    @property
    def written(self) -> int:
        """Records committed, as of the last idle tick."""
        return self.counters().get("written", 0)

    def spool_pending(self) -> int:
        if self._fallback is not None:
            return int(self._fallback.spool_pending())
        return self._counters.get("pending", 0)

    def _fall_back(self) -> None:
        if self._fallback is None:
            log.error(
                "the store's writer process is gone (batches it held are lost); "
                "writing in the worker from now on"
            )
        self._writer_here()

    def _writer_here(self) -> Any:
        if self._fallback is None:
            from gatehouse.store.db import Database
            from gatehouse.store.writer import BatchWriter

            self._fallback = BatchWriter(Database(self.url), self.spool_path)
        return self._fallback

    def close(self, timeout_s: float = 60.0) -> None:
        """Let the child write everything it was sent, then stop it."""
        if self._fallback is not None:
            self._fallback.close()
        # Bounded: the recorder thread may be stuck sending to a child stuck on a
        # database that stopped answering.
        locked = self._lock.acquire(timeout=timeout_s)
        try:
            conn, proc, self._conn = self._conn, self._proc, None
            if conn is None:
                return
            if locked:
                with contextlib.suppress(OSError, ValueError):
                    conn.send(_CLOSE)
        finally:
            if locked:
                self._lock.release()
        proc.join(timeout_s)
        if proc.is_alive():
            log.error("the store's writer process did not finish within %gs", timeout_s)
            proc.kill()
        conn.close()
