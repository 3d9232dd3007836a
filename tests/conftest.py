"""Shared fixtures: real servers on loopback, each on its own event loop thread."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from gatehouse.api.server import Server
from gatehouse.config import parse_config
from gatehouse.providers.simulated import MockSettings, SimulatedUpstream

pytest_plugins = ["tests.services"]

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "test-admin-key"
#: An app key every gateway under test holds in its store (auth is on, as by default);
#: the ``http`` client and ``GatewayServer.client()`` send it.
APP_KEY = "gh-test-app-key-0123456789abcdefghijklmnopqrstuvwxyz"
AUTH = {"Authorization": f"Bearer {APP_KEY}"}


class Clock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LoopThread:
    """An event loop running in a daemon thread, for servers under test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    yield lt
    lt.close()


class MockServer:
    def __init__(self, loop_thread: LoopThread, settings: MockSettings) -> None:
        from aiohttp import web

        self.upstream = SimulatedUpstream(settings)
        self._lt = loop_thread

        async def start() -> tuple[web.AppRunner, int]:
            runner = web.AppRunner(
                self.upstream.app(),
                access_log=None,
                handler_cancellation=True,
                shutdown_timeout=0.5,
            )
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            return runner, port

        self._runner, self.port = loop_thread.run(start())
        self.url = f"http://127.0.0.1:{self.port}/v1"

    @property
    def stats(self) -> Any:
        return self.upstream.stats

    def reset(self) -> None:
        self.upstream.stats = type(self.upstream.stats)()

    def close(self) -> None:
        self._lt.run(self._runner.cleanup())


@pytest.fixture
def mock_upstream(loop_thread: LoopThread) -> Iterator[MockServer]:
    server = MockServer(loop_thread, MockSettings())
    yield server
    server.close()


# Every gateway's store lives under one directory, removed when the test run ends.
_STORES = Path(tempfile.mkdtemp(prefix="gatehouse-tests-"))
atexit.register(shutil.rmtree, _STORES, True)


def temp_store_url() -> str:
    """A SQLite file of its own, never in the working directory."""
    return f"sqlite:///{Path(tempfile.mkdtemp(dir=_STORES)) / 'gatehouse.db'}"


def temp_spool_path() -> str:
    return str(Path(tempfile.mkdtemp(dir=_STORES)) / "spool")


def recording_for_tests() -> dict[str, Any]:
    return {"writer": "thread", "spool_path": temp_spool_path()}


def config_for(upstream_url: str, **overrides: Any) -> dict[str, Any]:
    """A minimal gateway config dict pointing one model at the upstream."""
    cfg: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": 0, "shutdown_grace_s": 5},
        "store": {"url": temp_store_url()},
        # The default is a writer process per worker; tests start hundreds of gateways,
        # so they write in a thread unless a test is about the process.
        "recording": recording_for_tests(),
        "providers": {
            "local": {
                "kind": "openai",
                "base_url": upstream_url,
                "api_key": "sk-upstream-secret",
                "forward_headers": ["x-mock-*"],
                "timeout_s": 5,
            }
        },
        "models": {"chat": {"deployments": [{"provider": "local", "model": "mock-model"}]}},
    }
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


class GatewayServer:
    def __init__(self, loop_thread: LoopThread, cfg: dict[str, Any]) -> None:
        self._lt = loop_thread
        cfg = {"store": {"url": temp_store_url()}, "recording": recording_for_tests()} | cfg
        # A spool of its own, never the working directory's (a PostgreSQL store's default).
        cfg["recording"] = {"spool_path": temp_spool_path()} | cfg["recording"]
        config = parse_config(yaml.safe_dump(cfg), "test.yaml", {})
        self.server = Server(config, admin_key=ADMIN_KEY)
        loop_thread.run(self.server.start())
        self.guard = self.server.gateway.guard
        loop_thread.run(self._store_app_key())
        self.base = f"http://127.0.0.1:{self.server.port}"
        self.url = self.base + "/v1"

    async def _store_app_key(self) -> None:
        """The test app key, created in the gateway's store like any other key."""
        guard = self.guard
        if guard.snapshot.lookup(APP_KEY) is not None:  # a store shared with another gateway
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: guard.store.create(name="tests", secret=APP_KEY))
        await guard.snapshot.refresh_now(guard.store)

    def create_key(self, **fields: Any) -> str:
        """A new key in this gateway's store, usable at once; returns its secret."""
        guard = self.guard

        async def create() -> str:
            loop = asyncio.get_running_loop()
            _, secret = await loop.run_in_executor(None, lambda: guard.store.create(**fields))
            await guard.snapshot.refresh_now(guard.store)
            return secret

        return str(self._lt.run(create()))

    def client(self, **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("api_key", APP_KEY)
        return openai.OpenAI(base_url=self.url, **kwargs)

    def close(self) -> None:
        self._lt.run(self.server.stop())


@pytest.fixture
def start_gateway(loop_thread: LoopThread) -> Iterator[Callable[..., GatewayServer]]:
    started: list[GatewayServer] = []

    def start(cfg: dict[str, Any]) -> GatewayServer:
        gw = GatewayServer(loop_thread, cfg)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.close()


@pytest.fixture
def gateway(
    start_gateway: Callable[..., GatewayServer], mock_upstream: MockServer
) -> GatewayServer:
    return start_gateway(config_for(mock_upstream.url))


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """An HTTP client that sends the test app key (a request may set its own)."""
    with httpx.Client(timeout=10, headers=AUTH) as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gatehouse_cli(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``gatehouse ARGS`` as a real process."""
    env = {**os.environ, **kwargs.pop("env", {})}
    return subprocess.Popen(
        [sys.executable, "-m", "gatehouse", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def cli_key(
    config_path: str | Path,
    *,
    name: str = "tests",
    env: dict[str, str] | None = None,
    **options: Any,
) -> str:
    """A key made by the real ``gatehouse keys create`` in the store CONFIG_PATH names.

    Returns its secret. ``options`` are more flags of ``keys create`` (``role="viewer"``,
    ``model=["chat"]``, ``rpm=5``); a list repeats the flag. A ``gatehouse serve`` on that
    store loads the key at start, or within ``auth.refresh_interval_s`` when running.
    """
    args = ["keys", "create", "--config", str(config_path), "--name", name, "--format", "json"]
    for option, value in options.items():
        flag = "--" + option.replace("_", "-")
        for one in value if isinstance(value, list | tuple) else [value]:
            args += [flag, str(one)]
    result = subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["secret"])


def wait_http(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
