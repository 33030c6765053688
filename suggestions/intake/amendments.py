"""An operator's or a grid worker's correction of a call they filed: a wrong place, kind or call-back detail.

Sending the work order again with another value is refused (`service.differences`), so that nothing is dropped without
a word; this is how it is corrected instead. Only while the item is open, by the token that filed it or by staff. Each
correction is kept (`item_amendments`): who, when, which fields, and what they held, masked where personal.

A new place may be another street: a report already placed leaves its case and is placed again as the worker places a
new one (`tracker.track`), counted under its new street and no longer under its old one. A report still pending is
placed by the worker from what it reads when it records the classification, the correction included. A new name or
phone is judged again in the report's case, whose crowd of reporters it counts (`tracker.judge_case`). The text is not
amended (the classification reads it alone): a call taken down wrong is a new call.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import JSONBody

from suggestions.auth import BEARER, STAFF_ROLES, Principal, guarded_principal, roles_only
from suggestions.classify.store import place_unplaced
from suggestions.db import rerun_after_schema_change
from suggestions.errors import InvalidInput, StateConflict, problem_responses
from suggestions.hotspots.editing import COUNT_PROBLEM, LOCK_CASES, refresh_case
from suggestions.hotspots.places import Gazetteer
from suggestions.hotspots.tracker import (
    DISTRICT_ZONE,
    lock_streets,
    rejudge_area,
    rejudge_case,
    relift,
)
from suggestions.intake.schema import ContactName, ContactPhone, ExternalId, Kind, PathId, Place, Status, Strict
from suggestions.intake.service import as_one_line, checked_contact_name, checked_phone, kept_contact_name
from suggestions.privacy import NAME_PLACEHOLDER, mask_pii
from suggestions.settings import Settings

AMEND_ROLES = frozenset({"operator", "grid", *STAFF_ROLES})
FIELDS = ("place", "kind", "contact_name", "contact_phone")


class Amendment(Strict):
    """What a call said wrongly, each field left out as it is; an empty name, phone or place takes it out."""

    place: Place | None = None
    kind: Kind | None = None
    contact_name: ContactName | None = None
    contact_phone: ContactPhone | None = None


class WorkOrderAmendment(Amendment, kw_only=True):
    """The same, for the item a work order filed (`external_id`), on the token's channel unless `channel` says."""

    external_id: ExternalId | None = None  # required: a missing one is named (`amend_work_order`)
    channel: Literal["hotline", "grid"] | None = None


class Amended(msgspec.Struct, kw_only=True):
    id: int
    tracking_code: str
    status: Status
    fields: list[str]  # the fields changed; empty when the item already said so (the correction sent twice)


LOCK_ITEM = """
SELECT i.id, i.tracking_code, i.status, i.channel, i.submitted_by, i.place, i.kind, i.text, i.street,
       i.locality, i.locality_level, i.topic, i.risk_level, i.case_id, i.received_at, i.anonymised_at, c.name, c.phone
FROM items i LEFT JOIN contacts c ON c.item_id = i.id
WHERE i.id = $1
FOR UPDATE OF i
"""

ITEM_BY_WORK_ORDER = "SELECT id FROM items WHERE channel = $1 AND external_id = $2"

UPDATE_ITEM = """
UPDATE items SET place = $2, kind = $3, kind_source = CASE WHEN $4 THEN 'sender' ELSE kind_source END,
    street = $5, locality = $6, locality_level = $7, updated_at = now()
WHERE id = $1
"""

SET_CONTACT = """
INSERT INTO contacts (item_id, name, phone) VALUES ($1, $2, $3)
ON CONFLICT (item_id) DO UPDATE SET name = excluded.name, phone = excluded.phone
"""

RECORD = "INSERT INTO item_amendments (item_id, amended_by, fields, before) VALUES ($1, $2, $3, $4)"

# The report leaves the count of its old street's day; a case it leaves empty is one problem fewer there.
UNCOUNT_REPORT = """
UPDATE place_topic_days SET reports = greatest(0, reports - 1) WHERE street = $1 AND topic = $2 AND day = $3
"""
LEAVE_CASE = "UPDATE items SET case_id = NULL, case_score = NULL, hotspot_id = NULL WHERE id = $1"
CASE_SIZE = "SELECT size FROM cases WHERE id = $1"


