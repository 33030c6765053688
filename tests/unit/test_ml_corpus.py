from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.corpus import CorpusError, LabelledText, read_csv, read_seed, seed_sha256, split_heldout
from ml.dictionary import DEFAULT_TOPICS, DictEntry, load_district, parse_gazetteer, parse_userdict
from ml.metrics import expected_calibration_error, report
from ml.tables import TableError
from tests.ml.tiny_corpus import write_csv, write_district, write_seed


def _rows(n: int) -> list[LabelledText]:
    return [LabelledText(text=f"第{i}条", label="甲" if i % 3 else "乙") for i in range(n)]


def test_heldout_slice_is_a_fifth_of_each_label_whatever_the_order() -> None:
    rows = _rows(100)

    training, heldout = split_heldout(rows, text=lambda r: r.text, stratum=lambda r: r.label)
    again = split_heldout(rows[::-1], text=lambda r: r.text, stratum=lambda r: r.label)[1]

    assert sorted(r.text for r in heldout) == sorted(r.text for r in again)
    assert {r.text for r in training}.isdisjoint(r.text for r in heldout)
    assert sum(r.label == "乙" for r in heldout) == 7  # round(34 * 0.2)
    assert sum(r.label == "甲" for r in heldout) == 13  # round(66 * 0.2)


def test_seed_lines_are_validated(tmp_path: Path) -> None:
    write_seed(tmp_path)
    bad = {"channel": "fax", "kind": "complaint", "place": "", "text": "路灯坏了", "topic": "城乡建设", "risk_level": 0}
    (tmp_path / "z.jsonl").write_text(json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")

    with pytest.raises(CorpusError, match=r"z\.jsonl:1"):
        read_seed(tmp_path, DEFAULT_TOPICS)


def test_seed_topics_must_be_known(tmp_path: Path) -> None:
    write_seed(tmp_path)

    with pytest.raises(CorpusError, match="unknown topic"):
        read_seed(tmp_path, ("城乡建设",))


def test_seed_hash_follows_the_files(tmp_path: Path) -> None:
    write_seed(tmp_path)
    before = seed_sha256(tmp_path)
    with (tmp_path / "tiny.jsonl").open("a", encoding="utf-8") as file:
        file.write("\n")

    assert seed_sha256(tmp_path) != before


def test_csv_rows_join_text_columns_and_filter_by_split(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "data.csv")

    train = read_csv(path, text_cols=["title", "detail"], label_col="label", split_col="split", split="train")
    everything = read_csv(path, text_cols=["title", "detail"], label_col="label", split_col=None, split=None)

    assert 0 < len(train) < len(everything)
    assert "\n" in train[0].text


def test_csv_names_a_missing_column(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="no column body"):
        read_csv(write_csv(tmp_path / "d.csv"), text_cols=["body"], label_col="label", split_col=None, split=None)


def test_userdict_lines_take_jieba_forms() -> None:
    assert parse_userdict("回龙观 100 ns\n接诉即办 v\n网格员\n") == [
        DictEntry("回龙观", 100, "ns"),
        DictEntry("接诉即办", None, "v"),
        DictEntry("网格员", None, None),
    ]


def test_gazetteer_names_and_aliases_are_place_nouns() -> None:
    entries = parse_gazetteer("name,level,parent,aliases\n天通苑北街道,街道,昌平区,天通苑北|天北\n")

    assert [(e.word, e.tag) for e in entries] == [("天通苑北街道", "ns"), ("天通苑北", "ns"), ("天北", "ns")]


def test_district_hash_changes_with_its_dictionary(tmp_path: Path) -> None:
    before = load_district(write_district(tmp_path)).sha256
    (tmp_path / "userdict.txt").write_text("新词 10 n\n", encoding="utf-8")

    assert load_district(tmp_path).sha256 != before


def test_calibration_error_is_zero_when_confidence_matches_accuracy() -> None:
    confidence = np.array([0.75] * 4)
    correct = np.array([True, True, True, False])

    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([1.0] * 4), correct) == pytest.approx(0.25)


def test_report_counts_labels_the_model_never_predicts() -> None:
    result = report(["甲", "乙", "丙"], ["甲", "乙", "乙"], labels=["甲", "乙"])

    assert result.labels == ["甲", "乙", "丙"]
    assert result.confusion[2] == [0, 1, 0]
    assert result.per_class["丙"].recall == 0.0
    assert result.macro_f1 == pytest.approx((1 + 2 / 3 + 0) / 3, abs=1e-4)
