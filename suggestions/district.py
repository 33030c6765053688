"""The district's own data: which folder, and its gazetteer."""

from __future__ import annotations

from pathlib import Path

from suggestions.hotspots.places import Gazetteer
from suggestions.settings import Settings


def district_dir(settings: Settings) -> Path:
    if settings.district_dir:
        return Path(settings.district_dir)
    from ml.dictionary import default_district_dir

    return default_district_dir()


def load_gazetteer(settings: Settings) -> Gazetteer:
    return Gazetteer.load(district_dir(settings) / "gazetteer.csv")
