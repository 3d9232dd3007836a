"""Start, wait for and stop the servers under test; read their memory and CPU from /proc.

Every server runs in its own session (process group), so stopping it also stops the
worker processes it spawned, even when the parent does not forward signals.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port that was free a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- /proc -------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (field 3 onwards)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            if int(_stat_fields(int(entry.name))[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def descendants(pid: int) -> list[int]:
    result, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        result.extend(kids)
        todo.extend(kids)
    return result


def cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) in MiB, or 0 if the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the given processes, in seconds."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = _stat_fields(pid)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs of the machine spent busy since boot (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _CLK_TCK


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have exited (wrk runs)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class CpuMeter:
    """CPU used while it runs by some servers, and by processes that are none of them,
    nor this one, nor its finished children (other people's work on the machine)."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.started = time.monotonic()
        self.start = self._read()

    def _read(self) -> list[float]:
        mine = [s.cpu_seconds() for s in self.servers]
        return [*mine, own_cpu_seconds(), machine_busy_seconds()]

    def stop(self) -> tuple[list[float], float]:
        """CPU seconds of each server, and the share of the machine used by others."""
        *servers, own, busy = (b - a for a, b in zip(self.start, self._read(), strict=True))
        elapsed = max(time.monotonic() - self.started, 1e-6)
        other = max(0.0, busy - sum(servers) - own)
        return servers, round(other / (elapsed * (os.cpu_count() or 1)), 3)


def wait_idle(pids: list[int], *, interval_s: float = 0.2, timeout_s: float = 10.0) -> None:
    """Wait until the processes use under 5% of a core: the backlog of a load run is done."""
    deadline = time.monotonic() + timeout_s
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(interval_s)
        now = cpu_seconds(pids)
        if now - before < 0.05 * interval_s:
            return
        before = now


# --- servers -----------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    workers: int
    proc: subprocess.Popen[bytes]
    log: Path
    argv: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tree(self) -> list[int]:
        return [self.pid, *descendants(self.pid)]

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers if it forks, else itself."""
        if self.workers <= 1:
            return [self.pid]
        kids = [p for p in children(self.pid) if "resource_tracker" not in cmdline(p)]
        return kids or [self.pid]

    def worker_rss_mb(self) -> list[float]:
        return [round(rss_mb(pid), 1) for pid in self.worker_pids()]

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.tree())

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


class ServerError(RuntimeError):
    pass


class Servers:
    """Starts servers and guarantees they are stopped when the ``with`` block ends."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[Server] = []

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        for server in reversed(self.running[:]):
            self.stop(server)

    def start(
        self,
        name: str,
        argv: list[str],
        port: int,
        *,
        workers: int = 1,
        ready_path: str = "/healthz",
        ready_timeout_s: float = 60.0,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Server:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        server = Server(name, port, workers, proc, log, argv)
        self.running.append(server)
        wait_ready(server, ready_path, ready_timeout_s)
        wait_workers(server, ready_timeout_s)
        return server

    def stop(self, server: Server, grace_s: float = 10.0) -> None:
        if server in self.running:
            self.running.remove(server)
        _signal_group(server.proc, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.proc.wait(timeout=grace_s)
        # The workers may outlive the parent briefly; make sure the whole group is gone.
        _signal_group(server.proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.proc.wait(timeout=5)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def wait_ready(server: Server, path: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ServerError(
                f"{server.name} exited with {server.proc.returncode} before it was ready:\n"
                + server.log_tail()
            )
        if _http_status(server.port, path) == 200:
            return
        time.sleep(0.1)
    raise ServerError(f"{server.name} not ready after {timeout_s:.0f}s:\n{server.log_tail()}")


def wait_workers(server: Server, timeout_s: float) -> None:
    """With several workers, wait until that many worker processes exist."""
    deadline = time.monotonic() + timeout_s
    while server.workers > 1 and len(server.worker_pids()) < server.workers:
        if time.monotonic() > deadline:
            raise ServerError(f"{server.name}: fewer than {server.workers} workers started")
        time.sleep(0.1)


def _http_status(port: int, path: str) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()
