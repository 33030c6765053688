"""Intake over HTTP: items from every channel, and tracking by code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIResponse
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from msgspec import Meta

from suggestions.auth import (
    BEARER,
    CALLER_ROLES,
    CHANNEL_ROLES,
    OPTIONAL_BEARER,
    STAFF_ROLES,
    check_role,
    guarded_principal,
    known_token,
    optional_principal,
    roles_only,
)
from suggestions.errors import InvalidInput, problem_responses
from suggestions.headers import from_elsewhere
from suggestions.intake import store
from suggestions.intake.callers import CLOSED_SHOWN_DAYS, OPEN_SHOWN, CallerHistory, caller_history
from suggestions.intake.schema import NO_NUL, ContactPhone, ItemCreated, ItemIn, Progress, Strict, Tracking
from suggestions.intake.service import accept_item, checked_phone, resent_key, token_sender
from suggestions.intake.tracking_code import normalise_tracking_code, reading_key
from suggestions.metrics import ITEMS_ACCEPTED
from suggestions.openapi import ProblemOperation
from suggestions.queue import wake_classifier
from suggestions.ratelimit import anonymous_sender, limit_phone_look_up
from suggestions.settings import Settings
from suggestions.triage.ratings import MAX_RATINGS_OF_A_REPLY, RATING_DAYS, Rated, RatingIn, can_rate, rate

STATUS_TEXT = {
    "pending": "已受理，正在分派",
    "open": "已受理，等待处理",
    "failed": "已受理，正在人工分派",
    "assigned": "处理中",
    "closed": "已办结",
}
# Said to the resident, on the tracking page and in the API's answer, while the item is at work again because staff
# withdrew its reply: they may have read it. Neither the reply nor staff's reason: those are staff's.
REPLY_WITHDRAWN = "之前的答复已撤回，正在重新办理，办好后会再次答复您。"

# Who may find a code by what a caller read out, and read which desk has it (`find_tracking`'s taking_calls): those
# who take calls and visits.
READING_ROLES = frozenset({"operator", "grid", *STAFF_ROLES})


def idempotency_key_header(description: str) -> HeaderParameter:
    """The optional header `Idempotency-Key`, its value a key of the client's choosing, as `description` says."""
    return HeaderParameter(
        name="Idempotency-Key", required=False, min_length=1, max_length=200, pattern=NO_NUL, description=description
    )


IdempotencyKey = Annotated[
    str | None,
    idempotency_key_header("a key of the client's choosing; the same key and body within 24 h store one item"),
]


@dataclass
class StoredOnceOperation(ProblemOperation):
    """An item stored by an earlier request (200) is answered with where to track it, as a new one (201) is: the
    document says so for both, so that a client reading the header after a retry finds it declared."""

    def __post_init__(self) -> None:
        super().__post_init__()
        created, stored = (self.responses or {}).get("201"), (self.responses or {}).get("200")
        if isinstance(created, OpenAPIResponse) and isinstance(stored, OpenAPIResponse) and created.headers:
            stored.headers = {**(stored.headers or {}), "Location": created.headers["Location"]}


def refuse_other_sites(request: Request[Any, Any, Any], settings: Settings) -> None:
    """A browser on another site's page may post here without a token too: a form of type text/plain carries a JSON
    body and needs no preflight (`headers.from_elsewhere`)."""
    if from_elsewhere(request.headers, settings.public_origin):
        raise PermissionDeniedException("posted from another site's page")


