from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from ml.corpus import default_seed_dir, seed_files
from ml.dictionary import DictEntry, default_district_dir, load_district
from ml.segment import ENGINES, Segmenter, is_word, normalise, normalise_all
from tests.ml.tiny_corpus import write_district

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
# rjieba must give jieba's token lists on nearly every text to stand in for it
AGREEMENT = 0.995


@pytest.fixture(scope="module")
def tiny_entries(tmp_path_factory: pytest.TempPathFactory) -> tuple[DictEntry, ...]:
    return load_district(write_district(tmp_path_factory.mktemp("district"))).entries


@pytest.mark.parametrize("engine", ENGINES)
def test_district_words_and_place_aliases_stay_whole(engine: str, tiny_entries: tuple[DictEntry, ...]) -> None:
    segmenter = Segmenter(tiny_entries, engine)

    tokens = segmenter.cut("天北小区的楼道照明坏了，回龙观街道也有烧烤烟雾")

    assert {"天北", "楼道照明", "回龙观街道", "烧烤烟雾"} <= set(tokens)


def test_documents_are_words_joined_by_single_spaces() -> None:
    document = Segmenter(engine="rjieba").document("  路灯坏了！！\n\t请尽快修理。")

    assert document.split(" ") == ["路灯", "坏", "了", "请", "尽快", "修理"]


def test_full_width_letters_and_digits_read_as_ascii() -> None:
    assert normalise("１２３４５热线　ＡＢＣ") == "12345热线 ABC"


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine"):
        Segmenter(engine="thulac")


def test_importing_the_serving_module_loads_no_segmenter() -> None:
    probe = "import sys, ml.serving; print(sorted(m for m in ('jieba', 'rjieba') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def _agreement(texts: list[str], entries: tuple[DictEntry, ...]) -> float:
    reference, port = Segmenter(entries, "jieba"), Segmenter(entries, "rjieba")
    return sum(reference.cut(text) == port.cut(text) for text in texts) / len(texts)


def test_rjieba_agrees_with_jieba_on_the_seed_corpus() -> None:
    files = seed_files(default_seed_dir())
    if not files:
        pytest.skip("no seed corpus")
    texts = [json.loads(line)["text"] for path in files for line in path.read_text(encoding="utf-8").splitlines()]

    assert _agreement(texts, load_district(default_district_dir()).entries) >= AGREEMENT


@pytest.mark.shared_data
def test_rjieba_agrees_with_jieba_on_real_messages() -> None:
    messages = SHARED / "data" / "tipdm2020c_messages.csv"
    if not messages.is_file():
        pytest.skip("shared data absent")
    with messages.open(encoding="utf-8") as file:
        texts = [f"{row['title']}\n{row['detail']}" for _, row in zip(range(300), csv.DictReader(file), strict=False)]

    assert _agreement(texts, load_district(default_district_dir()).entries) >= AGREEMENT


@pytest.mark.parametrize("engine", ENGINES)
def test_documents_keep_exactly_the_words_of_the_cut(engine: str) -> None:
    """The fast path (no token can mix letters or digits with punctuation) and the careful one agree."""
    files = seed_files(default_seed_dir())
    texts = [json.loads(line)["text"] for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    texts += ["价格上涨2.5%，A-3号楼。", "网址www.abc.com_1", "①号楼　ＡＢＣ", "", "！！！", "表情😀路灯𠀀坏了"]
    segmenter = Segmenter(load_district(default_district_dir()).entries, engine)

    expected = [" ".join(token for token in segmenter.cut(text) if is_word(token)) for text in texts]

    assert segmenter.documents(texts) == expected


def test_broken_and_unusual_input_still_segments() -> None:
    documents = Segmenter(engine="rjieba").documents(["路灯\ud83d坏了", "\x00\x00", "表情😀路灯", ""])

    assert documents == ["路灯 坏 了", "", "表情 路灯", ""]


@pytest.mark.parametrize("engine", ENGINES)
def test_documents_of_texts_full_of_numbers_keep_the_words_of_the_cut(engine: str) -> None:
    """Most texts mixing digits and punctuation: their tokens are read out of the batch cut, not cut again."""
    texts = [f"{n}号楼2.{n}%的住户，A-{n}单元漏水。" if n % 5 else f"第{n}次反映路灯坏了" for n in range(150)]
    segmenter = Segmenter(load_district(default_district_dir()).entries, engine)

    expected = [" ".join(token for token in segmenter.cut(text) if is_word(token)) for text in texts]

    assert segmenter.documents(texts) == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_no_texts_make_no_documents(engine: str) -> None:
    assert Segmenter([], engine).documents([]) == []
    assert normalise_all([]) == []


def test_a_batch_is_normalised_as_each_text_would_be_with_a_pattern() -> None:
    """Runs of any Unicode whitespace become one space, as `\\s+` would make them; full-width forms become ASCII."""
    spaces = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
    texts = [f" 楼道{spaces}灯坏了\t\n", "\u3000\u3000ＡＢ　１２", spaces, "", "一\x85二\xa0三\u2028四 ", "ﬁ①㎡"]
    pattern = re.compile(r"\s+")

    expected = [pattern.sub(" ", unicodedata.normalize("NFKC", text)).strip() for text in texts]

    assert normalise_all(texts) == expected
    assert [normalise(text) for text in texts] == expected
