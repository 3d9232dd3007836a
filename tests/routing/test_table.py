"""The route table and its weighted choice."""

from __future__ import annotations

import random
from collections import Counter

from gatehouse.config import parse_config
from gatehouse.providers import build_provider
from gatehouse.routing import build_routes

CONFIG = """\
providers:
  a: {kind: openai, base_url: "http://127.0.0.1:1/v1"}
  b: {kind: openai, base_url: "http://127.0.0.1:2/v1"}
models:
  chat:
    deployments:
      - {provider: a, model: small, weight: 3}
      - {provider: b, model: small, weight: 1}
      - {provider: a, model: small, weight: 1e-9}
  solo:
    deployments:
      - {provider: b, model: big, defaults: {temperature: 0}}
"""


def routes(rng=None):
    cfg = parse_config(CONFIG, "t.yaml", {})
    providers = {name: build_provider(name, p) for name, p in cfg.providers.items()}
    return build_routes(cfg, providers, rng=rng)


def test_deployment_names_are_unique_and_readable():
    table = routes()
    assert [d.name for d in table["chat"].deployments] == ["a/small", "b/small", "a/small#2"]
    assert table["solo"].deployments[0].defaults == {"temperature": 0}
    # Timeouts are the provider's unless the deployment overrides them.
    assert table["solo"].deployments[0].timeouts.total_s == 600
    assert table["chat"].strategy.name == "weighted"
    assert table["chat"].retry.attempts == 3


def test_weighted_choice_follows_weights():
    route = routes(random.Random(1))["chat"]
    counts = Counter(route.choose().name for _ in range(20_000))
    share = counts["a/small"] / 20_000
    assert 0.72 < share < 0.78  # 3 : 1
    assert counts["a/small#2"] < 5


def test_single_deployment_is_always_chosen():
    route = routes()["solo"]
    assert {route.choose().name for _ in range(10)} == {"b/big"}
