"""The risk development set: reproducible from the corpora and disjoint from the evaluation set."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ml.devset import select_risk_dev
from ml.evaluation import read_risk_labels

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
DEV = ROOT / "ml" / "dev" / "risk_dev_labels.csv"
EVAL = ROOT / "ml" / "eval" / "risk_labels.csv"


def test_the_development_set_shares_no_message_with_the_evaluation_set() -> None:
    dev = read_risk_labels(DEV)
    evaluation = {(label.source, label.key) for label in read_risk_labels(EVAL)}

    assert len(dev) == 600
    assert len({(label.source, label.key) for label in dev}) == 600
    assert not {(label.source, label.key) for label in dev} & evaluation
    assert {label.risk_level for label in dev} <= {0, 1, 2, 3}


@pytest.mark.shared_data
def test_the_selection_reproduces_the_committed_keys() -> None:
    if not (SHARED / "data" / "tipdm2020c_messages.csv").is_file():
        pytest.skip("shared data absent")

    selected = select_risk_dev(SHARED / "data", EVAL)

    with DEV.open(encoding="utf-8", newline="") as file:
        committed = [(row["source"], row["key"], row["sample"]) for row in csv.DictReader(file)]
    assert [(m.source, m.key, m.sample) for m in selected] == committed
