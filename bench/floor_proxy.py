"""The floor: the cheapest pass-through proxy on Gatehouse's stack (aiohttp, uvloop, orjson).

It does only what any Python gateway must do for a chat call: read the body, parse it,
rename the model, serialise it, forward it on a pooled connection and relay the answer
(chunk by chunk when streaming). No validation, no error handling. What it costs is the
lower bound that Gatehouse's overhead is judged against.

    python bench/floor_proxy.py --port 8090 --upstream http://127.0.0.1:9001/v1 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
from collections.abc import AsyncIterator

import aiohttp
import orjson
import uvloop
from aiohttp import web

MODELS = {"chat": "mock-model"}
SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)


async def chat(request: web.Request) -> web.StreamResponse:
    body = orjson.loads(await request.read())
    body["model"] = MODELS.get(body["model"], body["model"])
    headers = {"Content-Type": "application/json"}
    url = request.app[UPSTREAM] + "/chat/completions"
    async with request.app[SESSION].post(url, data=orjson.dumps(body), headers=headers) as upstream:
        if not body.get("stream"):
            payload = await upstream.read()
            return web.Response(
                body=payload, status=upstream.status, content_type="application/json"
            )
        response = web.StreamResponse(status=upstream.status)
        response.content_type = "text/event-stream"
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def client_session(app: web.Application) -> AsyncIterator[None]:
    app[SESSION] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
    yield
    await app[SESSION].close()


def serve(port: int, upstream: str, reuse_port: bool) -> None:
    app = web.Application()
    app[UPSTREAM] = upstream.rstrip("/")
    app.cleanup_ctx.append(client_session)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/healthz", healthz)
    loop = uvloop.new_event_loop()
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        reuse_port=reuse_port,
        access_log=None,
        print=None,
        loop=loop,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", default="http://127.0.0.1:9001/v1")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers <= 1:
        serve(args.port, args.upstream, reuse_port=False)
        return
    ctx = multiprocessing.get_context("fork")
    argv = (args.port, args.upstream, True)
    procs = [ctx.Process(target=serve, args=argv) for _ in range(args.workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()


if __name__ == "__main__":
    main()
