"""`gatehouse serve` as a real process: flags, workers, graceful shutdown."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from tests.conftest import cli_key, config_for, free_port, gatehouse_cli, wait_http


@pytest.fixture
def upstream_proc():
    port = free_port()
    proc = gatehouse_cli("mock-upstream", "--port", str(port))
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def write_config(tmp_path: Path, upstream: str, **server) -> Path:
    cfg = config_for(upstream + "/v1")
    cfg["server"] = {"host": "127.0.0.1", "port": 1, **server}  # --port overrides
    path = tmp_path / "gatehouse.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start_serve(
    config: Path, port: int, *extra: str, env: dict | None = None, new_session: bool = False
):
    proc = gatehouse_cli(
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        *extra,
        env=env or {},
        start_new_session=new_session,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz")
    except TimeoutError:
        proc.kill()
        raise AssertionError(proc.communicate()[1]) from None
    return proc


def test_sigterm_lets_an_in_flight_stream_finish(tmp_path, upstream_proc):
    port = free_port()
    config = write_config(tmp_path, upstream_proc, shutdown_grace_s=10)
    key = cli_key(config)
    proc = start_serve(config, port)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
    # 20 tokens at 20 tokens/s: the stream lasts about a second.
    stream = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_headers={"x-mock-tokens": "20", "x-mock-tokens-per-s": "20"},
    )
    chunks = iter(stream)
    first = next(chunks)
    assert first.choices[0].delta.role == "assistant"
    proc.send_signal(signal.SIGTERM)

    # New connections are refused while the stream drains.
    def refused() -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
        except httpx.ConnectError:
            return True
        return False

    from tests.conftest import wait_for

    assert wait_for(refused, timeout=3)
    rest = list(chunks)
    text = "".join(c.choices[0].delta.content or "" for c in rest if c.choices)
    assert len(text.split()) >= 15  # the whole answer arrived
    assert rest[-1].choices[0].finish_reason == "stop"
    assert proc.wait(15) == 0
    assert "draining in-flight requests" in proc.stderr.read()


def test_grace_period_bounds_shutdown(tmp_path, upstream_proc):
    port = free_port()
    config = write_config(tmp_path, upstream_proc, shutdown_grace_s=0.5)
    key = cli_key(config)
    proc = start_serve(config, port)
    outcome: dict[str, object] = {}

    def slow_call() -> None:
        try:
            httpx.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
                headers={"Authorization": f"Bearer {key}", "x-mock-latency-ms": "20000"},
                timeout=30,
            )
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=slow_call)
    thread.start()
    import time

    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert time.monotonic() - started < 5
    thread.join(10)
    assert "error" in outcome  # cut off after the grace period, not served for 20 s


def test_two_workers_share_the_port(tmp_path, upstream_proc):
    port = free_port()
    config = write_config(tmp_path, upstream_proc)
    key = cli_key(config)  # one store: both workers know it
    proc = start_serve(config, port, "--workers", "2", env={"GATEHOUSE_ADMIN_KEY": "k"})
    pids = set()
    for _ in range(40):
        with httpx.Client() as c:  # a new connection each time
            r = c.get(
                f"http://127.0.0.1:{port}/admin/api/status", headers={"Authorization": "Bearer k"}
            )
            pids.add(r.json()["pid"])
        if len(pids) == 2:
            break
    assert len(pids) == 2
    for _ in range(20):
        # A new client, so a new connection, each time: calls reach both workers.
        with openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0
        ) as client:
            client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "x"}]
            )
    # One key in the shared store serves every worker: each one answered calls.
    served = {}
    for _ in range(40):
        with httpx.Client() as c:
            r = c.get(
                f"http://127.0.0.1:{port}/admin/api/deployments",
                headers={"Authorization": "Bearer k"},
            ).json()
            served[r["pid"]] = r["models"]["chat"][0]["stats"]["requests_last_minute"]
        if len(served) == 2:
            break
    assert len(served) == 2 and all(served.values()), served
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0


def test_two_workers_each_route_around_a_dead_deployment(tmp_path, upstream_proc):
    port = free_port()
    cfg = config_for(upstream_proc + "/v1")
    cfg["server"] = {"host": "127.0.0.1", "port": port}
    cfg["providers"]["dead"] = {"kind": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1"}
    cfg["models"]["chat"]["deployments"].append({"provider": "dead", "model": "m", "weight": 3})
    path = tmp_path / "gatehouse.yaml"
    path.write_text(yaml.safe_dump(cfg))
    key = cli_key(path)
    proc = start_serve(path, port, "--workers", "2", env={"GATEHOUSE_ADMIN_KEY": "k"})
    try:
        statuses = []
        for _ in range(60):
            with httpx.Client() as c:  # new connections reach both workers
                r = c.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
                    headers={"Authorization": f"Bearer {key}"},
                )
                statuses.append(r.status_code)
        assert statuses == [200] * 60
        # Each worker keeps its own breaker, and each opened it on its own.
        states = {}
        for _ in range(40):
            with httpx.Client() as c:
                r = c.get(
                    f"http://127.0.0.1:{port}/admin/api/deployments",
                    headers={"Authorization": "Bearer k"},
                ).json()
                states[r["pid"]] = r["models"]["chat"][1]["breaker"]["state"]
            if len(states) == 2:
                break
        assert set(states.values()) == {"open"}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


@pytest.mark.parametrize("extra", [(), ("--workers", "2")], ids=["one", "workers"])
def test_a_port_in_use_is_a_clear_error(tmp_path, upstream_proc, extra):
    # With workers too: SO_REUSEPORT must not let a second server share the port.
    port = free_port()
    first = start_serve(write_config(tmp_path, upstream_proc), port)
    try:
        second = gatehouse_cli(
            "serve", "--config", str(tmp_path / "gatehouse.yaml"), "--port", str(port), *extra
        )
        assert second.wait(15) == 1
        err = second.stderr.read()
        assert "cannot listen on 127.0.0.1:" in err
        assert "address already in use" in err
    finally:
        first.terminate()
        first.wait(10)


def test_a_stream_cut_by_the_grace_period_ends_with_an_error_event(tmp_path, upstream_proc):
    port = free_port()
    config = write_config(tmp_path, upstream_proc, shutdown_grace_s=0.5)
    key = cli_key(config)
    proc = start_serve(config, port)
    with httpx.stream(
        "POST",
        f"http://127.0.0.1:{port}/v1/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "x"}], "stream": True},
        headers={
            "Authorization": f"Bearer {key}",
            "x-mock-tokens": "100",
            "x-mock-tokens-per-s": "10",
        },
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        proc.send_signal(signal.SIGTERM)
        rest = []
        with contextlib.suppress(httpx.HTTPError):
            rest.extend(lines)
    events = [line for line in rest if line.startswith("data: ")]
    assert '"code":"shutdown"' in events[-1]
    assert "data: [DONE]" not in events
    assert proc.wait(15) == 0
