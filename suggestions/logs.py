"""Logging: one line a record, with ids and classes only. Texts, names and phone numbers are never logged."""

from __future__ import annotations

import logging
import os


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("SUGGESTIONS_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Access logs carry the path only: tracking codes in /api/v1/track/... are not personal data.
    logging.getLogger("arq.jobs").setLevel(logging.WARNING)
