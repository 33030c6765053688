"""The risk head trained on real messages: the seed corpus, history rows labelled by the lexicon's rules (weighted
below the seed) and labelled real messages (weighted above it), and the cross-validation on the development set
(`ml/dev/`) that chose how.

- `decide_levels` (`ml.triage`): the service's rule from the risk probabilities and the lexicon floors: the highest
  level `k` with P(level >= k) >= the escalation threshold, raised to the floor.
- `cross_validate`: K-fold on the development set stratified by level; each fold trains on the seed's training
  slice and the other folds, and scores the held-out fold. Returns out-of-fold probabilities, so that decision
  rules can be compared without training again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import numpy as np
from numpy.typing import NDArray

from ml.heads import HeadConfig, fit_head
from ml.triage import decide_levels

if TYPE_CHECKING:
    from ml.features import FeatureConfig

CV_FOLDS = 5
CV_REPEATS = 3  # fold assignments (seeds 0, 1, 2); the figures are their mean
ESCALATIONS = tuple(round(0.1 + 0.05 * n, 2) for n in range(13))  # 0.10 … 0.70


class RiskTraining(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How real rows enter the risk head."""

    real_weight: float = 1.0  # weight of a labelled real row; a seed row weighs 1
    history_weight: float = 1.0  # weight of a history row whose level the lexicon's rules set (`label-risk`)
    with_seed: bool = True  # False: the risk head learns from the real rows alone (no seed, no history)
    head: HeadConfig = HeadConfig(c=0.5, class_weight="balanced")


def stratified_folds(labels: Sequence[int], k: int = CV_FOLDS, seed: int = 0) -> NDArray[np.int64]:
    """The fold of each row: per level, rows shuffled and dealt round-robin (a level rarer than k is spread over
    fewer folds instead of failing)."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    fold = np.zeros(len(y), dtype=np.int64)
    start = 0
    for level in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == level))
        fold[rows] = (start + np.arange(len(rows))) % k
        start += len(rows)
    return fold


def cross_validate(
    *,
    seed_documents: Sequence[str],
    seed_levels: Sequence[int],
    history_documents: Sequence[str] = (),
    history_levels: Sequence[int] = (),
    dev_documents: Sequence[str],
    dev_levels: Sequence[int],
    trainings: Sequence[RiskTraining],
    folds: NDArray[np.int64],
    features: FeatureConfig | None = None,
) -> list[NDArray[np.float64]]:
    """Per training configuration, the out-of-fold probabilities of levels 0..3 for every development row.

    The documents are segmented (`Segmenter.documents`); history rows (rule-labelled, optional) train like seed
    rows with their own weight. The vocabulary is fit per fold on that fold's training documents, as `train_seed`
    fits it on its own."""
    from ml.features import TextFeatures
    from ml.train import FEATURES

    config = features or FEATURES
    results = [np.zeros((len(dev_documents), 4)) for _ in trainings]
    dev_y = np.asarray(dev_levels)
    for k in np.unique(folds):
        train, held = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        documents = [*seed_documents, *history_documents, *(dev_documents[i] for i in train.tolist())]
        vocabulary = TextFeatures.fit(documents, config)
        matrix, _ = vocabulary.transform(documents)
        held_matrix, _ = vocabulary.transform([dev_documents[i] for i in held.tolist()])
        n_base = len(seed_documents) + len(history_documents)
        for result, training in zip(results, trainings, strict=True):
            if training.with_seed:
                rows = np.arange(len(documents))
                labels = [*seed_levels, *history_levels, *dev_y[train].tolist()]
                weights = (
                    [1.0] * len(seed_documents)
                    + [training.history_weight] * len(history_documents)
                    + [training.real_weight] * len(train)
                )
            else:
                rows = np.arange(n_base, len(documents))
                labels = dev_y[train].tolist()
                weights = [1.0] * len(train)
            head, _ = fit_head(matrix[rows], labels, training.head, weights=weights)
            probabilities = head.probabilities(held_matrix)
            for column, level in enumerate(head.labels):
                result[held, int(level)] = probabilities[:, column]
    return results


# Chosen by `python -m ml cv-risk` on the development set (ml/README.md, "Risk from real messages"): among real
# weights 1, 3, 10, C 0.1, 0.3, 1, class-balanced or not, the risk head on seed + real rows or real rows alone, and
# the lexicon floor as a maximum, only at level 3, or not at all, the highest precision of level >= 2 on the random
# part with recall of level >= 2 at least 0.90, mean of 3 fold assignments (0.463 at threshold 0.3); then history
# rows at weight 0.3 or 1 (0.504 at threshold 0.2, weight 0.3).
DEV_TRAINING = RiskTraining(
    real_weight=3.0, history_weight=0.3, with_seed=True, head=HeadConfig(c=0.1, class_weight="balanced")
)
DEV_ESCALATION = 0.3  # seed + development set
DEV_HISTORY_ESCALATION = 0.2  # seed + rule-labelled history + development set


def dev_escalation(with_history: bool) -> float:
    return DEV_HISTORY_ESCALATION if with_history else DEV_ESCALATION


def history_rows(paths: Sequence[Path], topics: Sequence[str]) -> list[tuple[str, int]]:
    """(text, risk level) of the rule-labelled history files' rows that carry a level (`label-risk`)."""
    from ml.corpus import read_extra

    return [(e.text, e.risk_level) for path in paths for e in read_extra(path, topics) if e.risk_level is not None]


