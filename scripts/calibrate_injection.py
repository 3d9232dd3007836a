"""Fit the logistic weights of the ``injection`` scanner (``WEIGHTS`` in
``src/gatehouse/guard/scanners/injection.py``) on the injection corpus.

The corpus is ``data/guard/injection_corpus.jsonl``: one ``{"text", "label", "group",
"source"}`` a line (see ``data/guard/SOURCES.md``). Every text is scanned once and the
model P(attack | features) is fitted on all of them; a text in which the grammar finds
nothing has only the bias, which so stands for "no evidence" (and such a text gets no
finding at all, whatever the weights). The fit is an L2-regularised logistic
regression pulled towards hand-set weights (:data:`PRIOR`; a feature the corpus barely
shows keeps its hand-set value), with each row weighted 1/sqrt(size of its group) so that one
template filled in fifty ways does not outvote fifty distinct prompts. Category weights
are kept positive: more evidence of an attack never lowers the score.

Grouped k-fold cross-validation (whole groups held out) estimates how the fitted model
does on texts unlike the ones it was fitted on; then the model is fitted on everything
and printed as a ``WEIGHTS`` literal to paste into the scanner. Run::

    .venv/bin/python scripts/calibrate_injection.py [--corpus FILE] [--folds 5] [--l2 0.5]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from gatehouse.guard.scanners import injection
from gatehouse.guard.scanners.obfuscation import normalise

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["bias", *(k for k in injection.WEIGHTS if k != "bias")]
#: Where the fit starts and what it is pulled towards: weights set by hand so that one
#: strong signal of a category alone scores about 0.8 and one weak signal under 0.5.
PRIOR: dict[str, float] = {
    "bias": -3.6,
    injection.OVERRIDE: 7.0,
    injection.ROLEPLAY: 6.5,
    injection.FAKE_TURN: 4.0,
    injection.HIDDEN: 5.5,
    injection.ENCODED: 7.0,
    injection.EXTRACTION: 6.5,
    injection.INDIRECT: 4.5,
    "model_named": 0.6,
    "persona": 0.5,
    "breadth": 1.0,
    "discussion": -1.5,
    "code": -1.0,
}
#: Features whose weight must stay at or above this (evidence of an attack).
POSITIVE = {*injection.CATEGORIES, "breadth"}
MIN_POSITIVE = 0.5


@dataclass(frozen=True, slots=True)
class Row:
    label: int
    group: str
    features: list[float]  # all but the bias 0 when the grammar found nothing
    silent: bool  # the grammar found nothing: never a finding, whatever the weights
    weight: float


def load(path: Path) -> list[Row]:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    sizes = Counter((r["group"], r["label"]) for r in records)
    rows = []
    for r in records:
        norm = normalise(r["text"])
        found = injection.signals(norm)
        features = [1.0] + [0.0] * (len(NAMES) - 1)
        if found:
            values = injection.features_of(found, norm.text)
            features = [1.0, *(values[name] for name in NAMES[1:])]
        weight = sizes[r["group"], r["label"]] ** -0.5
        rows.append(Row(int(r["label"]), r["group"], features, not found, weight))
    return rows


def fit(rows: list[Row], prior: list[float], l2: float, steps: int = 50) -> list[float]:
    """Newton's method on the weighted, prior-penalised log-likelihood."""
    w = list(prior)
    n = len(w)
    for _ in range(steps):
        grad = [l2 * (w[i] - prior[i]) if i else 0.0 for i in range(n)]
        hess = [[(l2 if i == j and i else 0.0) for j in range(n)] for i in range(n)]
        for r in rows:
            x = r.features
            p = _sigmoid(sum(a * b for a, b in zip(w, x, strict=True)))
            for i in range(n):
                grad[i] += r.weight * (p - r.label) * x[i]
                for j in range(n):
                    hess[i][j] += r.weight * p * (1 - p) * x[i] * x[j]
        for i in range(n):
            hess[i][i] += 1e-6
        step = _solve(hess, grad)
        w = [a - b for a, b in zip(w, step, strict=True)]
        w = [max(v, MIN_POSITIVE) if NAMES[i] in POSITIVE else v for i, v in enumerate(w)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return w


def scores(rows: list[Row], w: list[float], threshold: float = 0.5) -> dict[str, float]:
    tp = fp = tn = fn = 0
    for r in rows:
        positive = (
            not r.silent
            and _sigmoid(sum(a * b for a, b in zip(w, r.features, strict=True))) >= threshold
        )
        if r.label:
            tp, fn = tp + positive, fn + (not positive)
        else:
            fp, tn = fp + positive, tn + (not positive)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fp / max(1, fp + tn)}


def cross_validate(rows: list[Row], prior: list[float], l2: float, folds: int) -> None:
    groups = sorted({r.group for r in rows})
    random.Random(7).shuffle(groups)
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    totals: Counter[str] = Counter()
    for k in range(folds):
        train = [r for r in rows if fold_of[r.group] != k]
        test = [r for r in rows if fold_of[r.group] == k]
        w = fit(train, prior, l2)
        result = scores(test, w)
        totals.update(result)
        print(f"fold {k}: " + "  ".join(f"{key} {v:.3f}" for key, v in result.items()))
    print("mean:   " + "  ".join(f"{key} {v / folds:.3f}" for key, v in totals.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data/guard/injection_corpus.jsonl")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, default=1.0, help="pull towards PRIOR")
    args = parser.parse_args()
    rows = load(args.corpus)
    silent = Counter(r.label for r in rows if r.silent)
    print(
        f"{len(rows)} texts, {sum(r.label for r in rows)} attacks; nothing found in "
        f"{silent[1]} attacks and {silent[0]} benign texts"
    )
    current = [injection.WEIGHTS[name] for name in NAMES]
    print("current weights: " + "  ".join(f"{k} {v:.3f}" for k, v in scores(rows, current).items()))
    prior = [PRIOR[name] for name in NAMES]
    cross_validate(rows, prior, args.l2, args.folds)
    w = fit(rows, prior, args.l2)
    print("fitted on all:   " + "  ".join(f"{k} {v:.3f}" for k, v in scores(rows, w).items()))
    print("WEIGHTS: dict[str, float] = {")
    for name, value in zip(NAMES, w, strict=True):
        key = f'"{name}"' if name not in injection.CATEGORIES else _constant(name)
        print(f"    {key}: {value:.2f},")
    print("}")
    return 0


def _constant(category: str) -> str:
    return {v: k for k, v in vars(injection).items() if isinstance(v, str) and v == category
            and k.isupper() and k != "name"}.get(category, f'"{category}"')  # fmt: skip


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the systems here are 14 x 14)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


if __name__ == "__main__":
    sys.exit(main())
