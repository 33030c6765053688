"""One item as staff see it: masked text, its current classification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from suggestions.intake.schema import Channel, Kind, Status
from suggestions.triage.notes import NoteView


class ClassificationView(msgspec.Struct, kw_only=True):
    topic: str
    topic_confidence: float
    risk_level: int
    risk_confidence: float
    model_version: str
    terms: list[str]
    needs_review: bool
    source: str
    classified_at: datetime


class RatingView(msgspec.Struct, kw_only=True):
    closed_at: datetime  # the closing whose reply was rated
    answer: str | None = None  # that reply as the resident read it (masked); none for ratings from older releases
    rating: str
    comment: str | None  # the resident's words, masked
    rated_at: datetime
    source: str  # resident (by the tracking code) | callback (taken down by staff on a call)


class ResidentCommentView(msgspec.Struct, kw_only=True):
    """Words a resident gave with a rating of a reply staff had withdrawn meanwhile: the rating is not counted."""

    said_at: datetime
    closed_at: datetime | None  # the closing whose reply they rated, as they named it; null when they named none
    rating: str  # what they chose, for the words' sake
    comment: str  # the resident's words, masked
    source: str  # resident (by the tracking code) | callback (taken down by staff on a call)
    by: int | None = None  # on a call: the staff token that took them down, by its id


class AssignmentView(msgspec.Struct, kw_only=True):
    to: str  # the desk or department
    assigned_at: datetime
    by: int | None = None  # the staff token that handed it over, by its id (`suggestions token list`)


class AmendmentView(msgspec.Struct, kw_only=True):
    """A correction of the call by whoever filed it or by staff (`intake.amendments`)."""

    amended_at: datetime
    by: int  # the token that made it, by its id (`suggestions token list`)
    fields: list[str]  # place, kind, contact_name, contact_phone
    before: dict[str, str | None]  # what each held: the place masked, a name or a phone as the placeholder masking it


class ItemView(msgspec.Struct, kw_only=True):
    id: int
    tracking_code: str
    text: str  # masked: phone, ID and card numbers never leave in a listing
    channel: Channel
    kind: Kind | None
    kind_source: str
    external_id: str | None
    received_at: datetime
    updated_at: datetime
    status: Status
    place: str
    street: str | None  # 街道/镇 from the gazetteer
    locality: str | None  # 社区/小区/村/road, when the words allow it without guessing
    lat: float | None
    lon: float | None
    has_contact: bool
    classification: ClassificationView | None
    case_id: int | None = None
    assigned_to: str | None = None  # the desk or department handling it
    assigned_at: datetime | None = None
    closed_at: datetime | None = None
    answer: str | None = None  # the reply to the resident, masked like the text; the last one, if sent back
    # the resident's rating of the reply the item stands on: a closed item's, or the one sent back while at work
    satisfaction: str | None = None
    reopen_count: int = 0  # how often a dissatisfied resident sent it back to work
    ratings: list[RatingView] = []  # every reply's rating, oldest first
    # words given with a rating of a reply withdrawn meanwhile (not counted as ratings), oldest first
    resident_comments: list[ResidentCommentView] = []
    notes: list[NoteView] = []  # staff's follow-up notes and interim replies, oldest first
    assignments: list[AssignmentView] = []  # every desk it was handed to, oldest first; the last is assigned_to
    amendments: list[AmendmentView] = []  # corrections of its place, kind or contact, oldest first


class ItemList(msgspec.Struct):
    items: list[ItemView]


SELECT_ITEMS = """
SELECT i.id, i.tracking_code, i.text_masked, i.channel, i.kind, i.kind_source, i.external_id, i.received_at,
       i.updated_at, i.status, i.place, i.street, i.locality, i.lat, i.lon, i.case_id, i.assigned_to, i.assigned_at,
       i.closed_at, i.answer_masked, i.satisfaction, i.reopen_count,
       (SELECT coalesce(json_agg(json_build_object(
                   'closed_at', r.closed_at, 'answer', r.answer_masked, 'rating', r.rating, 'comment', r.comment,
                   'rated_at', r.rated_at, 'source', r.source
               ) ORDER BY r.closed_at), '[]')
        FROM ratings r WHERE r.item_id = i.id) AS ratings,
       (SELECT coalesce(json_agg(json_build_object(
                   'said_at', w.said_at, 'closed_at', w.closed_at, 'rating', w.rating, 'comment', w.comment,
                   'source', w.source, 'by', w.recorded_by
               ) ORDER BY w.said_at, w.id), '[]')
        FROM resident_comments w WHERE w.item_id = i.id) AS resident_comments,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', n.id, 'text', n.text_masked,
                   'audience', CASE WHEN n.public THEN 'resident' ELSE 'staff' END,
                   'written_at', n.written_at, 'written_by', n.written_by
               ) ORDER BY n.written_at, n.id), '[]')
        FROM item_notes n WHERE n.item_id = i.id) AS notes,
       (SELECT coalesce(json_agg(json_build_object('to', a.desk, 'assigned_at', a.assigned_at, 'by', a.assigned_by)
                                 ORDER BY a.assigned_at, a.id), '[]')
        FROM item_assignments a WHERE a.item_id = i.id) AS assignments,
       (SELECT coalesce(json_agg(json_build_object(
                   'amended_at', m.amended_at, 'by', m.amended_by, 'fields', m.fields, 'before', m.before
               ) ORDER BY m.amended_at, m.id), '[]')
        FROM item_amendments m WHERE m.item_id = i.id) AS amendments,
       EXISTS (SELECT 1 FROM contacts ct WHERE ct.item_id = i.id AND ct.anonymised_at IS NULL) AS has_contact,
       c.topic, c.topic_confidence, c.risk_level, c.risk_confidence, c.model_version, c.terms, c.needs_review,
       c.source, c.created_at AS classified_at
