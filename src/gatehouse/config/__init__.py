"""Configuration as code: the YAML schema, its loading and its validation."""

from gatehouse.config.loader import ConfigError, ConfigIssue, load_config, parse_config
from gatehouse.config.schema import (
    Config,
    DeploymentConfig,
    LoggingConfig,
    ModelConfig,
    ProviderConfig,
    ServerConfig,
)

__all__ = [
    "Config",
    "ConfigError",
    "ConfigIssue",
    "DeploymentConfig",
    "LoggingConfig",
    "ModelConfig",
    "ProviderConfig",
    "ServerConfig",
    "load_config",
    "parse_config",
]
