"""Resource collectors and the upstream scraper, against real servers on loopback.

The simulated upstream serves vLLM-style gauges on ``/metrics``; a small aiohttp app
here serves TGI's. NVML cannot initialise on a machine without a GPU, so the GPU
readings are checked through a stand-in object with NVML's functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from gatehouse.providers.simulated import MockSettings, SimulatedUpstream
from gatehouse.telemetry.exposition import parse_text, render
from gatehouse.telemetry.resources import (
    GpuProbe,
    HostResources,
    ProcessResources,
    UpstreamScraper,
    read_load,
)
from tests.telemetry.test_metrics import samples, value

# --- this process and the host --------------------------------------------------------


def test_process_figures_are_labelled_with_the_pid_and_cached() -> None:
    now = [100.0]
    resources = ProcessResources(clock=lambda: now[0])
    first = resources.collect()
    got = samples(render(first))
    pid = str(os.getpid())
    assert value(got, "process_resident_memory_bytes", pid=pid) > 1_000_000  # type: ignore[operator]
    assert value(got, "process_cpu_seconds_total", pid=pid) > 0  # type: ignore[operator]
    assert value(got, "process_open_fds", pid=pid) >= 3  # type: ignore[operator]
    assert all(f.live_only for f in first)
    now[0] += 0.5
    assert resources.collect() is first  # within a second: the cached reading
    now[0] += 1.0
    assert resources.collect() is not first


def test_host_figures_without_a_gpu(caplog: pytest.LogCaptureFixture) -> None:
    probe = GpuProbe()
    caplog.set_level(logging.DEBUG, logger="gatehouse.telemetry.resources")
    if probe.collect():
        probe.close()
        pytest.skip("this machine has a GPU that NVML can read")
    now = [0.0]
    host = HostResources(probe, clock=lambda: now[0])
    for _ in range(3):
        families = host.collect()
        now[0] += 2
    got = samples(render(families))
    assert {name for name, _ in got} == {
        "gatehouse_host_memory_total_bytes",
        "gatehouse_host_memory_available_bytes",
        "gatehouse_host_cpu_utilization_ratio",
    }
    available = value(got, "gatehouse_host_memory_available_bytes")
    total = value(got, "gatehouse_host_memory_total_bytes")
    assert available is not None and total is not None
    assert 0 < available <= total
    nvml_lines = [r for r in caplog.records if "NVML did not initialise" in r.getMessage()]
    assert len(nvml_lines) == 1
    assert nvml_lines[0].levelno == logging.DEBUG


class _NvmlError(Exception):
    pass


def fake_nvml(*, init_fails: bool = False) -> Any:
    """NVML's functions for two devices; the second does not report utilisation."""
    calls: list[str] = []

    def init() -> None:
        calls.append("init")
        if init_fails:
            raise _NvmlError("NVML Shared Library Not Found")

    def utilization(handle: int) -> Any:
        if handle == 1:
            raise _NvmlError("Not Supported")
        return SimpleNamespace(gpu=37, memory=10)

    return SimpleNamespace(
        calls=calls,
        nvmlInit=init,
        nvmlShutdown=lambda: calls.append("shutdown"),
        nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetUtilizationRates=utilization,
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(
            used=(h + 1) * 2**30, total=16 * 2**30, free=0
        ),
    )


def test_gpus_are_read_through_nvml() -> None:
    nvml = fake_nvml()
    probe = GpuProbe(nvml)
    got = samples(render(probe.collect()))
    assert value(got, "gatehouse_gpu_utilization_ratio", gpu="0") == 0.37
    assert value(got, "gatehouse_gpu_utilization_ratio", gpu="1") is None
    assert value(got, "gatehouse_gpu_memory_used_bytes", gpu="0") == 2**30
    assert value(got, "gatehouse_gpu_memory_used_bytes", gpu="1") == 2**31
    assert value(got, "gatehouse_gpu_memory_total_bytes", gpu="1") == 16 * 2**30
    probe.collect()
    probe.close()
    assert nvml.calls == ["init", "shutdown"]