@post(
    "/api/v1/items",
    tags=["intake"],
    summary="Submit an item",
    description="web needs no token; hotline needs an operator token and grid a grid token. "
    "201 for a new item; 200 when an earlier request with the same Idempotency-Key or external_id stored it.",
    status_code=201,
    guards=[known_token],
    security=OPTIONAL_BEARER,
    response_headers=[
        ResponseHeader(
            name="Location",
            value="/api/v1/track/XXXX-XXXX-XXXX",  # an example, for the header's schema: a string
            description="where to track the item",
            documentation_only=True,
            required=True,
        )
    ],
    operation_class=StoredOnceOperation,
    responses={
        200: ResponseSpec(ItemCreated, description="Stored by an earlier request", generate_examples=False),
        **problem_responses(400, 401, 403, 413, 422, 503),
    },
)
async def create_item(
    request: Request[Any, Any, Any],
    data: JSONBody[ItemIn],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    idempotency_key: IdempotencyKey = None,
) -> Response[ItemCreated]:
    principal = optional_principal(request)
    if principal is None:
        refuse_other_sites(request, settings)
        # A platform's record number is a sender's own: without a token every resident would share one set of numbers,
        # and anyone who knew an item's words and number could read its tracking code back, or try phones against it.
        if data.external_id is not None:
            raise InvalidInput("external_id", "external_id is for senders with a token; residents need none")
    # The web channel needs no token; one that is sent must be allowed to enter items (a scraper's is not).
    if data.channel != "web" or principal is not None:
        principal = check_role(principal, CHANNEL_ROLES[data.channel], f"enter items on the {data.channel} channel")
    accepted = await accept_item(
        db_connection,
        data,
        principal=principal,
        gazetteer=request.app.state.gazetteer,
        idempotency_key=idempotency_key,
        idempotency_hours=settings.idempotency_hours,
        also_key=resent_key(data, principal, settings.idempotency_hours),
        area_code=settings.area_code,
        database_url=settings.database_url,
        sender=await anonymous_sender(request, db_connection) if principal is None else token_sender(principal),
    )
    if accepted.created:
        ITEMS_ACCEPTED.labels(channel=data.channel).inc()
        await wake_classifier(request.app.state.queue, accepted.item.id)
    return Response(
        accepted.item,
        status_code=201 if accepted.created else 200,
        headers={"Location": f"/api/v1/track/{accepted.item.tracking_code}"},
    )


@get(
    "/api/v1/track/{tracking_code:str}",
    tags=["intake"],
    summary="Status of an item and, once closed, the reply, by its tracking code",
    responses=problem_responses(400, 404, 503),
)
async def track_item(tracking_code: FromPath[str], db_connection: NamedDependency[Any]) -> Tracking:
    return await _tracking_or_404(db_connection, tracking_code)


class TrackingQuery(Strict):
    code: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=200,
            pattern=NO_NUL,
            description="the tracking code as typed or pasted (case, spaces, separators and words around it allowed)",
        ),
    ]


@post(
    "/api/v1/track",
    tags=["intake"],
    summary="Status of an item and, once closed, the reply, by a tracking code sent in the body",
    description=(
        "The same answer as `GET /api/v1/track/{tracking_code}`, for a console whose operator types what a caller "
        "reads out: what is typed (perhaps a phone number in the wrong box) stays out of the URL, and so out of "
        "proxies' and browsers' logs. With an operator's, grid worker's or staff token, a code that no item has as "
        "typed finds the one item whose code reads like it (B/P/8, D/T, M/N, G/J/6, Q/9, 2/Z, 5/S, U/V, and 1 for E), "
        "marked read_alike: read the code found back to the caller. To them the answer names the desk (assigned_to) "
        "and the case."
    ),
    guards=[known_token],
    security=OPTIONAL_BEARER,
    status_code=200,
    responses=problem_responses(400, 401, 404, 413, 422, 503),
)
async def look_up_item(
    request: Request[Any, Any, Any], data: JSONBody[TrackingQuery], db_connection: NamedDependency[Any]
) -> Tracking:
    principal = optional_principal(request)
    taking_calls = principal is not None and principal.role in READING_ROLES
    return await _tracking_or_404(db_connection, data.code, taking_calls=taking_calls)


async def _tracking_or_404(conn: Any, typed_code: str, *, taking_calls: bool = False) -> Tracking:
    try:
        found = await find_tracking(conn, typed_code, taking_calls=taking_calls)
    except SeveralReadAlike:
        raise NotFoundException(
            "no item has this tracking code, and it reads like several: ask the caller to spell it letter by letter"
        ) from None
    if found is None:
        raise NotFoundException("no item has this tracking code")
    return found


class SeveralReadAlike(Exception):
    """A code read out that no item has as it is, and that reads like more than one item's."""


