"""Run wrk with a generated Lua script and read its summary as JSON.

The script sets the POST body (or alternates between several bodies) and prints the
summary from wrk's ``done`` hook as one JSON line, so nothing is scraped from wrk's
human-readable report. It defines no ``response`` hook, which would slow wrk down.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, "max_us": %.0f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    errors: int
    error_detail: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def ok(self) -> int:
        """Responses with a 2xx/3xx status (wrk counts the others as requests too)."""
        return self.requests - self.error_detail["status"]

    @property
    def rps(self) -> float:
        """Successful responses per second."""
        return self.ok / self.duration_s if self.duration_s else 0.0


def _lua_string(data: bytes) -> str:
    text = data.decode()
    if "]==]" in text:
        raise ValueError("body cannot be embedded in a Lua long string")
    return f"[==[{text}]==]"


def write_script(path: Path, bodies: list[bytes], headers: dict[str, str]) -> Path:
    """A script that POSTs ``bodies`` in turn (one body: wrk's static fast path)."""
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    if len(bodies) == 1:
        lines.append(f"wrk.body = {_lua_string(bodies[0])}")
    else:
        lines.append("local bodies = {" + ", ".join(_lua_string(b) for b in bodies) + "}")
        lines += [
            "local requests, turn = {}, 0",
            "function init(args)",
            "  for i, body in ipairs(bodies) do requests[i] = wrk.format(nil, nil, nil, body) end",
            "end",
            "function request()",
            "  turn = turn % #requests + 1",
            "  return requests[turn]",
            "end",
        ]
    path.write_text("\n".join(lines) + "\n" + _DONE)
    return path


def run(
    url: str, script: Path, *, connections: int, duration_s: float, threads: int = 1
) -> WrkResult:
    threads = max(1, min(threads, connections))
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return _result(json.loads(line.removeprefix("WRK_JSON ")))
    raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")


def _result(raw: dict[str, float]) -> WrkResult:
    detail = {k: int(raw[k]) for k in ("connect", "read", "write", "status", "timeout")}
    return WrkResult(
        requests=int(raw["requests"]),
        duration_s=raw["duration_us"] / 1e6,
        errors=sum(detail.values()),
        error_detail=detail,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
