"""Residents' pages: a short form, a tracking code at once, and a status look-up. Server-rendered, no script."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from suggestions.db import QUICK_STATEMENT_SECONDS, connection
from suggestions.errors import (
    OUTAGES,
    InvalidInput,
    OutcomeUnknown,
    StateConflict,
    may_have_been_done,
    retry_after,
)
from suggestions.headers import from_elsewhere
from suggestions.intake.routes import find_tracking
from suggestions.intake.schema import MAX_TEXT_LENGTH, ItemIn
from suggestions.intake.service import (
    IdempotencyKey,
    accept_item,
    check_item,
    checked_phone,
    has_words,
    request_hash,
    shows_anything,
)
from suggestions.intake.tracking_code import has_look_alikes, normalise_tracking_code
from suggestions.metrics import ITEMS_ACCEPTED
from suggestions.privacy import holds_phone_or_id
from suggestions.queue import wake_classifier
from suggestions.ratelimit import BROWSER, REFUSED, anonymous_sender
from suggestions.settings import Settings
from suggestions.triage.ratings import (
    MAX_COMMENT_LENGTH,
    MAX_RATINGS_OF_A_REPLY,
    RATING_DAYS,
    RATING_TEXT,
    AnsweredAgain,
    RatedTooOften,
    RatingIn,
    WithdrawnMeanwhile,
    in_utc,
    rate,
    same_closing,
)

log = logging.getLogger(__name__)

# What each kind is called on every page: the residents' form, the console, staff's pages.
KIND_NAMES = {"suggestion": "建议", "complaint": "投诉", "inquiry": "咨询", "report": "反映情况", "help": "求助"}
KINDS = [
    *KIND_NAMES.items(),
    # Radio buttons cannot be cleared, and the choice is optional: a kind tapped by mistake is taken back here.
    ("", "说不清"),
]
FIELD_NAMES = {"text": "内容", "place": "地点", "contact_name": "称呼", "contact_phone": "电话", "kind": "类型"}
FIELD_MESSAGES = {
    "text": "请写下发生了什么",
    "place": "地点请不超过 200 字",
    "contact_name": "称呼请不超过 50 字",
    "contact_phone": (
        "电话号码格式不对：请只填一个号码，手机号是 11 位数字，固定电话是 7 到 8 位，外地的要带区号，如 010-12345678"
    ),
    "kind": "请选择类型",
}


NAME_HOLDS_A_NUMBER = (
    "称呼一栏只填称呼，如王先生、李女士。这里填的像是电话号码或身份证号：电话请填在“电话”一栏，身份证号不用填"
)
FOCUS_ORDER = ("text", "place", "contact_name", "contact_phone")  # the form's boxes, top to bottom

RATING_CHOICES = list(RATING_TEXT.items())


class WebForm(msgspec.Struct, kw_only=True):
    text: str = ""
    place: str = ""
    kind: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    # A random token the page carries, the form's Idempotency-Key: a second tap on 提交, or a slow phone network's
    # retry, gets the first submission's tracking code instead of filing the message twice.
    submission: str = ""


SUBMISSION_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
SUBMISSION_SCOPE = "web:form"  # apart from the API's keys
# The phone's back key fetches the form anew, with a new token, and the browser puts the typed words back: the same
# message from the same browser (its cookie, `ratelimit.BROWSER`), or from the same address when it sent none, within
# these hours is that message sent again. Not longer, nor from any browser: two residents who write the same few words
# (路灯不亮) may well mean two lamps, and behind a carrier's shared address (CGNAT) neighbours share one address. The
# address itself is not kept (`repeat_key`).
REPEAT_SCOPE = "web:repeat"
REPEAT_HOURS = 2


def repeat_key(address: str, item: ItemIn, browser: str | None = None) -> IdempotencyKey:
    """The message, and one byte of a hash of the sender's address: enough to tell most neighbours' identical words
    apart, too little to find an anonymous resident's address again by hashing every address with the words stored
    beside the key. A browser's cookie is a random number, which no one can find an address or a person from: its
    key holds four bytes of a hash of it, and tells neighbours behind one address apart."""
    if browser is not None:
        bucket = "b" + hashlib.sha256(f"repeat:{browser}".encode()).digest()[:4].hex()
    else:
        bucket = f"{hashlib.sha256(address.encode()).digest()[0]:02x}"
    return IdempotencyKey(REPEAT_SCOPE, f"{bucket}:{request_hash(item).hex()}", REPEAT_HOURS)


def _form_page(
    settings: Settings,
    form: WebForm,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    *,
    alert: str | None = None,
    headers: dict[str, str] | None = None,
) -> Template:
    # A form shown again with its errors keeps its token: nothing was stored, and the corrected form is one submission.
    token = form.submission if SUBMISSION_TOKEN.fullmatch(form.submission) else secrets.token_urlsafe(16)
    # A pasted NUL is shown back as the browser would show it: no valid page holds one.
    form = msgspec.convert(
        {name: value.replace("\x00", "\ufffd") for name, value in msgspec.structs.asdict(form).items()}, WebForm
    )
    return Template(
        template_name="index.html",
        context={
            "form": form,
            "errors": errors or {},
            # The page opens on the first field in error, which a screen reader then reads with its message.
            "focus": next((name for name in FOCUS_ORDER if name in (errors or {})), None),
            "kinds": KINDS,
            "max_length": MAX_TEXT_LENGTH,
            "submission": token,
            # The privacy notice says how long a contact is kept: what `suggestions retention` is run with.
            "retention_days": settings.retention_days,
            "alert": alert,
        },
        status_code=status_code,
        headers=headers,
    )


def form_errors(fields: dict[str, Any], area_code: str) -> dict[str, str]:
    """A message for each field of the form that is wrong, all at once: a resident fixes them in one go.
    `area_code`: the district's, completing a local landline."""
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if name == "channel":
            continue
        try:
            alone = msgspec.convert({"channel": "web", "text": "-", name: value}, ItemIn)
            if name == "text":
                check_item(alone)
            elif name == "contact_phone":
                checked_phone(value, area_code=area_code)
        except (msgspec.ValidationError, InvalidInput):
            errors[name] = FIELD_MESSAGES.get(name, "请检查填写的内容")
    # A resident who wrote nothing is asked to write, not told of a length limit; nor is one whose text holds a
    # character no message can (a NUL pasted in).
    text = fields.get("text", "")
    if "text" in errors and len(text) <= MAX_TEXT_LENGTH:
        if not shows_anything(text):
            errors["text"] = "请写下发生了什么"
        elif "\x00" not in text and not has_words(text):
            errors["text"] = "请用文字写下发生了什么：只有表情或符号，工作人员看不明白"
        else:
            errors["text"] = "内容里有无法识别的字符，请删去后再提交"
    elif "text" in errors:
        # Many Android input methods write past the box's maxlength: say how much is over.
        over = len(text) - MAX_TEXT_LENGTH
        errors["text"] = f"内容太长了：现在 {len(text)} 字，最多 {MAX_TEXT_LENGTH} 字，请删去 {over} 字后再提交"
    # The browser keeps a place or a name within its length: what is wrong there is a pasted NUL, which the page shows
    # back as �.
    for name in ("place", "contact_name"):
        if name in errors and "\x00" in fields[name]:
            errors[name] = f"{FIELD_NAMES[name]}里有无法识别的字符，请删去后再提交"
    # A phone typed one box early would be kept whole where names are shown as names (the API refuses it too).
    if "contact_name" not in errors and holds_phone_or_id(fields.get("contact_name", "")):
        errors["contact_name"] = NAME_HOLDS_A_NUMBER
    return errors


