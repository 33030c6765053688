"""What the service imports: load a model artifact, or make sure the default one exists and is current.

Nothing here reads a file or loads a dictionary at import time.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ml.artifacts import METADATA_FILE, ModelError, check_compatible, district_path, load_model, read_metadata
from ml.corpus import CorpusError, default_seed_dir, seed_sha256
from ml.dictionary import default_district_dir, load_district, package_dir
from ml.segment import DEFAULT_ENGINE
from ml.triage import Prediction, TriageModel

__all__ = [
    "ModelError",
    "Prediction",
    "TriageModel",
    "default_model_dir",
    "ensure_default_model",
    "load_model",
    "promoted_model_dir",
    "serving_model_dir",
    "train_seed_command",
]


def default_model_dir() -> Path:
    return package_dir() / "artifacts" / "default"


def promoted_model_dir() -> Path:
    """Where `python -m ml promote` puts the model the service should use."""
    return package_dir() / "artifacts" / "serving"


def serving_model_dir(promoted: Path | None = None) -> Path:
    """The promoted model if there is one, else the default seed model (trained first if missing or stale)."""
    promoted = promoted or promoted_model_dir()
    if (promoted / METADATA_FILE).is_file():
        return promoted
    return ensure_default_model()


def train_seed_command(out: Path, seed_dir: Path, district: Path, engine: str) -> str:
    return f"python -m ml train-seed --seed-dir {seed_dir} --district {district} --engine {engine} --out {out}"


def ensure_default_model(
    directory: Path | None = None,
    *,
    seed_dir: Path | None = None,
    district: Path | None = None,
    engine: str = DEFAULT_ENGINE,
) -> Path:
    """Trains the seed model into `directory` unless a current one is there; returns `directory`.

    Current: it loads with the installed libraries and dictionaries, and was trained on the seed files as they are
    now. Processes that call this together train once; the others wait and find the fresh artifact.
    """
    from ml.train import train_seed

    directory = directory or default_model_dir()
    seed_dir = seed_dir or default_seed_dir()
    district = district or default_district_dir()
    with _exclusive(directory):
        if _is_current(directory, seed_dir, district):
            return directory
        try:
            train_seed(
                seed_dir=seed_dir,
                district_dir=district,
                out=directory,
                engine=engine,
                command=train_seed_command(directory, seed_dir, district, engine),
            )
        except (CorpusError, FileNotFoundError, ValueError) as exc:
            raise ModelError(f"cannot train the default model: {exc}") from exc
    return directory


def _is_current(directory: Path, seed_dir: Path, district: Path) -> bool:
    try:
        metadata = read_metadata(directory)
        if district_path(metadata.district).resolve() != district.resolve():
            return False
        check_compatible(metadata, load_district(district))
    except (ModelError, FileNotFoundError):
        return False
    return metadata.seed_sha256 == seed_sha256(seed_dir)


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    directory.parent.mkdir(parents=True, exist_ok=True)
    with (directory.parent / f".{directory.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
