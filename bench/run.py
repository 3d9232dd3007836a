"""Benchmark Gatehouse against a direct call and a bare pass-through proxy, in one run.

Paths, all to the same simulated upstream on 127.0.0.1:

    direct     client -> mock upstream
    gatehouse  client -> gatehouse serve -> mock upstream
    floor      client -> bench/floor_proxy.py -> mock upstream
    litellm    client -> LiteLLM proxy -> mock upstream        (with --litellm)

Scenarios: latency at c=1 (non-streaming), time to first token at c=1 (streaming),
throughput at c=64 and streams/s at c=16 (wrk) with the proxies at 1 and 2 workers,
memory per worker, and a soak. See bench/README.md.

    .venv/bin/python bench/run.py --quick          # about 80 seconds, no soak
    .venv/bin/python bench/run.py                  # about 6 minutes, with a 200k-request soak
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

import launch
import report
import scenarios
from procs import ServerError, Servers
from scenarios import Bodies, Phase, Target, log

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"

FULL = {
    "latency_requests": 2000,
    "latency_warmup": 200,
    "ttft_requests": 1000,
    "ttft_warmup": 100,
    "duration": 5,
    "load_rounds": 3,
    "warmup": 3,
    "soak": 200_000,
}
QUICK = {
    "latency_requests": 600,
    "latency_warmup": 100,
    "ttft_requests": 300,
    "ttft_warmup": 50,
    "duration": 2,
    "load_rounds": 2,
    "warmup": 1,
    "soak": 0,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Direct vs Gatehouse vs floor proxy benchmark (see bench/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = p.add_argument
    add("--quick", action="store_true", help="short runs and no soak (about 80 seconds)")
    add("--paths", default="gatehouse,floor", help="proxies to measure besides direct")
    add("--litellm", action="store_true", help="add the LiteLLM proxy (bench/litellm.sh)")
    add("--workers", default="1,2", help="proxy worker counts for the load scenarios")
    add(
        "--latency-workers",
        type=int,
        default=1,
        help="proxy workers for the c=1 scenarios (one of --workers; 0 skips them)",
    )
    add("--upstream-workers", type=int, default=2, help="mock upstream processes")
    add("--prompt-bytes", type=int, default=1024, help="request body size")
    add("--stream-tokens", type=int, default=20, help="content chunks per answer")
    add("--latency-requests", type=int, help="c=1 non-streaming requests per path")
    add("--latency-warmup", type=int, help="c=1 non-streaming warm-up per path")
    add("--ttft-requests", type=int, help="c=1 streaming requests per path")
    add("--ttft-warmup", type=int, help="c=1 streaming warm-up per path")
    add("--rounds", type=int, default=4, help="c=1 requests split in rounds, paths interleaved")
    add("--concurrency", type=int, default=64, help="wrk connections, throughput and soak")
    add("--stream-concurrency", type=int, default=16, help="wrk connections, streams")
    add("--duration", type=int, help="seconds per measured wrk run")
    add("--load-rounds", type=int, help="measured wrk runs per path, paths interleaved")
    add("--warmup", type=int, help="seconds of wrk warm-up per path and scenario")
    add("--wrk-threads", type=int, default=1, help="wrk threads")
    add(
        "--max-other-load",
        type=float,
        default=0.10,
        help="share of the CPU other processes may take before a wrk run is run again",
    )
    add("--retries", type=int, default=2, help="extra wrk runs allowed per disturbed run")
    add("--soak", type=int, help="requests sent to the gateway for the soak (0: none)")
    add("--soak-step", type=int, default=100_000, help="requests between RSS checkpoints")
    add("--growth-tolerance-mb", type=float, default=4.0, help="RSS growth counted as none")
    add("--scenario-timeout", type=float, default=300, help="seconds allowed per c=1 scenario")
    add("--gateway-config", type=Path, default=BENCH / "bench.yaml", help="Gatehouse config")
    add(
        "--no-key-limits",
        action="store_true",
        help="the gateway's key has no limits (the access check is the key lookup only)",
    )
    add(
        "--api-key",
        default=os.environ.get("BENCH_API_KEY", ""),
        help="bearer token sent (default: a key made with gatehouse keys create)",
    )
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    args.paths = [name for name in args.paths.split(",") if name and name != "direct"]
    if args.litellm and "litellm" not in args.paths:
        args.paths.append("litellm")
    unknown = set(args.paths) - set(launch.PROXIES)
    if unknown:
        p.error(f"unknown path(s) {', '.join(sorted(unknown))}; known: {launch.PROXIES}")
    return args


# --- the run --------------------------------------------------------------------------


def run_phase(phase: Phase, results: dict[str, Any]) -> None:
    """Every scenario for one proxy worker count."""
    if phase.workers == phase.args.latency_workers:
        results["latency"] = scenarios.latency(phase)
        results["ttft"] = scenarios.ttft(phase)
    results["throughput"] += scenarios.load(phase, "plain")
    results["streams"] += scenarios.load(phase, "stream")
    results["memory"] += scenarios.memory(phase)


class Bench:
    """Starts the paths' servers; a proxy that fails to start is skipped and recorded."""

    def __init__(self, args: argparse.Namespace, work: Path, servers: Servers) -> None:
        self.args = args
        self.work = work
        self.servers = servers
        self.bodies = Bodies(args.prompt_bytes)
        if not args.api_key:
            log("creating the gateway's API key (gatehouse keys create)")
            args.api_key = launch.gateway_key(work, args.gateway_config, not args.no_key_limits)
        self.headers = {"Authorization": f"Bearer {args.api_key}"}
        self.failed: list[str] = []
        log(f"starting the mock upstream ({args.upstream_workers} worker(s))")
        self.upstream = launch.start_upstream(servers, args)

    def proxy(self, name: str, workers: int) -> Target | None:
        log(f"starting {name} with {workers} worker(s)")
        try:
            server = launch.start_proxy(
                name, self.servers, self.upstream, workers, self.work, self.args.gateway_config
            )
        except ServerError as exc:
            log(f"skipping {name}: {exc}")
            self.failed.append(f"{name} with {workers} worker(s): {exc}")
            return None
        return Target(name, server, "chat", self.headers)

    def phase(self, workers: int, proxies: list[Target], *, direct: bool = True) -> Phase:
        targets = [Target("direct", self.upstream, "mock-model", self.headers)] if direct else []
        return Phase(self.args, self.upstream, self.bodies, self.work, workers, targets + proxies)

    def stop(self, targets: list[Target]) -> None:
        for target in targets:
            self.servers.stop(target.server)


