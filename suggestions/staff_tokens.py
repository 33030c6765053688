"""The centre's admins manage who may sign in, on staff's pages: the tokens by role and label (never a token itself),
a token created and shown once, a token revoked, and the record of who created and revoked which.

Only `admin` tokens open these pages; staff are told so. Forms are guarded as staff's others (`signin.foreign`), come
back filled in while PostgreSQL is away, and are done once. A revoked token stops at its holder's next click, as every
page and API request looks its token up (`signin.signed_in_pages`, `auth.authenticate`).
"""

from __future__ import annotations

import logging
import secrets
from functools import partial
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from suggestions.auth import (
    Principal,
    RevokerRevoked,
    Role,
    create_token_once,
    label_problem,
    list_tokens,
    revoke_token,
    token_changes,
)
from suggestions.intake.schema import PathId
from suggestions.settings import Settings
from suggestions.signin import FOREIGN_FORM, KEEPS_FORM, SignInNeeded, foreign, signed_in_principal
from suggestions.staff_web import PREFIX, STAFF, render, unless_unavailable
from suggestions.web import SUBMISSION_TOKEN

log = logging.getLogger(__name__)

TOKENS = f"{PREFIX}/tokens"
CHANGES_SHOWN = 50
# The roles an admin may create, highest last, and the only ones the form takes: `admin` is the highest there is, and a
# role added above it later is not offered until it is listed here.
ROLE_ORDER: tuple[Role, ...] = ("operator", "grid", "staff", "monitor", "admin")
DONE = {"revoked": "已停用。持有人下一次点击页面或调用接口时即被退出，不能再登录。"}
ADMINS_ONLY = "令牌管理只对管理员开放：请用管理员（admin）令牌登录。需要新建或停用令牌，请联系本中心的管理员。"
LABEL_NEEDED = "请填写标签：这个令牌给谁、做什么用，如“话务员 王芳”（一行，不超过 100 字）。"
ROLE_NEEDED = "请选择令牌的角色。"
ADMIN_NOT_CONFIRMED = (
    "管理员令牌可以新建和停用所有令牌（包括您的），还能做工作人员能做的一切。"
    "确实要新建，请勾选“我确认新建管理员令牌”后再提交。"
)
FORM_WITHOUT_KEY = (
    "没有新建令牌：这个表单来自系统更新前打开、没有刷新过的页面，连按两次会新建两个令牌。"
    "本页已经刷新成新的表单，填写的内容还在：请核对后再按一次“新建令牌”。"
)
SIGNED_IN_WITH_IT = (
    "不能停用您现在登录所用的令牌：停用后您会立即退出。要换掉它，请先新建一个管理员令牌，用新令牌登录后再停用这个。"
)


def _admins_only(request: Request[Any, Any, Any]) -> Principal | Template:
    """The admin signed in, or the short page that tells staff these pages are not theirs."""
    principal = signed_in_principal(request, STAFF)
    if principal.role == "admin":
        return principal
    context = {"heading": "没有权限", "message": ADMINS_ONLY, "home": PREFIX}
    return Template(template_name="error.html", context=context, status_code=403)


async def _tokens_page(
    request: Request[Any, Any, Any], settings: Settings, conn: Any, principal: Principal, **shown: Any
) -> Template:
    tokens = await list_tokens(conn, revoked=True)
    # In use first, by role, then the revoked ones; each group oldest first.
    tokens.sort(key=lambda t: (t.revoked_at is not None, ROLE_ORDER.index(t.role), t.id))
    return render(
        request,
        settings,
        "staff_tokens.html",
        tokens=tokens,
        changes=await token_changes(conn, limit=CHANGES_SHOWN),
        me=principal.token_id,
        roles=ROLE_ORDER,
        submission=secrets.token_urlsafe(16),
        **shown,
    )


@get(TOKENS, include_in_schema=False)
async def tokens_page(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    done: FromQuery[str] = "",
) -> Template:
    principal = _admins_only(request)
    if isinstance(principal, Template):
        return principal
    return await _tokens_page(request, settings, db_connection, principal, notice=DONE.get(done))


class CreateForm(msgspec.Struct, kw_only=True):
    key: str = ""
    submission: str = ""  # the page's key for its form: pressed twice, one token
    role: str = ""
    label: str = ""
    admin_confirmed: str = ""  # "1": the admin read what an admin token may do


@post(TOKENS, include_in_schema=False, status_code=200, opt={KEEPS_FORM: True})
async def create_page(
    request: Request[Any, Any, Any], data: URLEncodedBody[CreateForm], settings: NamedDependency[Settings]
) -> Template | Redirect:
    work = partial(_create, request, data=data, settings=settings)
    return await unless_unavailable(request, settings, data, TOKENS, work)