def _before(field: str, value: str | None) -> str | None:
    """What a field held, as the history keeps it: nothing personal."""
    if value is None or field in ("place", "kind"):
        return value
    return NAME_PLACEHOLDER if field == "contact_name" else mask_pii(value)


@rerun_after_schema_change
async def amend(
    conn: Any,
    *,
    item_id: int,
    amendment: Amendment,
    principal: Principal,
    gazetteer: Gazetteer,
    area_code: str,
) -> Amended | None:
    """Apply a correction; None if there is no such item. Raises InvalidInput naming a field, PermissionDenied for
    another token's item, StateConflict for a closed one."""
    sent = {field: getattr(amendment, field) for field in FIELDS if getattr(amendment, field) is not None}
    if not sent:
        raise InvalidInput("place", "give at least one of place, kind, contact_name, contact_phone to correct")
    wanted: dict[str, str | None] = {}
    if "place" in sent:
        wanted["place"] = mask_pii(as_one_line(sent["place"]))
    if "kind" in sent:
        wanted["kind"] = sent["kind"]
    if "contact_name" in sent:
        checked_contact_name(sent["contact_name"])
        wanted["contact_name"] = kept_contact_name(sent["contact_name"])
    if "contact_phone" in sent:
        wanted["contact_phone"] = checked_phone(sent["contact_phone"], area_code=area_code)
    async with conn.transaction():
        item = await conn.fetchrow(LOCK_ITEM, item_id)
        if item is None:
            return None
        if principal.role not in STAFF_ROLES and item["submitted_by"] != principal.token_id:
            raise PermissionDeniedException("only the token that filed an item, or staff, may correct it")
        if item["status"] == "closed":
            raise StateConflict("the item is closed: a correction comes too late", current_status="closed")
        if item["anonymised_at"] is not None and {"contact_name", "contact_phone"} & wanted.keys():
            # Retention let the contact go and will not come back for it: one written now would be kept for good.
            raise StateConflict(
                "retention erased this item's contact: a name or phone is no longer kept for it",
                current_status=item["status"],
            )
        stored = {
            "place": item["place"],
            "kind": item["kind"],
            "contact_name": item["name"],
            "contact_phone": item["phone"],
        }
        changed = [field for field in FIELDS if field in wanted and wanted[field] != stored[field]]
        amended = Amended(id=item["id"], tracking_code=item["tracking_code"], status=item["status"], fields=changed)
        if not changed:
            return amended
        now = {**stored, **wanted}
        # Placed again only for a new place: the gazetteer may have changed since, and a phone corrected moves nothing.
        # The words as intake read them (`service._store`), or as retention kept them.
        where = gazetteer.resolve(item["text"], now["place"] or "") if "place" in changed else None
        await conn.execute(
            UPDATE_ITEM,
            item_id,
            now["place"],
            now["kind"],
            "kind" in changed,
            *(
                (item["street"], item["locality"], item["locality_level"])
                if where is None
                else (where.street, where.locality, where.locality_level)
            ),
        )
        if "contact_name" in changed or "contact_phone" in changed:
            await conn.execute(SET_CONTACT, item_id, now["contact_name"], now["contact_phone"])
        before = {field: _before(field, stored[field]) for field in changed}
        await conn.execute(RECORD, item_id, principal.token_id, changed, before)
        moved = where is not None and (where.street, where.locality) != (item["street"], item["locality"])
        if moved and where is not None and item["topic"] is not None:
            await _place_again(conn, item, new_street=where.street)
        elif item["case_id"] is not None and {"contact_name", "contact_phone"} & set(changed):
            # A case's reporters are told apart by phone and name: corrected, the crowd may be another size.
            await lock_streets(conn, [item["street"]])
            await conn.fetch(LOCK_CASES, [item["case_id"]])
            await rejudge_case(conn, item["case_id"])
    return amended


