"""Running the gateway: one worker's server, and the process-level entry point.

Shutdown is graceful: on SIGTERM or SIGINT a worker reports not-ready, stops
accepting, lets in-flight requests and streams finish within
``server.shutdown_grace_s``, cancels what is left, then closes its upstream pools.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import tempfile
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_request import BaseRequest

from gatehouse import __version__, logs
from gatehouse.api.app import build_app
from gatehouse.api.errors import SERVER
from gatehouse.api.streams import LIVE_STREAMS
from gatehouse.config import Config
from gatehouse.config.schema import reference_errors
from gatehouse.guard.limiter import LimiterUnsupported
from gatehouse.pipeline import Gateway
from gatehouse.supervisor import port_is_free, run_async, run_workers
from gatehouse.telemetry.hub import StoreNotReady
from gatehouse.telemetry.metrics import METRICS_DIR_ENV

log = logging.getLogger("gatehouse.server")


class _MalformedRequests(logging.Filter):
    """aiohttp logs a request it can't parse at ERROR with the raw line that failed, an
    ``Authorization`` header's secret included: keep only the kind of error. A body that
    can't be read (bad gzip) was answered with a 400 already; aiohttp's traceback of it,
    as it drains the rest after the answer, is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, RequestPayloadError):
            return False
        if isinstance(exc, HttpProcessingError):
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "refused a malformed HTTP request from %s (%s, status %s)"
            record.args = (peer, type(exc).__name__, exc.code)
            record.exc_info = record.exc_text = None
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_MALFORMED = _MalformedRequests()


