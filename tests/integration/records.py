"""Items as the service stores them (intake, classification, staff closing), without a model or HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from suggestions.auth import create_token, hash_token
from suggestions.classify.store import Outcome, record_classifications
from suggestions.hotspots.places import Gazetteer
from suggestions.intake.schema import ItemIn
from suggestions.intake.service import accept_item
from suggestions.triage.workflow import Closing, close

GAZETTEER = Gazetteer.from_rows([["回龙观街道", "街道", "", "回龙观"], ["沙河镇", "镇", "", "沙河"]])


async def staff_token_id(conn: Any) -> int:
    token = await create_token(conn, role="staff")
    token_id: int = await conn.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(token))
    return token_id


async def classified_item(
    conn: Any,
    *,
    text: str,
    topic: str,
    risk_level: int,
    channel: str = "hotline",
    days_ago: int = 0,
    contact: tuple[str, str] | None = None,
    **fields: Any,
) -> int:
    """An item received `days_ago` days ago, with its contact if given, classified as `topic` and `risk_level`."""
    body: dict[str, Any] = {"channel": channel, "text": text, **fields}
    if channel != "web":
        body["received_at"] = datetime.now(UTC) - timedelta(days=days_ago)
    if contact is not None:
        body["contact_name"], body["contact_phone"] = contact
    accepted = await accept_item(
        conn,
        msgspec.convert(body, ItemIn),
        principal=None,
        gazetteer=GAZETTEER,
        area_code="010",
        idempotency_key=f"{channel}-{text}-{days_ago}",
        history=True,  # an old record, as an import stores it
    )
    item_id = accepted.item.id
    outcome = Outcome(
        item_id=item_id,
        topic=topic,
        topic_confidence=0.9,
        risk_level=risk_level,
        risk_confidence=0.8,
        kind="complaint",
        terms=["路灯"],
        needs_review=False,
        model_version="test-model",
    )
    assert await record_classifications(conn, [outcome]) == [item_id]
    return item_id


async def close_item(conn: Any, item_id: int, *, answer: str, staff_id: int, days_ago: int = 0) -> None:
    """Close the item as staff do, then date the closing `days_ago` days back."""
    assert await close(conn, item_id=item_id, closing=Closing(answer=answer), who=staff_id)
    await conn.execute(
        "UPDATE items SET closed_at = now() - make_interval(days => $2) WHERE id = $1", item_id, days_ago
    )
