"""The classifier head on sentence vectors: logistic regression with calibrated output.

Owns fitting (Newton's method on the L2-penalised, class-weighted log loss, which is
deterministic and needs no learning rate), Platt scaling fitted on out-of-fold scores so
that a probability of 0.8 means right about 80% of the time at the training base rate,
saving and loading as JSON, and the grouped k-fold splits and metrics that measure a
head without letting variants of one template sit on both sides of a split.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FORMAT = "gatehouse.logistic-head"
VERSION = 1

Floats = npt.NDArray[np.float64]
ClassWeight = Literal["balanced"] | Mapping[int, float] | None
Folds = list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]


class HeadFormatError(ValueError):
    """A saved head that is not one, or was made for other vectors."""


@dataclass(frozen=True, eq=False)  # eq would compare numpy arrays element-wise
class LogisticHead:
    """``P(label) = sigmoid(a * (x @ weights + bias) + b)``, with (a, b) from Platt scaling."""

    weights: Floats
    bias: float
    platt_a: float = 1.0
    platt_b: float = 0.0
    threshold: float = 0.5  # the probability at or above which a scanner reports
    model: str = ""  # the encoder the vectors come from, e.g. "all-MiniLM-L6-v2"
    training: str = ""  # what the head was trained on, for whoever reads the file
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def dims(self) -> int:
        return int(self.weights.shape[0])

    @classmethod
    def fit(
        cls,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        l2: float = 1.0,
        class_weight: ClassWeight = "balanced",
        groups: Sequence[Hashable] | None = None,
        folds: int = 5,
        seed: int = 0,
        threshold: float = 0.5,
        model: str = "",
        training: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> LogisticHead:
        """Fit on all rows, and calibrate on scores each row got from a model that did
        not see its group (``folds``-fold; each row is its own group if none are given).

        ``l2`` weighs the penalty ``l2/2 * |w|^2`` against the summed (weighted) log loss,
        as 1/C does in scikit-learn; the bias is not penalised. ``class_weight`` of
        "balanced" weighs each class by n / (2 * its count), so a rare class still moves
        the boundary; calibration then brings probabilities back to the real base rate.
        """
        features, labels = _check_xy(x, y)
        weights = _sample_weights(labels, class_weight)
        splits = grouped_kfold(range(len(labels)) if groups is None else groups, folds, seed)
        scores = np.empty(len(labels))
        for number, (train, test) in enumerate(splits):
            if np.unique(labels[train]).size < 2:
                raise ValueError(f"fold {number}'s training rows are all one class")
            w, b = fit_logistic(features[train], labels[train], weights[train], l2)
            scores[test] = features[test] @ w + b
        platt_a, platt_b = fit_platt(scores, labels)
        w, b = fit_logistic(features, labels, weights, l2)
        return cls(
            weights=w,
            bias=b,
            platt_a=platt_a,
            platt_b=platt_b,
            threshold=threshold,
            model=model,
            training=training,
            metadata=dict(metadata or {}),
        )

    def decision(self, x: npt.ArrayLike) -> Floats:
        """Uncalibrated scores (logits), one per row of ``x``."""
        features = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if features.shape[1] != self.dims:
            raise ValueError(f"vectors have {features.shape[1]} dims, the head {self.dims}")
        return features @ self.weights + self.bias

    def predict_proba(self, x: npt.ArrayLike) -> Floats:
        """Calibrated probability of the positive label, one per row of ``x``."""
        return _sigmoid(self.platt_a * self.decision(x) + self.platt_b)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model,
            "dims": self.dims,
            "training": self.training,
            "threshold": self.threshold,
            "calibration": {"method": "platt", "a": self.platt_a, "b": self.platt_b},
            "bias": self.bias,
            "weights": self.weights.tolist(),
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogisticHead:
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise HeadFormatError(f"not a {FORMAT} version {VERSION} file")
        try:
            weights = np.asarray(data["weights"], dtype=np.float64)
            calibration = data["calibration"]
            head = cls(
                weights=weights,
                bias=float(data["bias"]),
                platt_a=float(calibration["a"]),
                platt_b=float(calibration["b"]),
                threshold=float(data["threshold"]),
                model=str(data.get("model", "")),
                training=str(data.get("training", "")),
                metadata=dict(data.get("metadata") or {}),
            )
            dims = int(data["dims"])
        except (KeyError, TypeError, ValueError) as exc:
            raise HeadFormatError(f"malformed head: {exc!r}") from exc
        numbers = [head.bias, head.platt_a, head.platt_b, head.threshold]
        if weights.ndim != 1 or weights.shape[0] != dims:
            raise HeadFormatError(f"the head says {dims} dims but has {weights.shape} weights")
        if not (np.isfinite(weights).all() and all(math.isfinite(v) for v in numbers)):
            raise HeadFormatError("the head holds a NaN or infinite number")
        return head

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, *, model: str | None = None) -> LogisticHead:
        """Read a saved head; with ``model``, refuse one trained on another encoder's vectors."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HeadFormatError(f"cannot read the head {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise HeadFormatError(f"{path} is not a JSON object")
        head = cls.from_json(data)
        if model is not None and head.model != model:
            raise HeadFormatError(f"{path} was trained on {head.model!r} vectors, not {model!r}")
        return head


