"""The logistic-regression head: fitting, calibration, saving, grouped folds, metrics.

All data is synthetic, drawn here from seeded generators.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("numpy", reason="the ml extra (numpy) is not installed")

import numpy as np

from gatehouse.guard.ml.head import (
    HeadFormatError,
    LogisticHead,
    cross_validated_proba,
    fit_logistic,
    grouped_kfold,
    metrics,
)


def blobs(n: int, dims: int, seed: int, gap: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds ``gap`` apart along a random direction; 30% positives."""
    rng = np.random.default_rng(seed)
    direction = np.random.default_rng(99).standard_normal(dims)
    direction /= np.linalg.norm(direction)
    y = (rng.random(n) < 0.3).astype(float)
    x = rng.standard_normal((n, dims)) * 0.5 + np.outer(y - 0.5, direction) * gap
    return x, y


def logistic_world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from a known logistic model with a 20%-ish base rate."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8))
    logit = 2.0 * x[:, 0] - 1.0 * x[:, 1] - 2.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return x, y


def test_separable_blobs_are_told_apart() -> None:
    x, y = blobs(600, 16, seed=1)
    head = LogisticHead.fit(x, y, l2=1.0)
    x_new, y_new = blobs(400, 16, seed=2)
    p = head.predict_proba(x_new)
    assert ((p >= 0.5) == (y_new == 1)).mean() == 1.0
    assert np.median(p[y_new == 1]) > 0.95 and np.median(p[y_new == 0]) < 0.05


def test_newton_reaches_the_penalised_optimum() -> None:
    x, y = blobs(300, 10, seed=3, gap=1.0)  # overlapping: a finite, interior optimum
    sw = np.where(y == 1, 2.0, 1.0)
    w, b = fit_logistic(x, y, sw, l2=0.5)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    gradient_w = x.T @ (sw * (p - y)) + 0.5 * w
    gradient_b = float(np.sum(sw * (p - y)))
    assert np.abs(gradient_w).max() < 1e-6 and abs(gradient_b) < 1e-6


def test_calibrated_probabilities_match_observed_rates() -> None:
    x, y = logistic_world(20000, seed=4)
    # Balanced class weights skew the raw scores towards the rare class on purpose;
    # Platt scaling must bring them back to the real rates.
    head = LogisticHead.fit(x, y, l2=1.0, class_weight="balanced")
    x_new, y_new = logistic_world(20000, seed=5)
    calibrated = head.predict_proba(x_new)
    raw = 1 / (1 + np.exp(-head.decision(x_new)))

    def worst_bin_gap(p: np.ndarray) -> float:
        gaps = []
        for low in np.arange(0, 1, 0.1):
            in_bin = (p >= low) & (p < low + 0.1)
            if in_bin.sum() >= 300:
                gaps.append(abs(p[in_bin].mean() - y_new[in_bin].mean()))
        return max(gaps)

    assert worst_bin_gap(calibrated) < 0.03
    assert worst_bin_gap(raw) > 0.1  # so the calibration is what fixed it
    assert abs(calibrated.mean() - y_new.mean()) < 0.01


def test_fitting_is_deterministic() -> None:
    x, y = blobs(300, 8, seed=6, gap=1.5)
    groups = [i // 3 for i in range(300)]
    first = LogisticHead.fit(x, y, groups=groups, seed=3)
    second = LogisticHead.fit(x, y, groups=groups, seed=3)
    assert np.array_equal(first.weights, second.weights)
    assert (first.bias, first.platt_a, first.platt_b) == (
        second.bias,
        second.platt_a,
        second.platt_b,
    )


def test_a_fold_whose_training_rows_are_one_class_is_refused() -> None:
    x = np.random.default_rng(0).standard_normal((6, 3))
    y = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="all one class"):
        LogisticHead.fit(x, y, groups=["a", "a", "b", "c", "d", "e"], folds=2)


def test_bad_inputs_are_refused() -> None:
    x, y = blobs(50, 4, seed=7)
    with pytest.raises(ValueError, match="0 or 1"):
        LogisticHead.fit(x, y * 2)
    with pytest.raises(ValueError, match="shape"):
        LogisticHead.fit(x, y[:-1])
    with pytest.raises(ValueError, match="l2 must be positive"):
        LogisticHead.fit(x, y, l2=0.0)
    head = LogisticHead.fit(x, y)
    with pytest.raises(ValueError, match="3 dims, the head 4"):
        head.predict_proba(np.zeros((2, 3)))


