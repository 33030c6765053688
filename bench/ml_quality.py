"""Every quality figure of the triage model on real data, in one JSON.

    .venv/bin/python -m bench.ml_quality --data-dir ../shared/data [--labels ml/eval/risk_labels.csv]
        [--topic-model DIR] [--risk-model DIR] [--seed-model DIR] [--work DIR]

- `topic`: a CSV topic model trained on the `train` split of `tipdm2020c_messages.csv` (7 topics), scored on its
  `test` split: macro-F1, accuracy, per-class table, expected calibration error. Trained into `--work` unless
  `--topic-model` names one already trained (`python -m ml train --data … --split-col split`).
- `risk`: `python -m ml evaluate-risk` on the labelled real messages, for `--risk-model` (default: the serving
  model).
- `kind`: `python -m ml evaluate-kind` on `fuzhou_river_complaints.csv`, same model.
- `seed_on_tipdm`: the default seed model (15 topics) on the same test split, macro-F1 over the 7 true topics
  (a prediction outside them counts as an error): what a district can expect before training on its own data.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import msgspec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = "tipdm2020c_messages.csv"
KINDS = "fuzhou_river_complaints.csv"
TEXT_COLUMNS = ("title", "detail")


def topic_figures(model_dir: Path, data: Path) -> dict[str, Any]:
    from ml.corpus import read_csv
    from ml.serving import load_model
    from ml.train import topic_report

    model = load_model(model_dir)
    rows = read_csv(data, text_cols=TEXT_COLUMNS, label_col="label", split_col="split", split="test")
    figures = msgspec.to_builtins(topic_report(model, rows))
    return {"model_version": model.version, **figures}


def main() -> None:
    from ml.corpus import default_seed_dir
    from ml.dictionary import default_district_dir
    from ml.evaluation import evaluate_kind, evaluate_risk, read_risk_labels
    from ml.serving import ensure_default_model, load_model, serving_model_dir
    from ml.train import train_csv

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--labels", type=Path, default=ROOT / "ml" / "eval" / "risk_labels.csv")
    parser.add_argument("--topic-model", type=Path, help="a CSV model trained on the train split (else trained now)")
    parser.add_argument("--risk-model", type=Path, help="model for the risk and kind figures (default: serving)")
    parser.add_argument("--seed-model", type=Path, help="default: the default seed model")
    parser.add_argument("--work", type=Path, help="where a topic model is trained (default: a temporary folder)")
    args = parser.parse_args()

    data = args.data_dir / MESSAGES
    with tempfile.TemporaryDirectory() as scratch:
        topic_model = args.topic_model
        if topic_model is None:
            topic_model = (args.work or Path(scratch)) / "tipdm-topic"
            train_csv(
                data=data,
                text_cols=TEXT_COLUMNS,
                label_col="label",
                split_col="split",
                out=topic_model,
                seed_dir=default_seed_dir(),
                district_dir=default_district_dir(),
                command=f"python -m ml train --data {data} --text-cols title,detail --label-col label "
                f"--split-col split --out {topic_model}",
            )
        topic = topic_figures(topic_model, data)
        train_seconds = json.loads((topic_model / "metadata.json").read_text(encoding="utf-8"))["train_seconds"]

    risk_model = load_model(args.risk_model or serving_model_dir())
    seed_model_dir = args.seed_model or ensure_default_model()
    result = {
        "topic": {**topic, "train_seconds": train_seconds},
        "risk": msgspec.to_builtins(evaluate_risk(risk_model, read_risk_labels(args.labels), args.data_dir)),
        "kind": {
            "model_version": risk_model.version,
            **msgspec.to_builtins(evaluate_kind(risk_model, args.data_dir / KINDS)),
        },
        "seed_on_tipdm": topic_figures(seed_model_dir, data),
    }
    seven = [
        label for label in result["seed_on_tipdm"]["labels"] if result["seed_on_tipdm"]["per_class"][label]["support"]
    ]
    result["seed_on_tipdm"]["true_topics"] = seven
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