def fit_logistic(
    x: Floats, y: Floats, sample_weight: Floats, l2: float, *, max_iter: int = 100
) -> tuple[Floats, float]:
    """Weights and bias minimising ``sum(sw * logloss) + l2/2 * |w|^2``.

    Labels may be soft (in [0, 1]), which Platt scaling uses. Newton's method with a
    backtracking line search: a handful of steps for a few hundred dims, and the same
    answer every run.
    """
    if l2 <= 0:
        raise ValueError("l2 must be positive: unpenalised weights diverge on separable data")
    rows, dims = x.shape
    design = np.hstack([x, np.ones((rows, 1))])
    penalty = np.full(dims + 1, l2)
    penalty[-1] = 0.0
    # A whisker on the bias keeps the Hessian invertible when every score saturates.
    ridge = np.diag(penalty + 1e-10)

    def loss(beta: Floats) -> float:
        z = design @ beta
        return float(sample_weight @ (np.logaddexp(0.0, z) - y * z) + 0.5 * penalty @ beta**2)

    beta = np.zeros(dims + 1)
    current = loss(beta)
    for _ in range(max_iter):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (sample_weight * (p - y)) + penalty * beta
        curvature = sample_weight * p * (1.0 - p)
        step = np.linalg.solve((design.T * curvature) @ design + ridge, gradient)
        decrement = float(gradient @ step)
        if decrement < 1e-12:
            break
        size = 1.0
        while True:
            candidate = beta - size * step
            value = loss(candidate)
            if value <= current - 0.25 * size * decrement or size < 1e-8:
                break
            size *= 0.5
        beta, current = candidate, value
    return beta[:-1], float(beta[-1])


def fit_platt(scores: Floats, y: Floats) -> tuple[float, float]:
    """(a, b) so that ``sigmoid(a * score + b)`` is calibrated, by Platt's method: the
    targets are pulled slightly off 0 and 1 by the class counts, which keeps (a, b)
    finite when the scores separate the classes."""
    positives = float(y.sum())
    negatives = float(len(y) - positives)
    targets = np.where(y > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    a, b = fit_logistic(scores.reshape(-1, 1), targets, np.ones(len(y)), 1e-6)
    return float(a[0]), b


def grouped_kfold(groups: Sequence[Hashable] | range, k: int, seed: int = 0) -> Folds:
    """``k`` (train, test) index splits where no group has rows on both sides.

    Groups are shuffled by ``seed``, then dealt largest first to the fold that has the
    fewest rows so far, so folds come out close in size.
    """
    if k < 2:
        raise ValueError("k-fold needs k >= 2")
    members: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    if len(members) < k:
        raise ValueError(f"{len(members)} groups cannot fill {k} folds")
    shuffled = [
        list(members.values())[i] for i in np.random.default_rng(seed).permutation(len(members))
    ]
    shuffled.sort(key=len, reverse=True)  # stable: equal sizes keep the shuffled order
    folds: list[list[int]] = [[] for _ in range(k)]
    for rows in shuffled:
        min(folds, key=len).extend(rows)
    total = sum(len(rows) for rows in members.values())
    splits: Folds = []
    for rows in folds:
        test = np.array(sorted(rows), dtype=np.intp)
        train = np.setdiff1d(np.arange(total, dtype=np.intp), test)
        splits.append((train, test))
    return splits


def cross_validated_proba(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    groups: Sequence[Hashable],
    *,
    k: int = 5,
    seed: int = 0,
    **fit_options: Any,
) -> Floats:
    """Each row's calibrated probability from a head fitted, and calibrated, on the
    other folds' groups only: the honest input for :func:`metrics`."""
    features, labels = _check_xy(x, y)
    probabilities = np.empty(len(labels))
    for train, test in grouped_kfold(groups, k, seed):
        head = LogisticHead.fit(
            features[train],
            labels[train],
            groups=[groups[i] for i in train],
            seed=seed,
            **fit_options,
        )
        probabilities[test] = head.predict_proba(features[test])
    return probabilities


def logit(p: npt.ArrayLike) -> Floats:
    clipped = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def stacked(semantic: npt.ArrayLike, lexical: npt.ArrayLike, stack: Sequence[float]) -> Floats:
    """The semantic layers' final probability: ``(a, b, c)`` of the stacking step on the
    head's probability (as a logit) and the heuristic layer's score. Training fits
    ``stack`` and the scanners apply it through this one function."""
    z = stack[0] * logit(semantic) + stack[1] * np.asarray(lexical, dtype=np.float64) + stack[2]
    return _sigmoid(z)


def metrics(y: npt.ArrayLike, p: npt.ArrayLike, threshold: float = 0.5) -> dict[str, float]:
    """Counts and rates for "positive when p >= threshold"; a rate with nothing to
    divide by is 0."""
    truth = np.asarray(y) > 0.5
    flagged = np.asarray(p, dtype=np.float64) >= threshold
    tp = int(np.sum(truth & flagged))
    fp = int(np.sum(~truth & flagged))
    fn = int(np.sum(truth & ~flagged))
    tn = int(np.sum(~truth & ~flagged))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": fpr,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def _sigmoid(z: Floats) -> Floats:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow warning for large |z|


def _check_xy(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Floats, Floats]:
    features = np.asarray(x, dtype=np.float64)
    labels = np.asarray(y, dtype=np.float64)
    if features.ndim != 2 or labels.shape != (features.shape[0],):
        raise ValueError(f"need x of shape (n, dims) and y of shape (n,), got {features.shape}")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return features, labels


def _sample_weights(labels: Floats, class_weight: ClassWeight) -> Floats:
    if class_weight is None:
        return np.ones(len(labels))
    if class_weight == "balanced":
        counts = {c: max(int(np.sum(labels == c)), 1) for c in (0.0, 1.0)}
        per_class = {int(c): len(labels) / (2 * n) for c, n in counts.items()}
    else:
        per_class = {int(c): float(w) for c, w in class_weight.items()}
    return np.where(labels > 0.5, per_class[1], per_class[0])
