"""Speed of the numpy sentence encoder (all-MiniLM-L6-v2), as the scan worker uses it.

    .venv/bin/python bench/encoder.py [--model DIR] [--runs 20] [--blas-threads 1]

Measures the time to load the model, the latency of embedding one text per call (p50
and p99 over ``--runs`` calls, each on a text the encoder has not seen, so its cache
never answers) for a 200-character, a 2 KB and an 8 KB text, the tokenizer's share of
a 2 KB call, and the throughput of one call with 64 short texts. With few runs, p99 is
close to the slowest call.

``--blas-threads N`` caps numpy's BLAS threads first (``limit_blas_threads``), as a
scan worker on a shared machine should; without it BLAS picks its own count.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from gatehouse.guard.ml.encoder import Encoder, limit_blas_threads

PROSE = (
    "Thanks for the quick answer. Before we send the plan to the rest of the team I would "
    "like to change a few things. The introduction is too long: a reader should know in "
    "two sentences what the report covers and why it matters. The section on costs mixes "
    "last quarter's figures with the forecast; please split it into one table for what we "
    "spent and one for what we expect to spend. Add a short paragraph on the risks, with "
    "one line on how we intend to handle each. The pilot took 3 weeks and saved 12% of the "
    "support time, which is worth stating plainly near the top. "
)


def text_of(length: int, serial: int) -> str:
    """``length`` characters of prose that no other call has used (the number differs)."""
    body = f"Note {serial}. " + PROSE * (length // len(PROSE) + 1)
    return body[:length]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the package)")
    parser.add_argument("--runs", type=int, default=20, help="calls per text size")
    parser.add_argument("--blas-threads", type=int, default=None)
    args = parser.parse_args()

    if args.blas_threads is not None and not limit_blas_threads(args.blas_threads):
        print("could not find numpy's OpenBLAS: --blas-threads had no effect")
    cold = timed(lambda: Encoder.load(args.model))
    warm = min(timed(lambda: Encoder.load(args.model)) for _ in range(3))
    encoder = Encoder.load(args.model, cache_size=0)
    encoder.embed([text_of(2048, -1)])  # first call: page in the weights, fill caches

    print(f"# numpy sentence encoder: {encoder.name}, {encoder.dim} dims, window {encoder.window}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, "
        f"blas threads {args.blas_threads or 'default'}, runs {args.runs}"
    )
    print()
    print(f"model load: {cold * 1e3:.0f} ms first, {warm * 1e3:.0f} ms warm (best of 3)")
    tokenize = [
        timed(partial(encoder.tokenizer.encode, text_of(2048, 10_000 + i)))
        for i in range(args.runs)
    ]
    print(f"tokenizer, 2 KB: p50 {statistics.median(tokenize) * 1e3:.2f} ms")
    print()
    print("| text      | tokens | windows | p50 ms | p99 ms |")
    print("| --------- | -----: | ------: | -----: | -----: |")
    serial = 0
    for label, length in [("200 chars", 200), ("2 KB", 2048), ("8 KB", 8192)]:
        samples = []
        for _ in range(args.runs):
            serial += 1
            text = text_of(length, serial)  # tokenised inside the timing, as in the worker
            samples.append(timed(partial(encoder.embed, [text])))
        tokens = len(encoder.tokenizer.encode(text_of(length, 0)))
        windows = len(encoder.windows(text_of(length, 0)))
        print(
            f"| {label:<9} | {tokens:>6} | {windows:>7} | "
            f"{statistics.median(samples) * 1e3:>6.1f} | {percentile(samples, 0.99) * 1e3:>6.1f} |"
        )
    batches = []
    for round_ in range(3):
        texts = [text_of(200, 100_000 + 64 * round_ + i) for i in range(64)]
        batches.append(timed(partial(encoder.embed, texts)))
    best = min(batches)
    print()
    print(f"batch of 64 x 200 chars: {best * 1e3:.0f} ms, {64 / best:.0f} texts/s (best of 3)")


if __name__ == "__main__":
    main()
