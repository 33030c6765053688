"""The call-entry console (`/console`): a 12345 operator types one call after another, a grid worker files what they
found on their round, in a browser.

Server-rendered and script-free like the other pages. The keyboard does it all: the page opens in the text box,
Tab goes through the boxes in the order a call gives them, Alt+X (查相似) shows the open cases the words may belong to,
the caller's own first, and Alt+S (登记) files the call; the form then comes back empty, in the text box, with the last
call's tracking code above it to read out. An item is stored as `POST /api/v1/items` stores it, on the channel of the
token's role (an operator's `hotline`, a grid worker's `grid`), and each form carries a key of its own: a second press
of 登记, or a browser's retry, gets the first call's code instead of filing it twice. When nothing could be stored, the
form comes back as it was typed.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException, TooManyRequestsException
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from suggestions import areas
from suggestions.auth import CALLER_ROLES, CHANNEL_ROLES, Principal, principal_for_token
from suggestions.db import QUICK_STATEMENT_SECONDS, connection
from suggestions.errors import (
    OUTAGES,
    Conflict,
    InvalidInput,
    OutcomeUnknown,
    StateConflict,
    may_have_been_done,
    retry_after,
)
from suggestions.hotspots.places import Gazetteer
from suggestions.hotspots.views import CallerLookUp, Suggestion, suggest_cases
from suggestions.intake.amendments import Amendment, amend
from suggestions.intake.callers import CallerHistory, caller_history
from suggestions.intake.routes import STATUS_TEXT, SeveralReadAlike, find_tracking
from suggestions.intake.schema import EXTERNAL_ID_LENGTH, MAX_TEXT_LENGTH, ItemIn, Tracking
from suggestions.intake.service import accept_item, check_item, checked_phone, differences
from suggestions.intake.store import earlier_request, item_by_external_id
from suggestions.metrics import ITEMS_ACCEPTED
from suggestions.privacy import holds_phone_or_id
from suggestions.queue import wake_classifier
from suggestions.ratelimit import RateLimiter, limit_phone_look_up
from suggestions.settings import Settings
from suggestions.signin import (
    ASKS_SIGN_IN,
    FOREIGN_FORM,
    KEEPS_FORM,
    NOT_SIGNED_IN,
    Area,
    foreign,
    form_key,
    from_another_site,
    local_time,
    page_key,
    page_principal,
    sign_in_cookie,
    sign_in_routes,
    signed_in_principal,
    to_sign_in,
)
from suggestions.triage.ratings import RATING_TEXT
from suggestions.web import KIND_NAMES, NOT_UTF8, SUBMISSION_TOKEN, WebForm, is_utf8_form

log = logging.getLogger(__name__)

PREFIX = areas.CONSOLE
CONSOLE = Area(
    prefix=PREFIX,
    roles=frozenset({"operator", "grid", "admin"}),
    name="受理台",
    who="12345 话务员和网格员",
    role_hint="operator",
)
SUGGESTIONS_SHOWN = 5
CALLER_ITEMS_SHOWN = 10

# Complaints first: most calls are.
KINDS = [
    ("", "不确定"),
    *((kind, KIND_NAMES[kind]) for kind in ("complaint", "suggestion", "inquiry", "report", "help")),
]
FIELD_MESSAGES = {  # in the form's order, top to bottom
    "text": f"请填写内容（不超过 {MAX_TEXT_LENGTH} 字）",
    "place": "地点请不超过 200 字",
    "kind": "请从列表中选择类型",
    "contact_name": "称呼请不超过 50 字",
    "contact_phone": "电话号码格式不对：只填一个号码，手机 11 位，固定电话 7 到 8 位，外地的带区号，如 010-12345678",
    "external_id": f"工单号只能有字母、数字和 - _ . / :，以字母或数字开头，不超过 {EXTERNAL_ID_LENGTH} 个字符",
}
# A caller's number typed into another box, as it was read out: into the work-order box, whose number staff read
# unmasked (the API refuses it too, `service.checked_external_id`), or one box early into the name box, whence the
# caller's history would never find the call and staff would have no number to call back on. It goes in the phone box,
# labelled as the page labels it for the channel.
NUMBER_IN_THE_WRONG_BOX = {
    "external_id": "这一栏只填 12345 工单号。这里填的像是电话号码或身份证号：电话请填在“{phone}”一栏，"
    "身份证号不用登记；没有工单号就留空",
    "contact_name": "这一栏只填称呼，如王先生、李女士。这里填的像是电话号码或身份证号：电话请填在“{phone}”一栏，"
    "身份证号不用登记",
}
PHONE_LABELS = {"hotline": "回访电话", "grid": "联系电话"}
MAYBE_FILED = (
    "系统暂时繁忙，不能确定这通电话是否已经登记。内容还在下面，请过一会儿再按“登记”："
    "已登记的不会重复登记，会显示查询码。"
)
NOT_SAVED = "系统暂时繁忙，这通电话没有登记。内容还在下面，请过一会儿再按“登记”；情况紧急请按应急流程转办。"
SIGNED_OUT = "登录已失效，这通电话还没有登记。请在下面输入令牌，再按“登记”：登录后就登记，内容都还在。"
TOO_MANY = "操作太频繁了，这通电话还没有登记。内容还在下面：请过 {seconds} 秒在下面输入令牌，再按“登记”。"
# A code no item has: misheard, or another service's. The phone finds what the caller reported with one.
CODE_NOT_FOUND = "没有找到这个查询码：请对方再报一遍；留过电话的，也可以填上电话按“查相似案件”查以前的反映"
FOCUS_ORDER = [*FIELD_MESSAGES, "code"]
CODE_READ_ALIKE = "这个查询码和好几件事的查询码读音相近：请对方一个字一个字地再报一遍"
_FIELD = re.compile(r"\$\.(\w+)")


class CallForm(WebForm, kw_only=True):
    """The residents' form (its `submission` key files a call sent twice once), and what a call adds."""

    external_id: str = ""
    code: str = ""  # a tracking code the caller reads out, to look up (`do=track`)
    key: str = ""  # the sign-in's (`suggestions.signin.form_key`)
    token: str = ""  # asked for with the call once the sign-in has ended (`take_call`); never shown back
    do: str = "file"  # file | find | track | amend


