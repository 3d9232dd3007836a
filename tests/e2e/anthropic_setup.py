"""Gateways in front of the simulated upstream's Anthropic side, for the e2e tests."""

from __future__ import annotations

from typing import Any

import anthropic

from tests.conftest import APP_KEY, GatewayServer, config_for

UPSTREAM_KEY = "sk-ant-upstream-secret"
CLAUDE = "claude-sonnet-4-5"


def anthropic_provider(url: str, **over: Any) -> dict[str, Any]:
    provider = {
        "kind": "anthropic",
        "base_url": url,
        "api_key": UPSTREAM_KEY,
        "forward_headers": ["x-mock-*"],
        "timeout_s": 5,
    }
    provider.update(over)
    return provider


def claude_config(url: str, openai_url: str | None = None, **over: Any) -> dict[str, Any]:
    """Model ``claude`` on an Anthropic upstream at URL; model ``chat`` on an OpenAI one."""
    cfg = config_for(openai_url or url)
    cfg["providers"]["claude"] = anthropic_provider(url)
    cfg["models"]["claude"] = {"deployments": [{"provider": "claude", "model": CLAUDE}]}
    cfg.update(over)
    return cfg


def anthropic_client(gw: GatewayServer, **kwargs: Any) -> anthropic.Anthropic:
    """The official SDK with only its base URL (and our key) set."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 10)
    kwargs.setdefault("api_key", APP_KEY)
    return anthropic.Anthropic(base_url=gw.base, **kwargs)
