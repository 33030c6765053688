"""Staff pages: the triage feed, one item with its follow-up, cases and the hotspots, in a browser.

Server-rendered and script-free like the residents' pages, and built on what the API's handlers call, so a page shows
what the API answers. Signing in, and what guards the forms: `suggestions.signin`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from suggestions import areas
from suggestions.auth import STAFF_ROLES, Principal
from suggestions.classify.corrections import Correction, correct
from suggestions.classify.serving import serving_topics
from suggestions.db import connection
from suggestions.errors import OUTAGES, InvalidInput, StateConflict, may_have_been_done, retry_after
from suggestions.hotspots.editing import (
    Dismissal,
    close_case,
    closed_so_by,
    dismiss_hotspot,
    dismissed_so_by,
    merge_cases,
    merged_into,
    move_item,
)
from suggestions.hotspots.views import MEMBERS_SHOWN, active_hotspots, case_view
from suggestions.intake.schema import PathId, Status
from suggestions.intake.tracking_code import normalise_tracking_code
from suggestions.settings import Settings
from suggestions.signin import (
    FOREIGN_FORM,
    KEEPS_FORM,
    Area,
    foreign,
    local_time,
    page_key,
    sign_in_routes,
    signed_in_principal,
)
from suggestions.triage.contacts import NoContact, read_contact
from suggestions.triage.feed import OPEN_STATUSES, RISK_NAMES, FeedFilter, triage_feed
from suggestions.triage.items import item_by_id
from suggestions.triage.notes import NoteIn, add_note
from suggestions.triage.once import once
from suggestions.triage.ratings import RATING_TEXT
from suggestions.triage.workflow import Assignment, Closing, Withdrawal, assign, close, withdraw_reply
from suggestions.web import KIND_NAMES, NOT_UTF8, SUBMISSION_TOKEN, is_utf8_form

log = logging.getLogger(__name__)

PREFIX = areas.STAFF
COOKIE = areas.COOKIES[PREFIX]
PAGE_SIZE = 50
HOTSPOTS_SHOWN = 50

STATUS_NAMES: dict[str, str] = {
    "pending": "待分类",
    "open": "待处理",
    "failed": "分类失败",
    "assigned": "已交办",
    "closed": "已办结",
}
CHANNEL_NAMES = {"web": "网上", "hotline": "12345", "grid": "网格"}
ROLE_NAMES = {
    "operator": "12345 话务员",
    "grid": "网格员",
    "staff": "中心工作人员",
    "admin": "管理员",
    "monitor": "监控（只读 /metrics）",
}
HOTSPOT_KINDS = {"burst": "区域集中", "case": "多人反映", "escalation": "风险升级"}
# What a form did, told on the page it leads back to: a fixed word in the address, never what was typed.
DONE = {
    "assigned": "已交办。",
    "noted": "已记下跟进记录。",
    "replied": "已发出阶段性答复，群众查询时可以看到。",
    "closed": "已办结，答复已发给群众。",
    "withdrawn": "已撤回答复，这件事回到办理中。群众查询时会看到之前的答复已撤回（看不到答复内容和撤回原因）。",
    "moved": "已移到这个案件。",
    "split": "已从原案件移出，单独成案。",
    "split_off": "已移出，单独成案。",
    "merged": "已并入这个案件。",
    "case_closed": "案件已办结，答复已发给每位反映人。",
    "dismissed": "已从苗头隐患列表中移除。",
    "classified": "已更正分类。这条更正会作为标注用于下次训练模型。",
}
STAFF = Area(
    prefix=PREFIX,
    roles=STAFF_ROLES,
    name="工作台",
    who="中心工作人员",
    role_hint="staff",
)


def _context(request: Request[Any, Any, Any], settings: Settings, **values: Any) -> dict[str, Any]:
    zone = ZoneInfo(settings.timezone)
    principal: Principal | None = getattr(request.state, "principal", None)
    return {
        "area": STAFF,
        # Admins' pages are linked to from admins' pages only (`staff_tokens`).
        "is_admin": principal is not None and principal.role == "admin",
        "role_names": ROLE_NAMES,
        "when": partial(local_time, zone=zone),
        "form_key": page_key(request, STAFF),
        "risk_names": RISK_NAMES,
        "status_names": STATUS_NAMES,
        "channel_names": CHANNEL_NAMES,
        "kind_names": KIND_NAMES,
        "rating_names": RATING_TEXT,
        **values,
    }


def render(
    request: Request[Any, Any, Any],
    settings: Settings,
    template: str,
    *,
    done: str | None = None,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> Template:
    """A page, with what its last form did (`done`, a word of DONE) or why it was refused, and what was typed."""
    context = _context(request, settings, done=DONE.get(done or ""), error=error, typed=typed or {}, **values)
    return Template(template_name=template, context=context, status_code=status_code, headers=headers)


UNSAVED = "数据库暂时连不上，这次操作没有执行。您填写的内容还在下面，请过一会儿再按“再次提交”。"
# The commit was sent and its answer lost: a form of an item's page sent again is not done twice (`_once`), a case's or
# a hotspot's finds what the first one did; the others (moving a report) are staff's to look at first.
MAYBE_DONE = (
    "数据库没有回应，这次操作可能已经执行了。请过一会儿先打开原来的页面看看；确实没有执行，再按下面的“再次提交”。"
    "您填写的内容还在下面。"
)
# What each form's boxes are called, shown again when nothing could be done; the others go back as they came.
FIELD_LABELS = {
    "to": "交办给（部门或科室）",
    "text": "跟进记录",
    "answer": "给群众的答复",
    "case_id": "归入案件",
    "into": "并入案件",
    "note": "移除原因",
    "reason": "撤回原因",
    "label": "令牌标签（给谁用、做什么用）",
}


async def unless_unavailable(
    request: Request[Any, Any, Any],
    settings: Settings,
    typed: msgspec.Struct,
    back: str,
    work: Callable[[Any], Awaitable[Template | Redirect]],
) -> Template | Redirect:
    """The form's work on a connection taken here, not by a dependency, so that when PostgreSQL is away the form
    comes back with what was typed (a reply of thousands of characters), to be sent again in a moment."""
    if not await is_utf8_form(request):
        # Litestar would read another encoding as mojibake, and a reply or a note would reach residents garbled.
        context = {"heading": "页面编码有误", "message": NOT_UTF8, "home": PREFIX}
        return Template(template_name="error.html", context=context, status_code=400)
    try:
        async with connection(request.app.state.db_pool, watched=True) as conn:
            return await work(conn)
    except OUTAGES as exc:
        in_doubt = may_have_been_done(request, exc)
        log.warning("staff form %s: %s", "perhaps done" if in_doubt else "not stored", type(exc).__name__)
        fields = msgspec.structs.asdict(typed)
        key = fields.pop("key", "")
        if not fields.get("text"):
            fields.pop("audience", None)  # a note's, defaulted in every other form
        if foreign(request, settings, key, STAFF):
            raise  # a form from elsewhere is not shown back: the usual page says nothing was done
        shown = [(name, FIELD_LABELS.get(name), value) for name, value in fields.items() if value]
        alert = MAYBE_DONE if in_doubt else UNSAVED
        context = _context(request, settings, action=request.url.path, fields=shown, back=back, alert=alert)
        return Template(template_name="staff_unsaved.html", context=context, status_code=503, headers=retry_after(exc))


def _status_filter(status: list[str] | None) -> tuple[Status, ...]:
    chosen = tuple(s for s in status or () if s in STATUS_NAMES)
    return chosen or OPEN_STATUSES  # type: ignore[return-value]


@get(PREFIX, include_in_schema=False)
async def feed_page(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    status: FromQuery[list[str] | None] = None,
    min_risk: FromQuery[str] = "",
    topic: FromQuery[str] = "",
    needs_review: FromQuery[str] = "",
    sent_back: FromQuery[str] = "",
    cursor: FromQuery[str] = "",
) -> Template:
    topics = await serving_topics(request.app.state, settings)
    statuses = _status_filter(status)
    risk = int(min_risk) if min_risk in ("0", "1", "2", "3") else None
    flt = FeedFilter(
        statuses=statuses,
        min_risk=risk,
        topic=topic if topic in topics else None,
        needs_review=True if needs_review == "1" else None,
        sent_back=True if sent_back == "1" else None,
    )
    try:
        feed = await triage_feed(db_connection, flt, limit=PAGE_SIZE, cursor=cursor[:1000] or None)
    except InvalidInput:
        # A cursor from another filter or an older release: the feed from its start.
        feed = await triage_feed(db_connection, flt, limit=PAGE_SIZE, cursor=None)
        cursor = ""
    query = {
        "status": list(statuses) if statuses != OPEN_STATUSES else [],
        "min_risk": "" if risk is None else str(risk),
        "topic": flt.topic or "",
        "needs_review": needs_review if needs_review == "1" else "",
        "sent_back": sent_back if sent_back == "1" else "",
    }
    kept = {name: value for name, value in query.items() if value}
    next_page = f"{PREFIX}?{urlencode({**kept, 'cursor': feed.next_cursor}, doseq=True)}" if feed.next_cursor else None
    first_page = f"{PREFIX}?{urlencode(kept, doseq=True)}" if cursor else None
    return Template(
        template_name="staff_feed.html",
        context=_context(
            request,
            settings,
            feed=feed,
            topics=topics,
            chosen=query,
            statuses=statuses,
            next_page=next_page,
            first_page=first_page,
        ),
    )


async def _item_page(
    request: Request[Any, Any, Any], settings: Settings, conn: Any, item_id: int, *, contact: Any = None, **shown: Any
) -> Template:
    view = await item_by_id(conn, item_id)
    if view is None:
        raise NotFoundException("no such item")
    topics = await serving_topics(request.app.state, settings)
    # Each page its own key for its forms: the same form sent twice (a double click, a browser's retry) is done once.
    submission = secrets.token_urlsafe(16)
    return render(
        request, settings, "staff_item.html", item=view, contact=contact, topics=topics, submission=submission, **shown
    )


@get(f"{PREFIX}/find", include_in_schema=False)
async def find_box(request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> Template:
    """The search page with nothing searched: where signing in leads back to after a search. What staff look for is
    posted, never put in the address (`find_page`)."""
    return render(request, settings, "staff_find.html", q="", items=[])


class FindForm(msgspec.Struct, kw_only=True):
    q: str = ""


@post(f"{PREFIX}/find", include_in_schema=False, status_code=200)
async def find_page(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    data: URLEncodedBody[FindForm],
) -> Template | Redirect:
    """An item by what a caller or a colleague reads out: its tracking code, its work order number, or its id. Posted,
    as the residents' look-up is: a caller may read out their phone instead, which must stay out of the address bar,
    the browser's history and any proxy's log."""
    typed = data.q.strip()[:200]
    found: list[int] = []
    if code := normalise_tracking_code(typed):
        found = [r["id"] for r in await db_connection.fetch("SELECT id FROM items WHERE tracking_code = $1", code)]
    if not found and typed:
        found = [
            r["id"]
            for r in await db_connection.fetch(
                "SELECT id FROM items WHERE external_id = $1 ORDER BY id DESC LIMIT 20", typed
            )
        ]
    if not found and (number := _typed_number(typed, "事项")) is not None:
        found = [r["id"] for r in await db_connection.fetch("SELECT id FROM items WHERE id = $1", number)]
    if len(found) == 1:
        return Redirect(f"{PREFIX}/items/{found[0]}", status_code=303)
    items = [view for item_id in found if (view := await item_by_id(db_connection, item_id)) is not None]
    return render(request, settings, "staff_find.html", q=typed, items=items, status_code=200 if items else 404)


@get(f"{PREFIX}/items/{{item_id:int}}", include_in_schema=False)
async def item_page(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    item_id: PathId,
    done: FromQuery[str] = "",
) -> Template:
    return await _item_page(request, settings, db_connection, item_id, done=done)


class ActionForm(msgspec.Struct, kw_only=True):
    key: str = ""
    submission: str = ""  # the page's key for its forms (`_once`)
    to: str = ""
    text: str = ""
    audience: str = "staff"
    answer: str = ""
    case_id: str = ""  # move: the case to put the report in; empty, a case of its own
    from_case: str = ""  # split from a case's page: the case to go back to
    reason: str = ""  # withdraw: why the reply is taken back
    topic: str = ""  # classify: the topic staff judge right ("" keeps it)
    risk_level: str = ""  # classify: 0-3 ("" keeps it)


ACTION_ERRORS = {
    "to": "请填写交办给哪个部门或科室（不超过 100 字）",
    "text": "请填写跟进记录（不超过 2000 字）",
    "answer": "请填写给群众的答复（不超过 5000 字）",
    "case_id": "请填写一个还在办理中的案件编号（数字）；留空则单独成案",
    "reason": "请写明为什么撤回答复（不超过 500 字），如：答复发错了件",
    "topic": "请选择类别和风险等级：还没分类的事项两样都要选",
}


FORM_SCOPE = "staff-form"  # apart from the API's and the forms' keys of items (`idempotency_keys`)


async def _written(note: Awaitable[Any]) -> bool:
    return await note is not None


async def _once(conn: Any, work: Callable[[], Awaitable[bool]], *, who: int, key: str, item_id: int) -> bool:
    """Do a form's work unless the same form (its page's key) was done before (`triage.once`). False if there is no
    such item."""
    _, _, submission = key.partition(":")
    if not SUBMISSION_TOKEN.fullmatch(submission):
        return await work()
    scope = f"{FORM_SCOPE}:{who}"
    return await once(conn, work, scope=scope, key=key, request_hash=b"", item_id=item_id) != "no such item"


ITEM_ACTIONS = ("assign", "note", "close", "withdraw", "classify", "case", "contact")


@post(f"{PREFIX}/items/{{item_id:int}}/{{action:str}}", include_in_schema=False, opt={KEEPS_FORM: True})
async def act_on_item(
    request: Request[Any, Any, Any],
    item_id: PathId,
    action: FromPath[str],
    data: URLEncodedBody[ActionForm],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    """assign, note, close, withdraw (a reply sent by mistake), classify, case (move to a case, or split off), or
    contact (the sender's contact for a call back, shown on the page, the read recorded)."""
    if action not in ITEM_ACTIONS:
        raise NotFoundException("no such action")
    work = partial(_act_on_item, request, item_id=item_id, action=action, data=data, settings=settings)
    return await unless_unavailable(request, settings, data, f"{PREFIX}/items/{item_id}", work)


async def _act_on_item(
    request: Request[Any, Any, Any],
    db_connection: Any,
    *,
    item_id: int,
    action: str,
    data: ActionForm,
    settings: Settings,
) -> Template | Redirect:
    principal = signed_in_principal(request, STAFF)
    page = partial(_item_page, request, settings, db_connection, item_id)
    typed = msgspec.structs.asdict(data)
    if foreign(request, settings, data.key, STAFF):
        return await page(error=FOREIGN_FORM, typed=typed, status_code=403)
    keep = request.app.state.public_phones
    try:
        once = partial(_once, db_connection, who=principal.token_id, key=f"{action}:{data.submission}", item_id=item_id)
        if action == "assign":
            assignment = msgspec.convert({"to": data.to.strip()}, Assignment)
            found = await once(
                partial(assign, db_connection, item_id=item_id, assignment=assignment, who=principal.token_id)
            )
            done = "assigned"
        elif action == "note":
            audience = "resident" if data.audience == "resident" else "staff"
            note = msgspec.convert({"text": data.text.replace("\r\n", "\n"), "audience": audience}, NoteIn)
            write = partial(add_note, db_connection, item_id=item_id, note=note, who=principal.token_id, keep=keep)
            found = await once(lambda: _written(write()))
            done = "replied" if audience == "resident" else "noted"
        elif action == "close":
            closing = msgspec.convert({"answer": data.answer.replace("\r\n", "\n").strip()}, Closing)
            found = await once(
                partial(close, db_connection, item_id=item_id, closing=closing, who=principal.token_id, keep=keep)
            )
            done = "closed"
        elif action == "withdraw":
            withdrawal = msgspec.convert({"reason": data.reason.replace("\r\n", "\n").strip()}, Withdrawal)
            found = await once(
                partial(withdraw_reply, db_connection, item_id=item_id, withdrawal=withdrawal, who=principal.token_id)
            )
            done = "withdrawn"
        elif action == "classify":
            fields: dict[str, Any] = {}
            if data.topic:
                fields["topic"] = data.topic
            if data.risk_level:
                fields["risk_level"] = int(data.risk_level) if data.risk_level in ("0", "1", "2", "3") else -1
            correction = msgspec.convert(fields, Correction)
            topics = await serving_topics(request.app.state, settings)
            found = await once(
                partial(
                    correct,
                    db_connection,
                    item_id=item_id,
                    correction=correction,
                    topics=topics,
                    who=principal.token_id,
                )
            )
            done = "classified"
        elif action == "case":
            target = _case_number(data.case_id)
            case_id = await move_item(db_connection, item_id=item_id, case_id=target, by=principal.token_id)
            if case_id is None:
                raise NotFoundException("no such item")
            if target is None and data.from_case.isdecimal() and data.from_case != str(case_id):
                # Split off from a case's list of its reports: back to that case, to go on with the others.
                query = urlencode({"done": "split_off", "split": case_id})
                return Redirect(f"{PREFIX}/cases/{int(data.from_case)}?{query}", status_code=303)
            return Redirect(f"{PREFIX}/cases/{case_id}?done={'moved' if target else 'split'}", status_code=303)
        else:  # contact
            try:
                contact = await read_contact(db_connection, item_id=item_id, who=principal.token_id)
            except NoContact:
                return await page(error="群众没有留下联系方式，或已按保存期限删除。")
            if contact is None:
                raise NotFoundException("no such item")
            return await page(contact=contact)
    except (msgspec.ValidationError, InvalidInput):
        # Each form has one box to fill in.
        field = {
            "assign": "to",
            "note": "text",
            "close": "answer",
            "withdraw": "reason",
            "case": "case_id",
            "classify": "topic",
        }[action]
        error = ACTION_ERRORS[field]
        return await page(error=error, typed=typed, invalid=field, status_code=422)
    except StateConflict as exc:
        if action == "note":  # notes are refused only once retention has erased the item's personal data
            error = "这件事已按保存期限删除了个人信息，不能再写跟进记录。"
        elif action == "withdraw":
            error = (
                "这条答复不能撤回：群众已经评价过（不满意可以由群众退回重办），或已按保存期限删除了个人信息。"
                if exc.current_status == "closed"
                else "这件事现在没有可撤回的答复，请刷新页面看看最新情况。"
            )
        else:
            error = {
                "closed": "这件事已经办结，不能再交办或办结。",
                "pending": "这件事还在自动分类，请稍等片刻再操作。",
            }.get(exc.current_status, "这件事现在的状态不能这样操作，请刷新页面看看最新情况。")
        return await page(error=error, typed=typed, status_code=409)
    if not found:
        raise NotFoundException("no such item")
    # Back to the item by GET, so that reloading the page does not do it again.
    return Redirect(f"{PREFIX}/items/{item_id}?done={done}", status_code=303)


async def _hotspots_page(request: Request[Any, Any, Any], settings: Settings, conn: Any, **shown: Any) -> Template:
    found = await active_hotspots(conn, limit=HOTSPOTS_SHOWN)
    return render(
        request, settings, "staff_hotspots.html", hotspots=found.hotspots, hotspot_kinds=HOTSPOT_KINDS, **shown
    )


@get(f"{PREFIX}/hotspots", include_in_schema=False)
async def hotspots_page(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    done: FromQuery[str] = "",
) -> Template:
    return await _hotspots_page(request, settings, db_connection, done=done)


def _typed_number(typed: str, word: str) -> int | None:
    """A row's id as staff type it (案件 12, #12, １２); None if it is none."""
    digits = typed.strip().removeprefix(word).strip().lstrip("#＃").strip()
    return int(digits) if digits.isdecimal() and 0 < int(digits) < 2**31 else None


def _case_number(typed: str) -> int | None:
    """A case id typed in a box; None for an empty box. Bad input otherwise."""
    if not typed.strip():
        return None
    number = _typed_number(typed, "案件")
    if number is None:
        raise InvalidInput("case_id", "a case id")
    return number


async def _case_page(
    request: Request[Any, Any, Any],
    settings: Settings,
    conn: Any,
    case_id: int,
    *,
    before: str | None = None,
    **shown: Any,
) -> Template:
    try:
        view = await case_view(conn, case_id, limit=MEMBERS_SHOWN, before=before)
    except InvalidInput:  # a cursor of another case, or garbled: the newest reports
        view = await case_view(conn, case_id, limit=MEMBERS_SHOWN)
    if view is None:
        raise NotFoundException("no such case")
    older = f"{PREFIX}/cases/{case_id}?{urlencode({'before': view.next_cursor})}" if view.next_cursor else None
    return render(request, settings, "staff_case.html", case=view, older=older, **shown)


@get(f"{PREFIX}/cases/{{case_id:int}}", include_in_schema=False)
async def case_page(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    case_id: PathId,
    before: FromQuery[str] = "",
    done: FromQuery[str] = "",
    split: FromQuery[int | None] = None,
) -> Template:
    page = partial(_case_page, request, settings, db_connection, case_id, before=before[:200] or None, done=done)
    return await page(split=split)


# A case's merge, its closing and a hotspot's dismissal pressed twice (a double click, a browser's retry): the second
# finds the first done, by the same staff, in the same words, and says so rather than that it cannot be done.


class CaseForm(msgspec.Struct, kw_only=True):
    key: str = ""
    into: str = ""
    answer: str = ""


@post(f"{PREFIX}/cases/{{case_id:int}}/{{action:str}}", include_in_schema=False, opt={KEEPS_FORM: True})
async def act_on_case(
    request: Request[Any, Any, Any],
    case_id: PathId,
    action: FromPath[str],
    data: URLEncodedBody[CaseForm],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    """merge (into another open case) or close (one reply to every reporter whose report is still open)."""
    if action not in ("merge", "close"):
        raise NotFoundException("no such action")
    work = partial(_act_on_case, request, case_id=case_id, action=action, data=data, settings=settings)
    return await unless_unavailable(request, settings, data, f"{PREFIX}/cases/{case_id}", work)


async def _act_on_case(
    request: Request[Any, Any, Any],
    db_connection: Any,
    *,
    case_id: int,
    action: str,
    data: CaseForm,
    settings: Settings,
) -> Template | Redirect:
    principal = signed_in_principal(request, STAFF)
    page = partial(
        _case_page, request, settings, db_connection, case_id, typed={"into": data.into, "answer": data.answer}
    )
    if foreign(request, settings, data.key, STAFF):
        return await page(error=FOREIGN_FORM, status_code=403)
    try:
        if action == "merge":
            into = _typed_number(data.into, "案件")
            if into is None:
                raise InvalidInput("into", "a case id")
            if not await merge_cases(db_connection, case_id=case_id, into=into, by=principal.token_id):
                raise NotFoundException("no such case")
            return Redirect(f"{PREFIX}/cases/{into}?done=merged", status_code=303)
        closing = msgspec.convert({"answer": data.answer.replace("\r\n", "\n").strip()}, Closing)
        keep = request.app.state.public_phones
        if not await close_case(db_connection, case_id=case_id, closing=closing, by=principal.token_id, keep=keep):
            raise NotFoundException("no such case")
    except (msgspec.ValidationError, InvalidInput) as exc:
        into = _typed_number(data.into, "案件")
        if action == "merge" and into and await merged_into(db_connection, case_id) == into:
            # The same merge pressed twice (a double click, a browser's retry): what the first one did.
            return Redirect(f"{PREFIX}/cases/{into}?done=merged", status_code=303)
        if action == "close":
            error = ACTION_ERRORS["answer"]
        elif isinstance(exc, InvalidInput) and exc.problems[0].field == "case_id":
            error = "这个案件已经办结或已并入别的案件，不能再合并。"
        else:
            error = "请填写要并入的案件编号：一个还在办理中的别的案件。"
        return await page(error=error, invalid="answer" if action == "close" else "into", status_code=422)
    except StateConflict:
        answer = data.answer.replace("\r\n", "\n").strip()
        if await closed_so_by(db_connection, case_id=case_id, by=principal.token_id, answer=answer):
            return Redirect(f"{PREFIX}/cases/{case_id}?done=case_closed", status_code=303)
        return await page(error="这个案件已经办结或已并入别的案件。", status_code=409)
    return Redirect(f"{PREFIX}/cases/{case_id}?done=case_closed", status_code=303)


class DismissForm(msgspec.Struct, kw_only=True):
    key: str = ""
    note: str = ""


@post(f"{PREFIX}/hotspots/{{hotspot_id:int}}/dismiss", include_in_schema=False, opt={KEEPS_FORM: True})
async def dismiss_page(
    request: Request[Any, Any, Any],
    hotspot_id: PathId,
    data: URLEncodedBody[DismissForm],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    work = partial(_dismiss, request, hotspot_id=hotspot_id, data=data, settings=settings)
    return await unless_unavailable(request, settings, data, f"{PREFIX}/hotspots", work)


async def _dismiss(
    request: Request[Any, Any, Any], db_connection: Any, *, hotspot_id: int, data: DismissForm, settings: Settings
) -> Template | Redirect:
    principal = signed_in_principal(request, STAFF)
    page = partial(_hotspots_page, request, settings, db_connection, typed={str(hotspot_id): data.note})
    if foreign(request, settings, data.key, STAFF):
        return await page(error=FOREIGN_FORM, status_code=403)
    try:
        dismissal = msgspec.convert({"note": data.note.strip()}, Dismissal)
        done = await dismiss_hotspot(db_connection, hotspot_id=hotspot_id, dismissal=dismissal, by=principal.token_id)
    except (msgspec.ValidationError, InvalidInput):
        error = "请写明为什么移除（不超过 500 字），如：已派城管处置。"
        return await page(error=error, invalid=str(hotspot_id), status_code=422)
    except StateConflict:
        if await dismissed_so_by(db_connection, hotspot_id=hotspot_id, by=principal.token_id, dismissal=dismissal):
            return Redirect(f"{PREFIX}/hotspots?done=dismissed", status_code=303)
        return await page(error="这条苗头隐患已经结束或已被移除。", status_code=409)
    if done is None:
        raise NotFoundException("no such hotspot")
    return Redirect(f"{PREFIX}/hotspots?done=dismissed", status_code=303)


routes = [
    *sign_in_routes(STAFF),
    feed_page,
    find_box,
    find_page,
    item_page,
    act_on_item,
    case_page,
    act_on_case,
    hotspots_page,
    dismiss_page,
]
