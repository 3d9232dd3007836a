"""Optional active health checks: a cheap periodic probe per deployment.

A failed probe counts against the deployment's breaker like a failed call; while a
breaker is half-open a probe can be the call that closes it, so a recovered upstream
gets traffic back without a client paying for the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gatehouse.config.routing import HealthCheckConfig
from gatehouse.errors import GatehouseError
from gatehouse.routing.breaker import BreakerState
from gatehouse.routing.table import Deployment, ModelRoute

log = logging.getLogger("gatehouse.routing")


class HealthChecks:
    def __init__(self, routes: dict[str, ModelRoute], config: HealthCheckConfig) -> None:
        self.config = config
        self.deployments = [d for r in routes.values() for d in r.deployments]
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.config.interval_s > 0 and self.deployments and self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.interval_s)
            results = await asyncio.gather(
                *(self.check(d) for d in self.deployments), return_exceptions=True
            )
            for dep, result in zip(self.deployments, results, strict=True):
                if isinstance(result, Exception):
                    log.error("health check of %s crashed: %r", dep.name, result)

    async def check(self, dep: Deployment) -> bool:
        """Probe one deployment and tell its breaker; True when it answered well.

        A good probe only closes a half-open breaker: a deployment whose model list
        answers while its completions fail must not have those failures forgiven.
        """
        breaker = dep.breaker
        probing = breaker is not None and breaker.state == BreakerState.HALF_OPEN
        if breaker is not None and not breaker.allow():
            return False  # open and cooling down, or its probe slot is taken
        verdict = False
        try:
            await dep.provider.probe(self.config.timeout_s)
            verdict = True
        except GatehouseError as err:
            log.info("health check of %s failed: %s", dep.name, err.message)
            if breaker is not None:
                breaker.record_failure(f"health check: {err.code or err.error_type}")
                breaker = None  # verdict given
            return False
        finally:
            if breaker is not None:
                if verdict and probing:
                    breaker.record_success()
                else:
                    breaker.release()
        return True
