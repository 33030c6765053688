"""Accepting one item: the rules every channel shares (API, web form, import)."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import msgspec

from suggestions.auth import Principal
from suggestions.db import (
    IN_DOUBT,
    IN_DOUBT_WAIT_MS,
    commit_settled,
    look_after_unanswered_commit,
    rerun_after_schema_change,
    session,
)
from suggestions.errors import Conflict, InvalidInput, OutcomeUnknown
from suggestions.hotspots.places import Gazetteer
from suggestions.intake import store
from suggestions.intake.schema import ItemCreated, ItemIn
from suggestions.intake.tracking_code import new_tracking_code
from suggestions.privacy import drop_invisible, holds_phone_or_id, mask_pii, normalize_phone

log = logging.getLogger(__name__)

# A call entered a few minutes "in the future" is clock skew between the console and the server, not an error.
CLOCK_SKEW = timedelta(minutes=5)
# No record the service keeps predates this; an earlier time is a typing error (and year 1 with a positive offset
# is before year 1 in UTC, which PostgreSQL refuses).
EARLIEST_RECEIVED_AT = datetime(1970, 1, 1, tzinfo=UTC)
# A call or a visit is entered within days of it. An older time is a device's clock gone wrong (a phone whose clock
# reset to 1970 after its battery ran flat), which would put the item at the top of the feed as the longest waiting;
# older records come in by `suggestions import` (`history`).
LONGEST_DELAY = timedelta(days=30)


class Accepted(msgspec.Struct, frozen=True):
    item: ItemCreated
    created: bool  # False: an earlier request (same Idempotency-Key, or same external id) already stored it
    # The class of the outage that lost the answer to its commit, when it was found stored after all; its connection
    # is then closed.
    unanswered: str | None = None


class _LostRace(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


class IdempotencyKey(msgspec.Struct, frozen=True):
    """A key under which an item is remembered in its scope for `hours`: the request's Idempotency-Key, or another
    that finds the same request sent again (`accept_item`'s `also_key`)."""

    scope: str
    key: str
    hours: int


class _Checked(msgspec.Struct, frozen=True):
    text: str
    contact_name: str | None
    contact_phone: str | None
    place: str


# Characters that draw nothing: separators, controls, format characters (a zero-width space, a byte-order mark),
# combining marks with nothing to combine with, and the fillers that pass for letters or symbols (ㅤ, ⠀).
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Cn", "Mn", "Me"})
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def shows_anything(text: str) -> bool:
    """Whether the text has a character a reader sees, beyond what `str.strip` leaves. A private-use character
    counts: older input methods put rare characters of names and places there."""
    return any(unicodedata.category(ch) not in _BLANK_CATEGORIES and ch not in _FILLERS for ch in text)


_LINE_BREAK = re.compile(r"\r\n?")
# Control characters but the tab and the line break: nothing a browser draws, and an escape or a backspace rewrites
# what a terminal shows of an export.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES_AND_CONTROLS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def as_text(value: str) -> str:
    """A message as kept: its lines broken by \\n alone, without controls or characters that draw nothing."""
    return _CONTROLS.sub("", _LINE_BREAK.sub("\n", drop_invisible(value))).strip()


def as_one_line(value: str) -> str:
    """A place or a name as kept: one line, each run of spaces, line breaks and controls one space."""
    return _SPACES_AND_CONTROLS.sub(" ", drop_invisible(value)).strip()


def has_words(text: str) -> bool:
    """Whether the text holds a letter or a digit of any script (a private-use character too: older input methods put
    rare characters of names and places there). Emoji, punctuation and symbols alone tell staff nothing, and the
    model reads nothing in them."""
    return any(unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "Co" for ch in text)


def check_item(item: ItemIn, *, history: bool = False, now: datetime | None = None, area_code: str = "") -> _Checked:
    """Rules that the schema alone cannot say; each failure names its field.

    `history` is for imports of earlier records, which keep their own received_at on every channel. `area_code`: the
    district's, completing a local landline (`checked_phone`).
    """
    # Characters that draw nothing are not kept: they would hide a phone from masking, or a copy from grouping.
    text = as_text(item.text)
    if not shows_anything(text):
        raise InvalidInput("text", "text must not be blank / 内容不能为空")
    if not has_words(text):
        raise InvalidInput("text", "text has no words, only emoji or symbols / 请用文字写下发生了什么")
    if item.received_at is not None:
        if item.channel == "web" and not history:
            raise InvalidInput("received_at", "received_at is set by the service for web items")
        if item.received_at.tzinfo is None:
            raise InvalidInput("received_at", "received_at needs a time zone, e.g. 2026-11-29T09:30:00+08:00")
        if item.received_at > (now or datetime.now(UTC)) + CLOCK_SKEW:
            raise InvalidInput("received_at", "received_at is in the future")
        if item.received_at < EARLIEST_RECEIVED_AT:
            raise InvalidInput("received_at", "received_at is before 1970")
        if not history and item.received_at < (now or datetime.now(UTC)) - LONGEST_DELAY:
            raise InvalidInput(
                "received_at",
                f"received_at is more than {LONGEST_DELAY.days} days ago: check the device's clock "
                "(older records are imported with `suggestions import`)",
            )
    if (item.lat is None) != (item.lon is None):
        raise InvalidInput("lat" if item.lat is None else "lon", "lat and lon go together")
    checked_external_id(item.external_id)
    checked_contact_name(item.contact_name)
    return _Checked(
        text=text,
        contact_name=kept_contact_name(item.contact_name),
        contact_phone=checked_phone(item.contact_phone, area_code=area_code),
        place=mask_pii(as_one_line(item.place or "")),
    )


def kept_contact_name(value: str | None) -> str | None:
    """A contact name as it is stored: on one line, None when it shows nothing."""
    name = as_one_line(value) if value else None
    return name if name and shows_anything(name) else None


def checked_phone(value: str | None, *, area_code: str) -> str | None:
    """A `contact_phone` field in canonical form, None when left empty; InvalidInput naming the field otherwise.
    `area_code`: the district's (`Settings.area_code`), which completes a local landline typed without it."""
    if not value or not value.strip():
        return None
    try:
        return normalize_phone(value, area_code=area_code)
    except ValueError as exc:
        raise InvalidInput("contact_phone", str(exc)) from None


WORK_ORDER_HOLDS_A_NUMBER = (
    "工单号一栏只填 12345 工单号：这里填的像是电话号码或身份证号，来电人的电话请填在回访电话（contact_phone）里 / "
    "external_id is the work-order number: this looks like a phone or ID number; a phone goes in contact_phone"
)


def checked_external_id(value: str | None) -> None:
    """A work-order number is shown to staff unmasked, exported and typed into look-ups: a caller's phone or ID number
    typed into its box instead (as the caller reads it out) would be kept there whole. The value stays out of the
    message, which may be logged."""
    if value is not None and holds_phone_or_id(value):
        raise InvalidInput("external_id", WORK_ORDER_HOLDS_A_NUMBER)


NAME_HOLDS_A_NUMBER = (
    "称呼一栏只填称呼，如王先生、李女士：这里填的像是电话号码或身份证号，"
    "电话请填在电话（contact_phone）里，身份证号不用登记 / "
    "contact_name is how to address the person: this looks like a phone or ID number; a phone goes in contact_phone"
)


def checked_contact_name(value: str | None) -> None:
    """A name is shown to staff as a name, masked as one: a phone or ID number typed into its box would be kept there
    whole, and the caller's history would never find the phone. The value stays out of the message."""
    if value is not None and holds_phone_or_id(value):
        raise InvalidInput("contact_name", NAME_HOLDS_A_NUMBER)


def token_sender(principal: Principal) -> str | None:
    """Who sent an item entered with a token, as a case counts reporters (`tracker.SENDER`): a grid worker, on any
    channel, by their token as on their own; an operator's or staff's token is on many residents' reports."""
    return f"grid:{principal.token_id}" if principal.role == "grid" else None


def request_hash(item: ItemIn) -> bytes:
    return hashlib.sha256(msgspec.json.encode(item, order="sorted")).digest()


def idempotency_scope(item: ItemIn, principal: Principal | None) -> str:
    return f"{item.channel}:{principal.token_id if principal else 'public'}"


def resent_key(item: ItemIn, principal: Principal | None, hours: int) -> IdempotencyKey | None:
    """The key under which a sender's report is found when sent again in the same body, whatever its Idempotency-Key:
    a grid worker's app killed mid-send sends its draft again when it starts, under a key of its own or none. Only a
    body that carries the time it was written down (`received_at`) is told apart so: without it, two calls taken down
    in the same words may be two callers."""
    if principal is None or item.received_at is None:
        return None
    return IdempotencyKey(f"resent:{idempotency_scope(item, principal)}", request_hash(item).hex(), hours)


async def accept_item(
    conn: Any,
    item: ItemIn,
    *,
    principal: Principal | None,
    idempotency_key: str | None = None,
    gazetteer: Gazetteer,
    idempotency_hours: int = 24,
    history: bool = False,
    key_scope: str | None = None,
    also_key: IdempotencyKey | None = None,
    area_code: str,
    database_url: str | None = None,
    sender: str | None = None,
) -> Accepted:
    """Store the item and its contact in one transaction. The caller wakes a worker after this returns.

    `key_scope`: where the Idempotency-Key is unique, when not the channel and the caller's token (the residents'
    form keeps its pages' tokens apart). `also_key`: a second key, claimed in the same transaction, under which an
    earlier request is found as under the first. `database_url`: where to find out, on a connection of its own,
    whether an item whose commit went unanswered (its statement timed out, its connection was lost) was stored after
    all: it is answered as stored, the outage raised when it certainly is not, and OutcomeUnknown when that cannot be
    told (naming the tracking code it is stored under if it is). Without it, the outage is raised. `area_code`: the
    district's (`Settings.area_code`). `sender`: who sent an item without a token (`ratelimit.sender_key`)."""
    checked = check_item(item, history=history, area_code=area_code)
    keys = [] if also_key is None else [also_key]
    if idempotency_key is not None:
        scope = key_scope or idempotency_scope(item, principal)
        keys.insert(0, IdempotencyKey(scope, idempotency_key, idempotency_hours))
    # A key refused for another body names what it stored to its sender: a token's keys are its own (anonymous senders
    # share theirs, and the residents' form keeps its own scope).
    tell = principal is not None and key_scope is None
    # Made before the transaction: the item is found by it when the answer to its commit never comes, and the session
    # that may still commit it ended; a connection lost meanwhile no longer names it.
    tracking_code = new_tracking_code()
    in_doubt = session(conn)
    try:
        return await _accept(conn, item, checked, keys, principal, gazetteer, tracking_code, sender, tell=tell)
    except _Unanswered as unanswered:
        if database_url is None:
            raise unanswered.outage from None
        outage = type(unanswered.outage).__name__
        try:
            stored = await look_after_unanswered_commit(
                conn,
                database_url,
                partial(
                    store.stored_after_all, session=in_doubt, tracking_code=tracking_code, wait_ms=IN_DOUBT_WAIT_MS
                ),
                what="an unanswered commit stored its item",
            )
        except OutcomeUnknown:
            raise OutcomeUnknown(tracking_code=tracking_code, outage=outage) from None
        if stored is None:
            raise commit_settled(unanswered.outage) from None  # certainly not stored
        log.warning("a commit went unanswered (%s), and its item is stored", outage)
        return Accepted(item=stored, created=True, unanswered=outage)


class _Unanswered(Exception):
    """The statement that commits the item was sent, and ended so (`outage`) that it may have committed all the same."""

    def __init__(self, outage: Exception) -> None:
        super().__init__(type(outage).__name__)
        self.outage = outage


@rerun_after_schema_change
async def _accept(
    conn: Any,
    item: ItemIn,
    checked: _Checked,
    keys: list[IdempotencyKey],
    principal: Principal | None,
    gazetteer: Gazetteer,
    tracking_code: str,
    sender: str | None,
    *,
    tell: bool,
) -> Accepted:
    if not keys:
        try:
            return await _store(conn, item, checked, principal, gazetteer, tracking_code, sender)
        except IN_DOUBT as exc:  # one statement, committed as it ends
            raise _Unanswered(exc) from exc
    digest = request_hash(item)
    committing = False
    try:
        async with conn.transaction():
            earlier = await _earlier_request(conn, keys)
            if earlier is not None:
                return _replay(earlier, digest, tell=tell)
            for key in keys:
                await store.forget_expired_key(conn, scope=key.scope, key=key.key, hours=key.hours)
            accepted = await _store(conn, item, checked, principal, gazetteer, tracking_code, sender)
            for key in keys if accepted.created else []:
                if not await store.claim_idempotency_key(
                    conn, scope=key.scope, key=key.key, request_hash=digest, item_id=accepted.item.id
                ):
                    raise _LostRace
            committing = True  # what ends the block now is the commit
            return accepted
    except _LostRace:
        earlier = await _earlier_request(conn, keys)
        assert earlier is not None
        return _replay(earlier, digest, tell=tell)
    except IN_DOUBT as exc:
        if committing:
            raise _Unanswered(exc) from exc
        raise


async def _earlier_request(conn: Any, keys: list[IdempotencyKey]) -> tuple[bytes, ItemCreated] | None:
    for key in keys:
        earlier = await store.earlier_request(conn, scope=key.scope, key=key.key, hours=key.hours)
        if earlier is not None:
            return earlier
    return None


async def _store(
    conn: Any,
    item: ItemIn,
    checked: _Checked,
    principal: Principal | None,
    gazetteer: Gazetteer,
    tracking_code: str,
    sender: str | None,
) -> Accepted:
    created = await store.insert_item(
        conn,
        tracking_code=tracking_code,
        channel=item.channel,
        kind=item.kind,
        text=checked.text,
        text_masked=mask_pii(checked.text),
        place=checked.place,
        lat=item.lat,
        lon=item.lon,
        external_id=item.external_id,
        submitted_by=principal.token_id if principal else None,
        sender_key=sender,
        received_at=item.received_at,
        contact_name=checked.contact_name,
        contact_phone=checked.contact_phone,
        where=gazetteer.resolve(checked.text, checked.place),
    )
    if created is not None:
        return Accepted(item=created, created=True)
    assert item.external_id is not None  # only the external id can conflict
    stored = await store.item_by_external_id(conn, channel=item.channel, external_id=item.external_id)
    assert stored is not None
    if changed := differences(stored, item, checked):
        raise Conflict(
            f"this external_id already names an item with another {', '.join(changed)}: what was sent again is not "
            "what was stored, and would be dropped",
            field="external_id",
            also=changed,
        )
    return Accepted(
        item=ItemCreated(id=stored["id"], tracking_code=stored["tracking_code"], status=stored["status"]), created=False
    )


# Two fixes this close are one spot: retention rounds coordinates to 3 decimals, moving them by up to half a
# thousandth of a degree (about 50 m), and a phone's fix moves by less between two sends of one report.
SAME_SPOT_DEGREES = 0.0005


def differences(stored: Any, item: ItemIn, checked: _Checked) -> list[str]:
    """The fields in which a request sending an external id again says something else than the item stored under it
    (what it leaves out it does not change, but for the place and the contact, which it sends as they are now: an
    address or a call-back number left on a second call counts).

    Retention may have replaced the text with its masked form (an item sent back to work afterwards keeps it, though it
    loses its mark), erased the contact and rounded the coordinates. Only a text kept masked is compared masked: two
    texts that differ in a number (a call-back number corrected) mask alike."""
    changed = []
    kept_masked = stored["text"] == stored["text_masked"]
    if checked.text != stored["text"] and not (kept_masked and mask_pii(checked.text) == stored["text_masked"]):
        changed.append("text")
    if stored["contact_erased"] is None:
        changed += [
            field
            for field, sent, kept in (
                ("contact_name", checked.contact_name, stored["name"]),
                ("contact_phone", checked.contact_phone, stored["phone"]),
            )
            if sent != kept
        ]
    if checked.place != stored["place"]:
        changed.append("place")
    if item.kind is not None and item.kind != stored["kind"]:
        changed.append("kind")
    if item.received_at is not None and not _same_time(item.received_at, stored["received_at"], stored["created_at"]):
        changed.append("received_at")
    if item.lat is not None and item.lon is not None:
        for field, sent in (("lat", item.lat), ("lon", item.lon)):
            if stored[field] is None or abs(sent - stored[field]) > SAME_SPOT_DEGREES + 1e-9:
                changed.append(field)
    return changed


def _same_time(sent: datetime, stored: datetime, arrived: datetime) -> bool:
    # A time ahead of the item's arrival was stored as the arrival (`store.INSERT_ITEM`): a clock running fast.
    return sent == stored or (stored == arrived and arrived < sent <= arrived + CLOCK_SKEW)


def _replay(earlier: tuple[bytes, ItemCreated], digest: bytes, *, tell: bool) -> Accepted:
    earlier_digest, earlier_item = earlier
    if earlier_digest != digest:
        raise Conflict(
            "this Idempotency-Key was used with a different body"
            + (": it stored the item in `stored`" if tell else ""),
            field="Idempotency-Key",
            stored=msgspec.to_builtins(earlier_item) if tell else None,
        )
    return Accepted(item=earlier_item, created=False)
