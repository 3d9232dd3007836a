"""Gatehouse: a self-hosted, OpenAI-compatible LLMOps gateway."""

__version__ = "0.1.0"