class CvFigures(msgspec.Struct, frozen=True):
    escalation: float
    recall_2_plus: float  # all development rows, mean over the fold assignments
    precision_2_plus_random: float  # the random part
    recall_2_plus_random: float
    recall_3: float | None  # None when the set holds no level 3
    flagged_random: float  # share of the random part predicted 2 or 3
    confusion: list[list[int]]  # summed over the fold assignments; rows labelled 0..3, columns predicted 0..3


def cv_figures(
    probabilities: Sequence[NDArray[np.float64]],
    levels: Sequence[int],
    random_part: Sequence[bool],
    floors: Sequence[int],
    escalations: Sequence[float] = ESCALATIONS,
) -> list[CvFigures]:
    """Per escalation threshold, the decision rule's figures from out-of-fold probabilities (one array per fold
    assignment)."""
    from ml.evaluation import risk_figures

    y = np.asarray(levels)
    random_rows = np.asarray(random_part, dtype=bool)
    figures = []
    for escalation in escalations:
        runs = []
        confusion = np.zeros((4, 4), dtype=int)
        for p in probabilities:
            predicted = decide_levels(p, (0, 1, 2, 3), escalation, floors)
            overall = risk_figures(y.tolist(), predicted.tolist())
            sampled = risk_figures(y[random_rows].tolist(), predicted[random_rows].tolist())
            confusion += np.asarray(overall.confusion)
            runs.append(
                (
                    overall.recall_2_plus or 0.0,
                    sampled.precision_2_plus or 0.0,
                    sampled.recall_2_plus or 0.0,
                    float(np.mean(predicted[random_rows] >= 2)),
                    overall.recall_3 or 0.0,
                )
            )
        mean = np.mean(runs, axis=0).round(4).tolist()
        figures.append(
            CvFigures(
                escalation=escalation,
                recall_2_plus=mean[0],
                precision_2_plus_random=mean[1],
                recall_2_plus_random=mean[2],
                recall_3=mean[4] if (y == 3).any() else None,
                flagged_random=mean[3],
                confusion=confusion.tolist(),
            )
        )
    return figures


def cross_validate_dev(
    *,
    labels: Path,
    data_dir: Path,
    seed_dir: Path,
    district_dir: Path,
    engine: str,
    training: RiskTraining = DEV_TRAINING,
    history: Sequence[Path] = (),
    repeats: int = CV_REPEATS,
    folds: int = CV_FOLDS,
) -> list[CvFigures]:
    """`cross_validate` on a development set with `repeats` fold assignments, then `cv_figures` per threshold."""
    from ml.corpus import read_seed, split_heldout
    from ml.devset import dev_rows
    from ml.dictionary import load_district
    from ml.lexicon import risk_floors
    from ml.segment import Segmenter

    district = load_district(district_dir)
    segmenter = Segmenter(district.entries, engine)
    seed, _ = split_heldout(read_seed(seed_dir, district.topics), text=lambda i: i.text, stratum=lambda i: i.topic)
    rows = dev_rows(labels, data_dir)
    levels = [label.risk_level for label, _ in rows]
    texts = [text for _, text in rows]
    history_levels = history_rows(history, district.topics)
    seed_documents = segmenter.documents([i.text for i in seed])
    history_documents = segmenter.documents([text for text, _ in history_levels])
    dev_documents = segmenter.documents(texts)
    probabilities = [
        cross_validate(
            seed_documents=seed_documents,
            seed_levels=[i.risk_level for i in seed],
            history_documents=history_documents,
            history_levels=[level for _, level in history_levels],
            dev_documents=dev_documents,
            dev_levels=levels,
            trainings=[training],
            folds=stratified_folds(levels, folds, repeat),
        )[0]
        for repeat in range(repeats)
    ]
    random_part = [label.sample == "random" for label, _ in rows]
    return cv_figures(probabilities, levels, random_part, [floor for floor, _ in risk_floors(texts)])
