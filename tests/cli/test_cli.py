"""The command line, run as a real process."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from gatehouse import __version__

BAD = """\
server:
  prot: 8080
providers:
  local:
    kind: openai
    base_url: not-a-url
    api_key: ${GATEHOUSE_TEST_UNSET_VAR}
models:
  chat:
    deployments:
      - provider: local
        model: m
        weight: 0
"""


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"gatehouse {__version__}"


def test_validate_reports_every_problem_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    result = run("config", "validate", str(bad))
    assert result.returncode == 2
    err = result.stderr
    assert "4 problem(s)" in err
    assert f"{bad}:7: providers.local.api_key: environment variable GATEHOUSE_TEST_UNSET_VAR" in err
    assert f"{bad}:2: server.prot: unknown key; did you mean 'port'?" in err
    assert f"{bad}:6: providers.local.base_url: must be an http:// or https:// URL" in err
    assert f"{bad}:13: models.chat.deployments[0].weight: Input should be greater than 0" in err
    assert "Traceback" not in err


def test_validate_ok(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        BAD.replace("  prot: 8080\n", "")
        .replace("not-a-url", "http://x/v1")
        .replace("${GATEHOUSE_TEST_UNSET_VAR}", "none")
        .replace("weight: 0", "weight: 2")
    )
    result = run("config", "validate", str(good))
    assert result.returncode == 0, result.stderr
    assert "1 provider(s), 1 model(s), 1 deployment(s)" in result.stdout


def test_serve_refuses_an_invalid_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    result = run("serve", "--config", str(bad), "--port", "0", timeout=30)
    assert result.returncode == 2
    assert "invalid configuration" in result.stderr
    assert "serving" not in result.stderr


def test_serve_with_a_missing_default_file(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gatehouse", "serve"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )
    assert result.returncode == 2
    assert "gatehouse.yaml: file not found (pass --config FILE or set GATEHOUSE_CONFIG)" in (
        result.stderr
    )


def test_schema_is_json_schema():
    result = run("config", "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Gatehouse configuration"
    assert {"server", "providers", "models"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    provider = schema["$defs"]["ProviderConfig"]
    assert provider["properties"]["base_url"]["description"]


def test_mock_upstream_rejects_unknown_fault():
    result = run("mock-upstream", "--error-kind", "explode", timeout=30)
    assert result.returncode == 2
    assert "--error-kind must be one of" in result.stderr


def test_demo_runs_offline_and_prints_a_summary():
    result = run("demo", "--exit", "--requests", "50", "--port", "0", timeout=90)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Sample traffic through the gateway" in out
    assert "chat (stream)" in out
    assert "fault injected: 429" in out
    assert "The flaky upstream failed" in out
    assert "from openai import OpenAI" in out
    assert "from anthropic import Anthropic" in out
    claude = next(line for line in out.splitlines() if "claude via /v1/messages" in line)
    cells = [c.strip() for c in re.split("[│┃|]", claude) if c.strip()]
    assert cells[2] == "0", claude  # every call through /v1/messages answered


def test_schema_allows_references_where_numbers_go():
    schema = json.loads(run("config", "schema").stdout)
    port = schema["$defs"]["ServerConfig"]["properties"]["port"]
    assert {"type": "string", "pattern": port["anyOf"][1]["pattern"]} in port["anyOf"]
    assert port["anyOf"][0]["type"] == "integer"


def test_bad_flags_are_clean_errors():
    result = run("serve", "--config", "examples/demo.yaml", "--port", "99999")
    assert result.returncode == 2
    assert "--port: Input should be less than or equal to 65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_host_flag_cannot_open_an_unauthenticated_gateway(tmp_path):
    config = tmp_path / "open.yaml"
    config.write_text(
        "server: {host: 127.0.0.1, port: 0}\n"
        f"store: {{url: 'sqlite:///{tmp_path}/g.db'}}\n"
        "auth: {required: false}\n"
        "providers: {p: {kind: openai, base_url: 'http://127.0.0.1:9/v1'}}\n"
        "models: {m: {deployments: [{provider: p, model: x}]}}\n"
    )
    result = run("serve", "--config", str(config), "--host", "0.0.0.0", timeout=30)
    assert result.returncode == 2
    assert "auth.required" in result.stderr and "loopback" in result.stderr
