"""A model artifact is a folder: `topic.joblib`, `risk.joblib`, `kind.joblib` (fitted scikit-learn pipelines) and
`metadata.json`. Loading refuses an artifact that the installed libraries or the current dictionaries would
silently misread.

The joblib files are pickles: load only artifacts this project trained.
"""

from __future__ import annotations

import os
import platform
import shutil
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Literal

import joblib
import msgspec
from sklearn.pipeline import Pipeline

from ml.dictionary import District, load_district, package_dir
from ml.features import FeatureConfig
from ml.metrics import Report
from ml.segment import ENGINES, Segmenter
from ml.triage import TriageModel

FORMAT = 1
HEADS = ("topic", "risk", "kind")
METADATA_FILE = "metadata.json"
# a pickle written by one minor version of these may not load, or load wrongly, in another
PINNED_LIBRARIES = ("scikit-learn", "numpy")


class ModelError(Exception):
    """The artifact is missing, corrupt, or does not match the installed libraries or dictionaries."""


class Metadata(msgspec.Struct, frozen=True, kw_only=True):
    format: int = FORMAT
    version: str  # source-date-data hash prefix, stored with every classification
    created_at: str  # ISO 8601, UTC
    source: Literal["seed", "csv"]
    command: str  # re-creates this artifact
    data_sha256: str  # of the topic training data (the seed files, or the CSV file)
    seed_sha256: str  # of the seed files the risk and kind heads were trained on
    n_train: dict[str, int]  # per head
    n_heldout: dict[str, int]  # per head
    topics: list[str]
    risk_levels: list[int]
    kinds: list[str]
    review_threshold: float  # a prediction with topic or risk confidence below this needs review
    risk_escalation: float  # see ml.triage.escalated_level
    libraries: dict[str, str]
    segmenter: str  # engine
    district: str  # folder, relative to the ml package when inside it
    district_sha256: str
    features: dict[str, FeatureConfig]  # per head
    metrics: dict[str, Report]  # on held-out data, per head ("risk": final levels, "risk_model": model alone)
    train_seconds: float


def library_versions() -> dict[str, str]:
    names = ("scikit-learn", "numpy", "scipy", "joblib", "jieba", "rjieba", "msgspec")
    return {"python": platform.python_version(), **{name: installed_version(name) for name in names}}


def district_reference(directory: Path) -> str:
    resolved = directory.resolve()
    return str(resolved.relative_to(package_dir())) if resolved.is_relative_to(package_dir()) else str(resolved)


def district_path(reference: str) -> Path:
    return package_dir() / reference


def write_artifact(directory: Path, metadata: Metadata, heads: dict[str, Pipeline]) -> None:
    """Written beside the target and moved into place, so a reader never sees half an artifact."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.{os.getpid()}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in HEADS:
        joblib.dump(heads[name], staging / f"{name}.joblib")
    (staging / METADATA_FILE).write_bytes(msgspec.json.format(msgspec.json.encode(metadata)))
    retired = directory.with_name(f".{directory.name}.{os.getpid()}.old")
    if directory.exists():
        directory.rename(retired)
    staging.rename(directory)
    shutil.rmtree(retired, ignore_errors=True)


def read_metadata(directory: Path) -> Metadata:
    path = directory / METADATA_FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=Metadata)
    except FileNotFoundError:
        raise ModelError(f"no model at {directory} ({METADATA_FILE} missing)") from None
    except msgspec.DecodeError as exc:
        raise ModelError(f"{path} is not valid model metadata: {exc}") from None


def check_compatible(metadata: Metadata, district: District) -> None:
    """Raises ModelError naming the command that re-creates the artifact."""
    redo = f"run `{metadata.command}` to retrain it"
    if metadata.format != FORMAT:
        raise ModelError(f"model {metadata.version} has artifact format {metadata.format}, expected {FORMAT}; {redo}")
    for name in (*PINNED_LIBRARIES, metadata.segmenter):
        trained, installed = metadata.libraries.get(name, "?"), installed_version(name)
        if _minor(trained) != _minor(installed):
            raise ModelError(
                f"model {metadata.version} was trained with {name} {trained}, but {installed} is installed; {redo}"
            )
    if district.sha256 != metadata.district_sha256:
        raise ModelError(
            f"the dictionaries in {district.path} changed since model {metadata.version} was trained; {redo}"
        )


def load_model(directory: Path, *, district: Path | None = None, engine: str | None = None) -> TriageModel:
    """Loads and checks an artifact. `district` and `engine` default to those the model was trained with."""
    metadata = read_metadata(directory)
    district_dir = district or district_path(metadata.district)
    try:
        loaded_district = load_district(district_dir)
    except FileNotFoundError as exc:
        raise ModelError(str(exc)) from None
    check_compatible(metadata, loaded_district)
    heads = {}
    for name in HEADS:
        path = directory / f"{name}.joblib"
        try:
            pipeline = joblib.load(path)
        except Exception as exc:
            raise ModelError(f"cannot load {path}: {type(exc).__name__}: {exc}") from None
        if not isinstance(pipeline, Pipeline):
            raise ModelError(f"{path} does not hold a scikit-learn pipeline")
        heads[name] = pipeline
    _check_labels(metadata, heads)
    if engine is not None and engine not in ENGINES:
        raise ModelError(f"unknown segmenter engine {engine!r}")
    segmenter = Segmenter(loaded_district.entries, engine or metadata.segmenter)
    return TriageModel(metadata=metadata, segmenter=segmenter, heads=heads)


def _check_labels(metadata: Metadata, heads: dict[str, Pipeline]) -> None:
    expected: dict[str, list[str] | list[int]] = {
        "topic": metadata.topics,
        "risk": metadata.risk_levels,
        "kind": metadata.kinds,
    }
    for name, labels in expected.items():
        found = heads[name].classes_.tolist()
        if set(found) != set(labels):
            raise ModelError(f"the {name} head predicts {sorted(found)}, the metadata lists {sorted(labels)}")


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
