"""`gatehouse stats` and `gatehouse logs tail` against a running in-process gateway."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from gatehouse.providers.simulated import MockSettings
from tests.conftest import (
    ADMIN_KEY,
    AUTH,
    GatewayServer,
    LoopThread,
    MockServer,
    config_for,
    gatehouse_cli,
    wait_for,
)
from tests.telemetry.test_request_log import ADMIN

CHAT = {"model": "chat", "messages": [{"role": "user", "content": "hello"}]}


def cli(*args: str, key: str | None = ADMIN_KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GATEHOUSE_ADMIN_KEY"}
    env["COLUMNS"] = "250"  # no wrapping of table rows or error messages
    if key is not None:
        env["GATEHOUSE_ADMIN_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


@dataclass
class Observed:
    gw: GatewayServer
    ok: list[str]  # request ids of the calls served, in order
    streamed: str
    failed: str  # the 404

    @property
    def all(self) -> list[str]:
        return [*self.ok[:2], self.streamed, self.failed]


def recorded(gw: GatewayServer) -> set[str]:
    r = httpx.get(f"{gw.base}/admin/api/requests", params={"limit": "100"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return {row["id"] for row in r.json()["data"]}


def make_calls(gw: GatewayServer) -> Observed:
    ok = []
    for _ in range(2):
        r = httpx.post(f"{gw.url}/chat/completions", json=CHAT, headers=AUTH)
        assert r.status_code == 200, r.text
        ok.append(r.headers["x-request-id"])
    with httpx.stream(
        "POST", f"{gw.url}/chat/completions", json=CHAT | {"stream": True}, headers=AUTH
    ) as r:
        assert r.status_code == 200
        r.read()
        streamed = r.headers["x-request-id"]
    r = httpx.post(f"{gw.url}/chat/completions", json=CHAT | {"model": "nope"}, headers=AUTH)
    assert r.status_code == 404
    failed = r.headers["x-request-id"]
    observed = Observed(gw, ok, streamed, failed)
    assert wait_for(lambda: recorded(gw) == set(observed.all)), recorded(gw)
    return observed


@pytest.fixture(scope="module")
def observed(loop_thread: LoopThread) -> Iterator[Observed]:
    """One gateway with four recorded calls, shared by the read-only tests below."""
    upstream = MockServer(loop_thread, MockSettings())
    gw = GatewayServer(loop_thread, config_for(upstream.url))
    try:
        yield make_calls(gw)
    finally:
        gw.close()
        upstream.close()


def table_rows(stdout: str) -> dict[str, str]:
    """The body rows of the stats table: group → its request count (the second column).

    Group names have no spaces, so this holds with or without the table's borders.
    """
    rows = {}
    for line in stdout.splitlines():
        cells = line.replace("│", " ").split()
        if len(cells) > 2 and cells[1].isdigit():
            rows[cells[0]] = cells[1]
    return rows


def test_stats_prints_a_row_per_model_with_its_request_count(observed):
    result = cli("stats", "--url", observed.gw.base, "--window", "1h")
    assert result.returncode == 0, result.stderr
    assert "Last 1h, by model" in result.stdout
    rows = table_rows(result.stdout)
    # Two plain calls and a stream; the unknown model's 404 is a group of its own.
    assert rows == {"chat": "3", "nope": "1"}, result.stdout


def test_stats_by_deployment(observed):
    # The client's base URL works too: the admin API is beside /v1.
    result = cli("stats", "--url", observed.gw.url, "--group-by", "deployment")
    assert result.returncode == 0, result.stderr
    assert "by deployment" in result.stdout
    rows = table_rows(result.stdout)
    # The 404 reached no deployment.
    assert rows == {"local/mock-model": "3", "-": "1"}, result.stdout


def test_stats_with_a_bad_window_shows_the_apis_message(observed):
    api = httpx.get(
        f"{observed.gw.base}/admin/api/stats", params={"window": "forever"}, headers=ADMIN
    )
    assert api.status_code == 400
    message = api.json()["error"]["message"]
    result = cli("stats", "--url", observed.gw.base, "--window", "forever")
    assert result.returncode != 0
    assert "HTTP 400" in result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr
    assert result.stdout == ""


def test_stats_and_logs_without_the_admin_key_say_how_to_set_it(observed):
    for args in (["stats"], ["logs", "tail"]):
        result = cli(*args, "--url", observed.gw.base, key=None)
        assert result.returncode == 1
        said = " ".join(result.stderr.split())
        assert "set GATEHOUSE_ADMIN_KEY" in said
        assert "gatehouse keys create --role viewer" in said
        assert "Traceback" not in result.stderr


def test_stats_and_logs_refused_name_the_key_they_sent(observed):
    for args in (["stats"], ["logs", "tail"]):
        result = cli(*args, "--url", observed.gw.base, key="gh-not-a-key")
        assert result.returncode == 1
        said = " ".join(result.stderr.split())
        assert "HTTP 401" in said and "Incorrect API key" in said, said
        assert "$GATEHOUSE_ADMIN_KEY" in said
        assert "gh-not-a-key" not in said
        assert result.stdout == ""


def test_a_viewer_key_reads_stats_but_not_the_request_log(observed):
    viewer = observed.gw.create_key(name="dashboard", roles=("viewer",))
    stats = cli("stats", "--url", observed.gw.base, key=viewer)
    assert stats.returncode == 0, stats.stderr
    assert table_rows(stats.stdout) == {"chat": "3", "nope": "1"}, stats.stdout
    logs = cli("logs", "tail", "--url", observed.gw.base, key=viewer)
    assert logs.returncode == 1
    said = " ".join(logs.stderr.split())
    assert "HTTP 403" in said and "'dashboard'" in said and "operator" in said, said
    assert logs.stdout == ""


def test_logs_tail_prints_one_line_per_call_oldest_first(observed):
    result = cli("logs", "tail", "--url", observed.gw.base, "-n", "5")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 4, result.stdout
    # Oldest first: the order the calls were made in, each with its x-request-id.
    for line, request_id in zip(lines, observed.all, strict=True):
        assert request_id in line
    expected_status = {request_id: "200" for request_id in observed.all}
    expected_status[observed.failed] = "404"
    for line in lines:
        request_id = next(i for i in observed.all if i in line)
        assert f" {expected_status[request_id]} " in line, line
    assert "model_not_found" in lines[3]
    assert "local/mock-model" in lines[0]


def test_logs_tail_limits_and_filters(observed):
    last = cli("logs", "tail", "--url", observed.gw.base, "-n", "2")
    assert last.returncode == 0, last.stderr
    lines = [line for line in last.stdout.splitlines() if line.strip()]
    assert len(lines) == 2
    assert observed.streamed in lines[0] and observed.failed in lines[1]

    errors = cli("logs", "tail", "--url", observed.gw.base, "--status", "4xx")
    assert errors.returncode == 0, errors.stderr
    lines = [line for line in errors.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and observed.failed in lines[0]


class Follower:
    """`gatehouse logs tail -f` as a real process, its stdout read by a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = gatehouse_cli(
            "logs", "tail", "-f", *args, env={"GATEHOUSE_ADMIN_KEY": ADMIN_KEY, "COLUMNS": "250"}
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def shows(self, request_id: str) -> bool:
        return any(request_id in line for line in self.lines)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        self._reader.join(5)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def test_logs_tail_follow_picks_up_a_later_call(start_gateway, mock_upstream):
    gw = start_gateway(config_for(mock_upstream.url))
    r = httpx.post(f"{gw.url}/chat/completions", json=CHAT, headers=AUTH)
    before = r.headers["x-request-id"]
    assert wait_for(lambda: before in recorded(gw))

    follower = Follower("--url", gw.base, "--interval", "0.1", "-n", "5")
    try:
        assert wait_for(lambda: follower.shows(before), timeout=5), follower.lines
        r = httpx.post(f"{gw.url}/chat/completions", json=CHAT, headers=AUTH)
        assert r.status_code == 200
        after = r.headers["x-request-id"]
        assert wait_for(lambda: follower.shows(after), timeout=5), follower.lines
        assert follower.proc.poll() is None  # still following
    finally:
        stderr = follower.stop()
    assert "Traceback" not in stderr, stderr
    shown = [line for line in follower.lines if line.strip()]
    assert len(shown) == 2, shown  # each call once, not again at every poll
    assert before in shown[0] and after in shown[1]


def test_the_cli_never_follows_a_redirect_with_the_key(loop_thread):
    """A redirect (an ingress's login page, say) would take the admin key to its host."""
    from aiohttp import web

    seen: list[str | None] = []

    async def elsewhere(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({})

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/elsewhere")

    app = web.Application()
    app.router.add_get("/elsewhere", elsewhere)
    app.router.add_get("/admin/api/stats", redirect)
    runner = web.AppRunner(app)
    loop_thread.run(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop_thread.run(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        result = cli("stats", "--url", f"http://127.0.0.1:{port}")
    finally:
        loop_thread.run(runner.cleanup())
    assert result.returncode == 1
    said = " ".join(result.stderr.split())
    assert "HTTP 302" in said and "not followed" in said, said
    assert seen == []
    assert ADMIN_KEY not in result.stderr
