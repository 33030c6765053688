"""Figures on real messages: risk levels against the labelled set in `ml/eval/`, kind against a corpus that
records it. The messages stay in their corpus files; these functions take their paths.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np

from ml.metrics import Report, report
from ml.tables import open_table
from ml.triage import TriageModel

RISK_SOURCES = {
    "tipdm2020c_messages": ("tipdm2020c_messages.csv", "row"),
    "tipdm2020c_hotspot_stream": ("tipdm2020c_hotspot_stream.csv", "msg_id"),
}
RISK_GOALS = {"recall_2_plus": 0.90, "precision_2_plus": 0.75, "recall_3": 0.95}
KIND_NAMES = {"投诉": "complaint", "咨询": "inquiry", "建议": "suggestion", "举报": "report", "求助": "help"}
LEVELS = (0, 1, 2, 3)


class RiskLabel(msgspec.Struct, frozen=True):
    source: str
    key: str
    risk_level: int
    sample: str  # random | keyword


class RiskFigures(msgspec.Struct, frozen=True):
    n: int
    recall_2_plus: float | None  # of items labelled 2 or 3, the share predicted 2 or 3
    precision_2_plus: float | None  # of items predicted 2 or 3, the share labelled 2 or 3
    recall_3: float | None
    precision_3: float | None
    exact: float  # share predicted at exactly the labelled level
    confusion: list[list[int]]  # rows: labelled level 0..3, columns: predicted level 0..3


def read_risk_labels(path: Path) -> list[RiskLabel]:
    with path.open(encoding="utf-8", newline="") as file:
        return [
            RiskLabel(source=row["source"], key=row["key"], risk_level=int(row["risk_level"]), sample=row["sample"])
            for row in csv.DictReader(file)
        ]


def labelled_texts(labels: Sequence[RiskLabel], data_dir: Path) -> list[str]:
    """Title and detail of each labelled message, in the order of `labels`."""
    csv.field_size_limit(sys.maxsize)
    texts: dict[tuple[str, str], str] = {}
    for source, (file_name, key_column) in RISK_SOURCES.items():
        wanted = {label.key for label in labels if label.source == source}
        if not wanted:
            continue
        with (data_dir / file_name).open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file):
                if row[key_column] in wanted:
                    texts[source, row[key_column]] = "\n".join(p for p in (row["title"], row["detail"]) if p)
    missing = [f"{label.source}:{label.key}" for label in labels if (label.source, label.key) not in texts]
    if missing:
        raise ValueError(f"{len(missing)} labelled messages not found in {data_dir}, e.g. {missing[0]}")
    return [texts[label.source, label.key] for label in labels]


def risk_figures(truth: Sequence[int], predicted: Sequence[int]) -> RiskFigures:
    true, pred = np.asarray(truth), np.asarray(predicted)
    confusion = np.zeros((len(LEVELS), len(LEVELS)), dtype=int)
    np.add.at(confusion, (true, pred), 1)
    return RiskFigures(
        n=len(true),
        recall_2_plus=_share(pred[true >= 2] >= 2),
        precision_2_plus=_share(true[pred >= 2] >= 2),
        recall_3=_share(pred[true == 3] == 3),
        precision_3=_share(true[pred == 3] == 3),
        exact=_share(true == pred) or 0.0,
        confusion=confusion.tolist(),
    )


def evaluate_risk(model: TriageModel, labels: Sequence[RiskLabel], data_dir: Path) -> dict[str, object]:
    """Figures on the random sample (precision there is what staff will see), the keyword sample, and all."""
    predictions = model.predict(labelled_texts(labels, data_dir))
    predicted = [p.risk_level for p in predictions]
    by_sample: dict[str, RiskFigures] = {}
    for sample in ("random", "keyword"):
        chosen = [i for i, label in enumerate(labels) if label.sample == sample]
        by_sample[sample] = risk_figures([labels[i].risk_level for i in chosen], [predicted[i] for i in chosen])
    overall = risk_figures([label.risk_level for label in labels], predicted)
    return {
        "model_version": model.version,
        "goals": RISK_GOALS,
        "met": {
            "recall_2_plus": (overall.recall_2_plus or 0.0) >= RISK_GOALS["recall_2_plus"],
            "precision_2_plus_random": (by_sample["random"].precision_2_plus or 0.0) >= RISK_GOALS["precision_2_plus"],
            "recall_3": (overall.recall_3 or 0.0) >= RISK_GOALS["recall_3"],
        },
        "random": by_sample["random"],
        "keyword": by_sample["keyword"],
        "all": overall,
    }


def evaluate_kind(model: TriageModel, data: Path) -> Report:
    """Macro-F1 and per-class figures of the kind head on a CSV with `kind` (Chinese names), `text` and optionally
    `title`."""
    texts, truth = [], []
    with open_table(data) as table:
        table.require(["kind", "text"])
        for _, row in table.rows():
            kind = KIND_NAMES.get(row["kind"].strip())
            if kind is None:
                continue
            texts.append("\n".join(p for p in (row.get("title", ""), row["text"]) if p))
            truth.append(kind)
    if not texts:
        raise ValueError(f"{data}: no row with a known kind ({', '.join(KIND_NAMES)})")
    predicted = [p.kind for p in model.predict(texts)]
    return report(truth, predicted, labels=list(KIND_NAMES.values()))


def _share(hits: np.ndarray) -> float | None:
    return round(float(hits.mean()), 4) if hits.size else None
