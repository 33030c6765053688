"""A district folder: the words its segmenter must know (user dictionary and gazetteer) and its topic list.

The folder is a replaceable unit (`ml/district/<name>/`):
- `userdict.txt`: jieba user dictionary, one `word [freq] [pos]` a line;
- `gazetteer.csv`: `name,level,parent,aliases` (aliases `|`-separated), every name and alias a place noun;
- `topics.csv`: `name,covers`, the topics in display order.
A missing file counts as empty (topics then default to the 15 government classes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import msgspec

DEFAULT_TOPICS = (
    "城乡建设",
    "农村农业",
    "政法",
    "教育文体",
    "劳动和社会保障",
    "民政",
    "党务政务",
    "经济管理",
    "卫生计生",
    "商贸旅游",
    "环境保护",
    "交通运输",
    "纪检监察",
    "国土资源",
    "科技与信息产业",
)

PLACE_TAG = "ns"

# jieba's own user-dictionary line syntax, so both segmenter engines read a line the same way.
_USERDICT_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")


class DictEntry(msgspec.Struct, frozen=True):
    word: str
    freq: int | None  # None: let the segmenter suggest a frequency that keeps the word whole
    tag: str | None


class District(msgspec.Struct, frozen=True):
    path: str
    entries: tuple[DictEntry, ...]
    topics: tuple[str, ...]
    sha256: str  # of the dictionary files only: a change there changes segmentation, a topic list edit does not


def package_dir() -> Path:
    return Path(__file__).resolve().parent


def default_district_dir() -> Path:
    return package_dir() / "district" / "changping"


def load_district(directory: Path) -> District:
    if not directory.is_dir():
        raise FileNotFoundError(f"district folder {directory} does not exist")
    userdict = _read_text(directory / "userdict.txt")
    gazetteer = _read_text(directory / "gazetteer.csv")
    topics = _read_text(directory / "topics.csv")
    entries = _dedupe([*parse_userdict(userdict), *parse_gazetteer(gazetteer)])
    digest = hashlib.sha256()
    for text in (userdict, gazetteer):
        digest.update(text.encode())
        digest.update(b"\0")
    return District(
        path=str(directory),
        entries=tuple(entries),
        topics=parse_topics(topics) or DEFAULT_TOPICS,
        sha256=digest.hexdigest(),
    )


def parse_userdict(text: str) -> list[DictEntry]:
    entries = []
    for line in text.splitlines():
        match = _USERDICT_LINE.match(line.strip())
        if not match:
            continue
        word, freq, tag = match.groups()
        entries.append(DictEntry(word=word.strip(), freq=int(freq) if freq else None, tag=tag.strip() if tag else None))
    return entries


def parse_gazetteer(text: str) -> list[DictEntry]:
    names: list[str] = []
    for row in csv.DictReader(io.StringIO(text)):
        names.append(row.get("name") or "")
        names.extend((row.get("aliases") or "").split("|"))
    return [DictEntry(word=name.strip(), freq=None, tag=PLACE_TAG) for name in names if name.strip()]


def parse_topics(text: str) -> tuple[str, ...]:
    return tuple(name for row in csv.DictReader(io.StringIO(text)) if (name := (row.get("name") or "").strip()))


def _dedupe(entries: list[DictEntry]) -> list[DictEntry]:
    """Keep the first entry of each word: the user dictionary's explicit frequency wins over a gazetteer name."""
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry.word not in seen and " " not in entry.word:
            seen.add(entry.word)
            kept.append(entry)
    return kept


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig") if path.is_file() else ""
