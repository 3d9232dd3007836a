"""The measurements: c=1 latency and TTFT (own client), load with wrk, memory, soak.

Each scenario runs every path of a :class:`Phase` in the same way, interleaving the
paths in rounds so that drift on the machine spreads evenly over them.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

import procs
import wrk
from httpclient import ClientError, Connection, Timing, build_request
from procs import Server

CHAT = "/v1/chat/completions"


def log(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Target:
    """One path: the server the client talks to and the model name it asks for."""

    name: str
    server: Server
    model: str
    headers: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{CHAT}"


class Bodies:
    """The request bodies: the same prompt on every path, only the model name differs."""

    def __init__(self, size: int) -> None:
        empty = self._encode("chat", "", stream=False)
        filler = "The quick brown fox jumps over the lazy dog. " * (size // 40 + 1)
        self.prompt = filler[: max(0, size - len(empty))]

    @staticmethod
    def _encode(model: str, prompt: str, *, stream: bool) -> bytes:
        body: dict[str, Any] = {
            "model": model,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": prompt},
            ],
            "max_tokens": 256,
        }
        if stream:
            body["stream"] = True
        return orjson.dumps(body)

    def chat(self, model: str, *, stream: bool = False) -> bytes:
        return self._encode(model, self.prompt, stream=stream)


@dataclass
class Phase:
    """Everything the scenarios of one proxy worker count share."""

    args: argparse.Namespace
    upstream: Server
    bodies: Bodies
    work: Path
    workers: int
    targets: list[Target]
    served: Counter[str] = field(default_factory=Counter)

    @property
    def proxies(self) -> list[Target]:
        return [t for t in self.targets if t.server is not self.upstream]


# --- c=1 closed loop ------------------------------------------------------------------


def percentiles(values_ns: list[int]) -> dict[str, Any]:
    """n, p50, p90, p99, mean and max in milliseconds (linear interpolation)."""
    if not values_ns:
        return dict.fromkeys(("p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms"), None) | {"n": 0}
    ordered = sorted(values_ns)

    def ms(q: float) -> float:
        pos = (len(ordered) - 1) * q
        low, high = math.floor(pos), math.ceil(pos)
        return round((ordered[low] + (ordered[high] - ordered[low]) * (pos - low)) / 1e6, 4)

    mean = round(sum(ordered) / len(ordered) / 1e6, 4)
    return {
        "n": len(ordered),
        "p50_ms": ms(0.5),
        "p90_ms": ms(0.9),
        "p99_ms": ms(0.99),
        "mean_ms": mean,
        "max_ms": ms(1.0),
    }


class ClosedLoop:
    """One keep-alive connection per path, one request at a time, paths interleaved."""

    MAX_ERRORS = 20

    def __init__(self, phase: Phase, *, stream: bool, deadline: float) -> None:
        args = phase.args
        self.targets = phase.targets
        self.stream = stream
        self.expect = args.stream_tokens if stream else None
        self.deadline = deadline
        self.conns = {t.name: Connection(t.server.port) for t in self.targets}
        self.requests = {
            t.name: build_request(
                t.server.port, CHAT, phase.bodies.chat(t.model, stream=stream), t.headers
            )
            for t in self.targets
        }
        self.samples: dict[str, list[Timing]] = {t.name: [] for t in self.targets}
        self.errors: Counter[str] = Counter()
        self.last_error: dict[str, str] = {}
        self.other_load = 0.0

    def run(self, n: int, warmup: int, rounds: int) -> None:
        try:
            for target in self.targets:
                self._repeat(target.name, warmup, keep=False)
            per_round = math.ceil(n / max(1, rounds))
            for _ in range(rounds):
                for target in self.targets:
                    left = n - len(self.samples[target.name])
                    self._repeat(target.name, min(per_round, left), keep=True)
        finally:
            for conn in self.conns.values():
                conn.close()

    def _repeat(self, name: str, count: int, *, keep: bool) -> None:
        conn, request = self.conns[name], self.requests[name]
        for _ in range(count):
            if time.monotonic() > self.deadline:
                raise TimeoutError("a c=1 scenario took longer than --scenario-timeout")
            if self.errors[name] >= self.MAX_ERRORS:
                return
            try:
                timing = conn.post(request, stream=self.stream, expect_tokens=self.expect)
            except (OSError, ValueError, ClientError) as exc:
                self.errors[name] += 1
                self.last_error[name] = f"{type(exc).__name__}: {exc}"
                continue
            if keep:
                self.samples[name].append(timing)


def _closed_loop(phase: Phase, *, stream: bool) -> ClosedLoop:
    args = phase.args
    n = args.ttft_requests if stream else args.latency_requests
    warmup = args.ttft_warmup if stream else args.latency_warmup
    loop = ClosedLoop(phase, stream=stream, deadline=time.monotonic() + args.scenario_timeout)
    servers = list({id(t.server): t.server for t in phase.targets}.values())
    meter = procs.CpuMeter(servers)
    loop.run(n, warmup, args.rounds)
    _, loop.other_load = meter.stop()
    for name, samples in loop.samples.items():
        phase.served[name] += len(samples) + warmup
        if loop.errors[name]:
            log(f"  {name}: {loop.errors[name]} error(s), last: {loop.last_error[name]}")
    return loop


def latency(phase: Phase) -> dict[str, Any]:
    args = phase.args
    log(f"latency at c=1: {args.latency_requests:,} requests per path")
    loop = _closed_loop(phase, stream=False)
    paths = {
        name: {**percentiles([t.total_ns for t in samples]), "errors": loop.errors[name]}
        for name, samples in loop.samples.items()
    }
    return {
        "workers": phase.workers,
        "body_bytes": len(phase.bodies.chat("chat")),
        "warmup": args.latency_warmup,
        "rounds": args.rounds,
        "paths": paths,
        "last_errors": loop.last_error,
        "other_load": loop.other_load,
    }


def ttft(phase: Phase) -> dict[str, Any]:
    args = phase.args
    log(f"time to first token at c=1: {args.ttft_requests:,} streams per path")
    loop = _closed_loop(phase, stream=True)
    paths = {}
    for name, samples in loop.samples.items():
        firsts = [t.first_token_ns for t in samples if t.first_token_ns is not None]
        paths[name] = {
            "ttft": percentiles(firsts),
            "total": percentiles([t.total_ns for t in samples]),
            "errors": loop.errors[name],
        }
    return {
        "workers": phase.workers,
        "tokens": args.stream_tokens,
        "warmup": args.ttft_warmup,
        "rounds": args.rounds,
        "paths": paths,
        "last_errors": loop.last_error,
        "other_load": loop.other_load,
    }


# --- wrk load -------------------------------------------------------------------------


def lua_script(phase: Phase, target: Target, kind: str) -> Path:
    """kind: "plain" (non-streaming), "stream", or "mixed" (the two alternating)."""
    plain = phase.bodies.chat(target.model)
    stream = phase.bodies.chat(target.model, stream=True)
    bodies = {"plain": [plain], "stream": [stream], "mixed": [plain, stream]}[kind]
    return wrk.write_script(phase.work / f"{target.name}-{kind}.lua", bodies, target.headers)


@dataclass
class Run:
    """One measured wrk run, the CPU seconds the proxy and the upstream spent in it, and
    the share of the machine's CPU that other processes took meanwhile."""

    result: wrk.WrkResult
    proxy_cpu_s: float | None
    upstream_cpu_s: float
    other_load: float