async def _create(request: Request[Any, Any, Any], conn: Any, *, data: CreateForm, settings: Settings) -> Template:
    principal = _admins_only(request)
    if isinstance(principal, Template):
        return principal
    page = partial(_tokens_page, request, settings, conn, principal, typed=msgspec.structs.asdict(data))
    if foreign(request, settings, data.key, STAFF):
        return await page(error=FOREIGN_FORM, status_code=403)
    if not SUBMISSION_TOKEN.fullmatch(data.submission):
        # A page of an older release, whose form has no key of its own: pressed twice, it would make two tokens, one
        # never handed to anyone. The form comes back as today's page's, with what was typed and its own key.
        return await page(error=FORM_WITHOUT_KEY, status_code=422)
    label = data.label.strip()
    if data.role not in ROLE_ORDER:
        return await page(error=ROLE_NEEDED, invalid="role", status_code=422)
    if not label or label_problem(label) is not None:
        return await page(error=LABEL_NEEDED, invalid="label", status_code=422)
    if data.role == "admin" and data.admin_confirmed != "1":
        return await page(error=ADMIN_NOT_CONFIRMED, invalid="admin_confirmed", status_code=422)
    created = await create_token_once(
        conn,
        role=data.role,
        label=label,
        by=principal.token_id,
        submission=data.submission,
    )
    log.info("token %s created by token %s", created.id, principal.token_id)
    # Shown on this answer only: never in an address, never kept by the browser or a proxy.
    return render(
        request,
        settings,
        "staff_token_created.html",
        headers={"cache-control": "no-store"},
        created=created,
        role=data.role,
        label=label,
    )


@get(f"{TOKENS}/{{token_id:int}}/revoke", include_in_schema=False)
async def revoke_question(
    request: Request[Any, Any, Any],
    db_connection: NamedDependency[Any],
    settings: NamedDependency[Settings],
    token_id: PathId,
) -> Template:
    """What revoking a token does, asked before it is done."""
    principal = _admins_only(request)
    if isinstance(principal, Template):
        return principal
    return await _revoke_page(request, settings, db_connection, principal, token_id)


async def _revoke_page(
    request: Request[Any, Any, Any],
    settings: Settings,
    conn: Any,
    principal: Principal,
    token_id: int,
    **shown: Any,
) -> Template:
    found = [t for t in await list_tokens(conn, revoked=True) if t.id == token_id]
    if not found:
        raise NotFoundException("no such token")
    return render(request, settings, "staff_token_revoke.html", token=found[0], me=principal.token_id, **shown)


class RevokeForm(msgspec.Struct, kw_only=True):
    key: str = ""
    confirm: str = ""  # "1": asked and answered (`revoke_question`)


@post(f"{TOKENS}/{{token_id:int}}/revoke", include_in_schema=False, opt={KEEPS_FORM: True})
async def revoke_page(
    request: Request[Any, Any, Any],
    token_id: PathId,
    data: URLEncodedBody[RevokeForm],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    work = partial(_revoke, request, token_id=token_id, data=data, settings=settings)
    return await unless_unavailable(request, settings, data, f"{TOKENS}/{token_id}/revoke", work)


async def _revoke(
    request: Request[Any, Any, Any], conn: Any, *, token_id: int, data: RevokeForm, settings: Settings
) -> Template | Redirect:
    principal = _admins_only(request)
    if isinstance(principal, Template):
        return principal
    page = partial(_revoke_page, request, settings, conn, principal, token_id)
    if foreign(request, settings, data.key, STAFF):
        return await page(error=FOREIGN_FORM, status_code=403)
    if token_id == principal.token_id:
        return await page(error=SIGNED_IN_WITH_IT, status_code=409)
    if data.confirm != "1":
        return await page()
    try:
        revoked = await revoke_token(conn, token_id, by=principal.token_id)
    except RevokerRevoked:
        raise SignInNeeded(STAFF) from None  # as at their next click
    if revoked:
        log.info("token %s revoked by token %s", token_id, principal.token_id)
    elif await conn.fetchval("SELECT 1 FROM api_tokens WHERE id = $1", token_id) is None:
        raise NotFoundException("no such token")
    # Pressed twice, the second finds it revoked: what the first one did.
    return Redirect(f"{TOKENS}?done=revoked", status_code=303)


routes = [tokens_page, create_page, revoke_question, revoke_page]
