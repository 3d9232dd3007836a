"""Nothing lost: SIGTERM under load, and a database that goes away and comes back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import (
    ADMIN_KEY,
    AUTH,
    LoopThread,
    MockServer,
    cli_key,
    config_for,
    free_port,
    wait_for,
)
from tests.e2e.test_serve import start_serve, upstream_proc  # noqa: F401 - a fixture

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def test_sigterm_under_load_loses_no_record(tmp_path, upstream_proc):  # noqa: F811
    db = tmp_path / "log.db"
    cfg = config_for(upstream_proc + "/v1")
    cfg["server"] = {"host": "127.0.0.1", "port": 1, "shutdown_grace_s": 10}
    cfg["store"] = {"url": f"sqlite:///{db}"}
    cfg["recording"] = {"writer": "process"}  # the default: a writer process per worker
    path = tmp_path / "gatehouse.yaml"
    path.write_text(yaml.safe_dump(cfg))
    key = cli_key(path)  # one store, so both workers take it
    port = free_port()
    proc = start_serve(path, port, "--workers", "2", new_session=True)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    answered: list[str] = []
    stop_at = time.monotonic() + 30

    def client_loop() -> None:
        # Each call takes ~20 ms upstream, so calls are in flight when SIGTERM lands.
        with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {key}"}) as client:
            while time.monotonic() < stop_at:
                try:
                    r = client.post(url, json=body, headers={"x-mock-latency-ms": "20"})
                except httpx.HTTPError:
                    return  # the gateway stopped listening
                answered.append(r.headers["x-request-id"])

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(client_loop) for _ in range(8)]
        assert wait_for(lambda: len(answered) >= 200, 20)
        # To the whole process group, as a service manager or Ctrl-C does: the writer
        # processes get it too, and must still write everything.
        os.killpg(proc.pid, signal.SIGTERM)
        for f in futures:
            f.result()
    assert proc.wait(30) == 0, proc.communicate()[1]
    with sqlite3.connect(db) as conn:
        recorded = [row[0] for row in conn.execute("SELECT id FROM requests")]
    assert len(recorded) == len(set(recorded))
    missing = set(answered) - set(recorded)
    assert not missing, f"{len(missing)} of {len(answered)} answered calls have no record"


class TcpProxy:
    """A real TCP hop in front of PostgreSQL that a test can cut and restore."""

    def __init__(self, loop_thread: LoopThread, target_host: str, target_port: int) -> None:
        self.lt = loop_thread
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def up(self) -> None:
        async def start() -> None:
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

        self.lt.run(start())

    def down(self) -> None:
        async def stop() -> None:
            assert self.server is not None
            self.server.close()
            for w in self.writers:
                w.transport.abort()
            self.writers.clear()
            await self.server.wait_closed()

        self.lt.run(stop())


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_database_down_then_up_loses_nothing(
    loop_thread, start_gateway, mock_upstream: MockServer, pg_url, tmp_path: Path, writer
):
    parts = urllib.parse.urlsplit(pg_url)
    proxy = TcpProxy(loop_thread, parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.up()
    via_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    cfg = config_for(mock_upstream.url)
    cfg["store"] = {"url": via_proxy}
    cfg["recording"] = {
        "spool_path": str(tmp_path / "spool"),
        "flush_interval_s": 0.05,
        "writer": writer,
    }
    gw = start_gateway(cfg)
    telemetry = gw.server.gateway.telemetry
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    ids = []
    with httpx.Client(timeout=10, headers=AUTH) as client:
        for _ in range(20):
            ids.append(client.post(f"{gw.url}/chat/completions", json=body).headers["x-request-id"])
        assert wait_for(lambda: telemetry.writer.written >= 20, 10)
        proxy.down()
        for _ in range(30):
            r = client.post(f"{gw.url}/chat/completions", json=body)
            assert r.status_code == 200  # the database is not on the request path
            ids.append(r.headers["x-request-id"])
        assert wait_for(lambda: telemetry.writer.spool_pending() > 0, 10)
        proxy.up()
        assert wait_for(lambda: telemetry.writer.spool_pending() == 0, 30)

        def all_there() -> bool:
            r = client.get(f"{gw.base}/admin/api/requests", params={"limit": "1000"}, headers=ADMIN)
            return r.status_code == 200 and len(r.json()["data"]) == 50

        assert wait_for(all_there, 10)
    r = httpx.get(f"{gw.base}/admin/api/requests", params={"limit": "1000"}, headers=ADMIN)
    assert sorted(row["id"] for row in r.json()["data"]) == sorted(ids)
    with contextlib.suppress(Exception):
        proxy.down()
