"""The scan worker: heavy scanners (NER, models) in a process of their own.

The gateway worker never waits on a model in its own event loop, and a model's memory
is not the gateway worker's. Each gateway worker starts one scan worker
(``python -m gatehouse.guard.scanworker NAME...``) and talks to it over its stdin and
stdout with length-prefixed JSON frames. Every call has a time budget; a late, busy or
dead worker is the caller's to handle (fail closed or open, by config). A dead worker
is started again on the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import struct
import sys
import time
from dataclasses import astuple
from typing import Any

import orjson

from gatehouse.guard.scanners.base import Finding, ScanContext

log = logging.getLogger("gatehouse.guard")

_LEN = struct.Struct(">I")
_MAX_FRAME = 64 * 1024 * 1024
#: Seconds between two start attempts of a worker that keeps dying.
_RESTART_BACKOFF_S = 1.0
#: Calls waiting on the worker beyond which a new one is refused at once.
MAX_QUEUED = 8
#: Where the worker's semantic scanners find their embedding model (config
#: ``guardrails.worker.model_path``), when it is set.
MODEL_PATH_ENV = "GATEHOUSE_ML_MODEL"


class ScanUnavailable(Exception):
    """The worker didn't answer within the budget, or isn't running."""


class ScanWorker:
    """The gateway side: send texts, await findings within a time budget."""

    def __init__(
        self, scanners: list[str], start_timeout_s: float = 60.0, model_path: str | None = None
    ) -> None:
        self.scanners = sorted(set(scanners))
        self.start_timeout_s = start_timeout_s
        self.model_path = model_path
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._starting: asyncio.Task[None] | None = None
        self._last_start = 0.0
        self.restarts = 0

    def _environment(self) -> dict[str, str]:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        # One BLAS thread per worker unless the operator says otherwise: a second thread
        # fighting the gateway for a core made embeddings up to 7x slower, not faster.
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(name, "1")
        if self.model_path is not None:
            env[MODEL_PATH_ENV] = self.model_path
        return env

    async def start(self) -> None:
        """Start the process and wait until its scanners are loaded."""
        self._last_start = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gatehouse.guard.scanworker",
            *self.scanners,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_MAX_FRAME,
            env=self._environment(),
        )
        assert proc.stdout is not None
        try:
            hello = await asyncio.wait_for(_read_frame(proc.stdout), self.start_timeout_s)
        except (TimeoutError, asyncio.IncompleteReadError) as exc:
            await _kill(proc)
            raise RuntimeError(
                f"scan worker for {', '.join(self.scanners)} did not start: {exc!r}"
            ) from None
        except BaseException:  # cancelled (the gateway closing): leave no orphan
            await asyncio.shield(_kill(proc))
            raise
        if "error" in hello:
            await proc.wait()
            raise RuntimeError(f"scan worker failed to load its scanners: {hello['error']}")
        self._proc = proc
        self._reader = asyncio.create_task(self._read_replies(proc))
        log.info(
            "scan worker pid %d ready with %s in %.1f s",
            proc.pid,
            ", ".join(self.scanners),
            time.monotonic() - self._last_start,
        )

    async def scan(
        self,
        names: list[str],
        texts: list[str],
        contexts: list[ScanContext],
        timeout_s: float,
    ) -> dict[str, list[list[Finding]]]:
        """Per scanner, per text, its findings. Raises ScanUnavailable."""
        proc = self._proc
        if proc is None or proc.returncode is not None or proc.stdin is None:
            self._restart_soon()
            raise ScanUnavailable("the scan worker is not running")
        if len(self._pending) >= MAX_QUEUED:
            # Behind this many calls it would be late anyway: say so now, not at the
            # deadline, and don't lengthen the queue for the calls after it.
            raise ScanUnavailable(f"the scan worker is busy ({len(self._pending)} calls queued)")
        call_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        frame = orjson.dumps(
            {
                "id": call_id,
                "scanners": names,
                "texts": texts,
                "contexts": [astuple(c) for c in contexts],
                # The worker skips a call whose caller has stopped waiting (CLOCK_MONOTONIC
                # is the same clock in every process of the machine).
                "deadline": time.monotonic() + timeout_s,
            }
        )
        try:
            async with asyncio.timeout(timeout_s):
                proc.stdin.write(_LEN.pack(len(frame)) + frame)
                await proc.stdin.drain()
                reply = await future
        except TimeoutError:
            raise ScanUnavailable(f"the scan worker did not answer within {timeout_s}s") from None
        except (ConnectionError, BrokenPipeError) as exc:
            raise ScanUnavailable(f"the scan worker is gone: {exc}") from None
        finally:
            self._pending.pop(call_id, None)
        if "error" in reply:
            # The detail goes to the log only: a scanner's exception may quote its input.
            log.error("scan worker call failed: %s", reply["error"])
            raise ScanUnavailable("the scan worker failed on this call")
        return {
            name: [[Finding(*f) for f in per_text] for per_text in per_scanner]
            for name, per_scanner in reply["findings"].items()
        }

    async def _read_replies(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                reply = await _read_frame(proc.stdout)
                future = self._pending.get(reply.get("id", 0))
                if future is not None and not future.done():
                    future.set_result(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_result({"error": "the scan worker exited"})
            if self._proc is proc:
                self._proc = None
                if proc.returncode is None:
                    await proc.wait()
                log.error("scan worker pid %d exited with %s", proc.pid, proc.returncode)

    def _restart_soon(self) -> None:
        if self._starting is not None and not self._starting.done():
            return
        if time.monotonic() - self._last_start < _RESTART_BACKOFF_S:
            return
        self.restarts += 1
        self._starting = asyncio.create_task(self._restart())

    async def _restart(self) -> None:
        try:
            await self.start()
        except Exception as exc:
            log.error("scan worker restart failed: %s", exc)

    async def close(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting  # its start() kills the process it began
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()


async def _read_frame(stream: asyncio.StreamReader) -> dict[str, Any]:
    (size,) = _LEN.unpack(await stream.readexactly(_LEN.size))
    data: dict[str, Any] = orjson.loads(await stream.readexactly(size))
    return data


# --- the worker process -------------------------------------------------------------------


def _serve(names: list[str]) -> int:
    from gatehouse.guard.scanners.registry import build

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print() must not corrupt the frames

    def send(message: dict[str, Any]) -> None:
        frame = orjson.dumps(message)
        out.write(_LEN.pack(len(frame)) + frame)
        out.flush()

    try:
        scanners = {name: build(name) for name in names}
        for scanner in scanners.values():  # warm caches and lazy loads before "ready"
            scanner.scan("Warm-up text from Alice at 1 Main Street.", ScanContext())
    except Exception as exc:
        send({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    send({"ready": True, "scanners": names})
    while True:
        head = inp.read(_LEN.size)
        if len(head) < _LEN.size:
            return 0  # the gateway closed our stdin: time to go
        (size,) = _LEN.unpack(head)
        request = orjson.loads(inp.read(size))
        if time.monotonic() > request.get("deadline", float("inf")):
            send({"id": request["id"], "error": "expired before it was scanned"})
            continue
        try:
            contexts = [ScanContext(*c) for c in request["contexts"]]
            findings = {
                name: [
                    [(f.type, f.start, f.end, f.score) for f in scanners[name].scan(t, c)]
                    for t, c in zip(request["texts"], contexts, strict=True)
                ]
                for name in request["scanners"]
            }
            send({"id": request["id"], "findings": findings})
        except Exception as exc:
            send({"id": request.get("id"), "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    import signal

    # The gateway's process group may get SIGINT/SIGTERM; the worker ends when the
    # gateway closes its stdin, so a call in flight still gets its answer.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(_serve(sys.argv[1:]))