def _measure(phase: Phase, target: Target, script: Path, connections: int) -> Run:
    args = phase.args
    proxied = target.server is not phase.upstream
    meter = procs.CpuMeter([phase.upstream, target.server] if proxied else [phase.upstream])
    result = wrk.run(
        target.url, script, connections=connections, duration_s=args.duration,
        threads=args.wrk_threads,
    )  # fmt: skip
    phase.served[target.name] += result.requests
    (upstream_cpu, *proxy_cpu), other = meter.stop()
    _settle(phase, target)
    return Run(result, proxy_cpu[0] if proxied else None, upstream_cpu, other)


def _measure_quietly(phase: Phase, target: Target, script: Path, connections: int) -> Run:
    """Measure; run again (up to ``--retries`` times) while other processes on the
    machine took more than ``--max-other-load`` of its CPU. Keep the quietest run."""
    args = phase.args
    best: Run | None = None
    for attempt in range(args.retries + 1):
        run = _measure(phase, target, script, connections)
        if best is None or run.other_load < best.other_load:
            best = run
        if run.other_load <= args.max_other_load:
            break
        if attempt < args.retries:
            log(f"  {target.name}: other processes took {run.other_load:.0%} of the CPU; again")
    assert best is not None
    return best


def _settle(phase: Phase, target: Target) -> None:
    """Let a slow proxy finish the requests wrk left in flight before the next run."""
    procs.wait_idle(target.server.tree() + phase.upstream.tree())


