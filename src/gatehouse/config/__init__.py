"""Configuration as code: the YAML schema, its loading and its validation."""

from gatehouse.config.access import (
    AuthConfig,
    BudgetConfig,
    KeyLimits,
    LimitsConfig,
    RateLimits,
    RedisConfig,
)
from gatehouse.config.guardrails import GuardrailsConfig, PolicyConfig, ScannerRule
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
    "AuthConfig",
    "BudgetConfig",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "DeploymentConfig",
    "GuardrailsConfig",
    "KeyLimits",
    "LimitsConfig",
    "LoggingConfig",
    "MetricsConfig",
    "ModelConfig",
    "PolicyConfig",
    "PriceConfig",
    "ProviderConfig",
    "RateLimits",
    "RecordingConfig",
    "RedisConfig",
    "ScannerRule",
    "ServerConfig",
    "StoreConfig",
    "TracingConfig",
    "load_config",
    "parse_config",
]
