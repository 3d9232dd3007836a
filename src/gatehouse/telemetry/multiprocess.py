"""Metrics across ``--workers N``: per-worker snapshot files, merged at scrape time.

A scrape lands on one worker, which knows only its own counts. So every worker writes
its state once a second (and once more as it stops) to ``<dir>/<pid>.json``, written
to a temporary name and renamed so a reader never sees half a file. The worker that
answers a scrape merges the other workers' files with its own live state: counters
and histograms add up, including those of workers that have exited (totals never go
backwards); gauges and per-process figures only count workers that are still alive
and have written recently. Other workers' values are therefore up to ~1 s old.

The supervisor names the directory in ``GATEHOUSE_METRICS_DIR`` before it spawns the
workers; without it a worker serves its own metrics and writes no files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from gatehouse.telemetry.registry import Family, HistogramValue, LabelValues, Registry

METRICS_DIR_ENV = "GATEHOUSE_METRICS_DIR"

log = logging.getLogger(__name__)


class WorkerSnapshots:
    """Writes this worker's snapshot periodically and merges everyone's at scrape time."""

    def __init__(
        self,
        registry: Registry,
        directory: str | os.PathLike[str],
        *,
        pid: int | None = None,
        interval_s: float = 1.0,
        stale_after_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.directory = Path(directory)
        self.pid = os.getpid() if pid is None else pid
        self.interval_s = interval_s
        # A live worker rewrites its file every interval; one silent for several
        # intervals is gone or wedged, and its gauges would only mislead.
        self.stale_after_s = stale_after_s if stale_after_s is not None else 5 * interval_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    @property
    def path(self) -> Path:
        return self.directory / f"{self.pid}.json"

    def write(self) -> None:
        """Write this worker's families (counters, histograms, gauges, per-worker collectors)."""
        families = self.registry.collect(per_worker_only=True)
        data = {"pid": self.pid, "written_at": self._clock(), "families": _dump(families)}
        tmp = self.directory / f".{self.pid}.json.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(orjson.dumps(data))
            os.replace(tmp, self.path)
        except OSError as exc:
            if not self._failing:
                log.warning("cannot write the metrics snapshot %s: %s", self.path, exc)
            self._failing = True
            return
        self._failing = False

    def merged(self, live: Iterable[Family]) -> list[Family]:
        """``live`` (this worker, fresh) merged with every other worker's last snapshot."""
        groups: list[Iterable[Family]] = [live]
        now = self._clock()
        try:
            paths = sorted(self.directory.glob("*.json"))
        except OSError:
            paths = []
        for path in paths:
            if path.stem == str(self.pid):
                continue  # our own file is older than what we hold in memory
            try:
                data = orjson.loads(path.read_bytes())
                pid = int(data["pid"])
                families = _load(data["families"])
            except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                log.debug("skipping metrics snapshot %s: %s", path, exc)
                continue
            alive = now - float(data.get("written_at", 0)) <= self.stale_after_s and _alive(pid)
            groups.append(families if alive else [f for f in families if not f.live_only])
        return merge(groups)

    async def run(self) -> None:
        """Write a snapshot every interval until cancelled."""
        while True:
            self.write()
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="metrics-snap")

    async def stop(self) -> None:
        """Stop the periodic task and write a last snapshot, so no count is lost."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.write()


def merge(groups: Iterable[Iterable[Family]]) -> list[Family]:
    """Combine families of the same name: counters and histograms add up, gauges by ``agg``.

    Families keep the order in which their names first appear. Histograms whose bucket
    bounds differ (a worker on another version) cannot be added; the first one wins.
    """
    out: dict[str, Family] = {}
    for group in groups:
        for fam in group:
            into = out.get(fam.name)
            if into is None:
                out[fam.name] = _copy(fam)
                continue
            if into.kind != fam.kind or into.label_names != fam.label_names:
                continue
            if fam.kind == "histogram":
                if into.buckets != fam.buckets:
                    continue
                for key, value in fam.series.items():
                    counts, total = value  # type: ignore[misc]
                    have = into.series.get(key)
                    if have is None:
                        into.series[key] = (list(counts), total)
                    else:
                        have_counts, have_total = have  # type: ignore[misc]
                        summed = [a + b for a, b in zip(have_counts, counts, strict=True)]
                        into.series[key] = (summed, have_total + total)
            else:
                use_max = fam.kind == "gauge" and into.agg == "max"
                for key, value in fam.series.items():
                    prev = into.series.get(key)
                    if prev is None:
                        into.series[key] = value
                    elif not isinstance(prev, tuple) and not isinstance(value, tuple):
                        into.series[key] = max(prev, value) if use_max else prev + value
    return list(out.values())


def _copy(fam: Family) -> Family:
    series: dict[LabelValues, float | HistogramValue]
    if fam.kind == "histogram":
        series = {k: (list(v[0]), v[1]) for k, v in fam.series.items()}  # type: ignore[index]
    else:
        series = dict(fam.series)
    return Family(
        fam.name, fam.help, fam.kind, fam.label_names, series, fam.buckets, fam.live_only, fam.agg
    )


def _dump(families: list[Family]) -> list[dict[str, Any]]:
    return [
        {
            "name": f.name,
            "help": f.help,
            "kind": f.kind,
            "labels": f.label_names,
            "buckets": f.buckets,
            "live_only": f.live_only,
            "agg": f.agg,
            "series": [[key, value] for key, value in f.series.items()],
        }
        for f in families
    ]


def _load(raw: list[dict[str, Any]]) -> list[Family]:
    families = []
    for f in raw:
        kind = f["kind"]
        series: dict[LabelValues, float | HistogramValue] = {}
        for key, value in f["series"]:
            if kind == "histogram":
                series[tuple(key)] = ([int(c) for c in value[0]], float(value[1]))
            else:
                # orjson writes NaN and infinities as null; NaN is the honest reading.
                series[tuple(key)] = math.nan if value is None else float(value)
        families.append(
            Family(
                str(f["name"]),
                str(f["help"]),
                kind,
                tuple(f["labels"]),
                series,
                tuple(float(b) for b in f["buckets"]),
                bool(f["live_only"]),
                f["agg"],
            )
        )
    return families


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
