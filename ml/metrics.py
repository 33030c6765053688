"""Evaluation figures: per-class precision/recall/F1, the confusion matrix, expected calibration error."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

ECE_BINS = 15


class ClassScores(msgspec.Struct, frozen=True):
    precision: float
    recall: float
    f1: float
    support: int


class Report(msgspec.Struct, frozen=True):
    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScores]
    labels: list[str]  # row and column order of the confusion matrix
    confusion: list[list[int]]  # rows: true label, columns: predicted
    ece: float | None = None  # of the top-class probability, when probabilities were given


def report(
    truth: Sequence[str],
    predicted: Sequence[str],
    *,
    labels: Sequence[str],
    confidence: NDArray[np.floating] | None = None,
) -> Report:
    """Labels seen in `truth` or `predicted` but missing from `labels` are appended, so every error is counted."""
    order = list(dict.fromkeys([*labels, *truth, *predicted]))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=order, zero_division=0)
    present = [i for i, label in enumerate(order) if label in set(truth)]
    correct = np.asarray(truth) == np.asarray(predicted)
    return Report(
        n=len(truth),
        accuracy=_round(correct.mean()) if len(truth) else 0.0,
        macro_f1=_round(f1[present].mean()) if present else 0.0,
        per_class={
            label: ClassScores(
                precision=_round(precision[i]), recall=_round(recall[i]), f1=_round(f1[i]), support=int(support[i])
            )
            for i, label in enumerate(order)
        },
        labels=order,
        confusion=confusion_matrix(truth, predicted, labels=order).tolist(),
        ece=_round(expected_calibration_error(confidence, correct)) if confidence is not None else None,
    )


def expected_calibration_error(
    confidence: NDArray[np.floating], correct: NDArray[np.bool_], bins: int = ECE_BINS
) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by how many items each bin holds."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if confidence.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def _round(value: float | np.floating) -> float:
    return round(float(value), 4)
