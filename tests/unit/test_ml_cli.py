from __future__ import annotations

import io
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ml.cli import main
from ml.train import train_seed
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


@pytest.fixture(scope="module")
def model(inputs: dict[str, Path]) -> Path:
    out = inputs["root"] / "model"
    train_seed(seed_dir=inputs["seed"], district_dir=inputs["district"], out=out, engine="rjieba", command="-")
    return out


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
    assert capsys.readouterr().err == ""
    assert main(["evaluate", "--model", str(out), *columns, "--split-col", "split", "--split", "test"]) == 0
    evaluation = json.loads(capsys.readouterr().out)

    assert evaluation["model_version"].startswith("csv-")
    assert evaluation["n"] == 20
    assert 0.0 <= evaluation["macro_f1"] <= 1.0
    assert 0.0 <= evaluation["accuracy"] <= 1.0
    assert 0.0 <= evaluation["ece"] <= 1.0
    assert len(evaluation["confusion"]) == len(evaluation["labels"])
    assert {"precision", "recall", "f1", "support"} == set(evaluation["per_class"]["环境保护"])


def test_train_warns_of_labels_the_district_does_not_list(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    typo = inputs["root"] / "typo.csv"
    typo.write_text(inputs["csv"].read_text(encoding="utf-8").replace("环境保护", "环境保户"), encoding="utf-8")
    columns = ["--data", str(typo), "--text-cols", "title,detail", "--label-col", "label", "--split-col", "split"]

    assert main(["train", *columns, "--out", str(inputs["root"] / "typo-model"), *_training_options(inputs)]) == 0
    [warning] = capsys.readouterr().err.splitlines()
    assert warning.startswith(f"warning: {typo}: labels not among the district's topics: 环境保户 ")


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
    body = "\ufeff" + "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)  # a byte-order mark first
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(body.encode())))

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


def test_predict_reports_a_bad_line_by_number_and_goes_on(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = inputs["root"] / "predict-model-2"
    main(["train-seed", *_training_options(inputs), "--out", str(out)])
    capsys.readouterr()
    body = b"".join(
        [
            '{"id": 1, "text": "路灯不亮"}\n'.encode(),
            b'{"id": 2, "text": \n',  # cut short
            b'{"id": 3, "text": "\xff"}\n',  # not UTF-8
            b'{"id": 4, "text": "x"}\n',
        ]
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(body)))

    assert main(["predict", "--model", str(out)]) == 1
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == [1, 4]
    assert "line 2" in captured.err
    assert "line 3" in captured.err


