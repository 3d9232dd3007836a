"""Train the semantic guardrail layers' heads, and say how good they are.

    .venv/bin/python scripts/train_guard_heads.py injection
    .venv/bin/python scripts/train_guard_heads.py toxicity
    # options: --dev FILE (measure on a labelled CSV too), --folds 5, --dry-run

For a corpus of ``data/guard/`` (JSON lines ``text, label, group, source``), this:

1. embeds every text with the ``ml`` extra's encoder (all-MiniLM-L6-v2), and scores it
   with the heuristic layer (``injection`` or ``toxicity``); documents (indirect
   injection) are scanned as untrusted tool results;
2. measures by grouped k-fold cross-validation, so variants of one template never sit
   on both sides of a split: per fold, a logistic head on the embeddings (Platt-
   calibrated on inner folds) and the stacking step (head score + heuristic score),
   fitted on the other folds' out-of-fold scores only;
3. fits the shipped head and stacking step on the whole corpus, and writes
   ``src/gatehouse/guard/scanners/data/<layer>_head.json`` with the cross-validated
   figures in its metadata;
4. with ``--dev``, scores a labelled development set it never trained on, per layer.

Nothing here reads the development set while fitting.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from gatehouse.guard.evaluation import LabelDataset, load_dataset
from gatehouse.guard.ml.encoder import Encoder
from gatehouse.guard.ml.head import (
    LogisticHead,
    fit_logistic,
    grouped_kfold,
    logit,
    metrics,
    stacked,
)
from gatehouse.guard.scanners.base import ScanContext
from gatehouse.guard.scanners.registry import build

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src/gatehouse/guard/scanners/data"
LAYERS = {
    "injection": ("data/guard/injection_corpus.jsonl", "injection"),
    "toxicity": ("data/guard/toxicity_corpus.jsonl", "toxicity"),
}
USER = ScanContext()
TOOL = ScanContext(role="tool", trusted=False)


def untrusted(row: dict[str, Any]) -> bool:
    """Rows that stand for retrieved content: scanned as tool results."""
    return str(row["group"]).startswith("w-doc") or row["source"] == "garak:latentinjection"


def embeddings(encoder: Encoder, texts: list[str], cache: Path) -> np.ndarray:
    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
    path = cache / f"embeddings-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.vstack([encoder.embed(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def lexical(name: str, texts: list[str], contexts: list[ScanContext]) -> np.ndarray:
    scanner = build(name)
    return np.array(
        [
            max((f.score for f in scanner.scan(t, c)), default=0.0)
            for t, c in zip(texts, contexts, strict=True)
        ]
    )


def stack_features(semantic: np.ndarray, lexical_scores: np.ndarray) -> np.ndarray:
    return np.column_stack([logit(semantic), lexical_scores])


def fit_stack(semantic: np.ndarray, lexical_scores: np.ndarray, y: np.ndarray) -> list[float]:
    weights, bias = fit_logistic(
        stack_features(semantic, lexical_scores), y.astype(float), np.ones(len(y)), 1e-3
    )
    return [float(weights[0]), float(weights[1]), bias]


def cross_validate(
    x: np.ndarray, y: np.ndarray, lex: np.ndarray, groups: list[str], folds: int
) -> dict[str, np.ndarray]:
    """Out-of-fold scores of each layer; the stack is fitted per fold on the other
    folds' out-of-fold head scores, so no score saw its own row."""
    semantic = np.empty(len(y))
    splits = grouped_kfold(groups, folds, seed=0)
    for train, test in splits:
        head = LogisticHead.fit(x[train], y[train], groups=[groups[i] for i in train])
        semantic[test] = head.predict_proba(x[test])
    combined = np.empty(len(y))
    for train, test in splits:
        stack = fit_stack(semantic[train], lex[train], y[train])
        combined[test] = stacked(semantic[test], lex[test], stack)
    return {"heuristic": lex, "semantic": semantic, "stacked": combined}


def table(title: str, y: np.ndarray, scores: dict[str, np.ndarray]) -> dict[str, Any]:
    print(f"\n{title}  (n={len(y)}, positives={int(y.sum())})")
    print("| layer | threshold | precision | recall | F1 | FPR |")
    print("|---|---:|---:|---:|---:|---:|")
    out: dict[str, Any] = {}
    for name, p in scores.items():
        for threshold in (0.5,):
            m = metrics(y, p, threshold)
            out[name] = {k: round(v, 4) for k, v in m.items()}
            print(
                f"| {name} | {threshold} | {m['precision']:.3f} | {m['recall']:.3f} "
                f"| {m['f1']:.3f} | {m['fpr']:.3f} |"
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("layer", choices=sorted(LAYERS))
    parser.add_argument("--dev", type=Path, help="a labelled CSV to measure on (never fitted)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--dry-run", action="store_true", help="measure only; write nothing")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/gatehouse-train"))
    args = parser.parse_args()

    corpus, scanner = LAYERS[args.layer]
    rows = [json.loads(line) for line in (ROOT / corpus).read_text().splitlines() if line]
    texts = [r["text"] for r in rows]
    y = np.array([int(r["label"]) for r in rows], dtype=float)
    groups = [str(r["group"]) for r in rows]
    contexts = [TOOL if untrusted(r) else USER for r in rows]
    encoder = Encoder.load()
    x = embeddings(encoder, texts, args.cache)
    lex = lexical(scanner, texts, contexts)

    cv = cross_validate(x, y, lex, groups, args.folds)
    figures = {"corpus_cv": table(f"{corpus}, grouped {args.folds}-fold CV", y, cv)}

    head = LogisticHead.fit(x, y, groups=groups)
    semantic = head.predict_proba(x)
    stack = fit_stack(cross_validate(x, y, lex, groups, args.folds)["semantic"], lex, y)

    if args.dev is not None:
        dev = load_dataset(args.dev)
        if not isinstance(dev, LabelDataset):
            raise SystemExit(f"{args.dev} is not a labelled (classifier) dataset")
        dev_texts = [d.text for d in dev.examples]
        dev_y = np.array([1.0 if d.label else 0.0 for d in dev.examples])
        dev_x = embeddings(encoder, dev_texts, args.cache)
        dev_lex = lexical(scanner, dev_texts, [USER] * len(dev_texts))
        dev_sem = head.predict_proba(dev_x)
        scores = {
            "heuristic": dev_lex,
            "semantic": dev_sem,
            "stacked": stacked(dev_sem, dev_lex, stack),
        }
        figures["dev"] = table(f"{args.dev.name}, never trained on", dev_y, scores)

    if args.dry_run:
        return 0
    saved = replace(
        head,
        model=encoder.name,
        training=f"{corpus}: {len(rows)} rows, {len(set(groups))} groups",
        metadata={
            "stack": {"semantic": stack[0], "lexical": stack[1], "bias": stack[2]},
            "lexical": scanner,
            "figures": figures,
            "fitted_semantic_range": [float(semantic.min()), float(semantic.max())],
        },
    )
    target = OUT / f"{args.layer}_head.json"
    saved.save(target)
    print(f"\nwrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