def _channel(principal: Principal) -> str:
    return "grid" if principal.role == "grid" else "hotline"


CHANNEL_NAMES = {"hotline": "12345 热线", "grid": "网格"}


def _page(
    request: Request[Any, Any, Any],
    settings: Settings,
    principal: Principal | None,
    form: CallForm | None = None,
    *,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
    filed: dict[str, Any] | None = None,
    cases: list[Suggestion] | None = None,
    history: CallerHistory | None = None,
    tracking: Tracking | None = None,
    amend: bool = False,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    signed_out: bool = False,
    token: str | None = None,
) -> Template:
    form = msgspec.structs.replace(form or CallForm(), token="")
    # A form shown again keeps its key: nothing was stored, and the corrected call is one submission.
    submission = form.submission if SUBMISSION_TOKEN.fullmatch(form.submission) else secrets.token_urlsafe(16)
    errors = errors or {}
    return Template(
        template_name="console.html",
        context={
            "area": CONSOLE,
            "when": partial(local_time, zone=ZoneInfo(settings.timezone)),
            # Signed in by the call's own form (`take_call`): the next call's form is keyed to that token.
            "form_key": form_key(token) if token else page_key(request, CONSOLE),
            "signed_out": signed_out,
            "form": form,
            "submission": submission,
            # Not known while PostgreSQL is away: the token could not be looked up.
            "channel": CHANNEL_NAMES[_channel(principal)] if principal else None,
            "callers": principal is None or principal.role in CALLER_ROLES,
            "kinds": KINDS,
            "max_length": MAX_TEXT_LENGTH,
            "max_external_id": EXTERNAL_ID_LENGTH,
            "errors": errors,
            # The page opens in the first box in error; with a code looked up, in its box, which the answer describes;
            # else in the text box.
            "focus": "token"
            if signed_out
            else next((name for name in FOCUS_ORDER if name in errors), "code" if tracking else "text"),
            "alert": alert,
            "filed": filed,
            "cases": cases,
            "history": history,
            "tracking": tracking,
            "amend": amend,
            "rating_text": RATING_TEXT,
        },
        status_code=status_code,
        headers=headers,
    )


@get(PREFIX, include_in_schema=False)
async def console_page(request: Request[Any, Any, Any], settings: NamedDependency[Settings]) -> Template:
    return _page(request, settings, signed_in_principal(request, CONSOLE))


def _fields(form: CallForm, channel: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"channel": channel, "text": form.text.replace("\r\n", "\n")}
    for name in ("place", "kind", "contact_name", "contact_phone", "external_id"):
        if value := getattr(form, name).strip():
            fields[name] = value
    return fields


