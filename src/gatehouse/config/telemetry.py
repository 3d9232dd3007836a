"""Config of what is recorded about every call, and where it goes.

Defaults record every call's metadata (no bodies) into the store, serve ``/metrics``
and export no traces: a plain file needs no telemetry keys at all.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

BodyPolicy = Literal["full", "redacted", "metadata", "none"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Strict):
    url: str = Field("sqlite:///gatehouse.db", description="sqlite:///PATH or postgresql://…")
    migrate: Literal["auto", "check"] = Field(
        "auto",
        description="`auto`: `serve` brings the schema up to date (under a lock, so workers "
        "and replicas starting together don't race); `check`: refuse to start until "
        "`gatehouse db upgrade` has run.",
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite://", "postgresql://", "postgresql+")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return v


class RecordingConfig(_Strict):
    """The request log: one record per call, written off the request path."""

    enabled: bool = Field(True, description="Record every call in the store.")
    bodies: BodyPolicy = Field(
        "metadata",
        description="`full`: keep request and response bodies (redacted wherever a guardrail "
        "redacted them); `redacted`: keep them with every PII and secret the pattern scanners "
        "find masked; `metadata`: everything but the bodies; `none`: no record at all "
        "(metrics and traces still work).",
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=0, description="Longest body kept per side under `full`; longer is cut."
    )
    queue_size: int = Field(
        50_000,
        ge=100,
        description="Records waiting for the writer per worker; past it records are dropped "
        "(and counted in gatehouse_recorder_dropped_total).",
    )
    queue_body_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="Body bytes waiting for the writer per worker; past it (or with the "
        "queue half full) bodies are dropped before any record is.",
    )
    writer: Literal["process", "thread"] = Field(
        "process",
        description="`process`: each worker hands its batches to a writer process of its "
        "own, so database work never competes with the event loop for the GIL; `thread`: "
        "the worker writes in a background thread (no extra process).",
    )
    batch_size: int = Field(500, ge=1, description="Records per insert batch.")
    flush_interval_s: float = Field(
        0.2, gt=0, le=10, description="Longest a record waits before its batch is written."
    )
    spool_path: str | None = Field(
        None,
        description="Append-only file for records the store could not take (database "
        "down); replayed when it returns; one per worker (`-<index>` is appended). Default: "
        "next to the SQLite file, or ./gatehouse-<hash of store.url>.spool in the working "
        "directory.",
    )


class TracingConfig(_Strict):
    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); "
        "unset: no export. Trace ids are recorded and propagated either way.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Headers sent with each export (e.g. an API key)."
    )
    service_name: str = Field("gatehouse", description="The service.name resource attribute.")
    sample_ratio: float = Field(
        1.0, ge=0, le=1, description="Share of traces exported (a client's sampled flag wins)."
    )


class MetricsConfig(_Strict):
    enabled: bool = Field(True, description="Serve GET /metrics in Prometheus text format.")
    require_key: bool = Field(
        False,
        description="GET /metrics needs a key with the viewer role (or above), sent as "
        "`Authorization: Bearer …` (Prometheus: `authorization: {credentials: …}`). Off by "
        "default: scrapers usually reach the gateway on a private network.",
    )
    scrape_interval_s: float = Field(
        15.0,
        gt=0,
        description="How often deployments with a `metrics_url` (vLLM, TGI) are scraped.",
    )
