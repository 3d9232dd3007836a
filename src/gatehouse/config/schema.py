"""The typed shape of ``gatehouse.yaml``.

Every model forbids unknown keys, so a typo is an error at start-up rather than a
setting silently ignored. Field descriptions end up in ``gatehouse config schema``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from gatehouse.config.access import AuthConfig, LimitsConfig, RedisConfig
from gatehouse.config.guardrails import GuardrailsConfig
from gatehouse.config.routing import (
    ALL_FAILURE_CLASSES,
    FailureClass,
    HedgeConfig,
    PriceConfig,
    RetryConfig,
    RoutingConfig,
    StrategyName,
    TimeoutsConfig,
)
from gatehouse.config.telemetry import (
    MetricsConfig,
    RecordingConfig,
    StoreConfig,
    TracingConfig,
)

ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port to listen on.")
    workers: int = Field(
        1, ge=1, le=64, description="Worker processes sharing the port (SO_REUSEPORT)."
    )
    max_body_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted; larger bodies get 413.",
    )
    shutdown_grace_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM/SIGINT, how long in-flight requests and streams may finish.",
    )


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the gateway's own log lines."
    )
    format: Literal["text", "json"] = Field("text", description="Log line format.")
    access_log: bool = Field(False, description="Log one line per HTTP request.")


class ProviderConfig(_Strict):
    kind: Literal["openai", "anthropic"] = Field(
        description="Upstream protocol. `openai`: any OpenAI-compatible API "
        "(OpenAI, vLLM, Ollama, llama.cpp server, TGI, Groq, Together…). `anthropic`: "
        "Anthropic's Messages API; calls are translated to it and back."
    )
    base_url: str = Field(
        "",
        description="Base URL including the version path, e.g. …/v1. Required for `openai`; "
        f"for `anthropic` the default is {ANTHROPIC_BASE_URL}.",
    )
    api_key: SecretStr | None = Field(
        None,
        description="Use ${ENV_VAR}; never a literal. `openai`: sent as a bearer token; "
        "`anthropic`: sent as x-api-key.",
    )
    version: str = Field(
        "2023-06-01",
        min_length=1,
        description="`anthropic` only: the anthropic-version header of every call.",
    )
    max_tokens: int = Field(
        4096,
        ge=1,
        description="`anthropic` only: max_tokens of a call whose client set none "
        "(Anthropic requires one). A deployment's `defaults.max_tokens` wins.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers sent with every upstream request."
    )
    forward_headers: list[str] = Field(
        default_factory=list,
        description="Client request headers passed on to this upstream, by name; a trailing "
        "'*' matches a prefix (e.g. 'x-mock-*'). Authorization and x-api-key are never forwarded.",
    )
    timeout_s: float = Field(600.0, gt=0, description="Total time allowed for one call.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Time allowed to connect.")
    first_token_timeout_s: float = Field(
        60.0, gt=0, description="Stream: time allowed until the first content event."
    )
    stall_timeout_s: float = Field(
        30.0, gt=0, description="Stream: longest silence allowed between two events."
    )
    max_connections: int = Field(
        1000, ge=1, description="Pooled connections kept to this upstream per worker."
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if v and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _default_base_url(self) -> ProviderConfig:
        if self.base_url:
            return self
        if self.kind == "openai":
            raise ValueError("base_url is required for an `openai` provider")
        # Frozen model: set the kind's default without a second validation pass.
        object.__setattr__(self, "base_url", ANTHROPIC_BASE_URL)
        return self

    @field_validator("api_key")
    @classmethod
    def _none_means_no_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().strip().lower() in ("", "none"):
            return None
        return v


class DeploymentConfig(_Strict):
    provider: str = Field(description="Name of a provider under `providers`.")
    model: str = Field(description="The upstream's own model name.")
    weight: float = Field(1.0, gt=0, description="Share of traffic relative to siblings.")
    defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="Request parameters applied when the client did not set them.",
    )
    timeouts: TimeoutsConfig = Field(
        default_factory=TimeoutsConfig,  # type: ignore[arg-type]
        description="Overrides of the provider's timeouts for this deployment.",
    )
    price: PriceConfig | None = Field(
        None,
        description="USD per 1M tokens: the cost of its calls and the lowest-cost strategy's "
        "input. Unset: the shipped price table's entry for `model`, if any.",
    )
    stream_usage: bool = Field(
        True,
        description="Ask the upstream for usage on streams (stream_options.include_usage); "
        "the usage chunk is removed from the client's stream unless it asked for it.",
    )
    metrics_url: str | None = Field(
        None,
        description="The deployment's own Prometheus endpoint (vLLM, TGI), scraped for "
        "queue length, running requests and KV-cache use.",
    )
    tags: list[str] = Field(
        default_factory=list,
        description="Labels (region, tier) a request can require with x-gatehouse-tags.",
    )
    rpm: int | None = Field(None, ge=1, description="Requests per minute it allows (headroom).")
    tpm: int | None = Field(None, ge=1, description="Tokens per minute it allows (headroom).")
    max_in_flight: int | None = Field(
        None, ge=1, description="Calls in flight to it per worker; beyond it, others are used."
    )

    @field_validator("defaults")
    @classmethod
    def _no_protocol_keys(cls, v: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(
            set(v) & {"model", "stream", "stream_options", "messages", "prompt", "input"}
        )
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} cannot be a default: the client's request decides it"
            )
        return v


class ModelConfig(_Strict):
    deployments: list[DeploymentConfig] = Field(
        min_length=1, description="Where this public model is served."
    )
    strategy: StrategyName = Field("weighted", description="How a deployment is chosen.")
    fallbacks: list[str] = Field(
        default_factory=list, description="Other public models to try, in order."
    )
    fallback_on: list[FailureClass] = Field(
        default_factory=lambda: list(ALL_FAILURE_CLASSES),
        description="Failure classes that move a call on to the fallbacks.",
    )
    retry: RetryConfig | None = Field(None, description="Overrides `routing.retry`.")
    hedge: HedgeConfig | None = Field(None, description="Off unless set.")


class Config(_Strict):
    server: ServerConfig = Field(default_factory=ServerConfig)  # type: ignore[arg-type]
    store: StoreConfig = Field(default_factory=StoreConfig)  # type: ignore[arg-type]
    logging: LoggingConfig = Field(default_factory=LoggingConfig)  # type: ignore[arg-type]
    routing: RoutingConfig = Field(default_factory=RoutingConfig)  # type: ignore[arg-type]
    recording: RecordingConfig = Field(default_factory=RecordingConfig)  # type: ignore[arg-type]
    tracing: TracingConfig = Field(default_factory=TracingConfig)  # type: ignore[arg-type]
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)  # type: ignore[arg-type]
    auth: AuthConfig = Field(default_factory=AuthConfig)  # type: ignore[arg-type]
    redis: RedisConfig = Field(default_factory=RedisConfig)  # type: ignore[arg-type]
    limits: LimitsConfig = Field(default_factory=LimitsConfig)  # type: ignore[arg-type]
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)  # type: ignore[arg-type]
    providers: dict[str, ProviderConfig] = Field(min_length=1, description="Upstreams by name.")
    models: dict[str, ModelConfig] = Field(
        min_length=1, description="Public model names clients ask for."
    )

    @field_validator(
        "server",
        "store",
        "logging",
        "routing",
        "recording",
        "tracing",
        "metrics",
        "auth",
        "redis",
        "limits",
        "guardrails",
        mode="before",
    )
    @classmethod
    def _empty_section_means_defaults(cls, v: Any) -> Any:
        return {} if v is None else v

    @field_validator("providers", "models")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not _NAME.match(name):
                raise ValueError(f"{name!r} is not a valid name (letters, digits, ._:/@-)")
        return v


def reference_errors(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-references pydantic cannot check field by field: (key path, reason)."""
    errors: list[tuple[tuple[str | int, ...], str]] = []
    known = ", ".join(sorted(config.providers))
    for model_name, model in config.models.items():
        for i, dep in enumerate(model.deployments):
            if dep.provider not in config.providers:
                errors.append(
                    (
                        ("models", model_name, "deployments", i, "provider"),
                        f"unknown provider {dep.provider!r} (known: {known})",
                    )
                )
        for i, fallback in enumerate(model.fallbacks):
            if fallback == model_name:
                reason = "a model cannot fall back to itself"
            elif fallback not in config.models:
                reason = f"unknown model {fallback!r} (known: {', '.join(sorted(config.models))})"
            else:
                continue
            errors.append((("models", model_name, "fallbacks", i), reason))
    for model_name in config.limits.models:
        if model_name not in config.models:
            known_models = ", ".join(sorted(config.models))
            errors.append(
                (("limits", "models", model_name), f"unknown model (known: {known_models})")
            )
    guardrails = config.guardrails
    for path, policy in guardrails.policy_names_used():
        if policy not in guardrails.policies:
            known_policies = ", ".join(sorted(guardrails.policies)) or "none"
            errors.append((path, f"unknown policy {policy!r} (known: {known_policies})"))
    for model_name in guardrails.models:
        if model_name not in config.models:
            known_models = ", ".join(sorted(config.models))
            errors.append(
                (("guardrails", "models", model_name), f"unknown model (known: {known_models})")
            )
    if not config.auth.required and not is_loopback(config.server.host):
        errors.append(
            (
                ("auth", "required"),
                f"may be false only when server.host is a loopback address, not "
                f"{config.server.host!r}: anyone who can reach the port could call every model",
            )
        )
    return errors


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_REFERENCE = {"type": "string", "pattern": "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}"}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the file as written: any scalar may be a ${VAR} reference."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Gatehouse configuration"
    _allow_references(schema)
    return schema


def _allow_references(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number", "boolean"):
            kept = ("title", "description", "default")
            typed = {k: node.pop(k) for k in list(node) if k not in kept}
            node["anyOf"] = [typed, dict(_REFERENCE)]
            return  # the new branches need no further rewriting
        for value in node.values():
            _allow_references(value)
    elif isinstance(node, list):
        for item in node:
            _allow_references(item)