def test_a_saved_head_loads_with_the_same_predictions(tmp_path: Path) -> None:
    x, y = blobs(200, 6, seed=8, gap=1.5)
    head = LogisticHead.fit(
        x,
        y,
        threshold=0.7,
        model="all-MiniLM-L6-v2",
        training="synthetic blobs, 200 rows",
        metadata={"folds": 5, "cv": {"f1": 0.9}},
    )
    path = tmp_path / "head.json"
    head.save(path)
    saved = json.loads(path.read_text())
    assert saved["dims"] == 6 and saved["model"] == "all-MiniLM-L6-v2"
    assert saved["training"] == "synthetic blobs, 200 rows" and saved["threshold"] == 0.7
    loaded = LogisticHead.load(path, model="all-MiniLM-L6-v2")
    assert np.array_equal(loaded.predict_proba(x), head.predict_proba(x))
    assert loaded.metadata == {"folds": 5, "cv": {"f1": 0.9}} and loaded.threshold == 0.7
    # A single vector is one row.
    assert loaded.predict_proba(x[0]).shape == (1,)


def test_a_head_for_other_vectors_or_a_damaged_file_is_refused(tmp_path: Path) -> None:
    x, y = blobs(100, 4, seed=9, gap=1.5)
    path = tmp_path / "head.json"
    LogisticHead.fit(x, y, model="all-MiniLM-L6-v2").save(path)
    with pytest.raises(HeadFormatError, match="trained on 'all-MiniLM-L6-v2' vectors"):
        LogisticHead.load(path, model="another-encoder")
    good = json.loads(path.read_text())
    damages: list[tuple[dict[str, object], str]] = [
        ({"dims": 5}, "says 5 dims"),
        ({"format": "something-else"}, "not a gatehouse.logistic-head"),
        ({"bias": float("nan")}, "NaN or infinite"),
        ({"calibration": {}}, "malformed"),
    ]
    for damage, message in damages:
        path.write_text(json.dumps({**good, **damage}))
        with pytest.raises(HeadFormatError, match=message):
            LogisticHead.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(HeadFormatError, match="not a JSON object"):
        LogisticHead.load(path)


def test_grouped_folds_never_split_a_group_and_are_close_in_size() -> None:
    rng = np.random.default_rng(10)
    sizes = rng.integers(1, 20, size=150)
    groups = [f"g{g}" for g, size in enumerate(sizes) for _ in range(size)]
    rng.shuffle(groups)  # a group's rows need not be next to each other
    folds = grouped_kfold(groups, 5, seed=1)
    assert len(folds) == 5
    seen = np.concatenate([test for _, test in folds])
    assert sorted(seen.tolist()) == list(range(len(groups)))  # every row tested once
    for train, test in folds:
        assert len(train) + len(test) == len(groups)
        test_groups = {groups[i] for i in test}
        assert test_groups.isdisjoint(groups[i] for i in train)
    lengths = [len(test) for _, test in folds]
    assert max(lengths) - min(lengths) <= sizes.max()


def test_grouped_folds_depend_on_the_seed_only() -> None:
    groups = [i // 4 for i in range(200)]

    def test_sets(seed: int) -> list[list[int]]:
        return [test.tolist() for _, test in grouped_kfold(groups, 4, seed)]

    assert test_sets(1) == test_sets(1)
    assert test_sets(1) != test_sets(2)


def test_grouped_folds_need_enough_groups() -> None:
    with pytest.raises(ValueError, match="3 groups cannot fill 5 folds"):
        grouped_kfold(["a", "b", "c", "a"], 5)
    with pytest.raises(ValueError, match="k >= 2"):
        grouped_kfold(["a", "b"], 1)


def test_cross_validation_holds_whole_groups_out() -> None:
    """Each group is one point plus noise with a random label: a model can learn a group
    it has seen, but nothing carries over to a group it has not."""
    rng = np.random.default_rng(11)
    centres = rng.standard_normal((60, 64))  # 60 points in 64 dims: any labels separate
    labels = rng.random(60) < 0.5
    groups = [g for g in range(60) for _ in range(5)]
    x = centres[groups] + rng.standard_normal((300, 64)) * 0.05
    y = labels[groups].astype(float)
    held_out = cross_validated_proba(x, y, groups, k=5, l2=0.01)
    leaky = cross_validated_proba(x, y, list(range(300)), k=5, l2=0.01)
    assert ((leaky >= 0.5) == (y == 1)).mean() > 0.9
    assert ((held_out >= 0.5) == (y == 1)).mean() < 0.75


def test_metrics_count_and_divide() -> None:
    y = [1, 1, 1, 0, 0, 0, 0]
    p = [0.9, 0.6, 0.2, 0.7, 0.1, 0.4, 0.5]  # 0.5 counts as flagged at threshold 0.5
    result = metrics(y, p, threshold=0.5)
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (2, 2, 1, 2)
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert result["fpr"] == pytest.approx(0.5)
    nothing_flagged = metrics(y, [0.0] * 7, threshold=0.5)
    assert nothing_flagged["precision"] == 0.0 and nothing_flagged["f1"] == 0.0
    assert metrics(y, p, threshold=0.8)["tp"] == 1
