"""Grouped cross-validation of a CSV model's topic head: each of its models alone, and the blend it ships.

    .venv/bin/python -m bench.topic_cv --data ../shared/data/tipdm2020c_messages.csv --text-cols title,detail
        --label-col label --split-col split [--folds 5]

The training rows of the CSV (its `train` split, or every row without `--split-col`) are read, segmented and
turned into features as `python -m ml train` does (`ml.train.csv_features`: one vocabulary fit on these rows and
the seed corpus's training items). Near-duplicates are kept in one fold: two rows are one group when their first
text column matches once whitespace is taken out, or the first 40 characters of another text column do (groups
are closed under both). `StratifiedGroupKFold` (shuffled, seed 0) splits the groups; in each fold the linear SVM,
the NB-SVM and complement naive Bayes of `ml.heads` are fit on the other folds with the topic head's configuration
(`ml.train.CSV_HEAD_CONFIGS`) and score the held-out fold. The blend weighs each model's out-of-fold scores by its
weight over their spread, as `ml.heads.fit_head` does. Printed: macro-F1 and accuracy out of fold, for each model
alone and for the blend. The vocabulary and its IDF see every row, as they do in the head's own calibration folds.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from ml.corpus import LabelledText, default_seed_dir, read_csv, read_seed, split_heldout  # noqa: E402
from ml.dictionary import default_district_dir, load_district  # noqa: E402
from ml.heads import _MODELS, blend_factors  # noqa: E402
from ml.metrics import report  # noqa: E402
from ml.segment import Segmenter  # noqa: E402
from ml.train import CSV_HEAD_CONFIGS, csv_features  # noqa: E402

MODEL_NAMES = ("svm", "nbsvm", "complement_nb")  # the order of `HeadConfig.blend` and `ml.heads._MODELS`
OPENING_CHARS = 40  # of the other text columns, the characters that make two rows one group
SPACE = re.compile(r"\s+")


def key_columns(
    data: Path, *, text_cols: Sequence[str], label_col: str, split_col: str | None, rows: Sequence[LabelledText]
) -> list[list[str]]:
    """The text columns of each row `read_csv` kept, in its order (checked against its texts)."""
    csv.field_size_limit(sys.maxsize)
    columns = []
    with data.open(encoding="utf-8-sig", newline="") as file:
        for row in csv.DictReader(file):
            if split_col and row[split_col] != "train":
                continue
            if "\n".join(row[c] for c in text_cols if row[c]).strip() and row[label_col].strip():
                columns.append([row[c] for c in text_cols])
    joined = ["\n".join(c for c in row if c) for row in columns]
    if joined != [r.text for r in rows]:
        raise RuntimeError(f"{data}: the rows read for grouping are not the rows ml.corpus.read_csv reads")
    return columns


def near_duplicate_groups(columns: Sequence[Sequence[str]]) -> NDArray[np.int64]:
    """A group id per row: rows sharing the whitespace-free first column, or the opening of another, are one group."""
    parent = list(range(len(columns)))

    def root(row: int) -> int:
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return row

    first_seen: dict[tuple[int, str], int] = {}
    for row, values in enumerate(columns):
        for column, value in enumerate(values):
            squeezed = SPACE.sub("", value)
            key = (column, squeezed if column == 0 else squeezed[:OPENING_CHARS])
            if not key[1]:
                continue
            if key in first_seen:
                parent[root(row)] = root(first_seen[key])
            else:
                first_seen[key] = row
    return np.array([root(row) for row in range(len(columns))], dtype=np.int64)


def cross_validate(
    data: Path, text_cols: Sequence[str], label_col: str, split_col: str | None, folds: int
) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedGroupKFold

    started = time.perf_counter()
    split = "train" if split_col else None
    rows = read_csv(data, text_cols=text_cols, label_col=label_col, split_col=split_col, split=split)
    if not rows:
        raise ValueError(f"{data}: no training rows")
    groups = near_duplicate_groups(
        key_columns(data, text_cols=text_cols, label_col=label_col, split_col=split_col, rows=rows)
    )
    district = load_district(default_district_dir())
    segmenter = Segmenter(district.entries)
    training, _ = split_heldout(
        read_seed(default_seed_dir(), district.topics), text=lambda i: i.text, stratum=lambda i: i.topic
    )
    _, matrix, _ = csv_features(segmenter, rows, training)
    classes = sorted({r.label for r in rows})
    y = np.array([classes.index(r.label) for r in rows])
    config = CSV_HEAD_CONFIGS["topic"]
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
    out_of_fold = np.zeros((len(_MODELS), len(y), len(classes)))
    for train, held in splitter.split(np.zeros(len(y)), y, groups):
        for scores, fit in zip(out_of_fold, _MODELS, strict=True):
            coef, intercept = fit(matrix[train], y[train], len(classes), config)
            scores[held] = np.asarray(matrix[held] @ coef) + intercept
    blended = [(weight, scores) for weight, scores in zip(config.blend, out_of_fold, strict=True) if weight]
    factors = blend_factors([weight for weight, _ in blended], [scores for _, scores in blended])
    blend = sum(factor * scores for factor, (_, scores) in zip(factors, blended, strict=True))
    truth = [classes[i] for i in y]

    def figures(scores: NDArray[np.float64]) -> dict[str, float]:
        scored = report(truth, [classes[i] for i in scores.argmax(axis=1)], labels=classes)
        return {"macro_f1": scored.macro_f1, "accuracy": scored.accuracy}

    return {
        "rows": len(rows),
        "groups": len(set(groups.tolist())),
        "folds": folds,
        "blend_weights": dict(zip(MODEL_NAMES, config.blend, strict=True)),
        **{name: figures(scores) for name, scores in zip(MODEL_NAMES, out_of_fold, strict=True)},
        "blend": figures(np.asarray(blend)),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the labelled CSV (never shipped)")
    parser.add_argument("--text-cols", required=True, help="comma-separated; the first is compared whole for groups")
    parser.add_argument("--label-col", required=True)
    parser.add_argument("--split-col", help="when given, only rows whose value is `train` are used")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    text_cols = [c.strip() for c in args.text_cols.split(",") if c.strip()]
    print(json.dumps(cross_validate(args.data, text_cols, args.label_col, args.split_col, args.folds), indent=2))


if __name__ == "__main__":
    main()