def _checked(fields: dict[str, Any], area_code: str) -> tuple[ItemIn | None, dict[str, str]]:
    """The call as an item, or what is wrong with it, box by box."""
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if name == "channel":
            continue
        try:
            msgspec.convert({"channel": fields["channel"], "text": "-", name: value}, ItemIn)
            if name == "contact_phone":
                checked_phone(value, area_code=area_code)
        except (msgspec.ValidationError, InvalidInput):
            errors[name] = FIELD_MESSAGES.get(name, "请检查填写的内容")
            continue
        if name in NUMBER_IN_THE_WRONG_BOX and holds_phone_or_id(value):
            errors[name] = NUMBER_IN_THE_WRONG_BOX[name].format(phone=PHONE_LABELS[fields["channel"]])
    if errors:
        return None, errors
    try:
        return msgspec.convert(fields, ItemIn), {}
    except msgspec.ValidationError as exc:
        field = _FIELD.search(str(exc))
        name = field.group(1) if field else "text"
        return None, {name: FIELD_MESSAGES.get(name, "请检查填写的内容")}


@post(PREFIX, include_in_schema=False, opt={KEEPS_FORM: True, ASKS_SIGN_IN: True})
async def take_call(
    request: Request[Any, Any, Any], data: URLEncodedBody[CallForm], settings: NamedDependency[Settings]
) -> Template | Redirect:
    try:
        # The connection is taken here, not by a dependency, so that an outage finds the call and what was typed. Its
        # statements wait as the API's calls do: an operator has the caller on the line.
        async with connection(request.app.state.db_pool, statement_seconds=QUICK_STATEMENT_SECONDS) as conn:
            principal = page_principal(request)
            if principal is not None:
                return await _take_call(request, conn, principal, data, settings)
            if not data.token.strip():
                if not data.text.strip():
                    return to_sign_in(request, CONSOLE)
                # The sign-in ended (the browser restarted, the token was replaced) with a call typed: the sign-in
                # page would lose it. The token is asked for by the call, and 登记 then signs in and files it.
                return _page(request, settings, None, data, alert=SIGNED_OUT, signed_out=True, status_code=401)
            # Signing in as the sign-in page does: from the service's own page, with a token of the console's roles.
            if from_another_site(request, settings):
                return _page(request, settings, None, data, alert=FOREIGN_FORM, signed_out=True, status_code=403)
            token = data.token.strip()
            # The limits read the token from the sign-in's cookie, which this request does not have yet: it is counted
            # against the token here, as every request of the sign-in it gives will be.
            limiter: RateLimiter = request.app.state.limiter
            decision = await limiter.token_in_form(token=token, pool=request.app.state.db_pool)
            if not decision.allowed:
                wait = decision.retry_after
                headers = {"Retry-After": str(wait)}
                alert = TOO_MANY.format(seconds=wait)
                return _page(
                    request, settings, None, data, alert=alert, signed_out=True, status_code=429, headers=headers
                )
            principal = await principal_for_token(conn, token, zone=settings.timezone)
            if principal is None or principal.role not in CONSOLE.roles:
                return _page(request, settings, None, data, alert=NOT_SIGNED_IN, signed_out=True, status_code=401)
            answer = await _take_call(request, conn, principal, data, settings, token=token)
            answer.cookies.append(sign_in_cookie(request, CONSOLE, token))
            return answer
    except OUTAGES as exc:
        in_doubt = may_have_been_done(request, exc)
        log.warning("call %s: %s", "perhaps filed" if in_doubt else "not stored", type(exc).__name__)
        alert = MAYBE_FILED if in_doubt else NOT_SAVED
        return _page(request, settings, None, data, alert=alert, status_code=503, headers=retry_after(exc))


