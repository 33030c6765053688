"""Which model serves, and what an API process knows of it: its version and topics, never the model itself."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import msgspec
from litestar.datastructures import State
from litestar.exceptions import ServiceUnavailableException

from suggestions.settings import Settings

log = logging.getLogger(__name__)

# How soon to ask again while the model is not in place: putting it there is a person's work.
MODEL_RETRY_AFTER_SECONDS = 30


class ServingModel(msgspec.Struct, frozen=True):
    """What an API process needs of the serving model: its version (readiness) and topics (the feed's filter, staff
    corrections). The model itself is loaded only by workers."""

    version: str
    topics: tuple[str, ...]


def serving_dir(settings: Settings) -> Path:
    from ml.serving import serving_model_dir

    # The promoted model when there is one (`python -m ml promote`), else the default model from the seed corpus.
    return Path(settings.model_dir) if settings.model_dir else serving_model_dir()


def serving_model_info(settings: Settings) -> ServingModel:
    from ml.artifacts import read_metadata

    metadata = read_metadata(serving_dir(settings))
    return ServingModel(version=metadata.version, topics=tuple(metadata.topics))


async def find_serving_model(state: State, settings: Settings) -> Any:
    """The model the API knows of, or None while there is none in place. Intake needs no model: an API process that
    starts without one takes items all the same (workers classify them once theirs loads), and reads the model's
    metadata again when asked until it is in place, so that putting it there needs no restart."""
    from ml.artifacts import ModelError

    if state.get("model") is None:
        try:
            state.model = await asyncio.get_running_loop().run_in_executor(None, serving_model_info, settings)
        except ModelError as exc:
            log.warning("no serving model in place (%s)", type(exc).__name__)
    return state.get("model")


async def serving_topics(state: State, settings: Settings) -> tuple[str, ...]:
    """The serving model's topics; 503 while no model is in place."""
    model = await find_serving_model(state, settings)
    if model is None:
        raise ServiceUnavailableException(
            "the classification model is not in place; try again later",
            headers={"Retry-After": str(MODEL_RETRY_AFTER_SECONDS)},
        )
    topics: tuple[str, ...] = tuple(model.topics)
    return topics