def test_a_failing_nvml_is_tried_once_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gatehouse.telemetry.resources")
    nvml = fake_nvml(init_fails=True)
    probe = GpuProbe(nvml)
    assert probe.collect() == []
    assert probe.collect() == []
    probe.close()
    assert nvml.calls == ["init"]
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


# --- reading other servers' pages ------------------------------------------------------

PAGE = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="llama"} 2.0
vllm:num_requests_running{engine="1",model_name="llama"} 3.0
vllm:num_requests_waiting{engine="0",model_name="llama"} 4.0 1712345678000
vllm:kv_cache_usage_perc{engine="0",model_name="llama"} 0.25
vllm:kv_cache_usage_perc{engine="1",model_name="llama"} 0.5
odd_name{path="a,b=\\"c\\"\\\\d\\ne",  other="x",} +Inf
no_labels NaN
"""


def test_the_page_reader_agrees_with_prometheus_client() -> None:
    ours = [(n, labels, v) for n, labels, v in parse_text(PAGE)]
    theirs = [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(PAGE)
        for s in family.samples
    ]
    assert len(ours) == len(theirs) == 7
    for (n1, l1, v1), (n2, l2, v2) in zip(ours, theirs, strict=True):
        assert (n1, l1) == (n2, l2)
        assert v1 == v2 or (v1 != v1 and v2 != v2)  # NaN
    assert ours[5][1] == {"path": 'a,b="c"\\d\ne', "other": "x"}
    assert [n for n, _, _ in parse_text(PAGE, {"no_labels"})] == ["no_labels"]
    assert list(parse_text("broken{a=1} 2\nnovalue\nbad value\nfine 1\n")) == [("fine", {}, 1.0)]


def test_load_figures_of_each_engine() -> None:
    assert read_load(PAGE) == (4.0, 5.0, 0.5)
    older_vllm = 'vllm:gpu_cache_usage_perc{model_name="m"} 0.75\n'
    assert read_load(older_vllm) == (None, None, 0.75)
    tgi = "tgi_queue_size 6\ntgi_batch_current_size 8\ntgi_batch_current_max_tokens 4096\n"
    assert read_load(tgi) == (6.0, 8.0, None)
    sglang = 'sglang:num_running_reqs{model_name="m"} 1\nsglang:num_queue_reqs{model_name="m"} 2\n'
    assert read_load(sglang + 'sglang:token_usage{model_name="m"} 0.1\n') == (2.0, 1.0, 0.1)
    assert read_load("") == (None, None, None)


# --- the scraper against live servers --------------------------------------------------


@contextlib.asynccontextmanager
async def serving(app: web.Application, port: int = 0) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        await runner.cleanup()


async def until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the condition did not come true")


def test_the_simulated_upstream_serves_vllm_gauges() -> None:
    upstream = SimulatedUpstream(MockSettings(model_names=("llama-3",)))

    async def run() -> str:
        async with serving(upstream.app()) as base, aiohttp.ClientSession() as session:
            upstream.stats.in_flight = 4
            async with session.get(base + "/metrics") as resp:
                assert resp.status == 200
                assert resp.content_type == "text/plain"
                return await resp.text()

    text = asyncio.run(run())
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
    }
    (running,) = families["vllm:num_requests_running"].samples
    assert (running.labels, running.value) == ({"model_name": "llama-3"}, 4.0)
    assert families["vllm:kv_cache_usage_perc"].samples[0].value == 0.04
    assert families["vllm:num_requests_waiting"].samples[0].value == 0.0


def test_scraping_the_simulated_upstream_sees_calls_in_flight() -> None:
    upstream = SimulatedUpstream(MockSettings())
    now = [5000.0]

    async def run() -> None:
        async with serving(upstream.app()) as base, aiohttp.ClientSession() as client:
            scraper = UpstreamScraper({"vllm-a": base + "/metrics"}, clock=lambda: now[0])

            async def slow_call() -> None:
                headers = {"x-mock-latency-ms": "5000"}
                body = {"model": "mock-model", "messages": [{"role": "user", "content": "hi"}]}
                async with client.post(base + "/v1/chat/completions", json=body, headers=headers):
                    pass

            calls = [asyncio.create_task(slow_call()) for _ in range(3)]
            await until(lambda: upstream.stats.in_flight == 3)
            await scraper.scrape_once()
            assert scraper.snapshot() == {
                "vllm-a": {
                    "queue_length": 0.0,
                    "running": 3.0,
                    "kv_cache_usage": 0.03,
                    "scraped_at": 5000.0,
                    "error": None,
                }
            }
            got = samples(render(scraper.collect()))
            assert value(got, "gatehouse_deployment_running_requests", deployment="vllm-a") == 3
            assert value(got, "gatehouse_deployment_queue_length", deployment="vllm-a") == 0
            assert (
                value(got, "gatehouse_deployment_kv_cache_usage_ratio", deployment="vllm-a") == 0.03
            )
            assert value(got, "gatehouse_deployment_metrics_up", deployment="vllm-a") == 1

            for call in calls:
                call.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            await until(lambda: upstream.stats.in_flight == 0)
            now[0] += 15
            await scraper.scrape_once()
            assert scraper.snapshot()["vllm-a"]["running"] == 0
            assert scraper.snapshot()["vllm-a"]["scraped_at"] == 5015.0
            await scraper.stop()

    asyncio.run(run())


TGI_PAGE = """\
# HELP tgi_queue_size Current queue size
# TYPE tgi_queue_size gauge
tgi_queue_size 7
# TYPE tgi_batch_current_size gauge
tgi_batch_current_size 12
tgi_batch_current_max_tokens 20480
# TYPE tgi_request_duration histogram
tgi_request_duration_bucket{le="0.5"} 3
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _handler(text: str, status: int = 200) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=text, status=status)

    return handle


