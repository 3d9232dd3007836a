"""Resource usage at scrape time: this process, the host, its GPUs, self-hosted upstreams.

``ProcessResources`` and ``HostResources`` are registry collectors, read when
``/metrics`` is scraped and cached for a second so a burst of scrapes costs one
reading. GPUs are read through NVML when it initialises; on a machine without one
that path is silent apart from one debug line. ``UpstreamScraper`` polls the
Prometheus pages of vLLM, TGI or SGLang deployments for their queue length, running
requests and KV-cache use, for ``/metrics`` and the admin API.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import psutil

from gatehouse.telemetry.registry import Family, HistogramValue, LabelValues, gauge_family
from gatehouse.telemetry.upstream_load import DeploymentLoad, UpstreamScraper, read_load

__all__ = [
    "DeploymentLoad",
    "GpuProbe",
    "HostResources",
    "ProcessResources",
    "UpstreamScraper",
    "read_load",
]

log = logging.getLogger(__name__)


class _Cached:
    """Families recomputed at most once per ``ttl_s``."""

    def __init__(self, read: Callable[[], list[Family]], ttl_s: float, clock: Callable[[], float]):
        self._read = read
        self._ttl_s = ttl_s
        self._clock = clock
        self._at = -float("inf")
        self._families: list[Family] = []

    def __call__(self) -> list[Family]:
        now = self._clock()
        if now - self._at >= self._ttl_s:
            self._families = self._read()
            self._at = now
        return self._families


class ProcessResources:
    """CPU seconds, resident memory and open fds of this worker, labelled with its pid.

    One series per worker (the ``pid`` label): a worker that exits drops out, and
    ``sum without (pid)`` gives the whole server.
    """

    def __init__(
        self,
        pid: int | None = None,
        *,
        cache_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._process = psutil.Process()
        self._key: LabelValues = (str(os.getpid() if pid is None else pid),)
        self.collect = _Cached(self._read, cache_s, clock)

    def _read(self) -> list[Family]:
        proc = self._process
        with proc.oneshot():
            cpu = proc.cpu_times()
            rss = proc.memory_info().rss
            fds = proc.num_fds() if hasattr(proc, "num_fds") else None
            started = proc.create_time()
        key = self._key
        cpu_series: dict[LabelValues, float | HistogramValue] = {key: cpu.user + cpu.system}
        families = [
            Family(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                "counter",
                ("pid",),
                cpu_series,
                live_only=True,
            ),
            gauge_family(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                ("pid",),
                {key: float(rss)},
            ),
            gauge_family(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                ("pid",),
                {key: started},
            ),
        ]
        if fds is not None:
            families.append(
                gauge_family(
                    "process_open_fds",
                    "Number of open file descriptors.",
                    ("pid",),
                    {key: float(fds)},
                )
            )
        return families


class GpuProbe:
    """GPU utilisation and memory through NVML, or nothing when NVML is unavailable.

    ``nvml`` is the ``pynvml`` module (imported on first use) or an object with the
    same functions; NVML is initialised on the first reading, not at construction.
    """

    def __init__(self, nvml: Any | None = None) -> None:
        self._nvml: Any = nvml
        self._ready: bool | None = None  # None: not tried yet
        self._broken: set[tuple[int, str]] = set()

    def _init(self) -> bool:
        if self._ready is None:
            try:
                if self._nvml is None:
                    self._nvml = importlib.import_module("pynvml")
                self._nvml.nvmlInit()
                self._ready = True
            # No driver, no library, no device: NVML raises its own error types (or
            # ImportError, OSError), and any of them means "no GPU metrics here".
            except Exception as exc:
                log.debug("no GPU metrics: NVML did not initialise (%s)", exc)
                self._ready = False
        return self._ready

    def collect(self) -> list[Family]:
        if not self._init():
            return []
        nvml = self._nvml
        util: dict[LabelValues, float] = {}
        used: dict[LabelValues, float] = {}
        total: dict[LabelValues, float] = {}
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except Exception as exc:  # an NVML error: report no devices this time
            self._once(-1, "count", exc)
            count = 0
        for index in range(count):
            key = (str(index),)
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
            except Exception as exc:  # an NVML error: skip this device
                self._once(index, "handle", exc)
                continue
            try:
                util[key] = nvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100.0
            except Exception as exc:  # some devices do not report utilisation
                self._once(index, "utilization", exc)
            try:
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                used[key] = float(memory.used)
                total[key] = float(memory.total)
            except Exception as exc:  # an NVML error: no memory figures for it
                self._once(index, "memory", exc)
        labels = ("gpu",)
        return [
            gauge_family(
                "gatehouse_gpu_utilization_ratio",
                "Share of the last sample period a kernel ran on the GPU (0-1).",
                labels,
                util,
                agg="max",
            ),
            gauge_family(
                "gatehouse_gpu_memory_used_bytes", "GPU memory in use.", labels, used, agg="max"
            ),
            gauge_family(
                "gatehouse_gpu_memory_total_bytes", "GPU memory in all.", labels, total, agg="max"
            ),
        ]

    def close(self) -> None:
        if self._ready:
            with contextlib.suppress(Exception):  # shutting down: nothing left to report to
                self._nvml.nvmlShutdown()
            self._ready = None

    def _once(self, index: int, what: str, exc: Exception) -> None:
        if (index, what) not in self._broken:
            self._broken.add((index, what))
            log.debug("GPU %d: cannot read %s: %s", index, what, exc)


class HostResources:
    """Host memory and CPU use, plus the GPUs; the same whichever worker is asked."""

    def __init__(
        self,
        gpu: GpuProbe | None = None,
        *,
        cache_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gpu = gpu if gpu is not None else GpuProbe()
        self.collect = _Cached(self._read, cache_s, clock)

    def _read(self) -> list[Family]:
        vm = psutil.virtual_memory()
        # Since the previous reading (non-blocking); the first one after start reads 0.
        cpu = psutil.cpu_percent(interval=None) / 100.0
        return [
            gauge_family(
                "gatehouse_host_memory_total_bytes",
                "Host memory in all.",
                (),
                {(): vm.total},
                agg="max",
            ),
            gauge_family(
                "gatehouse_host_memory_available_bytes",
                "Host memory available to new processes without swapping.",
                (),
                {(): float(vm.available)},
                agg="max",
            ),
            gauge_family(
                "gatehouse_host_cpu_utilization_ratio",
                "Host CPU use across all cores since the previous reading (0-1).",
                (),
                {(): cpu},
                agg="max",
            ),
            *self.gpu.collect(),
        ]
