"""The load of self-hosted deployments, read from their own Prometheus pages.

vLLM, TGI and SGLang each serve ``/metrics``; a deployment with a ``metrics_url`` is
fetched every ``metrics.scrape_interval_s`` for its queue length, running requests
and KV-cache use. A failed fetch is logged once when a deployment starts failing and
once when it recovers, never raised; its figures are then unknown (None) rather than
stale. Each worker scrapes on its own: a few small GETs per interval per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TypedDict

import aiohttp

from gatehouse.telemetry.exposition import parse_text
from gatehouse.telemetry.registry import Family, gauge_family

log = logging.getLogger(__name__)

# Server metric names per figure, across engines and versions. vLLM renamed
# gpu_cache_usage_perc to kv_cache_usage_perc (both are 0-1 despite "perc"); TGI
# exposes no KV-cache figure, so its usage stays unknown.
RUNNING = frozenset(
    {"vllm:num_requests_running", "tgi_batch_current_size", "sglang:num_running_reqs"}
)
WAITING = frozenset({"vllm:num_requests_waiting", "tgi_queue_size", "sglang:num_queue_reqs"})
KV_CACHE = frozenset(
    {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage"}
)
_WANTED = RUNNING | WAITING | KV_CACHE


class DeploymentLoad(TypedDict):
    queue_length: float | None
    running: float | None
    kv_cache_usage: float | None  # 0-1
    scraped_at: float | None  # epoch seconds of the last successful scrape
    error: str | None  # why the last scrape failed; None when it succeeded


def read_load(text: str) -> tuple[float | None, float | None, float | None]:
    """(queue length, running requests, KV-cache usage) from an exposition page.

    Counts add up over series (several engines or models behind one server); the
    KV-cache figure is the fullest engine's. A figure the page lacks is None.
    """
    queue = running = kv = None
    for name, _labels, value in parse_text(text, _WANTED):
        if name in RUNNING:
            running = value if running is None else running + value
        elif name in WAITING:
            queue = value if queue is None else queue + value
        else:
            kv = value if kv is None else max(kv, value)
    return queue, running, kv


class _ScrapeError(Exception):
    pass


class UpstreamScraper:
    """Fetches each deployment's metrics page every ``interval_s``.

    ``targets`` maps deployment names to metrics URLs. ``session_factory`` makes the
    aiohttp session used for every fetch (closed by ``stop()``); the default one has
    no connection limit worth mentioning and a short timeout per fetch.
    """

    def __init__(
        self,
        targets: Mapping[str, str],
        interval_s: float = 15.0,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
        *,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.targets = dict(targets)
        self.interval_s = interval_s
        self._session_factory = session_factory or aiohttp.ClientSession
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._load: dict[str, DeploymentLoad] = {
            name: DeploymentLoad(
                queue_length=None, running=None, kv_cache_usage=None, scraped_at=None, error=None
            )
            for name in self.targets
        }

    def snapshot(self) -> dict[str, DeploymentLoad]:
        """Per deployment, the last figures and when they were read (for the admin API)."""
        return {name: DeploymentLoad(**load) for name, load in self._load.items()}

    def collect(self) -> list[Family]:
        """Gauges for ``/metrics``; a figure that is unknown has no sample."""
        queue: dict[tuple[str, ...], float] = {}
        running: dict[tuple[str, ...], float] = {}
        kv: dict[tuple[str, ...], float] = {}
        up: dict[tuple[str, ...], float] = {}
        for name, load in self._load.items():
            key = (name,)
            if load["queue_length"] is not None:
                queue[key] = load["queue_length"]
            if load["running"] is not None:
                running[key] = load["running"]
            if load["kv_cache_usage"] is not None:
                kv[key] = load["kv_cache_usage"]
            if load["scraped_at"] is not None or load["error"] is not None:
                up[key] = 0.0 if load["error"] else 1.0
        labels = ("deployment",)
        return [
            gauge_family(
                "gatehouse_deployment_queue_length",
                "Requests waiting in the deployment's own queue (from its /metrics).",
                labels,
                queue,
                agg="max",
            ),
            gauge_family(
                "gatehouse_deployment_running_requests",
                "Requests the deployment is running now (from its /metrics).",
                labels,
                running,
                agg="max",
            ),
            gauge_family(
                "gatehouse_deployment_kv_cache_usage_ratio",
                "Share of the deployment's KV cache in use, 0-1 (vLLM, SGLang).",
                labels,
                kv,
                agg="max",
            ),
            gauge_family(
                "gatehouse_deployment_metrics_up",
                "1 if the deployment's last metrics scrape succeeded, else 0.",
                labels,
                up,
                agg="max",
            ),
        ]

    async def scrape_once(self) -> None:
        """Fetch every target once, concurrently."""
        if self._session is None:
            self._session = self._session_factory()
        session = self._session
        await asyncio.gather(*(self._scrape(session, n, u) for n, u in self.targets.items()))

    async def run(self) -> None:
        while True:
            await self.scrape_once()
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        """Begin scraping on the running loop (nothing to do without targets)."""
        if self._task is None and self.targets:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="upstream-scrape")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _scrape(self, session: aiohttp.ClientSession, name: str, url: str) -> None:
        try:
            async with session.get(url, timeout=self._timeout) as resp:
                if resp.status != 200:
                    raise _ScrapeError(f"HTTP {resp.status}")
                text = await resp.text()
            queue, running, kv = read_load(text)
        except (aiohttp.ClientError, TimeoutError, ValueError, _ScrapeError) as exc:
            self._failed(name, url, _describe(exc))
            return
        load = self._load[name]
        if load["error"] is not None:
            log.info("metrics of deployment %s are readable again (%s)", name, _safe_url(url))
        load["queue_length"] = queue
        load["running"] = running
        load["kv_cache_usage"] = kv
        load["scraped_at"] = self._clock()
        load["error"] = None

    def _failed(self, name: str, url: str, error: str) -> None:
        load = self._load[name]
        if load["error"] is None:
            log.warning(
                "cannot read metrics of deployment %s from %s: %s", name, _safe_url(url), error
            )
        load["queue_length"] = load["running"] = load["kv_cache_usage"] = None
        load["error"] = error


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _safe_url(url: str) -> str:
    """The URL without credentials or query (either may hold a token) for log lines."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
