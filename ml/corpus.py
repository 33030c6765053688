"""Training data: the seed corpus (`ml/seed/*.jsonl`) and labelled CSV files, their hashes, the held-out slice."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec

from ml.dictionary import package_dir
from ml.tables import column_key, open_table

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


class ExtraItem(msgspec.Struct, frozen=True):
    """A row of a district's own training data: imported history or a staff correction. A missing label is None."""

    text: str
    topic: str | None
    risk_level: int | None
    kind: str | None


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
    """Rows of `path` (whose `split_col` equals `split`, when both are given), text columns joined by a newline.
    Rows without text or label are left out."""
    rows = []
    with open_table(path) as table:
        keys = table.require([*text_cols, label_col, *([split_col] if split_col else [])])
        text_keys, label_key = keys[: len(text_cols)], keys[len(text_cols)]
        split_key = keys[-1] if split_col else None
        for _, row in table.rows():
            if split_key and split and row[split_key].strip() != split:
                continue
            text = "\n".join(_cell_text(row[c]) for c in text_keys if row[c])
            if text.strip() and row[label_key].strip():
                rows.append(LabelledText(text=text, label=row[label_key].strip()))
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


# A cell a spreadsheet would take for a formula is exported after an apostrophe (`suggestions export corrections`):
# the text is what follows it.
_FORMULA_STARTS = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def _cell_text(cell: str) -> str:
    return cell[1:] if cell.startswith(_FORMULA_STARTS) else cell


def read_extra(path: Path, topics: Sequence[str]) -> list[ExtraItem]:
    """A CSV of extra training rows.

    Text: column `text`, or `title` and `detail` joined by a newline (a cell an apostrophe kept from being a
    spreadsheet's formula without it). Labels: `topic` (or `label`), `risk_level`
    (0–3), `kind`; any may be missing or empty, and a row with none is skipped. Rows whose `split` is `test` are
    skipped too: they are kept for evaluation.
    """
    known = set(topics)
    items = []
    with open_table(path) as table:
        if not table.has("text") and not (table.has("title") and table.has("detail")):
            columns = ", ".join(table.header) if table.header else "the file is empty"
            raise CorpusError(f"{path}: needs a text column, or title and detail (columns: {columns})")
        text_keys = ["text"] if table.has("text") else ["title", "detail"]
        topic_key = "topic" if table.has("topic") else "label" if table.has("label") else None
        for number, row in table.rows():
            if row.get("split", "").strip() == "test":
                continue
            text = "\n".join(_cell_text(row[c]) for c in text_keys if row[c])
            topic = row[topic_key].strip() if topic_key else ""
            risk = row.get("risk_level", "").strip()
            kind = row.get("kind", "").strip()
            if not text.strip() or not (topic or risk or kind):
                continue
            if topic and topic not in known:
                raise CorpusError(f"{path}:{number}: unknown topic {topic!r}")
            if risk and risk not in {str(level) for level in RISK_LEVELS}:
                raise CorpusError(f"{path}:{number}: risk_level must be 0, 1, 2 or 3, not {risk!r}")
            if kind and kind not in KINDS:
                raise CorpusError(f"{path}:{number}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
            items.append(
                ExtraItem(text=text, topic=topic or None, risk_level=int(risk) if risk else None, kind=kind or None)
            )
    return items


def write_rule_labelled(
    data: Path,
    out: Path,
    *,
    text_cols: Sequence[str],
    topic_col: str | None,
    split_col: str | None,
    split: str | None,
    key_col: str | None,
    exclude: set[str],
) -> int:
    """Writes `text,topic,risk_level` rows for `train-seed --extra`: the risk level set by the lexicon's rules (the
    highest explicit signal), the topic copied from `topic_col`. Rows whose `key_col` value is in `exclude` (e.g.
    messages of an evaluation set) are left out. Returns the number of rows written."""
    from ml.lexicon import risk_floor

    if out.resolve() == data.resolve():
        raise CorpusError(f"{out}: the output would overwrite the data it is read from")
    if out.is_dir():
        raise CorpusError(f"{out} is a folder; --out names the CSV file to write")
    written = 0
    # Written beside the target and moved into place: a failure leaves no partial file for `--extra` to read.
    partial = out.with_name(f".{out.name}.partial")
    try:
        with open_table(data) as table:
            optional = [c for c in (topic_col, split_col, key_col) if c]
            text_keys = table.require([*text_cols, *optional])[: len(text_cols)]
            topic_key, split_key, key_key = (column_key(c) if c else None for c in (topic_col, split_col, key_col))
            out.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("w", encoding="utf-8", newline="") as target:
                writer = csv.writer(target)
                writer.writerow(["text", "topic", "risk_level"])
                for _, row in table.rows():
                    if (split_key and split and row[split_key].strip() != split) or (
                        key_key and row[key_key] in exclude
                    ):
                        continue
                    text = "\n".join(_cell_text(row[c]) for c in text_keys if row[c])
                    if text.strip():
                        writer.writerow([text, row[topic_key].strip() if topic_key else "", risk_floor(text)[0]])
                        written += 1
        partial.replace(out)
    except OSError as exc:
        if exc.filename is None or Path(exc.filename) not in {partial, out, *out.parents}:
            raise
        raise CorpusError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if partial.is_file():
            partial.unlink()
    return written