async def _place_again(conn: Any, item: Any, *, new_street: str | None) -> None:
    """Take a placed report out of its case and its old street's counts, and place it as the worker places a new one.
    The item is locked; the streets are locked before the cases, as the tracker locks them."""
    old_street, topic = item["street"], item["topic"]
    await lock_streets(conn, [old_street, new_street])
    old_case = item["case_id"]
    if old_case is not None:
        case = (await conn.fetch(LOCK_CASES, [old_case]))[0]
        # Its lift goes with it, whatever lifted it: the hotspots of its new case and street lift it again below.
        await conn.execute(LEAVE_CASE, item["id"])
        await refresh_case(conn, old_case)
        if await conn.fetchval(CASE_SIZE, old_case) == 0 and case["street"] is not None and case["topic"] is not None:
            day = case["opened_at"].astimezone(DISTRICT_ZONE).date()
            await conn.execute(COUNT_PROBLEM, case["street"], case["topic"], day, -1)
        await rejudge_case(conn, old_case)
    if old_street is not None:
        day = item["received_at"].astimezone(DISTRICT_ZONE).date()
        await conn.execute(UNCOUNT_REPORT, old_street, topic, day)
    await place_unplaced(conn, item_id=item["id"], topic=topic, risk_level=item["risk_level"])
    await relift(conn, [item["id"]])
    if old_street is not None:
        # A rise of the old street counted this report: judged again without it.
        await rejudge_area(conn, old_street, topic, levels_changed=True)


async def _amend_or_404(
    request: Request[Any, Any, Any], conn: Any, settings: Settings, item_id: int, data: Amendment
) -> Amended:
    amended = await amend(
        conn,
        item_id=item_id,
        amendment=data,
        principal=guarded_principal(request),
        gazetteer=request.app.state.gazetteer,
        area_code=settings.area_code,
    )
    if amended is None:
        raise NotFoundException("no such item")
    return amended


AMEND_DESCRIPTION = (
    "Correct the place, kind, contact name or contact phone of an item still open: by the operator's or grid "
    "worker's token that filed it, or by staff. Fields left out stay; an empty place, name or phone takes it out. "
    "A new place re-places the item (its street, its case, the counts hotspots read). Each correction is kept in the "
    "item's history (`amendments`: who, when, which fields, what they held, a name or phone masked). "
    "`fields` lists what changed, empty when the item already said so. Another token's item is `403`, a closed "
    "one `409`."
)


# What both ways of naming the call share.
AMEND_ROUTE: dict[str, Any] = {
    "tags": ["intake"],
    "guards": [roles_only(AMEND_ROLES)],
    "security": BEARER,
    "status_code": 200,
    "responses": problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
}


@post(
    "/api/v1/items/{item_id:int}/amend",
    summary="Correct a call filed with a wrong place, kind or call-back detail",
    description=AMEND_DESCRIPTION,
    **AMEND_ROUTE,
)
async def amend_item(
    request: Request[Any, Any, Any],
    item_id: PathId,
    data: JSONBody[Amendment],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
) -> Amended:
    return await _amend_or_404(request, db_connection, settings, item_id, data)


@post(
    "/api/v1/work-orders/amend",
    summary="Correct a call by its work-order number (external_id)",
    description=AMEND_DESCRIPTION
    + " The work order is looked up on `channel`, by default the token's own (staff must name it).",
    **AMEND_ROUTE,
)
async def amend_work_order(
    request: Request[Any, Any, Any],
    data: JSONBody[WorkOrderAmendment],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
) -> Amended:
    principal = guarded_principal(request)
    channel = data.channel or {"operator": "hotline", "grid": "grid"}.get(principal.role)
    if channel is None:
        raise InvalidInput("channel", "name the channel the work order came in on: hotline or grid")
    if data.external_id is None:
        raise InvalidInput("external_id", "the work-order number of the call to correct is needed")
    item_id = await db_connection.fetchval(ITEM_BY_WORK_ORDER, channel, data.external_id)
    if item_id is None:
        raise NotFoundException("no item has this work-order number on this channel")
    return await _amend_or_404(request, db_connection, settings, item_id, data)


routes = [amend_item, amend_work_order]
