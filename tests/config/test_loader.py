"""Config loading: every error with file, line, key path and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehouse.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
providers:
  local:
    kind: openai
    base_url: http://127.0.0.1:9001/v1
models:
  chat:
    deployments:
      - provider: local
        model: m
"""


def issues(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "g.yaml", env or {})
    return [str(i) for i in info.value.issues]


def test_the_documented_shape_loads_as_written():
    cfg = load_config(ROOT / "examples" / "gatehouse.yaml")
    # ${OPENAI_API_KEY} unset would be an error; the test environment sets it below.
    assert cfg.models["chat"].deployments[0].weight == 3
    assert cfg.providers["anthropic"].kind == "anthropic"
    assert cfg.models["claude"].fallbacks == ["chat"]


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.delenv("LOCAL_API_KEY", raising=False)


@pytest.mark.parametrize("name", ["gatehouse.yaml", "local-models.yaml", "demo.yaml"])
def test_examples_are_valid(name):
    cfg = load_config(ROOT / "examples" / name)
    assert cfg.models


def test_defaults():
    cfg = parse_config(MINIMAL, "g.yaml", {})
    assert cfg.server.host == "127.0.0.1"
    assert cfg.server.port == 8080
    assert cfg.server.workers == 1
    assert cfg.store.url == "sqlite:///gatehouse.db"
    assert cfg.providers["local"].api_key is None


def test_env_interpolation_with_default_and_escape():
    text = (
        MINIMAL.replace(
            "base_url: http://127.0.0.1:9001/v1",
            "base_url: http://${HOST:-127.0.0.1}:${PORT}/v1\n    api_key: ${KEY}\n"
            "    headers: {x-literal: '$${NOT_A_VAR}'}",
        )
        + "server:\n  port: ${GW_PORT:-8181}\n"
    )
    cfg = parse_config(text, "g.yaml", {"PORT": "7000", "KEY": "sk-1"})
    provider = cfg.providers["local"]
    assert provider.base_url == "http://127.0.0.1:7000/v1"
    assert provider.api_key is not None and provider.api_key.get_secret_value() == "sk-1"
    assert provider.headers == {"x-literal": "${NOT_A_VAR}"}
    assert cfg.server.port == 8181
    # A secret never shows in the config's repr.
    assert "sk-1" not in repr(cfg)


def test_missing_env_var_is_reported_with_its_key_path():
    text = MINIMAL.replace("kind: openai", "kind: openai\n    api_key: ${OPENAI_KEY_X}")
    assert issues(text) == [
        "g.yaml:4: providers.local.api_key: environment variable OPENAI_KEY_X is not set "
        "(set it, or write ${OPENAI_KEY_X:-default})"
    ]


def test_unknown_key_suggests_the_right_one():
    text = MINIMAL + "server:\n  prot: 80\n"
    assert issues(text) == ["g.yaml:11: server.prot: unknown key; did you mean 'port'?"]


def test_unknown_key_lists_allowed_keys_when_nothing_is_close():
    text = MINIMAL.replace("        model: m", "        model: m\n        zzz: 1")
    [issue] = issues(text)
    assert issue.startswith("g.yaml:10: models.chat.deployments[0].zzz: unknown key; allowed:")
    assert "weight" in issue


def test_every_error_is_reported_at_once():
    text = """\
server:
  port: 99999
providers:
  local:
    kind: grpc
    base_url: ftp://x
models:
  chat:
    deployments: []
"""
    assert issues(text) == [
        "g.yaml:2: server.port: Input should be less than or equal to 65535",
        "g.yaml:5: providers.local.kind: Input should be 'openai' or 'anthropic', got 'grpc'",
        "g.yaml:6: providers.local.base_url: must be an http:// or https:// URL",
        "g.yaml:9: models.chat.deployments: List should have at least 1 item after "
        "validation, not 0",
    ]


def test_unknown_provider_reference():
    text = MINIMAL.replace("provider: local", "provider: remote")
    assert issues(text) == [
        "g.yaml:8: models.chat.deployments[0].provider: unknown provider 'remote' (known: local)"
    ]


def test_missing_required_keys():
    assert issues("server: {port: 1}\n") == [
        "g.yaml:1: providers: required key is missing",
        "g.yaml:1: models: required key is missing",
    ]
    [issue] = issues(MINIMAL.replace("        model: m\n", ""))
    assert issue == "g.yaml:8: models.chat.deployments[0].model: required key is missing"


def test_invalid_yaml_points_at_the_line():
    [issue] = issues("providers:\n  local: [unclosed\nmodels: {}\n")
    assert issue.startswith("g.yaml:3: invalid YAML")


def test_duplicate_keys_are_errors():
    text = MINIMAL + "models:\n  other: {}\n"
    assert "g.yaml:10: models: duplicate key" in issues(text)


def test_top_level_must_be_a_mapping():
    assert issues("- a\n- b\n") == ["g.yaml:1: the top level must be a mapping of keys"]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value.issues[0]).endswith("nope.yaml: file not found")


def test_config_path_resolution(tmp_path, monkeypatch):
    (tmp_path / "gatehouse.yaml").write_text(MINIMAL)
    other = tmp_path / "other.yaml"
    other.write_text(MINIMAL.replace("chat:", "other:"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GATEHOUSE_CONFIG", raising=False)
    assert list(load_config().models) == ["chat"]
    monkeypatch.setenv("GATEHOUSE_CONFIG", str(other))
    assert list(load_config().models) == ["other"]
    assert list(load_config(tmp_path / "gatehouse.yaml").models) == ["chat"]


def test_malformed_references_are_errors():
    text = MINIMAL.replace("kind: openai", 'kind: openai\n    api_key: "${UNTERMINATED"')
    [issue] = issues(text)
    assert issue.startswith("g.yaml:4: providers.local.api_key: malformed ${…} reference")


def test_a_missing_variable_is_reported_once():
    text = MINIMAL + "server:\n  port: ${GW_PORT}\n"
    assert issues(text) == [
        "g.yaml:11: server.port: environment variable GW_PORT is not set "
        "(set it, or write ${GW_PORT:-default})"
    ]


def test_defaults_cannot_change_the_protocol():
    text = MINIMAL.replace("        model: m", "        model: m\n        defaults: {stream: true}")
    [issue] = issues(text)
    assert "models.chat.deployments[0].defaults: stream cannot be a default" in issue


def test_an_openai_provider_needs_a_base_url_and_anthropic_has_a_default():
    text = """\
providers:
  local: {kind: openai}
  claude: {kind: anthropic, api_key: k}
models:
  chat:
    deployments: [{provider: local, model: m}]
"""
    (problem,) = issues(text)
    assert problem.startswith("g.yaml:2: providers.local")
    assert "base_url is required for an `openai` provider" in problem
    config = parse_config(
        text.replace("{kind: openai}", "{kind: openai, base_url: http://h/v1}"), "g.yaml", {}
    )
    claude = config.providers["claude"]
    assert claude.base_url == "https://api.anthropic.com/v1"
    assert claude.version == "2023-06-01" and claude.max_tokens == 4096
