from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ml.cli import main
from tests.ml.tiny_corpus import write_csv, write_district, write_seed


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    return {
        "seed": write_seed(root / "seed"),
        "district": write_district(root / "district"),
        "csv": write_csv(root / "data.csv"),
        "root": root,
    }


def _training_options(inputs: dict[str, Path]) -> list[str]:
    return ["--seed-dir", str(inputs["seed"]), "--district", str(inputs["district"]), "--engine", "rjieba"]


def test_train_seed_prints_heldout_figures(inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = inputs["root"] / "seed-model"

    assert main(["train-seed", *_training_options(inputs), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)

    assert printed["version"].startswith("seed-")
    assert set(printed["metrics"]["topic"]["per_class"]) == {"城乡建设", "环境保护", "劳动和社会保障", "交通运输"}
    assert set(printed["metrics"]["risk"]["per_class"]) == {"0", "1", "2", "3"}
    assert "kind" in printed["metrics"]


def test_train_then_evaluate_a_csv_topic_model(inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = inputs["root"] / "csv-model"
    columns = ["--data", str(inputs["csv"]), "--text-cols", "title,detail", "--label-col", "label"]

    assert main(["train", *columns, "--split-col", "split", "--out", str(out), *_training_options(inputs)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), *columns, "--split-col", "split", "--split", "test"]) == 0
    evaluation = json.loads(capsys.readouterr().out)

    assert evaluation["model_version"].startswith("csv-")
    assert evaluation["n"] == 20
    assert 0.0 <= evaluation["macro_f1"] <= 1.0
    assert 0.0 <= evaluation["accuracy"] <= 1.0
    assert 0.0 <= evaluation["ece"] <= 1.0
    assert len(evaluation["confusion"]) == len(evaluation["labels"])
    assert {"precision", "recall", "f1", "support"} == set(evaluation["per_class"]["环境保护"])


def test_predict_reads_and_writes_jsonl(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = inputs["root"] / "predict-model"
    main(["train-seed", *_training_options(inputs), "--out", str(out)])
    capsys.readouterr()
    lines = [
        {"id": "a1", "text": "我要投诉，霍营街道的噪音问题，扬尘一直这样"},
        {"id": 2, "text": "求助，南口镇的工资问题，有人说要跳楼"},
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)))

    assert main(["predict", "--model", str(out)]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert [r["id"] for r in results] == ["a1", 2]
    assert set(results[0]) == {"id", "topic", "topic_confidence", "risk_level", "risk_confidence", "model_version"}
    assert results[1]["risk_level"] == 3
    assert results[0]["model_version"].startswith("seed-")


def test_a_bad_model_folder_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    assert main(["predict", "--model", str(tmp_path)]) == 1
    assert "no model" in capsys.readouterr().err