FROM items i LEFT JOIN classifications c ON c.id = i.classification_id
"""

BY_ID = SELECT_ITEMS + "WHERE i.id = $1"

BY_EXTERNAL = (
    SELECT_ITEMS
    + """
WHERE ($1::text IS NULL OR i.channel = $1) AND ($2::text IS NULL OR i.external_id = $2)
ORDER BY i.id DESC
LIMIT $3
"""
)


def _view(row: Any) -> ItemView:
    classification = None
    if row["topic"] is not None:
        classification = ClassificationView(
            topic=row["topic"],
            topic_confidence=round(float(row["topic_confidence"]), 4),
            risk_level=row["risk_level"],
            risk_confidence=round(float(row["risk_confidence"]), 4),
            model_version=row["model_version"],
            terms=list(row["terms"]),
            needs_review=row["needs_review"],
            source=row["source"],
            classified_at=row["classified_at"],
        )
    return ItemView(
        id=row["id"],
        tracking_code=row["tracking_code"],
        text=row["text_masked"],
        channel=row["channel"],
        kind=row["kind"],
        kind_source=row["kind_source"],
        external_id=row["external_id"],
        received_at=row["received_at"],
        updated_at=row["updated_at"],
        status=row["status"],
        place=row["place"],
        street=row["street"],
        locality=row["locality"],
        lat=row["lat"],
        lon=row["lon"],
        has_contact=row["has_contact"],
        classification=classification,
        case_id=row["case_id"],
        assigned_to=row["assigned_to"],
        assigned_at=row["assigned_at"],
        closed_at=row["closed_at"],
        answer=row["answer_masked"],
        satisfaction=row["satisfaction"],
        reopen_count=row["reopen_count"],
        ratings=msgspec.json.decode(row["ratings"], type=list[RatingView]),
        resident_comments=msgspec.json.decode(row["resident_comments"], type=list[ResidentCommentView]),
        notes=msgspec.json.decode(row["notes"], type=list[NoteView]),
        assignments=msgspec.json.decode(row["assignments"], type=list[AssignmentView]),
        amendments=msgspec.json.decode(row["amendments"], type=list[AmendmentView]),
    )


async def item_by_id(conn: Any, item_id: int) -> ItemView | None:
    row = await conn.fetchrow(BY_ID, item_id)
    return None if row is None else _view(row)


async def items_by_external_id(conn: Any, *, channel: str | None, external_id: str | None, limit: int) -> ItemList:
    return ItemList(items=[_view(r) for r in await conn.fetch(BY_EXTERNAL, channel, external_id, limit)])
