"""Upstream adapters: one module per protocol, plus the simulated upstream."""

from gatehouse.config import ProviderConfig
from gatehouse.providers.anthropic import AnthropicProvider
from gatehouse.providers.base import Operation, Provider, Reply
from gatehouse.providers.openai import OpenAIProvider

__all__ = [
    "AnthropicProvider",
    "OpenAIProvider",
    "Operation",
    "Provider",
    "Reply",
    "build_provider",
]


def build_provider(name: str, config: ProviderConfig) -> Provider:
    """The adapter for a provider's ``kind``."""
    if config.kind == "openai":
        return OpenAIProvider(name, config)
    if config.kind == "anthropic":
        return AnthropicProvider(name, config)
    raise ValueError(f"unknown provider kind {config.kind!r}")  # pragma: no cover - schema checks
