"""A small in-process metrics registry: counters, gauges and histograms with fixed labels.

Updates cost about a microsecond: a series is a slotted object found by its tuple of
label values, and callers that update the same series often keep the object itself.
``collect()`` turns the live state into ``Family`` values, the one shape that
exposition, snapshots for other workers, and scrape-time collectors share.
prometheus_client is not used at run time: its multiprocess mode writes an mmap on
every observation, which is far too slow for the request rate a worker serves.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

Kind = Literal["counter", "gauge", "histogram"]
# How a gauge's values from several workers combine: their sum (in-flight requests),
# or the largest (a state where the worst worker is what matters).
Aggregation = Literal["sum", "max"]
LabelValues = tuple[str, ...]
# A histogram series: per-bucket counts (not cumulative; the last is +Inf) and the sum.
HistogramValue = tuple[list[int], float]


@dataclass(slots=True)
class Family:
    """One metric's samples at one moment: what is rendered, merged and snapshotted.

    ``live_only`` families (gauges, per-process figures) describe a process that is
    running now: a worker that has exited stops contributing them. The others are
    monotonic totals that keep counting a finished worker's share.
    """

    name: str
    help: str
    kind: Kind
    label_names: tuple[str, ...]
    series: dict[LabelValues, float | HistogramValue]
    buckets: tuple[float, ...] = ()
    live_only: bool = False
    agg: Aggregation = "sum"


class CounterSeries:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class GaugeSeries:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = value


class HistogramSeries:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (le is inclusive).
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


class _Metric:
    kind: Kind

    def __init__(self, name: str, help: str, label_names: Sequence[str]) -> None:
        self.name = name
        self.help = help
        self.label_names = tuple(label_names)

    def _check(self, values: LabelValues) -> None:
        if len(values) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {values!r}")


class Counter(_Metric):
    kind: Kind = "counter"

    def __init__(self, name: str, help: str, label_names: Sequence[str] = ()) -> None:
        super().__init__(name, help, label_names)
        self._series: dict[LabelValues, CounterSeries] = {}

    def labels(self, *values: str) -> CounterSeries:
        series = self._series.get(values)
        if series is None:
            self._check(values)
            series = self._series[values] = CounterSeries()
        return series

    def family(self) -> Family:
        series: dict[LabelValues, float | HistogramValue] = {
            k: s.value for k, s in self._series.items()
        }
        return Family(self.name, self.help, "counter", self.label_names, series)


class Gauge(_Metric):
    kind: Kind = "gauge"

    def __init__(
        self, name: str, help: str, label_names: Sequence[str] = (), agg: Aggregation = "sum"
    ) -> None:
        super().__init__(name, help, label_names)
        self.agg = agg
        self._series: dict[LabelValues, GaugeSeries] = {}

    def labels(self, *values: str) -> GaugeSeries:
        series = self._series.get(values)
        if series is None:
            self._check(values)
            series = self._series[values] = GaugeSeries()
        return series

    def family(self) -> Family:
        series: dict[LabelValues, float | HistogramValue] = {
            k: s.value for k, s in self._series.items()
        }
        return Family(
            self.name, self.help, "gauge", self.label_names, series, live_only=True, agg=self.agg
        )


class Histogram(_Metric):
    kind: Kind = "histogram"

    def __init__(
        self, name: str, help: str, label_names: Sequence[str], buckets: Sequence[float]
    ) -> None:
        super().__init__(name, help, label_names)
        bounds = tuple(float(b) for b in buckets if not math.isinf(b))
        if list(bounds) != sorted(set(bounds)):
            raise ValueError(f"{name}: buckets must be strictly increasing")
        self.buckets = bounds
        self._series: dict[LabelValues, HistogramSeries] = {}

    def labels(self, *values: str) -> HistogramSeries:
        series = self._series.get(values)
        if series is None:
            self._check(values)
            series = self._series[values] = HistogramSeries(self.buckets)
        return series

    def family(self) -> Family:
        series: dict[LabelValues, float | HistogramValue] = {
            k: (list(s.counts), s.sum) for k, s in self._series.items()
        }
        return Family(self.name, self.help, "histogram", self.label_names, series, self.buckets)


Collector = Callable[[], Iterable[Family]]
_M = TypeVar("_M", Counter, Gauge, Histogram)
log = logging.getLogger(__name__)


@dataclass
class Registry:
    """The metrics of one process, plus collectors that compute families when asked.

    A ``per_worker`` collector describes this worker (its breakers, its process) and
    goes into the worker's snapshot for the others to merge; the rest (host, GPU,
    upstream servers) are the same whichever worker answers and are only run there.
    """

    _metrics: list[Counter | Gauge | Histogram] = field(default_factory=list)
    _collectors: list[tuple[Collector, bool]] = field(default_factory=list)

    def counter(self, name: str, help: str, label_names: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help, label_names))

    def gauge(
        self, name: str, help: str, label_names: Sequence[str] = (), agg: Aggregation = "sum"
    ) -> Gauge:
        return self._add(Gauge(name, help, label_names, agg))

    def histogram(
        self, name: str, help: str, label_names: Sequence[str], buckets: Sequence[float]
    ) -> Histogram:
        return self._add(Histogram(name, help, label_names, buckets))

    def add_collector(self, collector: Collector, *, per_worker: bool = True) -> None:
        self._collectors.append((collector, per_worker))

    def collect(self, *, per_worker_only: bool = False) -> list[Family]:
        families = [m.family() for m in self._metrics]
        for collector, per_worker in self._collectors:
            if per_worker or not per_worker_only:
                try:
                    families.extend(collector())
                # One broken collector must not take the whole page (and with it every
                # other metric) down; its families are missing until it is fixed.
                except Exception:
                    log.exception("metrics collector %r failed", collector)
        return families

    def _add(self, metric: _M) -> _M:
        if any(m.name == metric.name for m in self._metrics):
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics.append(metric)
        return metric


def gauge_family(
    name: str,
    help: str,
    label_names: Sequence[str],
    series: dict[LabelValues, float],
    *,
    agg: Aggregation = "sum",
) -> Family:
    """A gauge family for a collector to return."""
    values: dict[LabelValues, float | HistogramValue] = dict(series)
    return Family(name, help, "gauge", tuple(label_names), values, live_only=True, agg=agg)