class _Handler(RequestHandler):
    """aiohttp's connection handler, but a request its parser refuses is answered in the
    gateway's error shape, without the line that failed (aiohttp's own 400 echoes it:
    an Authorization header's secret, into the client's exception messages)."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError) or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        if isinstance(exc, BadHttpMethod):
            # Not HTTP at all (TLS to a plain port, a scanner): noise, as aiohttp has it.
            self.logger.debug("Error handling request from %s", request.remote, exc_info=exc)
        else:
            self.log_exception("Error handling request from %s", request.remote, exc_info=exc)
        error = {
            "message": f"malformed HTTP request: {type(exc).__name__} (a header line with a "
            "control character, or longer than 8190 bytes, or a bad request line)",
            "type": "invalid_request_error",
            "param": None,
            "code": "malformed_request",
        }
        response = web.Response(
            status=status,
            body=orjson.dumps({"error": error}),
            content_type="application/json",
            headers={"server": SERVER},
        )
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Handler(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # the same server, handing out our handler
        return server


class Server:
    """One worker: the gateway and its HTTP listener."""

    def __init__(self, config: Config, *, reuse_port: bool = False, admin_key: str | None = None):
        self.config = config
        self.gateway = Gateway(config, admin_key)
        self._reuse_port = reuse_port
        self._runner: _Runner | None = None
        self.port: int = config.server.port

    async def start(self) -> None:
        logging.getLogger("aiohttp.server").addFilter(_MALFORMED)  # once: the same object
        await self.gateway.start()
        app = build_app(self.gateway)
        access_log: Any = (
            logging.getLogger("aiohttp.access") if self.config.logging.access_log else None
        )
        self._runner = _Runner(
            app,
            access_log=access_log,
            handler_cancellation=True,  # a client that goes away cancels its upstream call
            shutdown_timeout=self.config.server.shutdown_grace_s,
        )
        await self._runner.setup()
        server = self.config.server
        site = web.TCPSite(
            self._runner, server.host, server.port, reuse_port=self._reuse_port or None
        )
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        for sock in sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                self.port = sock.getsockname()[1]
                break

    async def stop(self) -> None:
        self.gateway.ready = False
        if self._runner is not None:
            # Just before the grace period ends and connections are closed, end the
            # streams still running with an error event while they can still get it.
            live = self._runner.app[LIVE_STREAMS]
            grace = self.config.server.shutdown_grace_s
            cut = asyncio.get_running_loop().call_later(max(0.0, grace - 0.2), live.cut_all)
            try:
                await self._runner.cleanup()
            finally:
                cut.cancel()
            self._runner = None
        await self.gateway.close()


def with_overrides(
    config: Config, *, host: str | None = None, port: int | None = None, workers: int | None = None
) -> Config:
    """The config with command-line flags applied over ``server``."""
    update = {
        k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None
    }
    if not update:
        return config
    server = type(config.server).model_validate({**config.server.model_dump(), **update})
    return config.model_copy(update={"server": server})


def serve_forever(config: Config) -> int:
    """Serve until SIGTERM/SIGINT, in ``server.workers`` processes; return the exit code."""
    logs.configure(config.logging.level, config.logging.format)
    workers = config.server.workers
    host, port = config.server.host, config.server.port
    # Again: --host/--port/--workers may have changed what the file's checks passed.
    problems = reference_errors(config)
    for loc, reason in problems:
        log.error("invalid configuration: %s: %s", ".".join(str(p) for p in loc), reason)
    if problems:
        return 2
    unshared = unshared_limits(config)
    if unshared is not None:
        if config.limits.unshared == "refuse":
            log.error("%s; refusing to start (limits.unshared is refuse)", unshared)
            return 2
        log.warning("!" * 78)
        log.warning("%s", unshared)
        log.warning("!" * 78)
    if workers > 1:
        if not port_is_free(host, port):
            log.error("cannot listen on %s:%d: address already in use", host, port)
            return 1
        log.info("starting %d workers on %s:%d", workers, host, port)
    if workers == 1:
        return run_workers(_worker_main, (config, False), 1, config.server.shutdown_grace_s)
    # Each worker writes its metrics there; a scrape of any worker merges them all. A
    # fresh directory per run: totals of an earlier run must not be added in.
    with tempfile.TemporaryDirectory(prefix="gatehouse-metrics-") as metrics_dir:
        os.environ[METRICS_DIR_ENV] = metrics_dir
        try:
            return run_workers(
                _worker_main, (config, True), workers, config.server.shutdown_grace_s
            )
        finally:
            os.environ.pop(METRICS_DIR_ENV, None)


def unshared_limits(config: Config) -> str | None:
    """Why rate limits would multiply (several processes, no Redis), or None."""
    if config.redis.url is not None:
        return None
    workers = config.server.workers
    if workers > 1:
        where = f"{workers} workers"
    elif config.store.url.startswith("postgresql"):
        where = "a PostgreSQL store (so, likely, several replicas)"
    else:
        return None
    return (
        f"rate limits, concurrency limits and budget reservations are PER PROCESS: with "
        f"{where} and no redis.url, every limit is multiplied by the number of processes. "
        "Set redis.url to share them"
    )


def _worker_main(config: Config, reuse_port: bool) -> None:
    logs.configure(config.logging.level, config.logging.format)
    run_async(_serve_until_signalled(config, reuse_port))


async def _serve_until_signalled(config: Config, reuse_port: bool) -> None:
    server = Server(config, reuse_port=reuse_port)
    try:
        await server.start()
    except (StoreNotReady, LimiterUnsupported) as exc:
        log.error("%s", exc)
        await server.gateway.close()
        raise SystemExit(1) from None
    except OSError as exc:
        log.error(
            "cannot listen on %s:%d: %s", config.server.host, config.server.port, exc.strerror
        )
        await server.gateway.close()
        raise SystemExit(1) from None
    # Everything loaded so far (config, libraries, the app) lives as long as the process:
    # keep the garbage collector from scanning it again on every full collection.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    deployments = sum(len(r.deployments) for r in server.gateway.routes.values())
    log.info(
        "gatehouse %s serving http://%s:%d/v1 (%d model(s), %d deployment(s))",
        __version__,
        config.server.host,
        server.port,
        len(server.gateway.routes),
        deployments,
    )
    await stop.wait()
    log.info(
        "shutting down: draining in-flight requests (up to %gs)", config.server.shutdown_grace_s
    )
    await server.stop()
    log.info("stopped")
