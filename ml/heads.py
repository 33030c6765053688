"""A head is a linear classifier over the shared features, with probabilities calibrated by one temperature.

Training: the head's models score every training document out of fold (stratified K-fold), the temperature that
makes softmax(score / T) fit those out-of-fold labels best is kept, and the models are refit on all the documents.
The models are a `LinearSVC`, optionally blended with an NB-SVM (an SVM on the features scaled by each class's
naive Bayes log-count ratio, Wang and Manning 2012) and complement naive Bayes, each one's scores divided by their
spread out of fold. Every one of them scores X·W + b on the same features, so the blend is one weight matrix too.
Serving is a sparse-dense product and a softmax: no scikit-learn object and no pickle is needed to load a head.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.sparse import csr_matrix

MAX_CALIBRATION_FOLDS = 5
# liblinear visits rows in a random order: a fixed seed makes a model the same every time it is trained from the
# same data, as its data hash says it is
SVM_SEED = 0


class HeadConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    c: float = 0.5  # inverse regularisation strength of the linear SVMs
    class_weight: Literal["balanced"] | None = None
    calibration_folds: int = MAX_CALIBRATION_FOLDS
    # weights of the linear SVM, the NB-SVM and complement naive Bayes in the blend; (1, 0, 0): the SVM alone
    blend: tuple[float, float, float] = (1.0, 0.0, 0.0)
    naive_bayes_alpha: float = 0.1  # additive smoothing of complement naive Bayes


class LinearHead:
    """scores = X @ coef + intercept; probabilities = softmax(scores / temperature)."""

    def __init__(
        self,
        labels: Sequence[Any],
        coef: NDArray[np.float32],
        intercept: NDArray[np.float32],
        temperature: float,
    ) -> None:
        self.labels = tuple(labels)
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)  # (features, labels)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.temperature = float(temperature)
        if self.coef.shape[1] != len(self.labels) or self.intercept.shape != (len(self.labels),):
            raise ValueError(f"a head for {len(self.labels)} labels has weights of shape {self.coef.shape}")

    def scores(self, matrix: csr_matrix) -> NDArray[np.float32]:
        return np.asarray(matrix @ self.coef) + self.intercept

    def probabilities(self, matrix: csr_matrix) -> NDArray[np.float64]:
        return softmax(self.scores(matrix).astype(np.float64) / self.temperature)

    def state(self, prefix: str) -> dict[str, Any]:
        return {
            f"{prefix}_labels": np.array([str(label) for label in self.labels]),
            f"{prefix}_coef": self.coef,
            f"{prefix}_intercept": self.intercept,
            f"{prefix}_temperature": np.array(self.temperature),
        }

    @classmethod
    def from_state(cls, prefix: str, state: Any, label_type: type = str) -> LinearHead:
        return cls(
            [label_type(label) for label in state[f"{prefix}_labels"].tolist()],
            state[f"{prefix}_coef"],
            state[f"{prefix}_intercept"],
            float(state[f"{prefix}_temperature"]),
        )


def softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


def fit_head(
    matrix: csr_matrix, labels: Sequence[Any], config: HeadConfig, weights: Sequence[float] | None = None
) -> tuple[LinearHead, NDArray[np.float64]]:
    """The head, and its calibrated out-of-fold probabilities for the training rows (one column per label).

    `weights`: one per row (labelled real messages above synthetic ones, say); they train the SVM alone, and with
    `class_weight="balanced"` every class carries the same total weight (`class_balanced`)."""
    from sklearn.model_selection import StratifiedKFold

    smallest = min(Counter(labels).values())
    if smallest < 2 or len(set(labels)) < 2:
        raise ValueError("every label needs at least 2 training examples, and a head at least 2 labels")
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    models = [(weight, fit) for weight, fit in zip(config.blend, _MODELS, strict=True) if weight]
    if not models:
        raise ValueError("a head needs a model with a weight above 0")
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    if w is not None and config.blend[1:] != (0.0, 0.0):
        raise ValueError("row weights train the SVM alone, not a blend")
    folds = StratifiedKFold(n_splits=min(config.calibration_folds, smallest), shuffle=True, random_state=0)
    out_of_fold = np.zeros((len(models), len(y), len(classes)))
    for train, held in folds.split(np.zeros(len(y)), y):
        for scores, (_, fit) in zip(out_of_fold, models, strict=True):
            coef, intercept = fit(matrix[train], y[train], len(classes), config, None if w is None else w[train])
            scores[held] = np.asarray(matrix[held] @ coef) + intercept
    factors = blend_factors([weight for weight, _ in models], list(out_of_fold))
    blended = sum(factor * scores for factor, scores in zip(factors, out_of_fold, strict=True))
    coef = np.zeros((matrix.shape[1], len(classes)), dtype=np.float32)
    intercept = np.zeros(len(classes), dtype=np.float32)
    for factor, (_, fit) in zip(factors, models, strict=True):
        model_coef, model_intercept = fit(matrix, y, len(classes), config, w)
        coef += factor * model_coef
        intercept += factor * model_intercept
    temperature = fit_temperature(np.asarray(blended), y, w)
    return LinearHead(classes, coef, intercept, temperature), softmax(np.asarray(blended) / temperature)


def blend_factors(blend: Sequence[float], out_of_fold: Sequence[NDArray[np.float64]]) -> list[float]:
    """Each blended model's factor: its weight over the spread of its out-of-fold scores, so that the weights, not
    the models' scales, decide. One model needs no common scale: the temperature absorbs its own."""
    if len(out_of_fold) == 1:
        return [blend[0]]
    return [weight / _spread(scores) for weight, scores in zip(blend, out_of_fold, strict=True)]


