"""Hotspots, cases and, for operators taking a call, the open cases it may belong to."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.connection import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, QueryParameter
from msgspec import Meta

from suggestions.auth import BEARER, CALLER_ROLES, STAFF_ROLES, check_role, guarded_principal, roles_only, staff_only
from suggestions.errors import InvalidInput, StateConflict, problem_responses
from suggestions.hotspots.editing import (
    Dismissal,
    Dismissed,
    assign_case,
    close_case,
    closed_so_by,
    dismiss_hotspot,
    dismissed_so_by,
    merge_cases,
    merged_into,
    move_item,
)
from suggestions.hotspots.views import (
    MEMBERS_SHOWN,
    CallerLookUp,
    CaseView,
    Hotspots,
    Suggestions,
    active_hotspots,
    case_view,
    suggest_cases,
)
from suggestions.intake.schema import MAX_TEXT_LENGTH, ContactPhone, PathId, Place, RowId, Strict
from suggestions.intake.service import checked_phone
from suggestions.ratelimit import limit_phone_look_up
from suggestions.settings import Settings
from suggestions.triage.workflow import Assignment, Closing

STAFF_TAGS = ["hotspots"]
# Operators taking calls, grid workers filing reports and staff may all ask which open cases a text may belong to;
# only those who answer residents may ask by a resident's phone (`auth.CALLER_ROLES`).
SUGGEST_ROLES = frozenset({"operator", "grid", *STAFF_ROLES})


class SuggestRequest(Strict):
    text: Annotated[str, Meta(min_length=1, max_length=MAX_TEXT_LENGTH)]
    # Null as in an item's body: the console sends the fields of the call being typed as it will send the item.
    place: Place | None = None
    # The caller's phone, when the operator has it: the open cases of the caller's earlier reports come first.
    contact_phone: ContactPhone | None = None


class MergeRequest(Strict):
    into: RowId


class MoveRequest(Strict):
    case_id: RowId | None  # null: the report becomes a case of its own


class Moved(msgspec.Struct):
    item_id: int
    case_id: int


@get(
    "/api/v1/hotspots",
    summary="Current hotspots, with their members and why",
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def hotspots(
    db_connection: NamedDependency[Any], limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50
) -> Hotspots:
    return await active_hotspots(db_connection, limit=limit)


@get(
    "/api/v1/cases/{case_id:int}",
    summary="A case and its reports",
    description=(
        "The case and its reports, newest first, limit at a time. The next page of older reports: the same request "
        "with before set to the page's next_cursor (null on the last page)."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def get_case(
    db_connection: NamedDependency[Any],
    case_id: PathId,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = MEMBERS_SHOWN,
    before: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> CaseView:
    view = await case_view(db_connection, case_id, limit=limit, before=before)
    if view is None:
        raise NotFoundException("no such case")
    return view


@post(
    "/api/v1/cases/suggest",
    summary="Open cases a text being typed may belong to",
    description=(
        "POST, not GET: the text and the caller's phone may be personal and never go into a URL. With the caller's "
        "contact_phone (operators and staff), the open cases of the caller's own reports come first, marked caller, "
        "and each of the caller's reports in them is recorded as a read of its contact, with the token."
    ),
    tags=STAFF_TAGS,
    guards=[roles_only(SUGGEST_ROLES)],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 413, 422, 503),
)
async def suggest(
    request: Request[Any, Any, Any],
    data: JSONBody[SuggestRequest],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    limit: Annotated[int, QueryParameter(ge=1, le=20)] = 5,
) -> Suggestions:
    if data.contact_phone and data.contact_phone.strip():
        # Before the number is read: a role that may not look up by phone is told so, whatever the number is like.
        check_role(guarded_principal(request), CALLER_ROLES, "look up cases by contact_phone")
    phone = checked_phone(data.contact_phone, area_code=settings.area_code)
    caller = None
    if phone is not None:
        # Which open cases a phone is on is a look-up by phone as a caller's history is, and shares its count.
        caller = CallerLookUp(phone=phone, reader=guarded_principal(request).token_id)
        await limit_phone_look_up(request, token_id=caller.reader, phone=phone)
    return await suggest_cases(
        db_connection,
        request.app.state.gazetteer,
        text=data.text,
        place=data.place or "",
        limit=limit,
        caller=caller,
    )


@post(
    "/api/v1/cases/{case_id:int}/merge",
    summary="Merge a case into another",
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 413, 422, 503),
)
async def merge(
    request: Request[Any, Any, Any], db_connection: NamedDependency[Any], case_id: PathId, data: JSONBody[MergeRequest]
) -> CaseView:
    who = guarded_principal(request).token_id
    try:
        if not await merge_cases(db_connection, case_id=case_id, into=data.into, by=who):
            raise NotFoundException("no such case")
    except InvalidInput:
        # The same merge sent again (a retry after its answer was lost): the case is merged as it asked.
        if await merged_into(db_connection, case_id) != data.into:
            raise
    view = await case_view(db_connection, data.into)
    assert view is not None
    return view


@post(
    "/api/v1/items/{item_id:int}/case",
    summary="Move a report to another case, or to a case of its own",
    description="A report still being classified is a 409: the worker places it in a case when it classifies it.",
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def move(
    request: Request[Any, Any, Any], db_connection: NamedDependency[Any], item_id: PathId, data: JSONBody[MoveRequest]
) -> Moved:
    who = guarded_principal(request).token_id
    case_id = await move_item(db_connection, item_id=item_id, case_id=data.case_id, by=who)
    if case_id is None:
        raise NotFoundException("no such item")
    return Moved(item_id=item_id, case_id=case_id)


@post(
    "/api/v1/cases/{case_id:int}/assign",
    summary="Hand every report of a case still at work to one desk",
    description=(
        "Every report of the case still open, assigned or failed goes to the desk (reassigned if it had another), "
        "each hand-over recorded with the staff token as an item's own is; a report closed before keeps the desk "
        "that answered it, and one assigned to the desk already stays as it is (the same hand-over sent again "
        "records nothing: 200). A closed or merged case is a 409."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def assign(
    request: Request[Any, Any, Any], db_connection: NamedDependency[Any], case_id: PathId, data: JSONBody[Assignment]
) -> CaseView:
    who = guarded_principal(request).token_id
    if not await assign_case(db_connection, case_id=case_id, assignment=data, by=who):
        raise NotFoundException("no such case")
    view = await case_view(db_connection, case_id)
    assert view is not None
    return view


@post(
    "/api/v1/cases/{case_id:int}/close",
    summary="Close a case with one reply to all its reporters",
    description=(
        "Every report of the case still open, assigned or failed is closed with this reply, which each reporter reads "
        "by their own tracking code (phone, ID and card numbers masked) and can rate; a report closed before keeps its "
        "own reply. The case's hotspots end, and a later report of the problem opens a new case. Closing a closed or "
        "merged case is a 409, unless this staff token closed it with this reply (a closing sent again): 200."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def close(
    request: Request[Any, Any, Any], db_connection: NamedDependency[Any], case_id: PathId, data: JSONBody[Closing]
) -> CaseView:
    who = guarded_principal(request).token_id
    keep = request.app.state.public_phones
    try:
        if not await close_case(db_connection, case_id=case_id, closing=data, by=who, keep=keep):
            raise NotFoundException("no such case")
    except StateConflict:
        # The same closing sent again (a retry after its answer was lost): the case is closed as it asked.
        if not await closed_so_by(db_connection, case_id=case_id, by=who, answer=data.answer.strip()):
            raise
    view = await case_view(db_connection, case_id)
    assert view is not None
    return view


@post(
    "/api/v1/hotspots/{hotspot_id:int}/dismiss",
    summary="Dismiss a hotspot staff have judged",
    description=(
        "A hotspot already handled, or not a dispute in the making, leaves the list and its reports lose their lift "
        "in the feed. The machine does not raise it again for the same case, or the same street and topic, for a "
        "week, unless it grows to half as large again (a burst's count against expected, a case's reporters) or, "
        "for an escalation, its risk rises past the level dismissed. A case's other hotspot stays. A hotspot that "
        "has ended or was dismissed is a 409, unless this staff token dismissed it with this note (a dismissal sent "
        "again): 200."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def dismiss(
    request: Request[Any, Any, Any], db_connection: NamedDependency[Any], hotspot_id: PathId, data: JSONBody[Dismissal]
) -> Dismissed:
    who = guarded_principal(request).token_id
    try:
        done = await dismiss_hotspot(db_connection, hotspot_id=hotspot_id, dismissal=data, by=who)
    except StateConflict:
        # The same dismissal sent again (a retry after its answer was lost): the hotspot is dismissed as it asked.
        done = await dismissed_so_by(db_connection, hotspot_id=hotspot_id, by=who, dismissal=data)
        if done is None:
            raise
    if done is None:
        raise NotFoundException("no such hotspot")
    return done


routes = [hotspots, get_case, suggest, merge, move, assign, close, dismiss]
