"""Quality, speed and memory of the ``pii_ner`` scanner on a labelled PII set.

    .venv/bin/python bench/pii_ner_quality.py [--data PATH] [--half even|odd]

Per type: precision (predictions overlapping a gold span of the same type / predictions),
recall (gold spans overlapped by a same-type prediction / gold spans), F1, character
recall, and the share of gold spans fully covered. The set's GPE counts as LOCATION.
``--half`` scores only even or odd rows, for a held-out check of any tuning.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import psutil

DEFAULT_DATA = "/work/shared/eval/pii/synth_dataset_v2.json"
TYPES = ("PERSON", "ORGANIZATION", "LOCATION", "STREET_ADDRESS", "NRP", "TITLE")
ALIASES = {"GPE": "LOCATION"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--half", choices=("even", "odd"))
    args = ap.parse_args()

    with open(args.data, encoding="utf-8") as fh:
        rows = json.load(fh)
    if args.half:
        rows = rows[args.half == "odd" :: 2]
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    t0 = time.perf_counter()
    from gatehouse.guard.scanners.names import NamePii

    scanner = NamePii()
    load_s = time.perf_counter() - t0
    rss_mb = (proc.memory_info().rss - rss0) / 1e6

    pred_n: dict[str, int] = defaultdict(int)
    pred_hit: dict[str, int] = defaultdict(int)
    gold_n: dict[str, int] = defaultdict(int)
    gold_hit: dict[str, int] = defaultdict(int)
    gold_full: dict[str, int] = defaultdict(int)
    chars: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    scan_s = 0.0
    total_chars = 0
    for row in rows:
        text = row["full_text"]
        t = time.perf_counter()
        found = scanner.scan(text)
        scan_s += time.perf_counter() - t
        total_chars += len(text)
        gold = [
            (
                ALIASES.get(s["entity_type"], s["entity_type"]),
                s["start_position"],
                s["end_position"],
            )
            for s in row["spans"]
        ]
        gold = [g for g in gold if g[0] in TYPES]
        for f in found:
            pred_n[f.type] += 1
            if any(g[0] == f.type and f.start < g[2] and g[1] < f.end for g in gold):
                pred_hit[f.type] += 1
        for kind, a, b in gold:
            same = [f for f in found if f.type == kind]
            gold_n[kind] += 1
            if any(f.start < b and a < f.end for f in same):
                gold_hit[kind] += 1
            covered = {i for f in same for i in range(max(a, f.start), min(b, f.end))}
            chars[kind][0] += len(covered)
            chars[kind][1] += b - a
            if len(covered) == b - a:
                gold_full[kind] += 1

    print(f"rows {len(rows)}  load {load_s:.2f}s  loaded RSS +{rss_mb:.0f} MB")
    print(
        f"scan {scan_s * 1e3 / len(rows):.3f} ms/row, "
        f"{scan_s * 1e3 / (total_chars / 2048):.3f} ms per 2 KB, "
        f"{total_chars / scan_s / 1e6:.2f} MB/s"
    )
    head = f"{'type':16}{'gold':>6}{'pred':>6}{'P':>7}{'R':>7}{'F1':>7}{'charR':>7}{'full':>7}"
    print(head)
    tot = [0, 0, 0, 0]
    for kind in TYPES:
        p = pred_hit[kind] / pred_n[kind] if pred_n[kind] else 0.0
        r = gold_hit[kind] / gold_n[kind] if gold_n[kind] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        cr = chars[kind][0] / chars[kind][1] if chars[kind][1] else 0.0
        full = gold_full[kind] / gold_n[kind] if gold_n[kind] else 0.0
        print(
            f"{kind:16}{gold_n[kind]:6}{pred_n[kind]:6}{p:7.3f}{r:7.3f}{f1:7.3f}{cr:7.3f}{full:7.3f}"
        )
        tot = [
            tot[0] + pred_hit[kind],
            tot[1] + pred_n[kind],
            tot[2] + gold_hit[kind],
            tot[3] + gold_n[kind],
        ]
    p, r = tot[0] / max(tot[1], 1), tot[2] / max(tot[3], 1)
    print(f"{'overall':16}{tot[3]:6}{tot[1]:6}{p:7.3f}{r:7.3f}{2 * p * r / max(p + r, 1e-9):7.3f}")


if __name__ == "__main__":
    main()