def fit_temperature(
    scores: NDArray[np.float64], y: NDArray[np.int64], weights: NDArray[np.float64] | None = None
) -> float:
    """The T minimising the (row-weighted) negative log-likelihood of softmax(scores / T)."""

    def loss(log_t: float) -> float:
        shifted = scores / np.exp(log_t)
        shifted = shifted - shifted.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        picked = log_p[np.arange(len(y)), y]
        if weights is None:
            return float(-picked.mean())
        return float(-(weights * picked).sum() / weights.sum())

    return float(np.exp(minimize_scalar(loss, bounds=(-6.0, 4.0), method="bounded").x))


def class_balanced(labels: NDArray[np.int64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Row weights scaled so that every class carries the same total weight (and the mean weight stays 1)."""
    classes = np.unique(labels)
    totals = {c: weights[labels == c].sum() for c in classes}
    target = weights.sum() / len(classes)
    scaled = np.array([w * target / totals[c] for w, c in zip(weights, labels, strict=True)])
    return np.asarray(scaled * len(scaled) / scaled.sum())


def _spread(scores: NDArray[np.float64]) -> float:
    """Standard deviation of the scores around each row's mean (what a softmax sees)."""
    return float(np.std(scores - scores.mean(axis=1, keepdims=True))) or 1.0


def _fit_svm(
    matrix: csr_matrix,
    y: NDArray[np.int64],
    n_classes: int,
    config: HeadConfig,
    weights: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    from sklearn.svm import LinearSVC

    present = np.unique(y)
    class_weight, sample_weight = config.class_weight, weights
    if weights is not None and config.class_weight == "balanced":
        # scikit-learn balances classes by their row counts; weighted rows are balanced by their total weight
        class_weight, sample_weight = None, class_balanced(y, weights)
    svm = LinearSVC(C=config.c, class_weight=class_weight, max_iter=10_000, random_state=SVM_SEED)
    svm.fit(matrix, y, sample_weight=sample_weight)
    coef = np.zeros((matrix.shape[1], n_classes), dtype=np.float32)
    # a class missing from this fold scores far below the others
    intercept = np.full(n_classes, -10.0, dtype=np.float32)
    if len(present) == 2:  # one weight vector scores the second class against the first
        coef[:, present[1]], coef[:, present[0]] = svm.coef_[0] / 2, -svm.coef_[0] / 2
        intercept[present[1]], intercept[present[0]] = svm.intercept_[0] / 2, -svm.intercept_[0] / 2
    else:
        coef[:, present] = svm.coef_.T
        intercept[present] = svm.intercept_
    return coef, intercept


def _fit_nbsvm(
    matrix: csr_matrix,
    y: NDArray[np.int64],
    n_classes: int,
    config: HeadConfig,
    weights: NDArray[np.float64] | None = None,  # unused: `fit_head` trains only the SVM with row weights
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Per class, an SVM of the class against the rest on the features times the class's log-count ratio r; its
    weights w score x·(w∘r)."""
    from scipy.sparse import diags
    from sklearn.svm import LinearSVC

    present = matrix.copy()
    present.data[:] = 1.0
    coef = np.zeros((matrix.shape[1], n_classes), dtype=np.float32)
    intercept = np.full(n_classes, -10.0, dtype=np.float32)
    for label in np.unique(y):
        mine = y == label
        inside = 1.0 + np.asarray(present[mine].sum(axis=0)).ravel()
        outside = 1.0 + np.asarray(present[~mine].sum(axis=0)).ravel()
        ratio = np.log((inside / inside.sum()) / (outside / outside.sum()))
        svm = LinearSVC(C=config.c, class_weight=config.class_weight, max_iter=10_000, random_state=SVM_SEED)
        svm.fit(matrix @ diags(ratio), mine.astype(np.int64))
        coef[:, label] = svm.coef_[0] * ratio
        intercept[label] = svm.intercept_[0]
    return coef, intercept


def _fit_complement_nb(
    matrix: csr_matrix,
    y: NDArray[np.int64],
    n_classes: int,
    config: HeadConfig,
    weights: NDArray[np.float64] | None = None,  # unused: `fit_head` trains only the SVM with row weights
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    from sklearn.naive_bayes import ComplementNB

    model = ComplementNB(alpha=config.naive_bayes_alpha).fit(matrix, y)
    coef = np.zeros((matrix.shape[1], n_classes), dtype=np.float32)
    intercept = np.full(n_classes, -10.0, dtype=np.float32)
    coef[:, model.classes_] = model.feature_log_prob_.T
    intercept[model.classes_] = 0.0
    return coef, intercept


_MODELS = (_fit_svm, _fit_nbsvm, _fit_complement_nb)
