"""How fast the store's batch writer inserts records, and what each costs in CPU.

    .venv/bin/python bench/writer.py --url sqlite:///bench/out/writer.db --records 50000
    .venv/bin/python bench/writer.py --url postgresql://postgres@127.0.0.1:5432/test

Records look like the gateway's: one attempt, no metadata (``--metadata N`` adds
pairs), no body, time-ordered ids. The target is migrated first; records are written
in batches of 1 to ``--batch`` records (random sizes, like the recorder's flushes;
``--fixed`` for exactly ``--batch``). Reported: records/s (wall) and CPU-seconds per
1,000 records of this process (``time.process_time``: the writer thread's share of the
CPU in production). With ``--fresh`` (the default) a PostgreSQL target gets a scratch
schema, dropped after.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid

import sqlalchemy as sa

from gatehouse.store import BatchWriter, Database, RequestRecord

RANDOM_IDS = False


def make_record(i: int, now: float, metadata: int = 0) -> RequestRecord:
    # As the gateway makes them: calls arrive in time order, ids and trace ids lead
    # with the time (gatehouse.ids). --random-ids shows what random ids would cost.
    received = now - 3600 + i * 0.01
    rid = (
        uuid.uuid4().hex
        if RANDOM_IDS
        else f"{int(received * 1000):012x}{random.getrandbits(80):020x}"
    )
    latency = random.uniform(50, 3000)
    return {
        "id": rid,
        "client_request_id": None,
        "trace_id": uuid.uuid4().hex if RANDOM_IDS else rid[:12] + uuid.uuid4().hex[:20],
        "span_id": rid[:16],
        "parent_span_id": None,
        "session_id": f"s{i % 100}",
        "subject_id": f"user-{i % 1000}",
        "key_id": f"key-{i % 20}",
        "team_id": f"team-{i % 5}",
        "operation": "chat",
        "model": "chat",
        "served_model": "chat",
        "deployment": f"dep-{i % 3}",
        "provider": "local",
        "upstream_model": "mock-model",
        "stream": i % 2 == 0,
        "status": 200 if i % 50 else 502,
        "error_type": None,
        "error_code": None,
        "error_message": None,
        "received_at": received,
        "first_token_at": received + 0.1,
        "done_at": received + latency / 1000,
        "latency_ms": latency,
        "ttft_ms": 100.0,
        "itl_ms": 12.5,
        "output_tokens_per_s": 80.0,
        "input_tokens": 512,
        "output_tokens": 128,
        "cached_tokens": 0,
        "reasoning_tokens": None,
        "usage_estimated": False,
        "cost_usd": 0.00042,
        "cache_hit": False,
        "finish_reason": "stop",
        "guard": None,
        "attempts": [
            {
                "idx": 0,
                "span_id": rid[16:],
                "model": "chat",
                "deployment": f"dep-{i % 3}",
                "provider": "local",
                "upstream_model": "mock-model",
                "hedge": False,
                "started_at": received + 0.001,
                "ended_at": received + latency / 1000,
                "duration_ms": latency - 1,
                "outcome": "ok",
                "status": None,
                "error_type": None,
                "error_code": None,
                "input_tokens": 512,
                "output_tokens": 128,
                "cached_tokens": 0,
                "reasoning_tokens": None,
                "usage_estimated": False,
                "cost_usd": 0.00042,
            }
        ],
        "metadata": {f"k{j}": f"v{i % 7}" for j in range(metadata)},
        "body": None,
    }


def scratch_schema(url: str) -> tuple[str, str]:
    schema = "bench_" + uuid.uuid4().hex[:8]
    engine = sa.create_engine(Database(url).url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(Database(url).url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="sqlite:///PATH or postgresql://…")
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--no-fresh", dest="fresh", action="store_false")
    parser.add_argument("--metadata", type=int, default=0, help="metadata pairs per record")
    parser.add_argument("--fixed", action="store_true", help="every batch exactly --batch")
    parser.add_argument("--random-ids", action="store_true", help="uuid4 ids, random times")
    args = parser.parse_args()
    global RANDOM_IDS
    RANDOM_IDS = args.random_ids

    url, schema = args.url, None
    if args.fresh and url.startswith("postgresql"):
        url, schema = scratch_schema(args.url)
    elif args.fresh and url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            path = url.removeprefix("sqlite:///") + suffix
            if os.path.exists(path):
                os.remove(path)
    db = Database(url)
    try:
        db.upgrade()
        now = time.time()
        # The recorder's batches vary in size (whatever arrived within a flush
        # interval); --batch is the largest, sizes are drawn between 1 and it.
        records = [make_record(i, now, args.metadata) for i in range(args.records)]
        batches, start = [], 0
        sizes = random.Random(7)
        while start < args.records:
            n = args.batch if args.fixed else sizes.randint(1, args.batch)
            batches.append(records[start : start + n])
            start += n
        with tempfile.TemporaryDirectory() as tmp:
            writer = BatchWriter(db, os.path.join(tmp, "spool.jsonl"))
            writer.write(batches[0][:1])  # connect and warm up outside the timing
            wall, cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                writer.write(batch)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            counters = writer.counters()
        n = counters["written"] - 1
        print(f"target      {db.display_url} ({db.dialect})")
        print(f"records     {n} in batches of {args.batch} (1 attempt, 2 metadata, no body)")
        print(f"records/s   {n / wall:,.0f}")
        print(f"cpu ms/1k   {cpu / n * 1e6:.1f}  (process CPU per 1,000 records)")
        print(f"counters    {counters}")
    finally:
        db.close()
        if schema is not None:
            drop_schema(args.url, schema)


if __name__ == "__main__":
    main()
