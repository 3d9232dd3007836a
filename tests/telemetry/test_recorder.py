"""The recorder alone: batches reach the sinks, drops are counted, nothing is lost late."""

from __future__ import annotations

import asyncio
from typing import Any

from gatehouse.pipeline.exchange import Exchange
from gatehouse.telemetry.cost import PriceTable
from gatehouse.telemetry.record import RecordBuilder
from gatehouse.telemetry.recorder import Recorder


class ListSink:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, records: list[Any]) -> None:
        self.records.extend(records)


class Counts:
    def __init__(self) -> None:
        self.dropped_by: dict[str, int] = {}

    def observe(self, records: list[Any]) -> None:
        pass

    def dropped(self, what: str, n: int = 1) -> None:
        self.dropped_by[what] = self.dropped_by.get(what, 0) + n

    def set_queue_depth(self, n: int) -> None:
        pass


def exchange(n: int) -> Exchange:
    return Exchange(
        request_id=f"r{n}", operation="chat", body={"model": "m"}, model="m", status=200
    )


def builder(bodies: str = "metadata") -> RecordBuilder:
    return RecordBuilder(PriceTable(), bodies, 1024)


def test_every_call_reaches_the_sink_even_one_that_ends_after_close() -> None:
    sink = ListSink()

    async def run() -> None:
        recorder = Recorder(builder(), None, [sink], flush_interval_s=0.01)
        recorder.start()
        for n in range(5):
            recorder.record(exchange(n))
        await recorder.close()
        # A handler cut by the shutdown deadline finishes a few loop turns later.
        recorder.record(exchange(99))

    asyncio.run(run())
    assert sorted(r["id"] for r in sink.records) == sorted([f"r{n}" for n in range(5)] + ["r99"])


def test_a_full_queue_drops_bodies_first_then_records_and_counts_both() -> None:
    counts = Counts()

    async def run() -> None:
        # No start(): the writer thread never runs, so the queue only fills.
        recorder = Recorder(builder("full"), counts, [ListSink()], queue_size=100)
        recorder._loop = asyncio.get_running_loop()
        for n in range(130):
            ex = exchange(n)
            ex.raw_body = b"{}"
            recorder.record(ex)
        recorder.drain()
        queued = list(recorder._queue)
        assert len(queued) == 100
        assert all(r["body"] is not None for r in queued[:50])
        assert all(r["body"] is None for r in queued[50:])

    asyncio.run(run())
    assert counts.dropped_by == {"body": 50, "record": 30}
