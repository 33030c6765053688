"""What an item looks like at the edge. Validation happens here, when the body is decoded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar.params import PathParameter
from msgspec import Meta

MAX_TEXT_LENGTH = 5000
MAX_ID = 2**63 - 1  # ids are PostgreSQL bigints

Channel = Literal["web", "hotline", "grid"]
Kind = Literal["suggestion", "complaint", "inquiry", "report", "help"]
Status = Literal["pending", "open", "failed", "assigned", "closed"]

# PostgreSQL text cannot hold a NUL character: a string with one is bad input, refused when decoded.
NO_NUL = r"^[^\x00]*$"

Text = Annotated[
    str,
    Meta(min_length=1, max_length=MAX_TEXT_LENGTH, pattern=NO_NUL, description="what happened, in the sender's words"),
]
ContactName = Annotated[str, Meta(max_length=50, pattern=NO_NUL)]
ContactPhone = Annotated[str, Meta(max_length=40, pattern=NO_NUL, description="mobile or landline with area code")]
Place = Annotated[str, Meta(max_length=200, pattern=NO_NUL, description="where it happened: 街道/镇, 社区, 小区, road")]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
EXTERNAL_ID_LENGTH = 64
ExternalId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=EXTERNAL_ID_LENGTH,
        pattern=EXTERNAL_ID_PATTERN,
        description="the sending system's own number, e.g. a 12345 work-order id; unique per channel",
    ),
]
# An item's or a case's id, in a body and in a path: a larger number is no id, not a database error.
RowId = Annotated[int, Meta(ge=1, le=MAX_ID)]
PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: an unknown field is an error, not silently dropped."""


class ItemIn(Strict):
    channel: Channel
    text: Text
    kind: Kind | None = None
    contact_name: ContactName | None = None
    contact_phone: ContactPhone | None = None
    place: Place | None = None
    received_at: datetime | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    external_id: ExternalId | None = None


class ItemCreated(msgspec.Struct, kw_only=True):
    id: int
    tracking_code: str
    status: Status


class Progress(msgspec.Struct, kw_only=True):
    """An interim reply staff wrote, as the resident reads it."""

    at: datetime
    text: str  # phone, ID and card numbers masked


class Tracking(msgspec.Struct, kw_only=True):
    """What anyone holding a tracking code may see: status, dates and, once closed, the reply; nothing personal."""

    tracking_code: str
    status: Status
    status_text: str
    received_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    answer: str | None  # the staff's reply once the item is closed, phone, ID and card numbers masked
    rating: str | None = None  # the resident's rating of that reply, once given
    can_rate: bool = False  # the reply can be rated (or the rating changed) now
    reopened_at: datetime | None = None  # when a dissatisfied rating last sent the item back to work
    # While the item is at work again because staff withdrew the reply it was given (sent to the wrong item, or before
    # the work was done): a sentence saying so, to a resident who may have read it; never its words or why.
    reply_withdrawn: str | None = None
    progress: list[Progress] = []  # staff's interim replies, oldest first, masked
    # Found by a code read out that reads like this one but is not it (an operator's look-up): read it back.
    read_alike: bool = False
    # For those who take calls and visits only (a token holder's look-up), null for the public: the desk handling it
    # (or that answered it) and its case, what a caller ringing again about it is told.
    assigned_to: str | None = None
    case_id: int | None = None
