"""One worker's telemetry, built from the config: who records what, and where it goes.

The request path sees two things: ``record(exchange)`` at the end of every call
and the ``in_flight`` count. Everything else runs on the recorder's drain and its
writer thread, or at scrape time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gatehouse.config import Config, StoreConfig
from gatehouse.routing import ModelRoute
from gatehouse.store import BatchWriter, Database
from gatehouse.store.db import open_failure
from gatehouse.store.process_writer import ProcessWriter
from gatehouse.store.records import RequestRecord
from gatehouse.supervisor import WORKER_INDEX_ENV
from gatehouse.telemetry.cost import PriceTable
from gatehouse.telemetry.metrics import GatewayMetrics
from gatehouse.telemetry.record import RecordBuilder
from gatehouse.telemetry.recorder import Recorder
from gatehouse.telemetry.registry import GaugeSeries
from gatehouse.telemetry.resources import UpstreamScraper
from gatehouse.telemetry.tracing import SpanExport

log = logging.getLogger("gatehouse.telemetry")


class _Spans:
    """The span exporter as a recorder sink."""

    def __init__(self, spans: SpanExport) -> None:
        self.spans = spans

    def write(self, records: list[RequestRecord]) -> None:
        self.spans.export(records)


class Telemetry:
    def __init__(self, config: Config, routes: dict[str, ModelRoute], database: Database) -> None:
        """``database``: the gateway's store handle (keys use it too)."""
        self.config = config
        self.prices = PriceTable(overrides=_deployment_prices(config, routes))
        # The lowest-cost strategy compares prices: fill in the shipped ones.
        for route in routes.values():
            for dep in route.deployments:
                if dep.price_input is None:
                    price = self.prices.price_for(dep.name, dep.model)
                    if price is not None:
                        dep.price_input, dep.price_output = price.input, price.output
        self.metrics = GatewayMetrics() if config.metrics.enabled else None
        #: Client calls being served by this worker (``.value``), updated by the api layer.
        self.in_flight = self.metrics.in_flight if self.metrics is not None else GaugeSeries()
        self.spans = SpanExport(config.tracing, provider_names=semconv_provider_names(config))
        recording = config.recording
        self.database: Database | None = None
        self.writer: BatchWriter | ProcessWriter | None = None
        sinks: list[Any] = []
        if recording.enabled and recording.bodies != "none":
            self.database = database
            if recording.writer == "process":
                self.writer = ProcessWriter(config.store.url, spool_path(config))
            else:
                self.writer = BatchWriter(self.database, spool_path(config))
            sinks.append(self.writer)
        if self.spans.enabled:
            sinks.append(_Spans(self.spans))
        self.recorder = Recorder(
            RecordBuilder(self.prices, recording.bodies, recording.max_body_bytes),
            self.metrics,
            sinks,
            queue_size=recording.queue_size,
            queue_body_bytes=recording.queue_body_bytes,
            batch_size=recording.batch_size,
            flush_interval_s=recording.flush_interval_s,
            idle=self.writer.retry_spool if self.writer is not None else None,
        )
        targets = {
            dep.name: dep.metrics_url
            for route in routes.values()
            for dep in route.deployments
            if dep.metrics_url
        }
        self.scraper = (
            UpstreamScraper(targets, config.metrics.scrape_interval_s) if targets else None
        )
        self.record = self.recorder.record
        if self.metrics is not None:
            self.metrics.watch_breakers(lambda: _breaker_states(routes))
            if self.scraper is not None:
                self.metrics.add_collector(self.scraper.collect, per_worker=False)

    async def start(self) -> None:
        """Start recording; the store's schema must be current (:func:`prepare_store`)."""
        if isinstance(self.writer, ProcessWriter):
            self.writer.start()
        self.recorder.start()
        if self.metrics is not None:
            await self.metrics.start()
        if self.scraper is not None:
            self.scraper.start()

    async def close(self, timeout_s: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self.scraper is not None:
                await self.scraper.stop()
            await self.recorder.close(timeout_s)
            if self.metrics is not None:
                await self.metrics.stop()
            await loop.run_in_executor(None, self.spans.shutdown, 5.0)
        finally:
            # Whatever failed above, the writer must write what it holds and stop.
            if self.writer is not None:
                await loop.run_in_executor(None, self.writer.close)


class StoreNotReady(RuntimeError):
    pass


def prepare_store(db: Database, store: StoreConfig) -> None:
    """Bring the schema up to date (``migrate: auto``) or check it is (``check``)."""
    try:
        if store.migrate == "auto":
            db.upgrade()
            return
        current = db.is_current()
    except Exception as exc:
        # Without its schema neither keys nor records work: refuse to start rather than
        # serve calls that could not be authenticated or recorded.
        raise StoreNotReady(open_failure(db, exc)) from exc
    if not current:
        raise StoreNotReady(
            f"the store at {db.display_url} is not at the current schema: run "
            "`gatehouse db upgrade` (store.migrate is `check`)"
        )


def spool_path(config: Config) -> Path:
    """This worker's spool file. Named by worker index, not pid, so that a restarted
    gateway finds and replays what its previous run could not write."""
    worker = os.environ.get(WORKER_INDEX_ENV, "0")
    if config.recording.spool_path:
        base = Path(config.recording.spool_path)
    elif config.store.url.startswith("sqlite:///"):
        base = Path(config.store.url.removeprefix("sqlite:///").split("?", 1)[0] + ".spool")
    else:
        # Named after the database, so that two gateways started from one directory for
        # different databases never replay each other's records into the wrong one.
        digest = hashlib.sha256(config.store.url.encode()).hexdigest()[:12]
        base = Path(f"gatehouse-{digest}.spool")
    return base.with_name(f"{base.name}-{worker}")


def _breaker_states(routes: dict[str, ModelRoute]) -> list[tuple[str, str, str]]:
    return [
        (name, dep.name, dep.breaker.state.value)
        for name, route in routes.items()
        for dep in route.deployments
        if dep.breaker is not None
    ]


def _deployment_prices(config: Config, routes: dict[str, ModelRoute]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model_name, model in config.models.items():
        route = routes[model_name]
        for dep_cfg, dep in zip(model.deployments, route.deployments, strict=True):
            if dep_cfg.price is not None:
                out[dep.name] = dep_cfg.price
    return out


def semconv_provider_names(config: Config) -> dict[str, str]:
    """``gen_ai.provider.name`` of the providers whose kind says which it is: the
    semantic conventions' ``anthropic``, and ``openai`` for OpenAI's own API (an
    OpenAI-compatible server keeps its config name: it could be anything)."""
    names = {}
    for name, provider in config.providers.items():
        if provider.kind == "anthropic":
            names[name] = "anthropic"
        elif urlsplit(provider.base_url).hostname == "api.openai.com":
            names[name] = "openai"
    return names
