"""Three gateway processes sharing PostgreSQL and Redis: limits hold across replicas.

Bursts of more than three times a limit, spread over the replicas for three windows,
are admitted to exactly the limit per window; a budget crossed from every replica at
once is not overspent; a revoked key stops working on every replica within a second.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import yaml

from tests.conftest import (
    MockServer,
    config_for,
    free_port,
    gatehouse_cli,
    wait_for,
    wait_http,
)

WINDOW_S = 2.0
WINDOWS = 3
REPLICAS = 3
# A prompt whose estimate (telemetry/cost.py) equals the simulated upstream's count, so a
# reservation and the usage that settles it agree: then tokens admitted per window can
# come to exactly the limit. Checked by test_the_prompt_estimate_matches_the_upstream.
PROMPT = "count the tokens of this prompt, please"
OUTPUT_TOKENS = 20


def chat(**extra: Any) -> dict[str, Any]:
    body = {"model": "chat", "messages": [{"role": "user", "content": PROMPT}]}
    return body | extra


class Replicas:
    def __init__(self, config_path: Path, ports: list[int]) -> None:
        self.config_path = config_path
        self.urls = [f"http://127.0.0.1:{p}" for p in ports]
        self.procs = [
            gatehouse_cli("serve", "--config", str(config_path), "--port", str(p)) for p in ports
        ]
        for url in self.urls:
            wait_http(url + "/readyz", timeout=30)

    def new_key(self, *args: str) -> dict[str, Any]:
        """``gatehouse keys create ARGS``, once every replica knows the key (listing the
        models takes no share of any limit)."""
        made = self.keys("create", *args)
        headers = {"Authorization": f"Bearer {made['secret']}"}
        for url in self.urls:
            assert wait_for(
                lambda u=url: httpx.get(u + "/v1/models", headers=headers).status_code == 200,
                timeout=5,
            )
        return made

    def keys(self, *args: str) -> dict[str, Any]:
        """Run ``gatehouse keys ARGS --format json`` on the shared store."""
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "gatehouse",
                "keys",
                *args,
                "--config",
                str(self.config_path),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return dict(json.loads(out.stdout))

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


@pytest.fixture
def replicas(
    mock_upstream: MockServer, pg_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[Replicas]:
    cfg = config_for(mock_upstream.url)
    cfg["store"] = {"url": pg_url}
    cfg["redis"] = {"url": redis_url, "key_prefix": redis_prefix.rstrip(":"), "timeout_ms": 2000}
    cfg["limits"] = {"window_s": WINDOW_S}
    cfg["recording"] = {"writer": "thread", "spool_path": str(tmp_path / "spool")}
    # USD per 1M tokens: one call costs 17 input + 20 output tokens' worth.
    cfg["models"]["chat"]["deployments"][0]["price"] = {"input": 100.0, "output": 300.0}
    path = tmp_path / "gatehouse.yaml"
    path.write_text(yaml.safe_dump(cfg))
    started = Replicas(path, [free_port() for _ in range(REPLICAS)])
    yield started
    started.close()


async def _burst(
    urls: list[str], secret: str, rate: float, duration: float, body: dict[str, Any]
) -> list[tuple[int, dict[str, Any]]]:
    """``rate`` calls a second for ``duration`` seconds, round-robin over the replicas."""
    headers = {"Authorization": f"Bearer {secret}", "x-mock-tokens": str(OUTPUT_TOKENS)}
    results: list[tuple[int, dict[str, Any]]] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one(url: str) -> None:
            async with session.post(url + "/v1/chat/completions", json=body) as resp:
                results.append((resp.status, await resp.json()))

        tasks = []
        start = time.monotonic()
        n = int(rate * duration)
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(urls[i % len(urls)])))
        await asyncio.gather(*tasks)
    return results


def test_the_prompt_estimate_matches_the_upstream(replicas: Replicas) -> None:
    from gatehouse.providers.simulated_answers import prompt_tokens
    from gatehouse.telemetry.cost import estimate_input_tokens

    assert estimate_input_tokens(chat()) == prompt_tokens(chat())


def test_requests_per_window_hold_across_replicas(replicas: Replicas) -> None:
    limit = 40
    made = replicas.new_key("--name", "burst-rpm", "--rpm", str(limit))
    # 3.75x the limit, for three windows (less a margin, so a fourth never starts).
    rate = 3.75 * limit / WINDOW_S
    results = asyncio.run(
        _burst(replicas.urls, made["secret"], rate, WINDOWS * WINDOW_S - 0.3, chat())
    )
    admitted = sum(1 for status, _ in results if status == 200)
    refused = [body for status, body in results if status == 429]
    assert len(results) >= 3 * limit * WINDOWS
    assert admitted + len(refused) == len(results)
    print(f"rpm {limit} x {WINDOWS} windows: {admitted} of {len(results)} admitted")
    # Exact within 1%: at most the limit per window, and no slot left unused.
    assert limit * WINDOWS * 0.99 <= admitted <= limit * WINDOWS
    assert all("requests per 2s" in body["error"]["message"] for body in refused)


def test_tokens_per_window_hold_across_replicas(replicas: Replicas) -> None:
    per_call = 0
    probe = replicas.new_key("--name", "probe")
    answer = httpx.post(
        replicas.urls[0] + "/v1/chat/completions",
        json=chat(max_tokens=OUTPUT_TOKENS),
        headers={"Authorization": f"Bearer {probe['secret']}", "x-mock-tokens": "20"},
        timeout=10,
    ).json()
    per_call = answer["usage"]["total_tokens"]
    limit = per_call * 30  # 30 calls' worth per window
    made = replicas.new_key("--name", "burst-tpm", "--tpm", str(limit))
    rate = 3.5 * 30 / WINDOW_S
    results = asyncio.run(
        _burst(
            replicas.urls,
            made["secret"],
            rate,
            WINDOWS * WINDOW_S - 0.3,
            chat(max_tokens=OUTPUT_TOKENS),
        )
    )
    tokens = sum(body["usage"]["total_tokens"] for status, body in results if status == 200)
    assert len(results) >= 3 * 30 * WINDOWS
    print(f"tpm {limit} x {WINDOWS} windows: {tokens} tokens admitted")
    assert limit * WINDOWS * 0.99 <= tokens <= limit * WINDOWS


def test_a_budget_crossed_from_every_replica_at_once(replicas: Replicas) -> None:
    # A call costs 17 * $100/1M + 20 * $300/1M = $0.0077; the budget allows 20 of them
    # (and a bit): 90 calls arrive at once from three replicas.
    per_call = (17 * 100 + OUTPUT_TOKENS * 300) / 1e6
    budget = 20.5 * per_call
    made = replicas.new_key(
        "--name", "budgeted", "--budget-usd", f"{budget:.6f}", "--budget-period", "day"
    )
    results = asyncio.run(
        _burst(replicas.urls, made["secret"], 1000, 0.09, chat(max_tokens=OUTPUT_TOKENS))
    )
    ok = [body for status, body in results if status == 200]
    refused = [body for status, body in results if status == 429]
    assert len(ok) + len(refused) == len(results) == 90
    assert all(body["error"]["type"] == "budget_exceeded" for body in refused)
    spent = sum(
        (b["usage"]["prompt_tokens"] * 100 + b["usage"]["completion_tokens"] * 300) / 1e6
        for b in ok
    )
    # At most one in-flight reservation over; here reservations equal costs: none over.
    print(f"budget ${budget:.4f}: {len(ok)} admitted, ${spent:.4f} spent")
    assert spent <= budget + per_call
    assert len(ok) == 20

    # The request log (what `keys show` reads) settles to the same spend.
    def settled() -> float:
        return float(replicas.keys("show", made["key"]["id"])["spend"]["usd"])

    assert wait_for(lambda: settled() == pytest.approx(spent, rel=1e-6), timeout=10)


def test_concurrency_limit_across_replicas(replicas: Replicas) -> None:
    made = replicas.new_key("--name", "three-at-once", "--max-concurrent", "3")

    async def run() -> list[int]:
        headers = {"Authorization": f"Bearer {made['secret']}", "x-mock-latency-ms": "1500"}
        async with aiohttp.ClientSession(headers=headers) as session:

            async def one(url: str) -> int:
                async with session.post(url + "/v1/chat/completions", json=chat()) as resp:
                    await resp.read()
                    return resp.status

            return await asyncio.gather(*(one(replicas.urls[i % REPLICAS]) for i in range(9)))

    statuses = asyncio.run(run())
    assert sorted(statuses) == [200] * 3 + [429] * 6


def test_revocation_reaches_every_replica_within_a_second(replicas: Replicas) -> None:
    made = replicas.new_key("--name", "to-revoke")
    headers = {"Authorization": f"Bearer {made['secret']}"}
    replicas.keys("revoke", made["key"]["id"])
    revoked_at = time.monotonic()
    took = []
    for url in replicas.urls:
        while (
            httpx.post(url + "/v1/chat/completions", json=chat(), headers=headers).status_code
            != 401
        ):
            time.sleep(0.02)
            assert time.monotonic() - revoked_at < 5
        took.append(time.monotonic() - revoked_at)
    print(f"revocation seen after {', '.join(f'{t:.2f}s' for t in took)}")
    assert max(took) <= 1.0, took
