"""Staff endpoints: the triage feed, single items, assigning, following up and closing them, call backs, ratings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.response import Response

from suggestions.auth import BEARER, guarded_principal, staff_only
from suggestions.classify.serving import serving_topics
from suggestions.db import connection
from suggestions.errors import InvalidInput, problem_responses
from suggestions.intake.routes import idempotency_key_header
from suggestions.intake.schema import (
    EXTERNAL_ID_LENGTH,
    EXTERNAL_ID_PATTERN,
    NO_NUL,
    Channel,
    PathId,
    Status,
)
from suggestions.intake.service import shows_anything
from suggestions.openapi import ZERO_MINIMUM
from suggestions.settings import Settings
from suggestions.triage.contacts import Contact, NoContact, read_contact
from suggestions.triage.feed import OPEN_STATUSES, Feed, FeedFilter, triage_feed
from suggestions.triage.items import ItemList, ItemView, item_by_id, items_by_external_id
from suggestions.triage.notes import NoteIn, NoteView, add_note, note_written
from suggestions.triage.once import KEY_HOURS, Outcome, once_told_truly, step_hash
from suggestions.triage.ratings import (
    FIRST_DAY,
    RATING_DAYS,
    Rated,
    RatingIn,
    SatisfactionReport,
    WithdrawnMeanwhile,
    checked_day,
    rate_on_call,
    rated_before,
    satisfaction_report,
)
from suggestions.triage.workflow import Assignment, Closing, Withdrawal, assign, close, withdraw_reply

STAFF_TAGS = ["staff"]


@get(
    "/api/v1/triage",
    summary="The triage feed: most urgent first, then oldest",
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def feed(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    status: FromQuery[list[Status] | None] = None,
    min_risk: Annotated[int | None, QueryParameter(ge=0, le=3, schema_extra=ZERO_MINIMUM)] = None,
    topic: Annotated[str | None, QueryParameter(min_length=1, max_length=40, pattern=NO_NUL)] = None,
    channel: FromQuery[Channel | None] = None,
    place: Annotated[str | None, QueryParameter(min_length=1, max_length=100, pattern=NO_NUL)] = None,
    needs_review: FromQuery[bool | None] = None,
    sent_back: FromQuery[bool | None] = None,
    desk: Annotated[str | None, QueryParameter(min_length=1, max_length=100, pattern=NO_NUL)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, QueryParameter(max_length=1000)] = None,
) -> Feed:
    if topic is not None and topic not in (topics := await serving_topics(request.app.state, settings)):
        # A typo would read as an empty feed: nothing to do.
        raise InvalidInput("topic", f"not one of the district's topics: {', '.join(topics)}")
    if desk is not None and not shows_anything(desk := desk.strip()):
        raise InvalidInput("desk", "name the desk or department, as items are assigned to it")
    flt = FeedFilter(
        statuses=tuple(status) if status else OPEN_STATUSES,
        min_risk=min_risk,
        topic=topic,
        channel=channel,
        place=place,
        needs_review=needs_review,
        sent_back=sent_back,
        desk=desk,
    )
    return await triage_feed(db_connection, flt, limit=limit, cursor=cursor)


@get(
    "/api/v1/items/{item_id:int}",
    summary="One item, its text masked, with its classification",
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404, 422, 503),
)
async def item(db_connection: NamedDependency[Any], item_id: PathId) -> ItemView:
    view = await item_by_id(db_connection, item_id)
    if view is None:
        raise NotFoundException("no such item")
    return view


@get(
    "/api/v1/items",
    summary="Items by channel and the sending system's own id",
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def items(
    db_connection: NamedDependency[Any],
    channel: FromQuery[Channel | None] = None,
    # The constraints of ExternalId, spelt out: Litestar leaves a union's out of the OpenAPI document.
    external_id: Annotated[
        str | None, QueryParameter(min_length=1, max_length=EXTERNAL_ID_LENGTH, pattern=EXTERNAL_ID_PATTERN)
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
) -> ItemList:
    return await items_by_external_id(db_connection, channel=channel, external_id=external_id, limit=limit)


StaffIdempotencyKey = Annotated[
    str | None,
    idempotency_key_header(
        f"a key of the client's choosing: the same key and request within {KEY_HOURS} h do the step once, and a step "
        "whose answer was lost (a 503 saying it may have been done) is answered as it was done"
    ),
]
API_SCOPE = "staff-api"  # apart from the staff pages' forms' keys and the items' (`idempotency_keys`)


async def _step(
    request: Request[Any, Any, Any],
    db_connection: Any,
    settings: Settings,
    item_id: int,
    data: Any,
    idempotency_key: str | None,
    work: Any,
) -> Outcome:
    """`work()` (False: no such item), once under the request's Idempotency-Key if it sent one (`triage.once`)."""
    if idempotency_key is None:
        return "done" if await work() else "no such item"
    return await once_told_truly(
        db_connection,
        work,
        scope=f"{API_SCOPE}:{guarded_principal(request).token_id}",
        key=idempotency_key,
        request_hash=step_hash(request.url.path, data),
        item_id=item_id,
        database_url=settings.database_url,
    )


