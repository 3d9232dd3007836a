"""`gatehouse status` and `gatehouse route explain` against a running gateway."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ADMIN_KEY, config_for


def cli(*args: str, key: str | None = ADMIN_KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GATEHOUSE_ADMIN_KEY"}
    env["COLUMNS"] = "200"
    if key is not None:
        env["GATEHOUSE_ADMIN_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_status_and_explain(start_gateway, mock_upstream, http):
    cfg = config_for(mock_upstream.url)
    cfg["models"]["chat"]["fallbacks"] = ["other"]
    cfg["models"]["other"] = {"deployments": [{"provider": "local", "model": "big"}]}
    gw = start_gateway(cfg)
    http.post(
        gw.url + "/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
    )

    status = cli("status", "--url", gw.base)
    assert status.returncode == 0, status.stderr
    assert "local/mock-model" in status.stdout
    assert "closed" in status.stdout
    assert "per worker" in status.stdout

    explain = cli("route", "explain", "--model", "chat", "--url", gw.base)
    assert explain.returncode == 0, explain.stderr
    assert "strategy weighted" in explain.stdout
    assert "fallbacks: other" in explain.stdout
    assert "local/mock-model" in explain.stdout

    unknown = cli("route", "explain", "--model", "nope", "--url", gw.base)
    assert unknown.returncode == 1
    assert "HTTP 404" in unknown.stderr


def test_status_needs_the_admin_key(start_gateway, mock_upstream):
    gw = start_gateway(config_for(mock_upstream.url))
    assert "GATEHOUSE_ADMIN_KEY" in cli("status", "--url", gw.base, key=None).stderr
    wrong = cli("status", "--url", gw.base, key="wrong")
    assert wrong.returncode == 1
    assert "HTTP 401" in wrong.stderr


def test_status_of_a_gateway_that_is_not_running():
    result = cli("status", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach" in result.stderr
