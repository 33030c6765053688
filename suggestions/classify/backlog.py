"""Re-classifying the backlog with a newly promoted model, and exporting what retraining and drift reports read."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

import msgspec

from suggestions.classify import store
from suggestions.classify.corrections import corrections
from suggestions.classify.worker import predict_outcomes
from suggestions.db import connection


async def reclassify(pool: Any, model: Any, *, batch_size: int = 256) -> int:
    """Give every item classified by another model version this model's classification; staff corrections stay."""
    done = 0
    after_id = 0
    while True:
        async with connection(pool) as conn:
            page = await store.outdated_page(conn, version=model.version, after_id=after_id, limit=batch_size)
        if not page:
            return done
        after_id = page[-1].id
        outcomes = await asyncio.to_thread(predict_outcomes, model, page)
        async with connection(pool) as conn:
            done += len(await store.record_classifications(conn, outcomes, replace_version=model.version))


async def export_corrections(conn: Any, path: Path) -> int:
    """CSV of staff corrections (masked text, corrected labels) for `python -m ml train-seed --extra`."""
    rows = await corrections(conn)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "topic", "risk_level"])
        for row in rows:
            writer.writerow([row.text, row.topic or "", "" if row.risk_level is None else row.risk_level])
    return len(rows)


class ClassificationRecord(msgspec.Struct):
    at: str
    topic: str
    risk_level: int
    topic_confidence: float
    risk_confidence: float
    model_version: str
    source: str


EXPORT_CLASSIFICATIONS = """
SELECT c.created_at, c.topic, c.risk_level, c.topic_confidence, c.risk_confidence, c.model_version, c.source
FROM classifications c
ORDER BY c.id
"""


async def export_classifications(conn: Any, path: Path, *, zone: tzinfo = UTC) -> int:
    """JSONL of every classification (no text), for `python -m ml drift`. Times are written in `zone`, the district's:
    the drift report's months are the months of the times as written."""
    count = 0
    encoder = msgspec.json.Encoder()
    with path.open("wb") as out:
        async with conn.transaction():
            async for row in conn.cursor(EXPORT_CLASSIFICATIONS):
                record = ClassificationRecord(
                    at=row["created_at"].astimezone(zone).isoformat(),
                    topic=row["topic"],
                    risk_level=row["risk_level"],
                    topic_confidence=round(float(row["topic_confidence"]), 4),
                    risk_confidence=round(float(row["risk_confidence"]), 4),
                    model_version=row["model_version"],
                    source=row["source"],
                )
                out.write(encoder.encode(record) + b"\n")
                count += 1
    return count