async def _changed_item(
    request: Request[Any, Any, Any], db_connection: Any, item_id: int, outcome: Outcome
) -> ItemView:
    if outcome == "no such item":
        raise NotFoundException("no such item")
    if not db_connection.is_closed():
        view = await item_by_id(db_connection, item_id)
    else:  # closed after its commit went unanswered (`triage.once`)
        async with connection(request.app.state.db_pool) as conn:
            view = await item_by_id(conn, item_id)
    assert view is not None
    return view


@post(
    "/api/v1/items/{item_id:int}/assign",
    summary="Assign an item to a desk or department",
    description=(
        "Reassigning an assigned item is allowed; a closed item, or one still being classified, is a 409. The same "
        "hand-over sent again (the item is assigned to this desk already) records nothing: 200 with the item."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def assign_item(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    item_id: PathId,
    data: JSONBody[Assignment],
    settings: NamedDependency[Settings],
    idempotency_key: StaffIdempotencyKey = None,
) -> ItemView:
    principal = guarded_principal(request)
    work = partial(assign, db_connection, item_id=item_id, assignment=data, who=principal.token_id)
    outcome = await _step(request, db_connection, settings, item_id, data, idempotency_key, work)
    return await _changed_item(request, db_connection, item_id, outcome)


@post(
    "/api/v1/items/{item_id:int}/close",
    summary="Close an item with the reply to the resident",
    description="The reply is shown on the resident's tracking page, phone, ID and card numbers masked. "
    "Closing a closed item, or one still being classified, is a 409.",
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def close_item(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    item_id: PathId,
    data: JSONBody[Closing],
    settings: NamedDependency[Settings],
    idempotency_key: StaffIdempotencyKey = None,
) -> ItemView:
    principal = guarded_principal(request)
    keep = request.app.state.public_phones
    work = partial(close, db_connection, item_id=item_id, closing=data, who=principal.token_id, keep=keep)
    outcome = await _step(request, db_connection, settings, item_id, data, idempotency_key, work)
    return await _changed_item(request, db_connection, item_id, outcome)


@post(
    "/api/v1/items/{item_id:int}/reopen",
    summary="Withdraw a reply sent by mistake: the item is at work again",
    description=(
        "For a reply sent to the wrong item, or before the work was done, that the resident has not rated: the item "
        "goes back to its desk (or the feed), its reply leaves it and the tracking page, and a staff note keeps who "
        "withdrew which reply and why. An item not closed, or whose reply the resident has rated (theirs to send "
        "back), is a 409."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def reopen_item(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    item_id: PathId,
    data: JSONBody[Withdrawal],
    settings: NamedDependency[Settings],
    idempotency_key: StaffIdempotencyKey = None,
) -> ItemView:
    principal = guarded_principal(request)
    work = partial(withdraw_reply, db_connection, item_id=item_id, withdrawal=data, who=principal.token_id)
    outcome = await _step(request, db_connection, settings, item_id, data, idempotency_key, work)
    return await _changed_item(request, db_connection, item_id, outcome)


@get(
    "/api/v1/satisfaction",
    summary="How residents rated the replies of a period",
    description=(
        "Closings from since to until (whole days in the district's time zone, inclusive; default the last 30 days), "
        "each reply counted once, a reply a dissatisfied resident sent back included: how many were rated, and how, "
        "in all and by topic, by the desk that wrote the reply, and by channel."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def satisfaction(
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    since: FromQuery[date | None] = None,
    until: FromQuery[date | None] = None,
) -> SatisfactionReport:
    zone = ZoneInfo(settings.timezone)
    first = checked_day("since", since) if since else None
    last = checked_day("until", until) if until else datetime.now(zone).date()
    if until is None and first is not None and first > last:
        raise InvalidInput("since", "since is after today")
    first = first or max(FIRST_DAY, last - timedelta(days=29))
    return await satisfaction_report(db_connection, since=first, until=last, zone=zone)


@get(
    "/api/v1/items/{item_id:int}/contact",
    summary="The resident's contact, to call them back",
    description=(
        "The name and phone the sender left, for a call back (to answer them, or to ask whether they are "
        "satisfied). Every read is recorded with the staff token and the time. 404 when the item has no contact: "
        "the sender left none, or retention erased it."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404, 422, 503),
    cache_control=CacheControlHeader(no_store=True),
)
async def contact(request: Request[Any, Any, Any], db_connection: NamedDependency[Any], item_id: PathId) -> Contact:
    principal = guarded_principal(request)
    try:
        found = await read_contact(db_connection, item_id=item_id, who=principal.token_id)
    except NoContact as exc:
        raise NotFoundException(str(exc)) from None
    if found is None:
        raise NotFoundException("no such item")
    return found


@post(
    "/api/v1/items/{item_id:int}/rating",
    summary="Take down the resident's rating on a call back",
    description=(
        "For a resident who rates the reply on the phone rather than on the tracking page: the same rules "
        f"(a closed item, within {RATING_DAYS} days; a dissatisfied rating sends it back to work), recorded as taken "
        "down by this staff token. `closed_at` names the reply the resident rated. 409 for an item not closed, a "
        "reply older than that, an item answered again since that reply, an item whose sender left no phone, or a "
        "reply the resident rated themselves (their rating stands, unless they now send it back: dissatisfied). "
        "For a reply staff withdrew meanwhile, the rating is not counted, but the comment taken down is kept on the "
        "item (`resident_comments`): a 409 whose detail says so."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def rate_for_resident(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    item_id: PathId,
    data: JSONBody[RatingIn],
    settings: NamedDependency[Settings],
    idempotency_key: StaffIdempotencyKey = None,
) -> Rated:
    principal = guarded_principal(request)
    taken: list[Rated] = []
    refused: list[WithdrawnMeanwhile] = []

    async def work() -> bool:
        now = datetime.now(UTC)
        try:
            rated = await rate_on_call(
                db_connection, item_id=item_id, rating=data, now=now, recorded_by=principal.token_id
            )
        except WithdrawnMeanwhile as exc:
            if not exc.words_kept:
                raise
            # The words are kept: the step is done (and its key claimed with them), its answer a 409 all the same.
            refused[:] = [exc]
            return True
        taken[:] = [] if rated is None else [rated]
        return rated is not None

    outcome = await _step(request, db_connection, settings, item_id, data, idempotency_key, work)
    if outcome == "no such item":
        raise NotFoundException("no such item")
    if outcome == "done" and refused:
        raise refused[0]
    if outcome == "done":
        return taken[0]
    async with connection(request.app.state.db_pool) as conn:
        return await rated_before(conn, item_id=item_id, rating=data)


@post(
    "/api/v1/items/{item_id:int}/notes",
    summary="Follow an item up: a note for staff, or an interim reply the resident reads",
    description=(
        "A note on the way from assigning to closing (1-2,000 characters). With audience resident it is an interim "
        "reply (阶段性答复) shown on the resident's tracking page, phone, ID and card numbers masked; with staff (the "
        "default) only staff read it, in the item. Names are not masked: write none in an interim reply. An item "
        "whose personal data retention has erased takes no more notes (409)."
    ),
    tags=STAFF_TAGS,
    guards=[staff_only],
    security=BEARER,
    status_code=201,
    responses={
        200: ResponseSpec(
            NoteView, description="Written by an earlier request with the same Idempotency-Key", generate_examples=False
        ),
        **problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
    },
)
async def write_note(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    item_id: PathId,
    data: JSONBody[NoteIn],
    settings: NamedDependency[Settings],
    idempotency_key: StaffIdempotencyKey = None,
) -> Response[NoteView]:
    who = guarded_principal(request).token_id
    written: list[NoteView] = []

    async def work() -> bool:
        note = await add_note(db_connection, item_id=item_id, note=data, who=who, keep=request.app.state.public_phones)
        written[:] = [] if note is None else [note]
        return note is not None

    outcome = await _step(request, db_connection, settings, item_id, data, idempotency_key, work)
    if outcome == "no such item":
        raise NotFoundException("no such item")
    if outcome == "done":
        return Response(written[0], status_code=201)
    # Written by the request sent first under this key: the note it wrote, 200 as for an item sent again.
    async with connection(request.app.state.db_pool) as conn:
        note = await note_written(conn, item_id=item_id, note=data, who=who)
    assert note is not None
    return Response(note, status_code=200)


routes = [
    feed,
    item,
    items,
    assign_item,
    close_item,
    reopen_item,
    write_note,
    satisfaction,
    contact,
    rate_for_resident,
]
