"""A model artifact is a folder: `features.npz` (vocabulary and IDF weights), `heads.npz` (the weights of the
topic, risk and kind heads) and `metadata.json`. Plain numpy arrays, read with `allow_pickle=False`: loading runs
no code from the artifact. Loading refuses an artifact that the installed libraries or the current dictionaries
would silently misread.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import zipfile
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np

from ml.dictionary import District, load_district, package_dir
from ml.features import FeatureConfig, TextFeatures
from ml.heads import HeadConfig, LinearHead
from ml.metrics import Report
from ml.risk import RiskTraining
from ml.segment import ENGINES, Segmenter
from ml.triage import HEADS, TriageModel

FORMAT = 3
METADATA_FILE = "metadata.json"
FEATURES_FILE = "features.npz"
HEADS_FILE = "heads.npz"
# besides the segmenter (which decides the tokens the vocabulary was built from), nothing the artifact holds depends
# on a library version: it is plain arrays
PINNED_LIBRARIES: tuple[str, ...] = ()


class ModelError(Exception):
    """The artifact is missing, corrupt, or does not match the installed libraries or dictionaries."""


class Metadata(msgspec.Struct, frozen=True, kw_only=True):
    format: int = FORMAT
    version: str  # source-date-data hash prefix, stored with every classification
    created_at: str  # ISO 8601, UTC
    source: Literal["seed", "csv", "district"]  # seed corpus; topic from a CSV; seed plus a district's own data
    command: str  # re-creates this artifact
    data_sha256: str  # of the topic training data (the seed files, the CSV file, or seed and extra files)
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
    features: FeatureConfig  # shared by the heads
    heads: dict[str, HeadConfig]
    metrics: dict[str, Report]  # on held-out data, per head ("risk": final levels, "risk_model": model alone)
    train_seconds: float
    extra_data: dict[str, str] = {}  # file name -> sha256 of the extra training files (district models)
    risk_training: RiskTraining | None = None  # how labelled real messages joined the risk head (`--risk-dev`)
    promoted_at: str | None = None  # when `python -m ml promote` made it the serving model
    promoted_over: str | None = None  # the version it replaced, if any


def library_versions() -> dict[str, str]:
    names = ("scikit-learn", "numpy", "scipy", "joblib", "jieba", "rjieba", "msgspec")
    return {"python": platform.python_version(), **{name: installed_version(name) for name in names}}


def district_reference(directory: Path) -> str:
    resolved = directory.resolve()
    return str(resolved.relative_to(package_dir())) if resolved.is_relative_to(package_dir()) else str(resolved)


def district_path(reference: str) -> Path:
    return package_dir() / reference


def write_artifact(directory: Path, metadata: Metadata, features: TextFeatures, heads: dict[str, LinearHead]) -> None:
    """Written beside the target and moved into place, so a reader never sees half an artifact."""
    check_writable(directory)
    staging = directory.with_name(f".{directory.name}.{os.getpid()}.new")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        np.savez(staging / FEATURES_FILE, **features.state())
        np.savez(staging / HEADS_FILE, **{k: v for name in HEADS for k, v in heads[name].state(name).items()})
        write_metadata(staging, metadata)
        replace_folder(staging, directory)
    except OSError as exc:
        raise ModelError(f"cannot write a model at {directory}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_folder(staging: Path, directory: Path) -> None:
    """Moves `staging` to `directory`, replacing the folder there if any."""
    retired = directory.with_name(f".{directory.name}.{os.getpid()}.old")
    if directory.exists():
        directory.rename(retired)
    try:
        staging.rename(directory)
    except OSError:
        if retired.exists():
            retired.rename(directory)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def check_writable(directory: Path) -> None:
    """Refuses, before any time is spent training, a target that could not be written or must not be replaced."""
    check_replaceable(directory)
    existing = next(folder for folder in directory.parents if folder.exists())
    if not existing.is_dir():
        raise ModelError(f"cannot write a model at {directory}: {existing} is a file")
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.")).rmdir()
    except OSError as exc:
        raise ModelError(f"cannot write a model at {directory}: {exc.strerror or exc}") from None


def check_replaceable(directory: Path) -> None:
    """Refuses a target that is a file, or a non-empty folder that holds no model: replacing it would delete it."""
    if directory.exists() and not directory.is_dir():
        raise ModelError(f"{directory} is a file, not a model folder")
    if directory.is_dir() and not (directory / METADATA_FILE).is_file() and any(directory.iterdir()):
        raise ModelError(f"{directory} holds files but no model ({METADATA_FILE}); refusing to replace it")


def write_metadata(directory: Path, metadata: Metadata) -> None:
    (directory / METADATA_FILE).write_bytes(msgspec.json.format(msgspec.json.encode(metadata)))


class _Origin(msgspec.Struct):
    """What metadata of any format records: enough to say which model it is and how to train it again."""

    format: int
    version: str
    command: str


def read_metadata(directory: Path) -> Metadata:
    path = directory / METADATA_FILE
    if directory.exists() and not directory.is_dir():
        raise ModelError(f"no model at {directory}: a file, not a model folder")
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"no model at {directory} ({METADATA_FILE} missing)") from None
    try:
        return msgspec.json.decode(content, type=Metadata)
    except msgspec.ValidationError as exc:
        origin = _origin(content)
        if origin is not None and origin.format != FORMAT:
            raise ModelError(
                f"model {origin.version} has artifact format {origin.format}, expected {FORMAT}; "
                f"run `{origin.command}` to retrain it"
            ) from None
        raise ModelError(f"{path} is not valid model metadata: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ModelError(f"{path} is not valid model metadata: {exc}") from None


def _origin(content: bytes) -> _Origin | None:
    try:
        return msgspec.json.decode(content, type=_Origin)
    except msgspec.DecodeError:
        return None


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
    label_types: dict[str, type] = {"topic": str, "risk": int, "kind": str}
    try:
        # Opened here, not by numpy: np.load leaves the file open when it is not a zip file.
        with (directory / FEATURES_FILE).open("rb") as file, np.load(file, allow_pickle=False) as state:
            features = TextFeatures.from_state(metadata.features, state)
        with (directory / HEADS_FILE).open("rb") as file, np.load(file, allow_pickle=False) as state:
            heads = {name: LinearHead.from_state(name, state, label_types[name]) for name in HEADS}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelError(
            f"cannot load model {metadata.version} from {directory}: {type(exc).__name__}: {exc}"
        ) from None
    for name, head in heads.items():
        if head.coef.shape[0] != features.n_features:
            raise ModelError(f"the {name} head has {head.coef.shape[0]} weights for {features.n_features} features")
    _check_labels(metadata, heads)
    if engine is not None and engine not in ENGINES:
        raise ModelError(f"unknown segmenter engine {engine!r}")
    segmenter = Segmenter(loaded_district.entries, engine or metadata.segmenter)
    return TriageModel(metadata=metadata, segmenter=segmenter, features=features, heads=heads)


def _check_labels(metadata: Metadata, heads: dict[str, LinearHead]) -> None:
    expected: dict[str, list[str] | list[int]] = {
        "topic": metadata.topics,
        "risk": metadata.risk_levels,
        "kind": metadata.kinds,
    }
    for name, labels in expected.items():
        found = list(heads[name].labels)
        if set(found) != set(labels):
            raise ModelError(f"the {name} head predicts {sorted(found)}, the metadata lists {sorted(labels)}")


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
