"""The route table: public model names compiled to their deployments at start-up."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from gatehouse.config import Config
from gatehouse.providers import Provider


@dataclass(frozen=True, slots=True)
class Deployment:
    """One place a public model is served: a provider and its own model name."""

    name: str  # "provider/upstream-model", unique within its public model
    provider: Provider
    model: str
    weight: float
    defaults: dict[str, Any] = field(default_factory=dict)


class ModelRoute:
    """A public model and the deployments that serve it."""

    def __init__(self, name: str, deployments: list[Deployment]) -> None:
        if not deployments:
            raise ValueError(f"model {name!r} has no deployments")
        self.name = name
        self.deployments = deployments
        self._cumulative = list(itertools.accumulate(d.weight for d in deployments))
        self._random = random.random

    def choose(self) -> Deployment:
        """A weighted random choice among the deployments."""
        if len(self.deployments) == 1:
            return self.deployments[0]
        point = self._random() * self._cumulative[-1]
        return self.deployments[bisect.bisect_right(self._cumulative, point)]


def build_routes(config: Config, providers: dict[str, Provider]) -> dict[str, ModelRoute]:
    routes: dict[str, ModelRoute] = {}
    for model_name, model in config.models.items():
        deployments: list[Deployment] = []
        seen: dict[str, int] = {}
        for dep in model.deployments:
            base = f"{dep.provider}/{dep.model}"
            seen[base] = seen.get(base, 0) + 1
            name = base if seen[base] == 1 else f"{base}#{seen[base]}"
            deployments.append(
                Deployment(name, providers[dep.provider], dep.model, dep.weight, dict(dep.defaults))
            )
        routes[model_name] = ModelRoute(model_name, deployments)
    return routes
