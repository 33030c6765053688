"""Making a trained model the serving one, only if it is no worse than the model it replaces.

Both models are scored on the same held-out data: the seed corpus's held-out slice as it is now (topic macro-F1,
and macro-F1 of the service's final risk level), and, when both were trained on the same CSV file (same hash),
the topic figures each recorded on that file's test rows (or out of fold). The candidate is refused if any of
these figures is lower than the current model's by more than `tolerance`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from ml.artifacts import (
    Metadata,
    ModelError,
    check_replaceable,
    district_path,
    load_model,
    read_metadata,
    replace_folder,
    write_metadata,
)
from ml.corpus import read_seed, split_heldout
from ml.dictionary import load_district
from ml.metrics import report
from ml.triage import TriageModel


class Comparison(msgspec.Struct, frozen=True):
    measure: str
    candidate: float
    current: float


class Decision(msgspec.Struct, frozen=True):
    promoted: bool
    candidate: str  # version
    current: str | None  # version of the serving model before, None if there was none
    comparisons: list[Comparison]
    reason: str


def compare(candidate: TriageModel, current: TriageModel, seed_dir: Path) -> list[Comparison]:
    items = read_seed(seed_dir, load_district(district_path(candidate.metadata.district)).topics)
    _, heldout = split_heldout(items, text=lambda i: i.text, stratum=lambda i: i.topic)
    texts = [i.text for i in heldout]
    comparisons = []
    scores = {}
    for name, model in (("candidate", candidate), ("current", current)):
        predictions = model.predict(texts)
        topics = [i.topic for i in heldout]
        levels = [str(i.risk_level) for i in heldout]
        scores[name] = (
            report(topics, [p.topic for p in predictions], labels=list(model.topics)).macro_f1,
            report(levels, [str(p.risk_level) for p in predictions], labels=["0", "1", "2", "3"]).macro_f1,
        )
    comparisons.append(Comparison("seed held-out topic macro-F1", scores["candidate"][0], scores["current"][0]))
    comparisons.append(Comparison("seed held-out risk macro-F1", scores["candidate"][1], scores["current"][1]))
    old, new = current.metadata, candidate.metadata
    if new.source == old.source == "csv" and new.data_sha256 == old.data_sha256:
        measure = "topic_test" if "topic_test" in new.metrics and "topic_test" in old.metrics else "topic"
        comparisons.append(
            Comparison(
                f"recorded {measure} macro-F1 on {new.data_sha256[:8]}",
                new.metrics[measure].macro_f1,
                old.metrics[measure].macro_f1,
            )
        )
    return comparisons


def promote(
    model_dir: Path, serving_dir: Path, *, seed_dir: Path, current: TriageModel | None, tolerance: float
) -> Decision:
    """Copies `model_dir` to `serving_dir` if it is no worse than `current` (the model the service would use)."""
    check_replaceable(serving_dir)
    candidate = load_model(model_dir)
    if current is None:
        comparisons: list[Comparison] = []
    else:
        comparisons = compare(candidate, current, seed_dir)
    worse = [c for c in comparisons if c.candidate < c.current - tolerance]
    current_version = current.version if current else None
    if worse:
        reason = "; ".join(f"{c.measure} {c.candidate:.4f} < {c.current:.4f}" for c in worse)
        return Decision(False, candidate.version, current_version, comparisons, f"refused: {reason}")
    if model_dir.resolve() != serving_dir.resolve():
        _install(model_dir, serving_dir, candidate.metadata, current_version)
    return Decision(True, candidate.version, current_version, comparisons, "promoted")


def _install(model_dir: Path, serving_dir: Path, metadata: Metadata, replaced: str | None) -> None:
    """Copied beside the serving folder and moved into place: the service never reads half a model."""
    serving_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = serving_dir.with_name(f".{serving_dir.name}.{os.getpid()}.new")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(model_dir, staging)
        promoted = msgspec.structs.replace(
            metadata, promoted_at=datetime.now(UTC).isoformat(timespec="seconds"), promoted_over=replaced
        )
        write_metadata(staging, promoted)
        replace_folder(staging, serving_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    read_metadata(serving_dir)


@contextmanager
def serving_lock(serving_dir: Path) -> Iterator[None]:
    """Held from reading the serving model to replacing it. Two promotions at once would each be compared with the
    model before both, and the later one would replace the other without being compared with it."""
    serving_dir.parent.mkdir(parents=True, exist_ok=True)
    with serving_dir.with_name(f".{serving_dir.name}.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelError(
                f"another promotion into {serving_dir} is under way; run this one again when it has finished"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
