"""Under load, every response gets exactly one record and none is dropped.

    .venv/bin/python bench/recording.py                 # SQLite, 2 workers, 20 s at c=64
    .venv/bin/python bench/recording.py --store-url postgresql://postgres@127.0.0.1:5432/test

Starts the mock upstream and ``gatehouse serve`` (bench/bench.yaml, recording on),
drives it with wrk, scrapes /metrics, stops the gateway with SIGTERM (which flushes
the recorder), then counts the request log's rows. A response wrk saw has a record;
calls wrk cut off when its time ran out are recorded too (status 499), so records may
exceed wrk's count by at most the connections open at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import sqlalchemy as sa

import wrk
from gatehouse.store import Database
from launch import gateway_key, start_upstream
from procs import Servers, free_port

BENCH = Path(__file__).resolve().parent
BODY = {"model": "chat", "messages": [{"role": "user", "content": "x" * 1000}]}


def scrape(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store-url", help="default: a SQLite file in a temp dir")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--upstream-workers", type=int, default=2)
    p.add_argument("--stream-tokens", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--duration", type=int, default=20)
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="gatehouse-rec-") as tmp, Servers(Path(tmp)) as servers:
        state = Path(tmp)
        store_url, schema = args.store_url or f"sqlite:///{state}/gatehouse-bench.db", None
        if store_url.startswith("postgresql"):
            schema = "bench_" + uuid.uuid4().hex[:8]
            engine = sa.create_engine(Database(store_url).url)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            engine.dispose()
            store_url += ("&" if "?" in store_url else "?") + f"options=-csearch_path%3D{schema}"
        config = state / "gatehouse.yaml"
        config.write_text(
            (BENCH / "bench.yaml")
            .read_text()
            .replace(
                '"sqlite:///${BENCH_STATE_DIR:-/tmp}/gatehouse-bench.db"', json.dumps(store_url)
            )
        )
        upstream = start_upstream(servers, args)
        port = free_port()
        argv = [sys.executable, "-m", "gatehouse", "serve", "--config", str(config)]
        argv += ["--port", str(port), "--workers", str(args.workers)]
        env = {"BENCH_UPSTREAM_PORT": str(upstream.port), "BENCH_STATE_DIR": str(state)}
        gateway = servers.start(
            "gatehouse", argv, port, workers=args.workers, ready_path="/readyz", env=env
        )
        auth = {"Authorization": f"Bearer {gateway_key(state, config)}"}
        script = wrk.write_script(state / "post.lua", [json.dumps(BODY).encode()], auth)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        result = wrk.run(url, script, connections=args.concurrency, duration_s=args.duration)
        time.sleep(2)  # other workers' metrics snapshots are up to a second old
        calls = scrape(port, "gatehouse_requests_total")
        dropped = scrape(port, "gatehouse_recorder_dropped_total")
        servers.stop(gateway, grace_s=30)
        db = Database(store_url)
        with db.engine.connect() as conn:
            rows = dict(
                conn.execute(sa.text("SELECT status, count(*) FROM requests GROUP BY status")).all()
            )
            dupes = conn.execute(
                sa.text("SELECT count(*) - count(DISTINCT id) FROM requests")
            ).scalar()
        db.close()
        if schema:
            engine = sa.create_engine(Database(args.store_url).url)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            engine.dispose()
    records = sum(rows.values())
    print(f"store       {args.store_url or 'sqlite (temp file)'}, {args.workers} worker(s)")
    print(
        f"wrk         {result.requests:,} responses in {result.duration_s:.1f}s "
        f"({result.rps:,.0f}/s, c={args.concurrency}), {result.errors} errors"
    )
    print(f"metrics     {calls:,.0f} calls counted, {dropped:,.0f} records dropped")
    print(
        f"records     {records:,} ({', '.join(f'{k}: {v:,}' for k, v in sorted(rows.items()))}), "
        f"{dupes} duplicate ids"
    )
    ok = (
        dropped == 0
        and dupes == 0
        and rows.get(200, 0) >= result.ok
        and 0 <= records - result.requests <= args.concurrency
    )
    print("verdict     " + ("PASS: one record per response, none dropped" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
