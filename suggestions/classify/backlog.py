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
from suggestions.db import connection, write_jsonl
from suggestions.files import written_whole


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


# What a spreadsheet takes for the start of a formula. A cell that begins so is written after an apostrophe, which a
# spreadsheet reads as "this is text" and does not show; `ml.corpus.read_extra` takes it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_spreadsheet_text(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


async def export_corrections(conn: Any, path: Path) -> int:
    """CSV of staff corrections (masked text, corrected labels) for `python -m ml train-seed --extra`."""
    rows = await corrections(conn)
    with written_whole(path, text=True) as out:
        writer = csv.writer(out)
        writer.writerow(["text", "topic", "risk_level"])
        for row in rows:
            # Staff open it in a spreadsheet too: a resident's text beginning with = must not run there.
            text = as_spreadsheet_text(row.text)
            writer.writerow([text, row.topic or "", "" if row.risk_level is None else row.risk_level])
    return len(rows)


class ClassificationRecord(msgspec.Struct):
    at: str
    topic: str
    risk_level: int
    topic_confidence: float
    risk_confidence: float
    model_version: str
    source: str
    corrected: bool


# One line per item: the classification it was first given, dated when the item came in, and whether staff corrected
# it later (changed its topic or risk: a reviewer who confirms the model's labels has corrected nothing). Drift is a
# change in what comes in and in what the model makes of it: re-classifying the backlog with a promoted model would
# otherwise put every old item into the month of the promotion, and each correction would count its item twice.
EXPORT_CLASSIFICATIONS = """
SELECT i.received_at, c.topic, c.risk_level, c.topic_confidence, c.risk_confidence, c.model_version, c.source,
       EXISTS (
           SELECT 1 FROM classifications s
           WHERE s.item_id = i.id AND s.source = 'staff' AND s.id > c.id
             AND (s.topic IS DISTINCT FROM c.topic OR s.risk_level IS DISTINCT FROM c.risk_level)
       ) AS corrected
FROM items i
CROSS JOIN LATERAL (
    SELECT * FROM classifications c WHERE c.item_id = i.id ORDER BY c.id LIMIT 1
) c
ORDER BY i.received_at, i.id
"""


async def export_classifications(conn: Any, path: Path, *, zone: tzinfo = UTC) -> int:
    """JSONL of each classified item's first classification (no text), for `python -m ml drift`, dated by the item's
    arrival in `zone`, the district's: the drift report's months are the months of the times as written."""

    def record(row: Any) -> ClassificationRecord:
        return ClassificationRecord(
            at=row["received_at"].astimezone(zone).isoformat(),
            topic=row["topic"],
            risk_level=row["risk_level"],
            topic_confidence=round(float(row["topic_confidence"]), 4),
            risk_confidence=round(float(row["risk_confidence"]), 4),
            model_version=row["model_version"],
            source=row["source"],
            corrected=row["corrected"],
        )

    return await write_jsonl(conn, path, EXPORT_CLASSIFICATIONS, record)