def test_scraping_tgi_a_broken_target_and_a_down_one(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gatehouse.telemetry.upstream_load")
    app = web.Application()
    app.router.add_get("/metrics", _handler(TGI_PAGE))
    app.router.add_get("/broken", _handler("oops", status=500))
    down_port = _free_port()
    down_url = f"http://127.0.0.1:{down_port}/metrics"

    async def run() -> None:
        async with serving(app) as base:
            scraper = UpstreamScraper(
                {"tgi": base + "/metrics", "broken": base + "/broken", "down": down_url},
                interval_s=0.05,
                timeout_s=1.0,
            )
            scraper.start()
            await until(lambda: scraper.snapshot()["tgi"]["scraped_at"] is not None)
            await asyncio.sleep(0.2)  # a few more rounds: failures are logged only once
            snap = scraper.snapshot()
            assert snap["tgi"] | {"scraped_at": None} == {
                "queue_length": 7.0,
                "running": 12.0,
                "kv_cache_usage": None,
                "scraped_at": None,
                "error": None,
            }
            assert snap["broken"]["error"] == "HTTP 500"
            assert snap["down"]["error"] is not None
            assert snap["down"]["running"] is None and snap["down"]["scraped_at"] is None
            got = samples(render(scraper.collect()))
            assert value(got, "gatehouse_deployment_queue_length", deployment="tgi") == 7
            assert value(got, "gatehouse_deployment_kv_cache_usage_ratio", deployment="tgi") is None
            assert value(got, "gatehouse_deployment_running_requests", deployment="down") is None
            assert value(got, "gatehouse_deployment_metrics_up", deployment="down") == 0
            assert value(got, "gatehouse_deployment_metrics_up", deployment="broken") == 0
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 2
            assert any("deployment down" in w for w in warnings)

            # The down deployment comes up: one line says so, and its figures return.
            up = web.Application()
            up.router.add_get("/metrics", _handler("tgi_queue_size 1\ntgi_batch_current_size 2\n"))
            async with serving(up, down_port):
                await until(lambda: scraper.snapshot()["down"]["error"] is None)
                assert scraper.snapshot()["down"]["running"] == 2.0
            await scraper.stop()
        infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert len(infos) == 1 and "deployment down" in infos[0]

    asyncio.run(run())


def test_a_scraper_without_targets_does_nothing() -> None:
    async def run() -> None:
        scraper = UpstreamScraper({})
        scraper.start()
        assert scraper.snapshot() == {}
        assert all(not f.series for f in scraper.collect())
        await scraper.stop()

    asyncio.run(run())