def test_a_folder_that_holds_no_model_is_never_replaced(inputs: dict[str, Path], tmp_path: Path) -> None:
    """--out names where the model goes; a folder of other files there would be deleted to make room."""
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["train-seed", *_training_options(inputs), "--out", str(tmp_path)]) == 1
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_label_risk_refuses_to_overwrite_its_data_or_to_exclude_without_a_key(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "data.csv"
    data.write_bytes(inputs["csv"].read_bytes())
    columns = ["label-risk", "--data", str(data), "--text-cols", "title,detail"]
    assert main([*columns, "--out", str(data)]) == 1
    assert data.read_bytes() == inputs["csv"].read_bytes()
    exclude = tmp_path / "eval.csv"
    exclude.write_text("source,key,risk_level,sample\ndata,1,2,random\n", encoding="utf-8")
    with pytest.raises(SystemExit):  # argparse: a usage error
        main([*columns, "--out", str(tmp_path / "out.csv"), "--exclude", str(exclude)])
    assert not (tmp_path / "out.csv").exists()


def test_a_split_needs_its_column(inputs: dict[str, Path]) -> None:
    """Without the column every row is read, the training rows included, and the figures are not the held-out ones."""
    columns = ["--data", str(inputs["csv"]), "--text-cols", "title,detail", "--label-col", "label"]
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", str(inputs["root"] / "csv-model"), *columns, "--split", "test"])


def test_files_without_the_columns_a_command_reads_are_named(
    inputs: dict[str, Path], model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unrelated = tmp_path / "unrelated.csv"
    unrelated.write_text("a,b\n1,2\n", encoding="utf-8")
    label = ["label-risk", "--data", str(inputs["csv"]), "--text-cols", "title,detail", "--key-col", "title"]
    out = tmp_path / "out.csv"

    assert main([*label, "--exclude", str(unrelated), "--out", str(out)]) == 1
    assert capsys.readouterr().err == f"error: {unrelated}: no column key (columns: a, b)\n"
    assert main([*label, "--exclude-keys-in", f"{unrelated}:msg_id", "--out", str(out)]) == 1
    assert capsys.readouterr().err == f"error: {unrelated}: no column msg_id (columns: a, b)\n"
    assert main(["evaluate-kind", "--data", str(unrelated), "--model", str(model)]) == 1
    assert capsys.readouterr().err == f"error: {unrelated}: no column kind, text (columns: a, b)\n"
    assert not out.exists()


def test_an_out_that_cannot_be_written_is_refused_before_training(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Training a district's file takes minutes; the place it goes is checked first (the data here is missing)."""
    out = inputs["csv"] / "model"
    columns = ["--data", str(tmp_path / "missing.csv"), "--text-cols", "title,detail", "--label-col", "label"]

    assert main(["train", *columns, "--out", str(out), *_training_options(inputs)]) == 1
    assert capsys.readouterr().err == f"error: cannot write a model at {out}: {inputs['csv']} is a file\n"
    assert main(["train-seed", *_training_options(inputs), "--out", str(inputs["csv"])]) == 1
    assert capsys.readouterr().err == f"error: {inputs['csv']} is a file, not a model folder\n"


def test_a_model_that_fails_to_be_written_leaves_nothing_behind(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ml.artifacts.write_metadata", disk_full)
    out = tmp_path / "model"

    assert main(["train-seed", *_training_options(inputs), "--out", str(out)]) == 1
    assert capsys.readouterr().err == f"error: cannot write a model at {out}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_label_risk_writes_its_file_or_nothing(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    label = ["label-risk", "--data", str(inputs["csv"]), "--text-cols", "title,detail", "--topic-col", "label"]
    folder = tmp_path / "history"
    folder.mkdir()

    assert main([*label, "--out", str(folder)]) == 1
    assert capsys.readouterr().err == f"error: {folder} is a folder; --out names the CSV file to write\n"
    assert main([*label, "--out", str(inputs["csv"] / "h.csv")]) == 1
    assert capsys.readouterr().err.startswith(f"error: cannot write {inputs['csv'] / 'h.csv'}: ")
    assert main([*label, "--out", str(folder / "new" / "h.csv")]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 96
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["h.csv", "history", "new"]


def test_predict_into_a_reader_that_stops_early_ends_with_one_line(model: Path, tmp_path: Path) -> None:
    """`python -m ml predict < items.jsonl | head -1`, and a stdout closed from the start."""
    items = tmp_path / "items.jsonl"
    items.write_text("".join(f'{{"id": {n}, "text": "路灯坏了第{n}天"}}\n' for n in range(2000)), encoding="utf-8")
    command = [sys.executable, "-m", "ml", "predict", "--model", str(model)]
    with (
        items.open("rb") as stdin,
        subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as reader,
    ):
        assert json.loads(reader.stdout.readline())["id"] == 0
        reader.stdout.close()
        stderr = reader.stderr.read().decode()
    assert reader.returncode == 1
    assert stderr == "error: stdout was closed before every result was written\n"
    closed = subprocess.run(
        ["sh", "-c", f'exec "$@" <{shlex.quote(str(items))} >&-', "sh", *command], capture_output=True, timeout=60
    )
    assert (closed.returncode, closed.stderr.decode()) == (1, "error: stdout is closed; the results would be lost\n")


def test_a_model_of_another_format_names_the_command_that_retrains_it(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An artifact written by another version of the code lacks fields this one reads, or has fields it lacks."""
    older = tmp_path / "older"
    shutil.copytree(model, older)
    metadata = json.loads((older / "metadata.json").read_text(encoding="utf-8"))
    del metadata["features"]
    metadata.update(format=2, command="python -m ml train-seed --out older")
    (older / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": 1, "text": "路灯坏了"}\n'))

    assert main(["predict", "--model", str(older)]) == 1
    assert capsys.readouterr().err == (
        f"error: model {metadata['version']} has artifact format 2, expected 3; "
        "run `python -m ml train-seed --out older` to retrain it\n"
    )
    assert main(["predict", "--model", str(model / "metadata.json")]) == 1
    assert capsys.readouterr().err == f"error: no model at {model / 'metadata.json'}: a file, not a model folder\n"


def test_a_topic_short_of_rows_is_named_before_training(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "history.csv"
    base = inputs["csv"].read_text(encoding="utf-8")
    columns = ["--data", str(data), "--text-cols", "title,detail", "--label-col", "label", "--out", str(tmp_path / "m")]

    data.write_text(base + "路灯,坏了,路灯科,train\n", encoding="utf-8")
    assert main(["train", *columns, *_training_options(inputs)]) == 1
    assert (
        capsys.readouterr().err == f"error: {data}: every topic needs at least 2 training rows; '路灯科' only has 1\n"
    )
    data.write_text("title,detail,label\n路灯,坏了,城乡建设\n电梯,停了,城乡建设\n", encoding="utf-8")
    assert main(["train", *columns, *_training_options(inputs)]) == 1
    assert (
        capsys.readouterr().err
        == f"error: {data}: the training rows need at least 2 topics, they hold only '城乡建设'\n"
    )
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "option",
    [
        ["cv-risk", "--risk-dev", "d.csv", "--data-dir", ".", "--repeats", "0"],
        ["cv-risk", "--risk-dev", "d.csv", "--data-dir", ".", "--real-weight", "-1"],
        ["cv-risk", "--risk-dev", "d.csv", "--data-dir", ".", "--c", "0"],
        ["cv-risk", "--risk-dev", "d.csv", "--data-dir", ".", "--history-weight", "nan"],
        ["promote", "--model", "m", "--tolerance", "-0.1"],
    ],
)
def test_numbers_out_of_range_are_usage_errors(option: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """--repeats 0 ended in a TypeError traceback; a negative weight trained a head the wrong way round."""
    with pytest.raises(SystemExit) as exit_status:
        main(option)
    assert exit_status.value.code == 2
    assert f"argument {option[-2]}: expected" in capsys.readouterr().err