def _row(phase: Phase, target: Target, runs: list[Run], connections: int) -> dict[str, Any]:
    """Sum the rounds of one path: rate over all of them, latency of the median round."""
    requests = sum(r.result.ok for r in runs)
    seconds = sum(r.result.duration_s for r in runs)
    per_request_us = 1e6 / max(1, requests)
    median = sorted(runs, key=lambda r: r.result.rps)[len(runs) // 2].result
    proxy_cpu = [r.proxy_cpu_s for r in runs if r.proxy_cpu_s is not None]
    return {
        "path": target.name,
        "workers": phase.workers if target.server is not phase.upstream else None,
        "connections": connections,
        "rps": round(requests / seconds) if seconds else 0,
        "rps_rounds": [round(r.result.rps) for r in runs],
        "requests": requests,
        "p50_ms": median.p50_ms,
        "p99_ms": median.p99_ms,
        "errors": sum(r.result.errors for r in runs),
        "proxy_cpu_us": round(sum(proxy_cpu) * per_request_us) if proxy_cpu else None,
        "upstream_cpu_us": round(sum(r.upstream_cpu_s for r in runs) * per_request_us),
        "other_load": max(r.other_load for r in runs),
    }


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    by_path = {r["path"]: r for r in rows}
    for row in rows:
        for base_name, key in (("floor", "vs_floor"), ("direct", "vs_direct")):
            base = by_path.get(base_name)
            if base and base["rps"] and row["path"] not in (base_name, "direct"):
                row[key] = round(row["rps"] / base["rps"], 4)


def load(phase: Phase, kind: str) -> list[dict[str, Any]]:
    """wrk against every path: warm-up each, then ``--load-rounds`` interleaved runs."""
    args = phase.args
    connections = args.concurrency if kind == "plain" else args.stream_concurrency
    what = "non-streaming" if kind == "plain" else f"streams of {args.stream_tokens} chunks"
    log(
        f"wrk c={connections}, {what}, proxies with {phase.workers} worker(s): "
        f"{args.load_rounds} x {args.duration}s per path"
    )
    scripts = {t.name: lua_script(phase, t, kind) for t in phase.targets}
    for t in phase.targets:
        warm = wrk.run(
            t.url, scripts[t.name], connections=connections, duration_s=args.warmup,
            threads=args.wrk_threads,
        )  # fmt: skip
        phase.served[t.name] += warm.requests
        _settle(phase, t)
    runs: dict[str, list[Run]] = {t.name: [] for t in phase.targets}
    for _ in range(args.load_rounds):
        for t in phase.targets:
            runs[t.name].append(_measure_quietly(phase, t, scripts[t.name], connections))
    rows = [_row(phase, t, runs[t.name], connections) for t in phase.targets]
    _add_ratios(rows)
    for row in rows:
        log(
            f"  {row['path']:<10} {row['rps']:>9,.0f}/s  rounds {row['rps_rounds']}"
            f"  errors {row['errors']}"
        )
    return rows


# --- memory and soak ------------------------------------------------------------------


def memory(phase: Phase) -> list[dict[str, Any]]:
    """VmRSS of each worker of each proxy, with the requests it has served so far."""
    return [
        {
            "path": t.name,
            "workers": phase.workers,
            "served": phase.served[t.name],
            "rss_mb": t.server.worker_rss_mb(),
        }
        for t in phase.proxies
    ]


def soak(phase: Phase, target: Target, rate: float) -> dict[str, Any]:
    """Load a freshly started ``target`` with ``--soak`` requests, noting RSS per worker
    at the start and every ``--soak-step`` requests.

    The load is wrk at ``--concurrency``, streaming and non-streaming requests
    alternating, in runs sized from the last measured rate so that each checkpoint is
    passed by at most about a second of traffic.
    """
    args = phase.args
    log(f"soak: {args.soak:,} requests to a fresh {target.name}, RSS every {args.soak_step:,}")
    script = lua_script(phase, target, "mixed")
    start_rss = target.server.worker_rss_mb()
    checkpoints: list[dict[str, Any]] = []
    sent = errors = 0
    started = time.monotonic()
    deadline = started + max(600.0, 5 * args.soak / max(rate, 100.0))
    for goal in range(args.soak_step, args.soak + 1, args.soak_step):
        while sent < goal:
            if time.monotonic() > deadline:
                raise TimeoutError(f"soak stopped at {sent:,} requests: too slow")
            seconds = min(30, max(1, math.floor((goal - sent) / max(rate, 1.0))))
            result = wrk.run(
                target.url, script, connections=args.concurrency, duration_s=seconds,
                threads=args.wrk_threads,
            )  # fmt: skip
            sent, errors, rate = sent + result.requests, errors + result.errors, result.rps
        point = {
            "served": sent,
            "rss_mb": target.server.worker_rss_mb(),
            "errors": errors,
            "seconds": round(time.monotonic() - started, 1),
        }
        log(f"  {sent:,} requests: RSS {point['rss_mb']} MiB, {errors} errors")
        checkpoints.append(point)
    phase.served[target.name] += sent
    return {
        "path": target.name,
        "workers": phase.workers,
        "connections": args.concurrency,
        "start_rss_mb": start_rss,
        "checkpoints": checkpoints,
    }