async def _find(
    request: Request[Any, Any, Any],
    settings: Settings,
    conn: Any,
    principal: Principal,
    data: CallForm,
    fields: dict[str, Any],
    page: Callable[..., Template],
) -> Template:
    """The open cases the words may belong to, and, with the caller's number (operators), the caller's own items:
    as `POST /api/v1/cases/suggest` and `POST /api/v1/callers/items` answer, under the same count of phones."""
    phone = None
    if principal.role in CALLER_ROLES and data.contact_phone.strip():
        try:
            phone = checked_phone(data.contact_phone, area_code=settings.area_code)
        except InvalidInput:
            errors = {"contact_phone": FIELD_MESSAGES["contact_phone"]}
            return page(request, settings, principal, data, errors=errors, status_code=422)
    if not fields["text"].strip() and phone is None:
        errors = {
            "text": "先写几句内容，或填上回访电话，再查"
            if principal.role in CALLER_ROLES
            else "先写几句内容，再查相似案件"
        }
        return page(request, settings, principal, data, errors=errors, status_code=422)
    history = None
    if phone is not None:
        try:
            await limit_phone_look_up(request, token_id=principal.token_id, phone=phone)
        except TooManyRequestsException as exc:
            alert = "这段时间查过的号码太多了，请稍后再查；这通电话可以照常登记。"
            return page(request, settings, principal, data, alert=alert, status_code=429, headers=exc.headers)
        history = await caller_history(
            conn, phone=phone, who=principal.token_id, limit=CALLER_ITEMS_SHOWN, status_text=STATUS_TEXT
        )
    cases = None
    if fields["text"].strip():
        found = await suggest_cases(
            conn,
            request.app.state.gazetteer,
            text=fields["text"][:MAX_TEXT_LENGTH],
            place=fields.get("place", ""),
            limit=SUGGESTIONS_SHOWN,
            caller=None if phone is None else CallerLookUp(phone=phone, reader=principal.token_id),
        )
        cases = found.cases
    return page(request, settings, principal, data, cases=cases, history=history)


async def _track(
    request: Request[Any, Any, Any],
    settings: Settings,
    conn: Any,
    principal: Principal,
    data: CallForm,
    page: Callable[..., Template],
) -> Template:
    """Where the item of a tracking code a caller reads out stands, its desk and case, as `POST /api/v1/track` answers
    those who take calls: a code misheard finds the one item whose code reads like it (`read_alike`, to read back).
    The call being typed stays in the form."""
    typed = data.code.strip()[:200]
    if not typed:
        errors = {"code": "请填上对方报的查询码，再按“查进度”"}
        return page(request, settings, principal, data, errors=errors, status_code=422)
    try:
        found = await find_tracking(conn, typed, taking_calls=True)
    except SeveralReadAlike:
        return page(request, settings, principal, data, errors={"code": CODE_READ_ALIKE}, status_code=404)
    if found is None:
        return page(request, settings, principal, data, errors={"code": CODE_NOT_FOUND}, status_code=404)
    return page(request, settings, principal, data, tracking=found)


async def _take_call(
    request: Request[Any, Any, Any],
    conn: Any,
    principal: Principal,
    data: CallForm,
    settings: Settings,
    *,
    token: str | None = None,
) -> Template:
    """`token`: the one the form itself carried to sign in with (`take_call`), which no page elsewhere could know; the
    form is then keyed by it, not by a cookie."""
    page = partial(_page, token=token)
    if token is None and foreign(request, settings, data.key, CONSOLE):
        return page(request, settings, principal, data, alert=FOREIGN_FORM, status_code=403)
    if not await is_utf8_form(request):
        # Litestar would read another encoding as mojibake: the call would be filed garbled.
        return page(request, settings, principal, alert=NOT_UTF8, status_code=400)
    channel = _channel(principal)
    fields = _fields(data, channel)
    if data.do == "find":
        return await _find(request, settings, conn, principal, data, fields, page)
    if data.do == "track":
        return await _track(request, settings, conn, principal, data, page)
    if data.do == "amend":
        outcome = await _amend(conn, request.app.state.gazetteer, principal, data, settings.area_code)
        # Corrected, the form is empty for the next call; else the call stays as typed.
        return page(request, settings, principal, None if "filed" in outcome else data, **outcome)
    item, errors = _checked(fields, settings.area_code)
    if item is None:
        return page(request, settings, principal, data, errors=errors, status_code=422)
    if principal.role not in CHANNEL_ROLES[channel]:  # an admin files on the hotline
        return page(request, settings, principal, data, alert="这个令牌不能登记来电", status_code=403)
    key = data.submission if SUBMISSION_TOKEN.fullmatch(data.submission) else None
    scope = f"console:{principal.token_id}"
    try:
        accepted = await accept_item(
            conn,
            item,
            principal=principal,
            gazetteer=request.app.state.gazetteer,
            idempotency_key=key,
            idempotency_hours=settings.idempotency_hours,
            key_scope=scope,
            area_code=settings.area_code,
            database_url=settings.database_url,
        )
    except InvalidInput as exc:
        name = exc.problems[0].field
        return page(
            request, settings, principal, data, errors={name: FIELD_MESSAGES.get(name, str(exc))}, status_code=422
        )
    except OutcomeUnknown as exc:
        # Perhaps filed: pressed again, the form's key finds the call and its code.
        return page(request, settings, principal, data, alert=MAYBE_FILED, status_code=503, headers=retry_after(exc))
    except Conflict as exc:
        if exc.field == "external_id":
            # A place, kind or call-back detail filed wrongly is corrected; another text is another call.
            amendable = set(exc.also) <= set(AMENDABLE)
            differing = "、".join(name for field, name in AMENDABLE.items() if field in exc.also)
            message = (
                f"这个工单号已经登记过，{differing}和登记的不同："
                "是登记错了，按“更正登记”改成下面填的；不是同一通电话，请核对工单号"
                if amendable
                else "这个工单号已经登记过另一通电话：请核对工单号，或留空"
            )
            errors = {"external_id": message}
            return page(request, settings, principal, data, errors=errors, amend=amendable, status_code=422)
        # The form's key with other words: the call was changed after it was filed (登记 pressed again before the
        # first answer came). Its code is still to be read out; a new form files the words as they are now anew.
        earlier = await earlier_request(conn, scope=scope, key=key or "", hours=settings.idempotency_hours)
        filed = {"code": earlier[1].tracking_code, "changed": True} if earlier else None
        data = msgspec.structs.replace(data, submission="")
        return page(request, settings, principal, data, filed=filed, status_code=409)
    if accepted.created:
        ITEMS_ACCEPTED.labels(channel=channel).inc()
        await wake_classifier(request.app.state.queue, accepted.item.id)
    filed = {"code": accepted.item.tracking_code, "id": accepted.item.id, "again": not accepted.created}
    return page(request, settings, principal, filed=filed, status_code=201 if accepted.created else 200)


