"""Logging: one line a record, with ids and classes only. Texts, names and phone numbers are never logged."""

from __future__ import annotations

import logging
import os


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("SUGGESTIONS_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # arq logs every job and cron tick; the worker logs its own batches instead.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
