"""Training data: the seed corpus (`ml/seed/*.jsonl`) and labelled CSV files, their hashes, the held-out slice."""

from __future__ import annotations

import csv
import hashlib
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec

from ml.dictionary import package_dir

HELDOUT_FRACTION = 0.2
KINDS = ("suggestion", "complaint", "inquiry", "report", "help")
RISK_LEVELS = (0, 1, 2, 3)

Kind = Literal["suggestion", "complaint", "inquiry", "report", "help"]
T = TypeVar("T")


class CorpusError(ValueError):
    pass


class SeedItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    channel: Literal["web", "hotline", "grid"]
    kind: Kind
    place: str
    text: Annotated[str, msgspec.Meta(min_length=1)]
    topic: str
    risk_level: Annotated[int, msgspec.Meta(ge=0, le=3)]


class LabelledText(msgspec.Struct, frozen=True):
    text: str
    label: str


def default_seed_dir() -> Path:
    return package_dir() / "seed"


def seed_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


def seed_sha256(directory: Path) -> str:
    """Changes whenever a seed file is added, removed or edited."""
    digest = hashlib.sha256()
    for path in seed_files(directory):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def read_seed(directory: Path, topics: Sequence[str]) -> list[SeedItem]:
    files = seed_files(directory)
    if not files:
        raise CorpusError(f"no seed corpus: {directory} holds no *.jsonl file")
    decoder = msgspec.json.Decoder(SeedItem)
    known = set(topics)
    items = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = decoder.decode(line)
            except msgspec.ValidationError as exc:
                raise CorpusError(f"{path.name}:{number}: {exc}") from None
            if item.topic not in known:
                raise CorpusError(f"{path.name}:{number}: unknown topic {item.topic!r}")
            items.append(item)
    return items


def read_csv(
    path: Path, *, text_cols: Sequence[str], label_col: str, split_col: str | None, split: str | None
) -> list[LabelledText]:
    """Rows of `path` (whose `split_col` equals `split`, when both are given), text columns joined by a newline."""
    csv.field_size_limit(sys.maxsize)
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        missing = [
            c
            for c in [*text_cols, label_col, *([split_col] if split_col else [])]
            if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise CorpusError(f"{path}: no column {', '.join(missing)} (columns: {', '.join(reader.fieldnames or [])})")
        for row in reader:
            if split_col and split and row[split_col] != split:
                continue
            text = "\n".join(row[c] for c in text_cols if row[c])
            if text.strip() and row[label_col].strip():
                rows.append(LabelledText(text=text, label=row[label_col].strip()))
    return rows


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_heldout(
    items: Sequence[T], *, text: Callable[[T], str], stratum: Callable[[T], str], fraction: float = HELDOUT_FRACTION
) -> tuple[list[T], list[T]]:
    """(training, held out): per stratum, the `fraction` of items whose text hashes lowest.

    Deterministic whatever the order of the files and lines.
    """
    groups: dict[str, list[T]] = defaultdict(list)
    for item in items:
        groups[stratum(item)].append(item)
    training: list[T] = []
    heldout: list[T] = []
    for group in groups.values():
        ranked = sorted(group, key=lambda item: hashlib.sha256(text(item).encode()).hexdigest())
        cut = round(len(ranked) * fraction)
        heldout.extend(ranked[:cut])
        training.extend(ranked[cut:])
    return training, heldout