# What a work order filed wrongly may have said wrongly, in the form's words (`intake.amendments`).
AMENDABLE = {"place": "地点", "kind": "类型", "contact_name": "称呼", "contact_phone": "电话"}
NOT_THE_SAME_CALL = "这个工单号登记的是另一通电话（内容或时间不同），不能更正：请核对工单号"


async def _amend(
    conn: Any, gazetteer: Gazetteer, principal: Principal, call: CallForm, area_code: str
) -> dict[str, Any]:
    """Correct the call a work order filed to what the form says now (`do=amend`, offered when filing it again was
    refused for a place, kind or call-back detail): the same call, its text unchanged, else nothing is corrected. What
    the page then says (`_page`'s arguments)."""
    item, errors = _checked(_fields(call, _channel(principal)), area_code)
    if item is None:
        return {"errors": errors, "status_code": 422}
    if item.external_id is None:
        return {"errors": {"external_id": "更正登记要填工单号"}, "status_code": 422}
    stored = await item_by_external_id(conn, channel=item.channel, external_id=item.external_id)
    if stored is None:
        return {"errors": {"external_id": "没有找到这个工单号的登记：请核对工单号"}, "status_code": 404}
    try:
        checked = check_item(item, area_code=area_code)
    except InvalidInput as exc:
        name = exc.problems[0].field
        return {"errors": {name: FIELD_MESSAGES.get(name, str(exc))}, "status_code": 422}
    if set(differences(stored, item, checked)) - set(AMENDABLE):
        return {"errors": {"external_id": NOT_THE_SAME_CALL}, "status_code": 422}
    correction = Amendment(
        place=item.place or "",
        kind=item.kind,
        contact_name=item.contact_name or "",
        contact_phone=item.contact_phone or "",
    )
    try:
        amended = await amend(
            conn,
            item_id=stored["id"],
            amendment=correction,
            principal=principal,
            gazetteer=gazetteer,
            area_code=area_code,
        )
    except PermissionDeniedException:
        return {"alert": "这个工单是别的账号登记的：只有登记它的账号或中心工作人员可以更正", "status_code": 403}
    except StateConflict as exc:
        if exc.current_status == "closed":
            return {"alert": "这个工单已经办结，不能再更正：有新情况请另登记一通电话", "status_code": 409}
        return {"alert": "这个工单的联系方式已按规定删除，不能再登记称呼和电话", "status_code": 409}
    assert amended is not None  # found by its work order just now, and an open item is never deleted
    said = [AMENDABLE[field] for field in amended.fields]
    return {"filed": {"code": amended.tracking_code, "id": amended.id, "amended": said}}


routes = [*sign_in_routes(CONSOLE), console_page, take_call]