async def find_tracking(conn: Any, typed_code: str, *, taking_calls: bool = False) -> Tracking | None:
    """What the holder of a tracking code may see; None if the code is no item's (or no code at all). The API and the
    resident's page both read it. `taking_calls` (an operator's, a grid worker's or staff's console): a code no item
    has as it is finds the one whose reading it is (`tracking_code.reading_key`; several are SeveralReadAlike), and
    the answer names the desk and the case."""
    code = normalise_tracking_code(typed_code)
    row = await store.tracking(conn, code) if code else None
    alike = False
    if row is None and taking_calls and (reading := reading_key(typed_code)) is not None:
        codes = await store.codes_read_alike(conn, reading)
        if len(codes) > 1:
            raise SeveralReadAlike
        row = await store.tracking(conn, codes[0]) if codes else None
        alike = row is not None
    if row is None:
        return None
    return Tracking(
        read_alike=alike,
        assigned_to=row["assigned_to"] if taking_calls else None,
        case_id=row["case_id"] if taking_calls else None,
        tracking_code=row["tracking_code"],
        status=row["status"],
        status_text=STATUS_TEXT[row["status"]],
        received_at=row["received_at"],
        updated_at=row["updated_at"],
        closed_at=row["closed_at"],
        answer=row["answer"],
        rating=row["rating"],
        can_rate=can_rate(row["status"], row["closed_at"], datetime.now(UTC)),
        reopened_at=row["reopened_at"],
        reply_withdrawn=REPLY_WITHDRAWN if row["reply_withdrawn_at"] is not None else None,
        progress=msgspec.json.decode(row["progress"], type=list[Progress]),
    )


class CallerQuery(Strict):
    contact_phone: ContactPhone  # the caller's, as the console has it (spaces, dashes, +86 allowed)


CALLER_PATH = "/api/v1/callers/items"


@post(
    CALLER_PATH,
    tags=["intake"],
    summary="The caller's earlier items, by the caller's phone sent in the body",
    description=(
        "For an operator taking a call: the items left with this phone (not the grid's), the latest "
        f"{OPEN_SHOWN} not closed first (`open` counts them all, `open_not_listed` those not listed: a switchboard), "
        f"then the latest `limit` of those closed in the last {CLOSED_SHOWN_DAYS} days (`closed` counts them all, "
        "`truncated` says some are not listed), newest first in each, with status, topic, desk, case and the first "
        "words masked; `message` says it in a sentence, and says so when there are none. POST, "
        "so the phone never goes into a URL. Every item listed is recorded as a read of its contact, with the token. "
        "Operators and staff only; the phones a token looks up are limited (`SUGGESTIONS_RATE_LIMIT_CALLER`)."
    ),
    guards=[roles_only(CALLER_ROLES)],
    security=BEARER,
    status_code=200,
    cache_control=CacheControlHeader(no_store=True),
    responses=problem_responses(400, 401, 403, 413, 422, 503),
)
async def caller_items(
    request: Request[Any, Any, Any],
    data: JSONBody[CallerQuery],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    limit: Annotated[int, QueryParameter(ge=1, le=50)] = 20,
) -> CallerHistory:
    phone = checked_phone(data.contact_phone, area_code=settings.area_code)
    if phone is None:
        raise InvalidInput("contact_phone", "the caller's phone is needed to find their earlier items")
    who = guarded_principal(request).token_id
    await limit_phone_look_up(request, token_id=who, phone=phone)
    return await caller_history(db_connection, phone=phone, who=who, limit=limit, status_text=STATUS_TEXT)


@post(
    "/api/v1/track/{tracking_code:str}/rating",
    tags=["intake"],
    summary="The resident's rating of the reply, by the item's tracking code",
    description=(
        f"Once the item is closed, and within {RATING_DAYS} days, anyone holding its tracking code may rate the reply "
        "satisfied, basically_satisfied or dissatisfied, and change the rating while the reply stands. A "
        "dissatisfied rating sends the item back to work (its desk, or the feed), with the comment for staff. "
        "The rating standing, sent again, is answered as given and not recorded twice. Rating an item that is not "
        "closed, too late, answered again since the closing `closed_at` names, or a reply already rated "
        f"{MAX_RATINGS_OF_A_REPLY} times, is a 409. A reply staff withdrew meanwhile is not rated, but the comment "
        "given with the rating is kept for staff, on the item: a 409 whose detail says so (or, past "
        f"{MAX_RATINGS_OF_A_REPLY} kept since the withdrawal, that it was not kept)."
    ),
    status_code=200,
    responses=problem_responses(400, 403, 404, 409, 413, 422, 503),
)
async def rate_reply(
    request: Request[Any, Any, Any],
    tracking_code: FromPath[str],
    data: JSONBody[RatingIn],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
) -> Rated:
    refuse_other_sites(request, settings)
    code = normalise_tracking_code(tracking_code)
    rated = await rate(db_connection, tracking_code=code, rating=data, now=datetime.now(UTC)) if code else None
    if rated is None:
        raise NotFoundException("no item has this tracking code")
    return rated