def run_all(args: argparse.Namespace, work: Path, results: dict[str, Any]) -> None:
    with Servers(work) as servers:
        bench = Bench(args, work, servers)
        try:
            for workers in args.workers:
                proxies = [t for name in args.paths if (t := bench.proxy(name, workers))]
                run_phase(bench.phase(workers, proxies), results)
                bench.stop(proxies)
            if args.soak and report.GATEWAY in args.paths:
                results["soak"] = run_soak(bench, results)
        finally:
            results["failed"] += bench.failed


def run_soak(bench: Bench, results: dict[str, Any]) -> dict[str, Any] | None:
    """The soak, on a freshly started gateway with the largest worker count."""
    workers = max(bench.args.workers)
    gateway = bench.proxy(report.GATEWAY, workers)
    if gateway is None:
        return None
    rates = [r["rps"] for r in results["throughput"] if r["path"] == report.GATEWAY]
    try:
        return scenarios.soak(
            bench.phase(workers, [gateway], direct=False), gateway, max(rates, default=1000)
        )
    finally:
        bench.stop([gateway])


# --- header and output ----------------------------------------------------------------


def _output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, Any]:
    from gatehouse import __version__

    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "")
    commit = _output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]) or "?"
    dirty = _output(["git", "-C", str(REPO), "status", "--porcelain", "src"])
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": shlex.join(sys.orig_argv),
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": cpu or platform.processor(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "gatehouse": f"{__version__} @ {commit}" + (" + uncommitted src changes" if dirty else ""),
        "wrk": _output(["wrk", "--version"]).split(" [")[0] or "wrk",
    }


def header(meta: dict[str, Any], args: argparse.Namespace) -> str:
    return "\n".join(
        [
            f"Gatehouse benchmark, {meta['date']}",
            f"command:  {meta['command']}",
            f"machine:  {meta['nproc']} CPUs ({meta['cpu']}), {meta['memory_gib']} GiB RAM, "
            f"Linux {meta['kernel']}, Python {meta['python']}",
            f"versions: gatehouse {meta['gatehouse']}; {meta['wrk']}",
            f"setup:    mock upstream with {args.upstream_workers} worker(s) and "
            f"{args.stream_tokens} tokens per answer; all processes share the machine; "
            f"wrk -t{args.wrk_threads}, {args.warmup}s warm-up then {args.load_rounds} x "
            f"{args.duration}s per path",
        ]
    )


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    parts = [header(results["meta"], args)]
    parts += [f"FAILED TO START: {line.splitlines()[0]}" for line in results["failed"]]
    parts += [
        f"FAILED REQUESTS: {name}: {n:,} (server logs in {results['meta']['logs']})"
        for name, n in report.failed_requests(results).items()
    ]
    busy = report.other_load(results)
    if busy > args.max_other_load:
        parts.append(
            f"WARNING: other processes used up to {busy:.0%} of the machine's CPU during the "
            "measurements (see 'other load'): figures are disturbed; run again on a quiet "
            "machine"
        )
    if results["latency"]:
        parts.append(report.latency_section(results["latency"]))
    if results["ttft"]:
        parts.append(report.ttft_section(results["ttft"]))
    if results["throughput"]:
        title = f"Throughput at c={args.concurrency}, non-streaming (wrk)"
        parts.append(report.load_section(title, results["throughput"], "req/s"))
    if results["streams"]:
        title = f"Streams at c={args.stream_concurrency}, {args.stream_tokens} chunks each (wrk)"
        parts.append(report.load_section(title, results["streams"], "streams/s"))
    if results["memory"]:
        parts.append(report.memory_section(results["memory"], results["soak"]))
    parts.append(report.budget_section(results["budget"]))
    return "\n\n".join(parts)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def new_results(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    settings.pop("api_key")
    meta = {**machine(), "logs": f"{work.relative_to(REPO)}/"}
    return {
        "meta": meta,
        "settings": settings,
        "latency": None,
        "ttft": None,
        "throughput": [],
        "streams": [],
        "memory": [],
        "soak": None,
        "failed": [],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM both unwind through the teardown, even when the shell that
    # started us in the background told us to ignore SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"run-{stamp}-", dir=OUT))
    results = new_results(args, work)
    log(f"server logs and wrk scripts in {results['meta']['logs']}")
    status = 0
    try:
        run_all(args, work, results)
    except KeyboardInterrupt:
        log("interrupted: servers stopped; reporting what was measured")
        status = 130
    except (ServerError, TimeoutError, RuntimeError, subprocess.SubprocessError) as exc:
        log(f"error: {exc}")
        status = 1
    results["budget"] = report.budget_lines(results)
    if not status and (results["failed"] or report.failed_requests(results)):
        status = 1
    print(render(results, args), flush=True)
    out = OUT / f"bench-{stamp}.json"
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    log(f"results written to {out.relative_to(REPO)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
