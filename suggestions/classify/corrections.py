"""Staff correcting a classification: kept as a label for retraining, and applied to the item at once."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody
from msgspec import Meta

from suggestions.auth import BEARER, guarded_principal, staff_only
from suggestions.classify.serving import serving_topics
from suggestions.classify.store import place_unplaced
from suggestions.db import rerun_after_schema_change
from suggestions.errors import InvalidInput, problem_responses
from suggestions.hotspots.tracker import reassess, refresh_case_risk, retopic
from suggestions.intake.schema import PathId, Strict
from suggestions.openapi import ZERO_MINIMUM
from suggestions.settings import Settings
from suggestions.triage.items import ItemView, item_by_id


class Correction(Strict):
    topic: Annotated[str, Meta(min_length=1, max_length=40)] | None = None
    risk_level: Annotated[int, Meta(ge=0, le=3, extra_json_schema={"extra": ZERO_MINIMUM})] | None = None


LOCK_ITEM = "SELECT topic, risk_level, status, case_id FROM items WHERE id = $1 FOR UPDATE"

# The model's classification stays in history (is_current = false); its kind and terms are kept.
RETIRE = """
UPDATE classifications SET is_current = false WHERE item_id = $1 AND is_current RETURNING kind, terms
"""

INSERT_CORRECTION = """
INSERT INTO classifications
    (item_id, topic, topic_confidence, risk_level, risk_confidence, kind, terms, needs_review, model_version, source)
VALUES ($1, $2, 1, $3, 1, $4, $5, false, $6, 'staff')
RETURNING id
"""

# An item nobody classified leaves the failed to work: to the desk it is with (one a resident sent back after the desk
# answered it, `ratings.REOPEN`), else to the open items.
APPLY = """
UPDATE items SET
    classification_id = $2, topic = $3, risk_level = $4, needs_review = false,
    status = CASE WHEN status NOT IN ('pending', 'failed') THEN status
                  WHEN assigned_to IS NULL THEN 'open' ELSE 'assigned' END,
    lease_until = NULL, updated_at = now()
WHERE id = $1
"""

CORRECTIONS = """
SELECT i.text_masked AS text,
       CASE WHEN c.topic IS DISTINCT FROM m.topic THEN c.topic END AS topic,
       CASE WHEN c.risk_level IS DISTINCT FROM m.risk_level THEN c.risk_level END AS risk_level
FROM classifications c
JOIN items i ON i.id = c.item_id
LEFT JOIN LATERAL (
    SELECT topic, risk_level FROM classifications m
    WHERE m.item_id = c.item_id AND m.source = 'model' AND m.created_at < c.created_at
    ORDER BY m.created_at DESC LIMIT 1
) m ON true
WHERE c.source = 'staff' AND c.is_current
ORDER BY c.id
"""


class CorrectionRow(msgspec.Struct):
    text: str
    topic: str | None
    risk_level: int | None


@rerun_after_schema_change
async def correct(conn: Any, *, item_id: int, correction: Correction, topics: tuple[str, ...], who: int) -> bool:
    """Apply a staff correction; False if there is no such item."""
    if correction.topic is None and correction.risk_level is None:
        raise InvalidInput("topic", "give a topic, a risk_level or both")
    if correction.topic is not None and correction.topic not in topics:
        raise InvalidInput("topic", f"not one of the district's topics: {', '.join(topics)}")
    async with conn.transaction():
        item = await conn.fetchrow(LOCK_ITEM, item_id)
        if item is None:
            return False
        topic = correction.topic or item["topic"]
        risk_level = correction.risk_level if correction.risk_level is not None else item["risk_level"]
        if topic is None or risk_level is None:
            missing = "topic" if topic is None else "risk_level"
            raise InvalidInput(missing, "an item not classified yet needs both topic and risk_level")
        retired = await conn.fetchrow(RETIRE, item_id)
        kind, terms = (retired["kind"], retired["terms"]) if retired else (None, [])
        classification_id = await conn.fetchval(
            INSERT_CORRECTION, item_id, topic, risk_level, kind, terms, f"staff:{who}"
        )
        await conn.execute(APPLY, item_id, classification_id, topic, risk_level)
        if item["topic"] is None:
            # Never classified (pending, or given up on and perhaps assigned since): the worker will not classify it
            # now, so it would never be placed in a case or counted. A report already closed is left where it is
            # until a resident sends it back (`ratings._rate`).
            if item["case_id"] is None and item["status"] != "closed":
                await place_unplaced(conn, item_id=item_id, topic=topic, risk_level=risk_level)
        else:
            await retopic(conn, item_id, item["topic"], topic)
            if risk_level != item["risk_level"]:
                await refresh_case_risk(conn, item_id)
            if (topic, risk_level) != (item["topic"], item["risk_level"]):
                # The case's hotspots, the area's rise and the report's lift follow at once.
                await reassess(conn, item_id, former_topic=item["topic"])
    return True


async def corrections(conn: Any) -> list[CorrectionRow]:
    """Every current staff correction, with only the labels staff actually changed."""
    return [CorrectionRow(r["text"], r["topic"], r["risk_level"]) for r in await conn.fetch(CORRECTIONS)]


@put(
    "/api/v1/items/{item_id:int}/classification",
    summary="Correct an item's topic and/or risk level",
    description="Kept as a label for retraining; the model's classification stays in the item's history.",
    tags=["staff"],
    guards=[staff_only],
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404, 413, 422, 503),
)
async def put_classification(
    request: Request[Any, Any, Any],
    item_id: PathId,
    data: JSONBody[Correction],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
) -> ItemView:
    principal = guarded_principal(request)
    topics = await serving_topics(request.app.state, settings)
    if not await correct(db_connection, item_id=item_id, correction=data, topics=topics, who=principal.token_id):
        raise NotFoundException("no such item")
    view = await item_by_id(db_connection, item_id)
    assert view is not None
    return view
