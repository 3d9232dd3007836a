"""Precision and recall of the pattern PII scanner on a labelled set, per entity type.

    .venv/bin/python bench/pii_patterns_quality.py [--data PATH] [--threshold 0.5]
        [--show TYPE]   # print misses and false alarms of one type

A prediction is a true positive when it overlaps a gold span of the same type;
precision = true-positive predictions / predictions, recall = gold spans overlapped /
gold spans. Only the scanner's own types are scored. Also times a scan of ~2 KB of
prose (p50 over many runs), for this scanner and the secret scanner.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from gatehouse.guard.scanners.patterns import PatternPii
from gatehouse.guard.scanners.secrets import SecretScanner

DEFAULT_DATA = Path("/work/shared/eval/pii/synth_dataset_v2.json")

PROSE = (
    "Thanks for getting back to me so quickly. I have been thinking about the plan we "
    "discussed on the call and I would like to change a few things before we send it to "
    "the rest of the team. First, the introduction is too long: readers should know "
    "within two sentences what the report covers and why it matters to them. Second, the "
    "section about costs mixes last quarter's figures with the forecast, which makes the "
    "numbers hard to follow; could you split it into two tables, one for what we spent "
    "and one for what we expect to spend? Third, please add a short paragraph on the "
    "risks we see, with one line on how we intend to handle each of them. We spent 3 "
    "weeks on the pilot and saw a 12% improvement, which is worth stating plainly. "
) * 3


#: The same length of prose with a few identifiers in it, as a support ticket has.
TICKET = (
    "Hi, my name is on the account and I was charged twice on 03/14/2024 for order "
    "A-20391. You can reach me at jane.doe@example.com or call +1 415-555-0172 after "
    "5pm. The invoice from March 2, 2024 lists 2 items at $49.99 each; the second one "
    "should be refunded to the card ending 4242. I have been a customer since 2019 and "
    "this is the first time something like this has happened. "
) * 5


def score(data: Path, threshold: float, show: str | None) -> None:
    scanner = PatternPii()
    records = json.loads(data.read_text())
    gold_n: Counter[str] = Counter()
    gold_hit: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    pred_tp: Counter[str] = Counter()
    for record in records:
        text = record["full_text"]
        gold = [
            (s["entity_type"], s["start_position"], s["end_position"])
            for s in record["spans"]
            if s["entity_type"] in scanner.types
        ]
        preds = [f for f in scanner.scan(text) if f.score >= threshold]
        for kind, start, end in gold:
            gold_n[kind] += 1
            hit = any(f.type == kind and f.start < end and start < f.end for f in preds)
            gold_hit[kind] += hit
            if not hit and kind == show:
                print(f"MISS  {text[start:end]!r:30} in {text[max(0, start - 40) : end + 20]!r}")
        for f in preds:
            pred_n[f.type] += 1
            tp = any(k == f.type and f.start < e and s < f.end for k, s, e in gold)
            pred_tp[f.type] += tp
            if not tp and f.type == show:
                around = text[max(0, f.start - 40) : f.end + 20]
                print(f"FALSE {text[f.start : f.end]!r:30} {f.score} in {around!r}")
    print(f"threshold {threshold}, {len(records)} records")
    print(f"{'type':20} {'gold':>5} {'pred':>5} {'precision':>9} {'recall':>7}")
    for kind in sorted(set(gold_n) | set(pred_n)):
        precision = pred_tp[kind] / pred_n[kind] if pred_n[kind] else float("nan")
        recall = gold_hit[kind] / gold_n[kind] if gold_n[kind] else float("nan")
        print(f"{kind:20} {gold_n[kind]:5} {pred_n[kind]:5} {precision:9.3f} {recall:7.3f}")


def timing() -> None:
    for label, text in (("prose", PROSE[:2048]), ("ticket", TICKET[:2048])):
        for scanner in (PatternPii(), SecretScanner()):
            _time(label, scanner, text)


def _time(label: str, scanner: PatternPii | SecretScanner, text: str) -> None:
    runs = []
    for _ in range(3000):
        t0 = time.perf_counter()
        scanner.scan(text)
        runs.append(time.perf_counter() - t0)
    p50 = statistics.median(runs) * 1e3
    p99 = sorted(runs)[int(len(runs) * 0.99)] * 1e3
    print(f"{scanner.name:8} {label:6} {len(text)} chars: p50 {p50:.3f} ms, p99 {p99:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--show", help="print misses and false alarms of this type")
    args = parser.parse_args()
    score(args.data, args.threshold, args.show)
    timing()


if __name__ == "__main__":
    main()
