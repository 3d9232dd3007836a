"""Start the servers of each path on free loopback ports: upstream, Gatehouse, floor, LiteLLM."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from procs import Server, ServerError, Servers, free_port

BENCH = Path(__file__).resolve().parent
LITELLM = BENCH / ".litellm-venv" / "bin" / "litellm"
PROXIES = ("gatehouse", "gatehouse-norec", "floor", "litellm")


def start_upstream(servers: Servers, args: argparse.Namespace) -> Server:
    port = free_port()
    argv = [
        *(sys.executable, "-m", "gatehouse", "mock-upstream", "--host", "127.0.0.1"),
        *("--port", str(port), "--workers", str(args.upstream_workers)),
        *("--response-tokens", str(args.stream_tokens)),
    ]
    return servers.start("upstream", argv, port, workers=args.upstream_workers)


def start_proxy(
    name: str, servers: Servers, upstream: Server, workers: int, state: Path, config: Path
) -> Server:
    """Start one proxy path with ``workers`` worker processes; ``state`` is a scratch dir."""
    if name in ("gatehouse", "gatehouse-norec"):
        return _gateway(servers, upstream, workers, state, config, recording=name == "gatehouse")
    if name == "floor":
        return _floor(servers, upstream, workers)
    if name == "litellm":
        return _litellm(servers, upstream, workers, state)
    raise ValueError(f"unknown path {name!r} (known: {', '.join(PROXIES)})")


def _gateway(
    servers: Servers, upstream: Server, workers: int, state: Path, config: Path, recording: bool
) -> Server:
    port = free_port()
    argv = [
        *(sys.executable, "-m", "gatehouse", "serve", "--config", str(config)),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
    ]
    env = {
        "BENCH_UPSTREAM_PORT": str(upstream.port),
        "BENCH_STATE_DIR": str(state),
        "BENCH_RECORDING": "true" if recording else "false",
    }
    name = f"gatehouse{'' if recording else '-norec'}-w{workers}"
    return servers.start(
        name, argv, port, workers=workers, ready_path="/readyz", env=env, cwd=state
    )


def gateway_key(state: Path, config: Path, limits: bool = True) -> str:
    """A key in the gateway's store, as an operator would make it, with limits high enough
    never to refuse: each call pays for the key lookup and for its rpm, tpm, concurrency
    and budget checks and their settlement (``limits=False``: the lookup only)."""
    argv = [
        *(sys.executable, "-m", "gatehouse", "keys", "create", "--config", str(config)),
        *("--name", "bench", "--format", "json"),
    ]
    if limits:
        argv += ["--rpm", str(10**9), "--tpm", str(10**12), "--max-concurrent", str(10**6)]
        argv += ["--budget-usd", str(10**9)]
    env = {**os.environ, "BENCH_STATE_DIR": str(state)}
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=state, check=True)
    return str(json.loads(out.stdout)["secret"])


def _floor(servers: Servers, upstream: Server, workers: int) -> Server:
    port = free_port()
    argv = [
        *(sys.executable, str(BENCH / "floor_proxy.py"), "--port", str(port)),
        *("--upstream", f"http://127.0.0.1:{upstream.port}/v1", "--workers", str(workers)),
    ]
    return servers.start(f"floor-w{workers}", argv, port, workers=workers)


def _litellm(servers: Servers, upstream: Server, workers: int, state: Path) -> Server:
    if not LITELLM.exists():
        raise ServerError("LiteLLM is not installed: run `bash bench/litellm.sh` first")
    port = free_port()
    config = state / f"litellm-w{workers}.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: chat\n"
        "    litellm_params:\n"
        "      model: openai/mock-model\n"
        f"      api_base: http://127.0.0.1:{upstream.port}/v1\n"
        "      api_key: dummy\n"
    )
    argv = [
        *(str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)),
        *("--num_workers", str(workers)),
    ]
    env = {
        # No network here: use the cost map shipped in the package instead of fetching it.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        # LiteLLM runs without client keys (it refuses to start keyless unless told to);
        # Gatehouse checks a key with limits on every call, so this favours LiteLLM.
        "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
    }
    return servers.start(
        f"litellm-w{workers}",
        argv,
        port,
        workers=workers,
        ready_path="/health/liveliness",
        ready_timeout_s=180,
        env=env,
        cwd=state,
    )
