"""Running models: training with a district's own data, promotion, drift, evaluation on labelled files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import ml.promote
from ml.artifacts import read_metadata
from ml.cli import main
from ml.drift import js_distance, monthly, read_classifications
from ml.evaluation import evaluate_kind, evaluate_risk, read_risk_labels, risk_figures
from ml.serving import load_model, serving_model_dir
from ml.train import train_seed
from tests.ml.tiny_corpus import items, write_district, write_seed


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("operations")
    seed, district = write_seed(root / "seed"), write_district(root / "district")
    seed_model = root / "seed-model"
    train_seed(seed_dir=seed, district_dir=district, out=seed_model, engine="rjieba", command="python -m ml train-seed")
    return {"root": root, "seed": seed, "district": district, "seed_model": seed_model}


def _write_corrections(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "topic", "risk_level"])
        for item in items(per_topic=6, seed=3):
            writer.writerow([item["text"], item["topic"], ""])
        writer.writerow(["回龙观的噪音问题，邻居说要去上访", "", "2"])
        writer.writerow(["天通苑的油烟问题，希望有关部门关注", "环境保护", "0"])
    return path


def test_a_district_model_learns_from_corrections_and_records_them(inputs: dict[str, Path]) -> None:
    corrections = _write_corrections(inputs["root"] / "corrections.csv")
    out = inputs["root"] / "district-model"

    metadata = train_seed(
        seed_dir=inputs["seed"],
        district_dir=inputs["district"],
        out=out,
        engine="rjieba",
        command="python -m ml train-seed --extra corrections.csv",
        extra=[corrections],
    )

    assert metadata.version.startswith("district-")
    assert metadata.extra_data == {"corrections.csv": metadata.extra_data["corrections.csv"]}
    seed_metadata = read_metadata(inputs["seed_model"])
    assert metadata.n_train["topic"] == seed_metadata.n_train["topic"] + 25
    assert metadata.n_train["risk"] == seed_metadata.n_train["risk"] + 2
    assert metadata.n_heldout == seed_metadata.n_heldout
    assert load_model(out).predict(["天通苑的油烟问题"])[0].topic == "环境保护"


def test_an_unknown_topic_in_extra_data_is_refused(inputs: dict[str, Path]) -> None:
    bad = inputs["root"] / "bad.csv"
    bad.write_text("text,topic\n路灯坏了,路灯科\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"bad\.csv:2: unknown topic"):
        train_seed(
            seed_dir=inputs["seed"],
            district_dir=inputs["district"],
            out=inputs["root"] / "never",
            command="-",
            extra=[bad],
        )


def test_promotion_installs_a_model_no_worse_and_records_what_it_replaced(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    serving = inputs["root"] / "serving"
    options = ["--serving", str(serving), "--seed-dir", str(inputs["seed"])]

    assert main(["promote", "--model", str(inputs["seed_model"]), *options]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["promote", "--model", str(inputs["seed_model"]), *options]) == 0
    second = json.loads(capsys.readouterr().out)

    assert first["promoted"]
    assert second["promoted"]
    assert {c["measure"] for c in second["comparisons"]} >= {"seed held-out topic macro-F1"}
    metadata = read_metadata(serving)
    assert metadata.promoted_over == read_metadata(inputs["seed_model"]).version
    assert metadata.promoted_at is not None
    assert serving_model_dir(serving) == serving


def test_a_serving_model_that_no_longer_loads_can_be_replaced(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    serving = inputs["root"] / "serving-broken"
    shutil.copytree(inputs["seed_model"], serving)
    for weights in serving.glob("*.npz"):
        weights.write_bytes(weights.read_bytes()[:100])  # cut short

    code = main(
        ["promote", "--model", str(inputs["seed_model"]), "--serving", str(serving), "--seed-dir", str(inputs["seed"])]
    )
    captured = capsys.readouterr()

    assert code == 0, captured.err
    assert "comparing with the default model instead" in captured.err
    assert json.loads(captured.out)["promoted"]
    assert serving_model_dir(serving) == serving


def test_a_worse_model_is_refused_with_its_numbers(inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    serving = inputs["root"] / "serving-refusal"
    shutil.copytree(inputs["seed_model"], serving)
    # every item under the next topic's name: a model that learns this gets topics wrong
    topics = sorted({str(item["topic"]) for item in items()})
    scrambled = inputs["root"] / "scrambled-seed"
    scrambled.mkdir()
    lines = [
        json.dumps({**item, "topic": topics[(topics.index(str(item["topic"])) + 1) % len(topics)]}, ensure_ascii=False)
        for item in items()
    ]
    (scrambled / "tiny.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    worse = inputs["root"] / "worse-model"
    train_seed(seed_dir=scrambled, district_dir=inputs["district"], out=worse, engine="rjieba", command="-")
    before = read_metadata(serving).version

    code = main(["promote", "--model", str(worse), "--serving", str(serving), "--seed-dir", str(inputs["seed"])])
    decision = json.loads(capsys.readouterr().out)

    assert code == 1
    assert not decision["promoted"]
    assert decision["reason"].startswith("refused: seed held-out topic macro-F1")
    assert read_metadata(serving).version == before


def test_drift_reports_each_month_and_its_distance_to_the_previous() -> None:
    lines = [
        json.dumps(
            {
                "at": f"2026-0{month}-0{day}T10:00:00+08:00",
                "topic": topic,
                "risk_level": level,
                "model_version": "seed-1",
                "topic_confidence": 0.8,
            }
        )
        for month, topic, level in [(1, "城乡建设", 0), (1, "城乡建设", 1), (2, "环境保护", 2), (2, "城乡建设", 0)]
        for day in (1, 2)
    ]

    months = monthly(read_classifications(lines))

    assert [m.month for m in months] == ["2026-01", "2026-02"]
    assert months[0].topics == {"城乡建设": 1.0}
    assert months[0].topic_js_distance is None
    assert months[1].topic_js_distance == js_distance({"城乡建设": 1.0}, {"环境保护": 0.5, "城乡建设": 0.5})
    assert 0 < months[1].topic_js_distance < 1
    assert months[1].mean_topic_confidence == 0.8
    assert months[1].mean_confidence == 0.8
    assert months[1].mean_risk_confidence is None
    assert months[1].corrected_share is None  # the lines do not say


def test_drift_reports_the_share_staff_corrected() -> None:
    lines = [
        json.dumps(
            {
                "at": f"2026-05-0{day}T10:00:00+08:00",
                "topic": "政法",
                "risk_level": 0,
                "model_version": "v",
                "corrected": corrected,
            }
        )
        for day, corrected in [(1, False), (2, True), (3, False), (4, False)]
    ]

    assert monthly(read_classifications(lines))[0].corrected_share == 0.25


def test_drift_command_reads_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "classifications.jsonl"
    data.write_text('{"at": "2026-03-01T00:00:00Z", "topic": "政法", "risk_level": 3, "model_version": "v"}\n')

    assert main(["drift", "--data", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["risk_levels"] == {"3": 1.0}


def test_drift_names_the_file_and_line_it_cannot_read_and_takes_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "classifications.jsonl"
    line = '{"at": "2026-03-01T00:00:00Z", "topic": "政法", "risk_level": 3, "model_version": "v"}\r\n'
    data.write_text("\ufeff" + line + '{"at": "yesterday"}\r\n', encoding="utf-8")

    assert main(["drift", "--data", str(data)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {data}:2: ")
    data.write_text("\ufeff" + line, encoding="utf-8")
    assert main(["drift", "--data", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] == 1


def test_risk_figures_count_recall_and_precision_of_the_urgent_levels() -> None:
    figures = risk_figures([0, 1, 2, 3, 3, 2], [0, 2, 2, 3, 1, 3])

    assert figures.recall_2_plus == 0.75  # 3 of the 4 items labelled 2 or 3
    assert figures.precision_2_plus == 0.75  # 3 of the 4 items predicted 2 or 3
    assert figures.recall_3 == 0.5
    assert figures.confusion[3] == [0, 1, 0, 1]


def test_risk_and_kind_are_evaluated_against_files_that_keep_the_texts(inputs: dict[str, Path], tmp_path: Path) -> None:
    model = load_model(inputs["seed_model"])
    with (tmp_path / "tipdm2020c_messages.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["row", "title", "detail"])
        writer.writerow(["7", "燃气泄漏", "楼道里燃气泄漏，味道很浓"])
        writer.writerow(["8", "路灯", "建议增设路灯"])
    labels = tmp_path / "labels.csv"
    labels.write_text("source,key,risk_level,sample\ntipdm2020c_messages,7,3,keyword\ntipdm2020c_messages,8,0,random\n")
    kinds = tmp_path / "kinds.csv"
    kinds.write_text("title,text,kind\n投诉,我要投诉噪音,投诉\n咨询,请问社保怎么交,咨询\n其他,x,其他\n")

    result = evaluate_risk(model, read_risk_labels(labels), tmp_path)
    kind_report = evaluate_kind(model, kinds)

    assert result["all"].recall_3 == 1.0  # type: ignore[attr-defined]
    assert result["random"].n == 1  # type: ignore[attr-defined]
    assert kind_report.n == 2


def test_label_risk_writes_rule_labels_and_leaves_out_evaluation_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "history.csv"
    data.write_text(
        "row,title,detail,label\n1,燃气,楼道燃气泄漏了,城乡建设\n2,路灯,路灯坏了,城乡建设\n3,工资,拖欠工资,劳动和社会保障\n"
    )
    exclude = tmp_path / "labels.csv"
    exclude.write_text("source,key,risk_level,sample\nhistory,3,2,random\nother,1,0,random\n")
    out = tmp_path / "extra.csv"

    code = main(
        ["label-risk", "--data", str(data), "--text-cols", "title,detail", "--topic-col", "label",
         "--key-col", "row", "--exclude", str(exclude), "--out", str(out)]
    )  # fmt: skip

    assert code == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 2
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["topic"], r["risk_level"]) for r in rows] == [("城乡建设", "3"), ("城乡建设", "0")]


def test_label_risk_leaves_out_rows_another_corpus_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "stream.csv"
    data.write_text("msg_id,title,detail\n7,燃气,楼道燃气泄漏了\n8,路灯,路灯坏了\n")
    other = tmp_path / "messages.csv"
    other.write_text("row,msg_id,title\n0,7,燃气\n")
    out = tmp_path / "extra.csv"

    code = main(
        ["label-risk", "--data", str(data), "--text-cols", "title,detail", "--key-col", "msg_id",
         "--exclude-keys-in", f"{other}:msg_id", "--out", str(out)]
    )  # fmt: skip

    assert code == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 1
    assert [r["risk_level"] for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))] == ["0"]


def test_a_promotion_while_another_is_under_way_is_refused(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both would be compared with the model before them, and the later would replace the other unexamined."""
    serving = inputs["root"] / "serving-contested"
    shutil.copytree(inputs["seed_model"], serving)
    command = ["promote", "--model", str(inputs["seed_model"]), "--serving", str(serving)]
    command += ["--seed-dir", str(inputs["seed"])]
    compare = ml.promote.compare
    during: list[int] = []

    def compare_while_another_runs(*args: Any, **kwargs: Any) -> list[ml.promote.Comparison]:
        monkeypatch.setattr("ml.promote.compare", compare)  # the other promotion compares as usual
        during.append(main(command))
        return compare(*args, **kwargs)

    monkeypatch.setattr("ml.promote.compare", compare_while_another_runs)

    assert main(command) == 0
    assert during == [1]
    assert f"another promotion into {serving} is under way" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(command) == 0  # the lock went with the promotion that held it
