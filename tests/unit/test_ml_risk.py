"""The risk head trained with labelled real messages, and the cross-validation that chose how."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from ml.artifacts import read_metadata
from ml.cli import main
from ml.heads import HeadConfig, class_balanced, fit_head
from ml.risk import (
    DEV_ESCALATION,
    DEV_HISTORY_ESCALATION,
    DEV_TRAINING,
    RiskTraining,
    cross_validate,
    cv_figures,
    stratified_folds,
)
from ml.segment import Segmenter
from ml.serving import load_model
from ml.train import train_seed
from ml.triage import decide_levels
from tests.ml.tiny_corpus import RISK_WORDS, TOPIC_WORDS, items, write_district, write_seed


def test_class_balancing_gives_every_class_the_same_total_weight() -> None:
    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = np.array([1.0, 1.0, 3.0, 1.0, 1.0, 1.0])

    balanced = class_balanced(labels, weights)

    totals = [balanced[labels == c].sum() for c in (0, 1, 2)]
    assert totals == pytest.approx([totals[0]] * 3)
    assert balanced.mean() == pytest.approx(1.0)
    assert balanced[2] == pytest.approx(3 * balanced[0])  # weights within a class keep their ratio


def _toy(n: int = 40) -> tuple[csr_matrix, list[int]]:
    rng = np.random.default_rng(0)
    labels = [n % 4 for n in range(n)]
    dense = rng.random((n, 12)) * 0.1
    for row, label in enumerate(labels):
        dense[row, label] += 1.0
    return csr_matrix(dense), labels


def test_a_weighted_head_gives_calibrated_probabilities_for_every_level() -> None:
    matrix, labels = _toy()

    head, out_of_fold = fit_head(matrix, labels, HeadConfig(c=1.0), weights=[1.0] * len(labels))

    assert head.labels == (0, 1, 2, 3)
    assert out_of_fold.shape == (len(labels), 4)
    assert np.allclose(out_of_fold.sum(axis=1), 1.0)
    assert (head.probabilities(matrix).argmax(axis=1) == np.array(labels)).all()
    assert head.temperature > 0


def test_a_heavier_row_pulls_the_boundary_its_way() -> None:
    # two rows at the same point with different labels: the heavier one wins
    matrix = csr_matrix(np.array([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 6 + [[0.5, 0.5], [0.5, 0.5]]))
    labels = [0] * 6 + [1] * 6 + [0, 1]

    def predicted(weights: list[float]) -> int:
        head, _ = fit_head(matrix, labels, HeadConfig(c=1.0, calibration_folds=2), weights=weights)
        return int(head.labels[int(head.probabilities(matrix[12]).argmax())])

    assert predicted([1.0] * 12 + [10.0, 1.0]) == 0
    assert predicted([1.0] * 12 + [1.0, 10.0]) == 1


def test_folds_spread_every_level_and_are_reproducible() -> None:
    labels = [0] * 20 + [1] * 10 + [2] * 7 + [3] * 3

    folds = stratified_folds(labels, k=5, seed=1)

    assert (folds == stratified_folds(labels, k=5, seed=1)).all()
    assert not (folds == stratified_folds(labels, k=5, seed=2)).all()
    assert sorted(np.bincount(folds).tolist()) == [8, 8, 8, 8, 8]
    for level in range(4):
        per_fold = np.bincount(folds[np.array(labels) == level], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1


def test_the_decision_escalates_in_doubt_and_keeps_the_lexicon_floor() -> None:
    probabilities = np.array([[0.5, 0.25, 0.2, 0.05], [0.5, 0.25, 0.2, 0.05], [0.9, 0.1, 0.0, 0.0]])

    assert decide_levels(probabilities, (0, 1, 2, 3), 0.25, [0, 3, 2]).tolist() == [2, 3, 2]
    assert decide_levels(probabilities, (0, 1, 2, 3), 0.4, [0, 0, 0]).tolist() == [1, 1, 0]


def test_cv_figures_read_recall_on_all_rows_and_precision_on_the_random_part() -> None:
    levels = [0, 1, 2, 2, 3, 1]
    random_part = [True, True, True, False, False, True]
    probabilities = np.array(
        [[0.9, 0.1, 0, 0], [0.2, 0.5, 0.3, 0], [0.1, 0.2, 0.7, 0], [0.6, 0.3, 0.1, 0], [0, 0, 0.5, 0.5], [0, 1, 0, 0]]
    )

    [figures] = cv_figures([probabilities], levels, random_part, [0, 0, 0, 0, 0, 0], escalations=[0.3])

    # predicted 0, 2, 2, 0, 3, 1
    assert figures.recall_2_plus == pytest.approx(2 / 3, abs=1e-4)
    assert figures.precision_2_plus_random == pytest.approx(1 / 2, abs=1e-4)
    assert figures.recall_3 == 1.0
    assert figures.flagged_random == pytest.approx(2 / 4)
    assert figures.confusion[1] == [0, 1, 1, 0]


def _tiny_documents() -> tuple[list[str], list[int]]:
    rows = items(per_topic=8, seed=5)
    segmenter = Segmenter([], "rjieba")
    return segmenter.documents([str(r["text"]) for r in rows]), [int(str(r["risk_level"])) for r in rows]


def test_cross_validation_scores_every_development_row_out_of_fold() -> None:
    seed_documents, seed_levels = _tiny_documents()
    dev_documents, dev_levels = seed_documents[:20], seed_levels[:20]
    trainings = [RiskTraining(real_weight=3.0), RiskTraining(with_seed=False, head=HeadConfig(c=1.0))]

    results = cross_validate(
        seed_documents=seed_documents[20:],
        seed_levels=seed_levels[20:],
        dev_documents=dev_documents,
        dev_levels=dev_levels,
        trainings=trainings,
        folds=stratified_folds(dev_levels, k=2),
    )

    assert len(results) == 2
    for probabilities in results:
        assert probabilities.shape == (20, 4)
        assert np.allclose(probabilities.sum(axis=1), 1.0)


MESSAGES = "tipdm2020c_messages.csv"


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A seed corpus, a district, a corpus of 'real' messages and risk labels naming some of them."""
    root = tmp_path_factory.mktemp("risk")
    data = root / "data"
    data.mkdir()
    labels = root / "labels.csv"
    with (data / MESSAGES).open("w", encoding="utf-8", newline="") as file, labels.open("w", encoding="utf-8") as keys:
        writer = csv.writer(file)
        writer.writerow(["row", "msg_id", "title", "detail", "label", "split"])
        keys.write("source,key,risk_level,sample\n")
        topics = list(TOPIC_WORDS)
        for n in range(24):
            level = n % 4
            words = TOPIC_WORDS[topics[n % len(topics)]]
            detail = f"{words[n % len(words)]}的问题，{RISK_WORDS[level][n % len(RISK_WORDS[level])]}，编号{n}"
            writer.writerow([n, f"m{n}", f"来信{n}", detail, topics[n % len(topics)], "train"])
            keys.write(f"tipdm2020c_messages,{n},{level},{'random' if n % 2 else 'keyword'}\n")
    return {
        "root": root,
        "data": data,
        "labels": labels,
        "seed": write_seed(root / "seed"),
        "district": write_district(root / "district"),
    }


