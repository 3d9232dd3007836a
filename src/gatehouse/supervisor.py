"""Run a server in one process, or in N worker processes sharing a port.

Each worker binds the same address with SO_REUSEPORT and runs its own event loop;
the kernel spreads connections among them. The parent only forwards SIGTERM/SIGINT
and waits, so a stop drains every worker within its grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any


def run_async(main: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on uvloop where it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.run(main)
    return uvloop.run(main)


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port, not even with SO_REUSEPORT.

    Workers bind with SO_REUSEPORT, which would let a second server group share a
    port that another one already serves and split its traffic without a word; a
    plain bind first makes that an error.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


WORKER_INDEX_ENV = "GATEHOUSE_WORKER_INDEX"


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def run_workers(
    target: Callable[..., None], args: tuple[Any, ...], workers: int, grace_s: float
) -> int:
    """Start ``workers`` processes running ``target(*args)``; return the worst exit code."""
    if workers <= 1:
        target(*args)
        return 0
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=target, args=args, name=f"worker-{i}") for i in range(workers)]
    for i, proc in enumerate(procs):
        # A spawned child takes the environment as it is at start(): its index and the
        # setup's shared directories (e.g. for metrics) reach it that way.
        with _env(WORKER_INDEX_ENV, str(i)):
            proc.start()

    stopping = False
    failed: int | None = None  # the exit code of a worker that died on its own

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill() if signum == signal.SIGKILL else proc.terminate()

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    kill_at: float | None = None
    try:
        while any(p.is_alive() for p in procs):
            for proc in procs:
                proc.join(timeout=0.2)
            if stopping and kill_at is None:
                kill_at = time.monotonic() + grace_s + 10
            elif kill_at is not None and time.monotonic() > kill_at:
                # A worker that outlives its grace period and then some is stuck.
                print("gatehouse: a worker did not stop in time; killing it", file=sys.stderr)
                for proc in procs:
                    if proc.is_alive():
                        proc.kill()
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if not stopping and dead:
                # A worker died on its own: stop the others rather than serve half-capacity
                # silently. A process manager restarts the whole group.
                print("gatehouse: a worker exited unexpectedly; stopping", file=sys.stderr)
                failed = dead[0]
                forward(signal.SIGTERM, None)
        deadline_grace = grace_s + 5
        for proc in procs:
            proc.join(timeout=deadline_grace)
            if proc.is_alive():
                proc.kill()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if failed is not None:
        # Not the others' codes: they were stopped by us (-15 if before their handlers).
        return abs(failed)
    return max((abs(p.exitcode or 0) for p in procs), default=0)
