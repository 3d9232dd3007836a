"""Configuration as code: the YAML schema, its loading and its validation."""

from gatehouse.config.loader import ConfigError, ConfigIssue, load_config, parse_config
from gatehouse.config.routing import PriceConfig
from gatehouse.config.schema import (
    Config,
    DeploymentConfig,
    LoggingConfig,
    ModelConfig,
    ProviderConfig,
    ServerConfig,
)
from gatehouse.config.telemetry import MetricsConfig, RecordingConfig, StoreConfig, TracingConfig

__all__ = [
    "Config",
    "ConfigError",
    "ConfigIssue",
    "DeploymentConfig",
    "LoggingConfig",
    "MetricsConfig",
    "ModelConfig",
    "PriceConfig",
    "ProviderConfig",
    "RecordingConfig",
    "ServerConfig",
    "StoreConfig",
    "TracingConfig",
    "load_config",
    "parse_config",
]