async def is_utf8_form(request: Request[Any, Any, Any]) -> bool:
    """Whether the form's bytes, raw and percent-decoded, are UTF-8: Litestar would turn any other encoding into
    mojibake or U+FFFD and the resident's words would be stored garbled."""
    try:
        parse_qsl((await request.body()).decode(), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


RATING_NOT_SAVED = "系统暂时繁忙，您的评价没有保存。您写的话还在下面，请过一会儿再点“再次发送评价”。"
RATING_MAYBE_SAVED = "系统暂时繁忙，不能确定您的评价是否已经保存。您写的话还在下面，请过一会儿再点“再次发送评价”。"
NOT_SAVED = (
    "系统暂时繁忙，这次没有保存。您写的内容还在下面，请过一会儿再点“提交”。"
    "情况紧急请直接拨打 12345，危及人身安全请拨打 110。"
)
MAYBE_SAVED = (
    "系统暂时繁忙，不能确定刚才是否已经提交成功。您写的内容还在下面，请过一会儿再点一次“提交”："
    "已经收到的不会重复登记，会显示您的查询码。情况紧急请直接拨打 12345，危及人身安全请拨打 110。"
)
TOO_MANY = (
    "提交太频繁了，这次没有保存。您写的内容还在下面，请过 {minutes} 分钟后再点“提交”。"
    "情况紧急请直接拨打 12345，危及人身安全请拨打 110。"
)
NOT_UTF8 = "页面编码有误，请刷新页面后重新填写提交"
ELSEWHERE = "请在本网站的页面上填写提交"


def _from_elsewhere(request: Request[Any, Any, Any], settings: Settings) -> bool:
    return from_elsewhere(request.headers, settings.public_origin)


@get("/", include_in_schema=False)
async def index(settings: NamedDependency[Settings]) -> Template:
    return _form_page(settings, WebForm())


@post("/submit", include_in_schema=False)
async def submit(
    request: Request[Any, Any, Any],
    data: URLEncodedBody[WebForm],
    settings: NamedDependency[Settings],
) -> Template:
    limited_for = request.state.get(REFUSED)
    if limited_for is not None:
        # Over the rate limit (suggestions.ratelimit): nothing is stored, and the words come back in the form.
        alert = TOO_MANY.format(minutes=max(1, math.ceil(limited_for / 60)))
        return _form_page(settings, data, alert=alert, status_code=429, headers={"Retry-After": str(limited_for)})
    if _from_elsewhere(request, settings):
        return _form_page(settings, data, {"text": ELSEWHERE}, status_code=403)
    if not await is_utf8_form(request):
        return _form_page(settings, WebForm(), {"text": NOT_UTF8}, status_code=400)
    # Browsers count a line break as one character against the textarea's maxlength and send it as two (CRLF).
    data = msgspec.structs.replace(data, text=data.text.replace("\r\n", "\n"))
    fields: dict[str, Any] = {"channel": "web", "text": data.text}
    for name in ("place", "kind", "contact_name", "contact_phone"):
        if value := getattr(data, name).strip():
            fields[name] = value
    errors = form_errors(fields, settings.area_code)
    if errors:
        return _form_page(settings, data, errors, status_code=422)
    item = msgspec.convert(fields, ItemIn)
    # The page's token and the message together are the key: the same message sent again gets its first tracking
    # code, and a message the resident went back and changed is one of its own, itself safe from a second tap.
    key = f"{data.submission}:{request_hash(item)[:8].hex()}" if SUBMISSION_TOKEN.fullmatch(data.submission) else None
    try:
        # The connection is taken here, not by a dependency, so that an outage finds the form and what was typed.
        async with connection(request.app.state.db_pool, statement_seconds=QUICK_STATEMENT_SECONDS) as conn:
            accepted = await accept_item(
                conn,
                item,
                principal=None,
                gazetteer=request.app.state.gazetteer,
                idempotency_key=key,
                idempotency_hours=settings.idempotency_hours,
                key_scope=SUBMISSION_SCOPE,
                also_key=repeat_key(request.client.host if request.client else "", item, request.state.get(BROWSER)),
                area_code=settings.area_code,
                database_url=settings.database_url,
                sender=await anonymous_sender(request, conn),
            )
    except InvalidInput as exc:
        field = exc.problems[0].field
        return _form_page(settings, data, {field: FIELD_MESSAGES.get(field, "请检查填写的内容")}, status_code=422)
    except OUTAGES as exc:
        if may_have_been_done(request, exc):  # 08007 before the item's own commit: perhaps stored, as below
            return _form_page(settings, data, alert=MAYBE_SAVED, status_code=503, headers=retry_after(exc))
        # Nothing was stored. An error page would leave the words to the browser's back key, which may fetch the
        # form anew and empty; the form comes back filled in, with its token, to be sent again in a moment.
        log.warning("form not stored: %s", type(exc).__name__)
        return _form_page(settings, data, alert=NOT_SAVED, status_code=503, headers=retry_after(exc))
    except OutcomeUnknown as exc:
        # Perhaps stored: sent again with its token, the form finds its item and shows its code.
        return _form_page(settings, data, alert=MAYBE_SAVED, status_code=503, headers=retry_after(exc))
    if accepted.created:
        ITEMS_ACCEPTED.labels(channel="web").inc()
        await wake_classifier(request.app.state.queue, accepted.item.id)
    return Template(
        template_name="submitted.html",
        context={"code": accepted.item.tracking_code, "again": not accepted.created},
        status_code=201 if accepted.created else 200,
    )


# What the look-up box takes (its maxlength in track.html): room for a code pasted with the chat message around it.
MAX_TYPED_CODE = 200
ANSWERED_AGAIN = "这件事刚刚有了新的答复，请看过下面的新答复后再评价"
WITHDRAWN_MEANWHILE = "您评价的这条答复已撤回，这次评价不计入。这件事正在重新办理，办好后会再次答复您，到时可以评价"
# The words given with the rating of a reply withdrawn meanwhile are kept for staff (`ratings.WithdrawnMeanwhile`).
WITHDRAWN_WORDS_KEPT = (
    "您评价的这条答复已撤回，这次评价不计入。您写的话已转给工作人员，他们会看到。"
    "这件事正在重新办理，办好后会再次答复您，到时可以评价"
)
# Past the words kept after one withdrawal (`ratings.MAX_RATINGS_OF_A_REPLY`), no more are: the resident is told so.
WITHDRAWN_WORDS_DROPPED = (
    "您评价的这条答复已撤回，这次评价不计入。您这次写的话没有转给工作人员：您之前的留言他们已经收到了，"
    "有急事请拨打 12345。这件事正在重新办理，办好后会再次答复您"
)
RATED_TOO_OFTEN = f"这条答复的评价已经改过 {MAX_RATINGS_OF_A_REPLY} 次，不能再改了。还有问题请拨打 12345"
RATED_NOTICES = {
    "kept": "已收到您的评价，谢谢您！",
    # Words with 满意 or 基本满意 do not send the item back: say who reads them, and what does. The page ends it with
    # the link to the form (`new_item_link`).
    "noted": "已收到您的评价和留言，谢谢您！留言已记下，办理部门会看到。"
    "问题还没解决的，请在下面改选“不满意”，这件事会重新办理；有新的问题，请",
    "reopened": "已收到您的评价。这件事已退回重新办理，办好后会再次答复您。",
}


@get("/track", include_in_schema=False)
async def track_page(
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    code: FromQuery[str | None] = None,
    rated: FromQuery[str | None] = None,
) -> Template:
    if code is None:
        return Template(template_name="track.html", context={"code": "", "result": None, "error": None})
    notice = RATED_NOTICES.get(rated or "")
    return await _tracking_page(db_connection, settings, code, notice=notice, new_item_link=rated == "noted")


class LookUpForm(msgspec.Struct, kw_only=True):
    code: str = ""


@post("/track", include_in_schema=False, status_code=200)
async def look_up(
    data: URLEncodedBody[LookUpForm],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
) -> Template:
    """The look-up form posts what was typed, so that it stays out of the address bar, the browser's history and
    any proxy's log: it may be a phone number typed in the wrong box. `GET /track?code=` still answers links."""
    if not data.code.strip():
        # 查询 tapped with an empty box: the same page again would look as if the button did nothing.
        return Template(
            template_name="track.html",
            context={"code": "", "result": None, "error": "请填写查询码：提交成功时页面上显示的 12 个字母和数字"},
            status_code=422,
        )
    return await _tracking_page(db_connection, settings, data.code)


class RatingForm(msgspec.Struct, kw_only=True):
    code: str = ""
    rating: str = ""
    comment: str = ""
    confirm: str = ""  # "yes" once the resident has confirmed sending the item back
    closed_at: str = ""  # the closing whose reply the page showed (ISO): an item answered again since is not rated


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    # A time no closing can be (`ratings.in_utc`) names none either.
    return moment if moment.tzinfo is not None and in_utc(moment) is not None else None


@post("/track/rate", include_in_schema=False)
async def rate_page(
    request: Request[Any, Any, Any],
    data: URLEncodedBody[RatingForm],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    try:
        # The connection is taken here, not by a dependency, so that an outage finds the rating and its words.
        async with connection(request.app.state.db_pool, statement_seconds=QUICK_STATEMENT_SECONDS) as conn:
            return await _rate(request, data, conn, settings)
    except OUTAGES as exc:
        in_doubt = may_have_been_done(request, exc)
        log.warning("rating %s: %s", "perhaps stored" if in_doubt else "not stored", type(exc).__name__)
        # The same rating and words, ready to be sent again, rather than the back key's luck: sent again, a rating
        # stored meanwhile is the same rating given again.
        retry = msgspec.structs.replace(data, comment=data.comment.replace("\r\n", "\n"))
        context = {
            "code": data.code[:MAX_TYPED_CODE],
            "result": None,
            "error": None,
            "retry": retry,
            "rating_text": RATING_TEXT.get(data.rating),
            "alert": RATING_MAYBE_SAVED if in_doubt else RATING_NOT_SAVED,
            "max_comment": MAX_COMMENT_LENGTH,
        }
        return Template(template_name="track.html", context=context, status_code=503, headers=retry_after(exc))


async def _rate(
    request: Request[Any, Any, Any], data: RatingForm, db_connection: Any, settings: Settings
) -> Template | Redirect:
    normalised = normalise_tracking_code(data.code)
    if normalised is not None and _from_elsewhere(request, settings):
        return await _tracking_page(db_connection, settings, data.code, alert=ELSEWHERE, status_code=403)
    if normalised is not None and not await is_utf8_form(request):
        return await _tracking_page(db_connection, settings, data.code, alert=NOT_UTF8, status_code=400)
    if normalised is None:
        return await _tracking_page(db_connection, settings, data.code)
    comment = data.comment.replace("\r\n", "\n").strip()  # browsers send line breaks as CRLF
    page = partial(_tracking_page, db_connection, settings, data.code, comment=comment)
    if len(comment) > MAX_COMMENT_LENGTH:
        # Many Android input methods write past the box's maxlength. Told by the box, in the form it was sent from.
        over = len(comment) - MAX_COMMENT_LENGTH
        comment_error = (
            f"想补充的话太长了：现在 {len(comment)} 字，最多 {MAX_COMMENT_LENGTH} 字，请删去 {over} 字后再选"
        )
        sending_back = data.rating == "dissatisfied" and data.confirm == "yes"
        return await page(
            comment_error=comment_error, confirm=sending_back, about=_instant(data.closed_at), status_code=422
        )
    try:
        rating = msgspec.convert(
            {"rating": data.rating, "comment": comment or None, "closed_at": _instant(data.closed_at)}, RatingIn
        )
    except msgspec.ValidationError:
        alert = f"请选择满意、基本满意或不满意；想补充的话请不超过 {MAX_COMMENT_LENGTH} 字"
        return await page(alert=alert, status_code=422)
    if (
        rating.rating == "dissatisfied"
        and data.confirm != "yes"
        and not await _withdrawn(db_connection, normalised, rating)
    ):
        # One tap sends the item back to work: ask first, keeping what was typed, about the reply the resident read.
        return await page(confirm=True, about=rating.closed_at)
    try:
        rated = await rate(db_connection, tracking_code=normalised, rating=rating, now=datetime.now(UTC))
    except AnsweredAgain:
        return await page(alert=ANSWERED_AGAIN, status_code=409)
    except RatedTooOften:
        return await page(alert=RATED_TOO_OFTEN, status_code=409)
    except WithdrawnMeanwhile as exc:
        # The page's box is gone with the reply: the resident is told whether their words reached staff.
        alert = (
            WITHDRAWN_WORDS_KEPT
            if exc.words_kept
            else WITHDRAWN_WORDS_DROPPED
            if exc.words_dropped
            else WITHDRAWN_MEANWHILE
        )
        return await page(alert=alert, status_code=409)
    except StateConflict as exc:
        if exc.current_status != "closed":
            # Closed when the page was read, at work now: staff withdrew the reply (or it was sent back, which the
            # page tells as news).
            return await page(alert=WITHDRAWN_MEANWHILE, status_code=409)
        return await page(alert=f"这件事现在不能评价：办结后 {RATING_DAYS} 天内可以评价", status_code=409)
    if rated is None:
        return await _tracking_page(db_connection, settings, data.code)
    # Back to the page by GET, so that reloading it does not send the rating again.
    outcome = "reopened" if rated.reopened else "noted" if rating.comment else "kept"
    return Redirect(f"/track?{urlencode({'code': rated.tracking_code, 'rated': outcome})}#notice", status_code=303)


async def _withdrawn(conn: Any, code: str, rating: RatingIn) -> bool:
    """Whether the reply the rating names was withdrawn meanwhile: there is nothing to send back, so nothing to ask
    first, and the words go to staff as they are (`ratings.WithdrawnMeanwhile`). Only for a rating that names its
    reply: answered again meanwhile, the new reply is not rated without asking (`ratings.AnsweredAgain`)."""
    if rating.closed_at is None:
        return False
    found = await find_tracking(conn, code)
    return found is not None and found.reply_withdrawn is not None


def _not_found(typed: str) -> str:
    """What to do about a code that finds nothing: what a code looks like, unless it looks like one."""
    if has_look_alikes(typed):
        return "查询码里没有 0、1、O、I、L 这几个字符，请对照提交时拿到的查询码再看一下"
    if normalise_tracking_code(typed) is None:
        return "这不是查询码：查询码由 12 个字母和数字组成，如 ABCD-EFGH-JKMN，提交成功时显示在页面上"
    # A code read out over the phone is often written down as heard (B for P, D for T, N for M, 9 for Q): this page
    # finds a code only as it is, the hotline operator's console also by how it sounds (`find_tracking`).
    return (
        "没有找到这个查询码，请核对后再试。如果查询码是电话里听来的，可能有字母听错"
        "（如 B 和 P、D 和 T、M 和 N），可以拨打 12345 请话务员帮您查"
    )


async def _tracking_page(
    conn: Any,
    settings: Settings,
    code: str,
    *,
    notice: str | None = None,
    new_item_link: bool = False,
    alert: str | None = None,
    confirm: bool = False,
    about: datetime | None = None,
    comment: str = "",
    comment_error: str | None = None,
    status_code: int = 200,
) -> Template:
    """`about`: the closing whose reply the resident read, when they asked to send it back (`confirm`). If the item
    has been answered again since, the page shows the new reply instead of asking about it."""
    found = await find_tracking(conn, code)
    if found is None:
        return Template(
            template_name="track.html",
            context={"code": code[:MAX_TYPED_CODE], "result": None, "error": _not_found(code)},
            status_code=404,
        )
    zone = ZoneInfo(settings.timezone)

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else None

    if confirm and about is not None and not same_closing(about, found.closed_at):
        confirm, alert, status_code = False, ANSWERED_AGAIN, 409
    # Sent back by the resident, unless staff have withdrawn a reply since (`reply_withdrawn` says so instead).
    reopened = found.reopened_at is not None and found.status != "closed" and found.reply_withdrawn is None
    if reopened and alert and status_code == 409:
        # A second tap after the first sent the item back: that is news, not an error.
        alert, notice, status_code = None, RATED_NOTICES["reopened"], 200
    result = {
        "code": found.tracking_code,
        "status_text": found.status_text,
        "received_at": local(found.received_at),
        "updated_at": local(found.updated_at),
        "closed_at": local(found.closed_at),
        "reply_of": found.closed_at.isoformat() if found.closed_at else "",
        "answer": found.answer,
        "rating": RATING_TEXT.get(found.rating or ""),
        "can_rate": found.can_rate,
        # Closed longer ago than residents may rate: the page says why the buttons are gone.
        "too_late": found.status == "closed" and not found.can_rate,
        "rating_days": RATING_DAYS,
        "reopened": reopened,
        "reply_withdrawn": found.reply_withdrawn,
        "ratings": RATING_CHOICES,
        "progress": [(local(p.at), p.text) for p in found.progress],
    }
    context = {
        "code": found.tracking_code,
        "result": result,
        "error": None,
        "notice": notice,
        "new_item_link": new_item_link,
        "alert": alert,
        "confirm": confirm and result["can_rate"],
        "comment": comment,
        "comment_error": comment_error,
        "max_comment": MAX_COMMENT_LENGTH,
    }
    return Template(template_name="track.html", context=context, status_code=status_code)


routes = [index, submit, track_page, look_up, rate_page]
