"""CSV files as Excel and hotline platforms write them, read by every command that takes a district's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.corpus import CorpusError, LabelledText, read_csv, read_extra, write_rule_labelled
from ml.tables import TableError, open_table

TOPICS = ["城乡建设", "环境保护"]
# as Excel saves it: CRLF line ends, a quoted cell that holds a line break
ROWS = (
    "title,detail,label\r\n"
    "路灯不亮,小区东门路灯坏了一周,城乡建设\r\n"
    '噪音扰民,"工地夜里施工，\r\n吵得睡不着",环境保护\r\n'
)


def _read(path: Path) -> list[LabelledText]:
    return read_csv(path, text_cols=["title", "detail"], label_col="label", split_col=None, split=None)


def test_excel_files_in_gb18030_or_utf8_with_a_bom_read_alike(tmp_path: Path) -> None:
    (tmp_path / "gbk.csv").write_bytes(ROWS.encode("gbk"))
    (tmp_path / "bom.csv").write_bytes(ROWS.encode("utf-8-sig"))

    expected = [
        LabelledText("路灯不亮\n小区东门路灯坏了一周", "城乡建设"),
        LabelledText("噪音扰民\n工地夜里施工，\r\n吵得睡不着", "环境保护"),
    ]
    assert _read(tmp_path / "gbk.csv") == expected
    assert _read(tmp_path / "bom.csv") == expected


def test_a_file_in_neither_encoding_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes("title,detail,label\n路灯不亮,坏了,城乡建设\n".encode() + b"\xff\xfe,x,y\n")

    with pytest.raises(TableError, match=r"mixed\.csv:3: neither UTF-8 nor GB18030"):
        _read(path)


def test_utf16_is_named(tmp_path: Path) -> None:
    path = tmp_path / "unicode.csv"
    path.write_bytes(ROWS.encode("utf-16"))

    with pytest.raises(TableError, match=r"unicode\.csv: UTF-16"):
        _read(path)


def test_columns_match_ignoring_case_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(" Title , DETAIL ,Label\n路灯不亮,坏了一周,城乡建设\n", encoding="utf-8")

    assert _read(path) == [LabelledText("路灯不亮\n坏了一周", "城乡建设")]


def test_short_and_long_rows_read_as_empty_and_ignored_cells(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("title,detail,label\n只有标题\n\n路灯不亮,坏了,城乡建设,多出来,两列\n,,\n", encoding="utf-8")

    assert _read(path) == [LabelledText("路灯不亮\n坏了", "城乡建设")]
    extra = tmp_path / "extra.csv"
    extra.write_text("topic,text,risk_level\n城乡建设\n环境保护,噪音,1\n", encoding="utf-8")
    assert [item.text for item in read_extra(extra, TOPICS)] == ["噪音"]
    out = tmp_path / "labelled.csv"
    options = {"topic_col": "label", "split_col": None, "split": None, "key_col": None, "exclude": set[str]()}
    assert write_rule_labelled(path, out, text_cols=["title", "detail"], **options) == 2


def test_an_error_names_the_line_a_row_starts_on(tmp_path: Path) -> None:
    """A quoted field that holds newlines spans lines: the line counted is the one the spreadsheet row starts on."""
    path = tmp_path / "extra.csv"
    path.write_text('text,topic\n"第一行\n第二行\n第三行",城乡建设\n\n路灯坏了,路灯科\n', encoding="utf-8")

    with pytest.raises(CorpusError, match=r"extra\.csv:6: unknown topic '路灯科'"):
        read_extra(path, TOPICS)


def test_a_quote_left_open_is_refused_not_read_as_one_cell(tmp_path: Path) -> None:
    path = tmp_path / "open-quote.csv"
    path.write_text('title,detail,label\n路灯不亮,"坏了一周,城乡建设\n电梯停了,三天,城乡建设\n', encoding="utf-8")

    with pytest.raises(TableError, match=r"open-quote\.csv:2: unexpected end of data"):
        _read(path)


def test_extra_columns_match_ignoring_case(tmp_path: Path) -> None:
    path = tmp_path / "corrections.csv"
    path.write_text("Text,Topic,Risk_Level\n路灯坏了好几天,城乡建设,1\n", encoding="utf-8")

    [item] = read_extra(path, TOPICS)
    assert (item.topic, item.risk_level) == ("城乡建设", 1)


def test_an_empty_file_and_a_repeated_column_are_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(TableError, match=r"empty\.csv: no column title, detail, label \(columns: the file is empty\)"):
        _read(empty)
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("text,Text,label\na,b,c\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"repeated\.csv:1: column text appears more than once"):
        _read(repeated)


def test_a_folder_is_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="is a folder"), open_table(tmp_path):
        pass
