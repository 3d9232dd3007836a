"""What the guardrails add to a call: the input screen in process, and over HTTP.

    .venv/bin/python bench/guardrails.py                 # in process only
    .venv/bin/python bench/guardrails.py --http 3000     # plus an A/B through a gateway
    .venv/bin/python bench/guardrails.py --worker 1000   # plus pii_ner via the scan worker
    .venv/bin/python bench/guardrails.py --http 2000 --policy threats   # injection, toxicity,
                                                          # prompt_leak instead of pii, secrets

In process: one call's input screen as the ``Screen`` stage runs it — the policy
picked, the text found in the body, the pattern scanners (``pii`` and ``secrets``)
run, verdicts built, and (redact) the body rewritten with placeholders. The prompt is
~2 KB of ordinary English prose; two variants: no PII at all, and the same prose with
an e-mail address, a phone number, a card number and a token in it; and a worst case,
2 KB of support tickets dense with dates, amounts, phone and card numbers.

Over HTTP: the same prompt sent sequentially (c=1) through a gateway with and without
the policy, against the simulated upstream, alternating in rounds; the difference of
the medians is what the guardrail adds to a whole call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import yaml

from gatehouse.config import parse_config
from gatehouse.guard.guardrails import Guardrails
from gatehouse.pipeline.exchange import Exchange

PROSE = (
    "The quarterly planning meeting covered the migration of the billing service to the "
    "new cluster, the state of the on-call rotation and the budget for the next two "
    "quarters. Most of the discussion was about how the team could reduce the time it "
    "takes to ship a change from review to production, which is currently around three "
    "days because of manual approval steps and a flaky integration suite. "
)
PII = (
    " Please send the summary to jordan.miles@example.org or call +44 20 7946 0958; the "
    "card on file is 4111 1111 1111 1111 and the deploy token is "
    "ghp_Zx81kQw2Vb7Lm3Np5Rt9Yh4Jd6Fs0Ga1Ce2B. "
)


TICKET = (
    "Ticket 48213 opened 2026-03-14 09:12 by Dana (dana.k@example.net, +1 415 555 0134): "
    "order 771-2290 of $1,249.00 charged twice on 03/12/2026 and 3/13/2026 to card "
    "5500 0000 0000 0004; refund 2 x $1,249.00 to IBAN DE89 3704 0044 0532 0130 00. "
    "Callback 10:30-11:00 CET at 030 901820 or 0176 1234 5678, server 10.20.30.40. "
)


def prompt(with_pii: bool, dense: bool = False) -> str:
    if dense:
        return (TICKET * 8)[:2048]
    text = (PROSE * 6)[:2048]
    if with_pii:
        text = text[: 2048 - len(PII)] + PII
    return text


POLICY = {"input": {"pii": {"action": "redact"}, "secrets": {"action": "redact"}}}
#: `--policy threats`: the heuristic injection layer on the prompt, hate and leak checks
#: on the answer (bench/guard_layers.py times each layer alone).
THREATS = {
    "input": {"injection": {"action": "block"}},
    "output": {"toxicity": {"action": "block"}, "prompt_leak": {"action": "block"}},
}
CONFIG: dict[str, Any] = {
    "providers": {"p": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}},
    "models": {"chat": {"deployments": [{"provider": "p", "model": "m"}]}},
    "guardrails": {"policies": {"redact": POLICY}, "default": "redact"},
}


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


async def in_process(calls: int) -> None:
    config = parse_config(yaml.safe_dump(CONFIG), "bench.yaml", {})
    guardrails = Guardrails(config.guardrails)
    for with_pii, dense in ((False, False), (True, False), (True, True)):
        text = prompt(with_pii, dense)
        body = {"model": "chat", "messages": [{"role": "user", "content": text}]}
        times = []
        for i in range(calls + 200):
            exchange = Exchange(request_id="r", operation="chat", body=body, model="chat")
            started = time.perf_counter()
            policy = guardrails.policy_for(exchange)
            assert policy is not None
            await guardrails.screen_input(exchange, policy)
            if i >= 200:  # warm-up
                times.append((time.perf_counter() - started) * 1e6)
        label = (
            "2 KB support tickets, ~70 dates, numbers, cards, phones"
            if dense
            else ("2 KB prose with 4 PII/secrets" if with_pii else "2 KB prose, nothing to find")
        )
        print(
            f"input screen, {label}: p50 {_pct(times, 50):.0f} µs, p99 {_pct(times, 99):.0f} µs"
            f" ({len(text)} chars, {calls} calls)"
        )


async def worker(calls: int) -> None:
    """pii_ner through the scan worker: round trip vs the scan alone."""
    from gatehouse.guard.scanners.base import ScanContext
    from gatehouse.guard.scanners.registry import build
    from gatehouse.guard.scanworker import ScanWorker

    text = prompt(True)
    context = ScanContext()
    scanner = build("pii_ner")
    alone = []
    for _ in range(calls):
        started = time.perf_counter()
        scanner.scan(text, context)
        alone.append((time.perf_counter() - started) * 1e3)
    pool = ScanWorker(["pii_ner"])
    await pool.start()
    trips = []
    try:
        for _ in range(calls):
            started = time.perf_counter()
            await pool.scan(["pii_ner"], [text], [context], 5.0)
            trips.append((time.perf_counter() - started) * 1e3)
    finally:
        await pool.close()
    print(
        f"pii_ner on 2 KB: in process p50 {_pct(alone, 50):.2f} ms; through the scan worker "
        f"p50 {_pct(trips, 50):.2f} ms, p99 {_pct(trips, 99):.2f} ms ({calls} calls)"
    )


def over_http(calls: int, policy: dict[str, Any]) -> None:
    import sys
    from pathlib import Path

    import httpx

    from gatehouse.providers.simulated import MockSettings

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' harness
    from tests.conftest import APP_KEY, GatewayServer, LoopThread, MockServer, config_for

    lt = LoopThread()
    mock = MockServer(lt, MockSettings())
    plain = GatewayServer(lt, config_for(mock.url))
    cfg = config_for(mock.url)
    cfg["guardrails"] = {"policies": {"redact": policy}, "default": "redact"}
    guarded = GatewayServer(lt, cfg)
    body = {"model": "chat", "messages": [{"role": "user", "content": prompt(True)}]}
    results: dict[str, list[float]] = {"off": [], "on": []}
    with httpx.Client(headers={"Authorization": f"Bearer {APP_KEY}"}) as client:
        for _ in range(50):  # warm-up
            client.post(plain.url + "/chat/completions", json=body)
            client.post(guarded.url + "/chat/completions", json=body)
        for _ in range(calls // 100):
            for name, gw in (("off", plain), ("on", guarded)):
                for _ in range(100):
                    started = time.perf_counter()
                    r = client.post(gw.url + "/chat/completions", json=body)
                    results[name].append((time.perf_counter() - started) * 1e3)
                    assert r.status_code == 200
    for name, values in results.items():
        print(
            f"HTTP c=1, policy {name}: p50 {_pct(values, 50):.3f} ms, "
            f"p99 {_pct(values, 99):.3f} ms ({len(values)} calls)"
        )
    added = _pct(results["on"], 50) - _pct(results["off"], 50)
    print(f"added by the guardrail at p50: {added:.3f} ms")
    guarded.close()
    plain.close()
    mock.close()
    lt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--http", type=int, default=0, help="calls per side over HTTP")
    parser.add_argument("--worker", type=int, default=0, help="pii_ner calls via the worker")
    parser.add_argument(
        "--policy", choices=["pii", "threats"], default="pii", help="the policy --http measures"
    )
    args = parser.parse_args()
    asyncio.run(in_process(args.calls))
    if args.worker:
        asyncio.run(worker(args.worker))
    if args.http:
        over_http(args.http, THREATS if args.policy == "threats" else POLICY)


if __name__ == "__main__":
    main()