def test_training_with_real_risk_labels_weights_them_and_records_the_rule(real: dict[str, Path]) -> None:
    out = real["root"] / "model"

    metadata = train_seed(
        seed_dir=real["seed"],
        district_dir=real["district"],
        out=out,
        engine="rjieba",
        command="python -m ml train-seed --risk-dev labels.csv --data-dir data",
        risk_dev=real["labels"],
        data_dir=real["data"],
    )

    stored = read_metadata(out)
    assert stored.version.startswith("district-")
    assert stored.risk_escalation == DEV_ESCALATION
    assert stored.risk_training is not None
    assert stored.risk_training.real_weight == DEV_TRAINING.real_weight
    assert stored.risk_training.history_weight == 0.0  # no history given
    assert stored.heads["risk"] == DEV_TRAINING.head
    assert list(stored.extra_data) == ["labels.csv"]
    assert stored.n_train["risk"] == stored.n_train["topic"] + 24  # the topic head does not see the real rows
    assert metadata.metrics["risk"].n > 0
    [prediction] = load_model(out).predict(["回龙观的电梯问题，几十户业主联名"])
    assert prediction.risk_level >= 2


def test_rule_labelled_history_joins_the_risk_head_only(real: dict[str, Path]) -> None:
    history = real["root"] / "history.csv"
    history.write_text(
        "text,topic,risk_level\n回龙观的噪音问题，邻居说要去上访,,2\n天通苑的油烟问题，希望有关部门关注,,0\n",
        encoding="utf-8",
    )
    out = real["root"] / "with-history"

    train_seed(
        seed_dir=real["seed"],
        district_dir=real["district"],
        out=out,
        engine="rjieba",
        command="-",
        risk_dev=real["labels"],
        data_dir=real["data"],
        risk_history=[history],
    )

    stored = read_metadata(out)
    assert stored.risk_escalation == DEV_HISTORY_ESCALATION
    assert stored.risk_training == DEV_TRAINING
    assert stored.n_train["risk"] == stored.n_train["topic"] + 24 + 2
    assert set(stored.extra_data) == {"labels.csv", "history.csv"}


def test_history_without_real_labels_is_refused(real: dict[str, Path]) -> None:
    history = real["root"] / "history-alone.csv"
    history.write_text("text,risk_level\n回龙观的噪音问题,1\n", encoding="utf-8")

    with pytest.raises(ValueError, match="--risk-dev"):
        train_seed(
            seed_dir=real["seed"],
            district_dir=real["district"],
            out=real["root"] / "never",
            command="-",
            risk_history=[history],
        )


def test_real_risk_labels_need_the_folder_of_their_corpora(real: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="--data-dir"):
        train_seed(
            seed_dir=real["seed"],
            district_dir=real["district"],
            out=real["root"] / "never",
            command="-",
            risk_dev=real["labels"],
        )


def test_the_cv_command_prints_figures_per_escalation_threshold(
    real: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "cv-risk",
            "--risk-dev",
            str(real["labels"]),
            "--data-dir",
            str(real["data"]),
            "--seed-dir",
            str(real["seed"]),
            "--district",
            str(real["district"]),
            "--repeats",
            "1",
            "--c",
            "1",
        ]
    )

    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["training"]["head"]["c"] == 1.0
    assert printed["default_escalation"] == DEV_ESCALATION
    assert [f["escalation"] for f in printed["figures"]][:2] == [0.1, 0.15]
    assert all(0.0 <= f["recall_2_plus"] <= 1.0 for f in printed["figures"])
