"""Every error leaves as RFC 9457 problem details, mapped here and only here; on the residents' pages, as a page.

Bad input names the field. Database and queue outages become 503 with Retry-After. Nothing else ever shows a
stack trace or a database message to the caller. A resident's browser gets a short Chinese page with the same status
instead of problem details (`resident_page`): a body too large, a field sent twice, a page that is not there, an
outage.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import asyncpg
import msgspec
from asyncpg.exceptions import _base as asyncpg_base
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import ParameterKwarg
from litestar.response import Template
from litestar.status_codes import (
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from suggestions.areas import signed_in_area
from suggestions.db import commit_unanswered
from suggestions.privacy import mask_pii

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# The field a problem with the request body as a whole names (not JSON, or JSON but not an object).
BODY = "body"
RETRY_AFTER_SECONDS = 5


class FieldProblem(msgspec.Struct, frozen=True):
    field: str
    message: str


class StoredItem(msgspec.Struct, kw_only=True):
    """The item an earlier request stored under a key sent again with another body, told to its sender."""

    id: int
    tracking_code: str
    status: str


class Problem(msgspec.Struct, kw_only=True):
    """How every error leaves: RFC 9457 problem details. Declared in the OpenAPI schema; built by `problem`."""

    type: str = "about:blank"
    status: int
    title: str
    detail: str | None = None
    errors: list[FieldProblem] | None = None  # bad input: one entry per field
    current_status: str | None = None  # 409: the status of the item, case or hotspot that does not allow the step
    stored: StoredItem | None = None  # 422, a token's Idempotency-Key sent again with another body: what it stored


# What each error status means here, as the OpenAPI schema says it.
PROBLEMS = {
    400: "Malformed request, such as a body that is not JSON (`errors` names `body`)",
    401: "A bearer token is missing, unknown or revoked",
    403: "The token's role may not do this",
    404: "Nothing has this id or code",
    413: "The body is larger than the service accepts",
    409: "The status of the item (or case, or hotspot) does not allow this step: `current_status` says which it is in",
    422: "Invalid input: `errors` names each field (`stored`: the item a token's Idempotency-Key, sent again with "
    "another body, stored)",
    429: "Too many requests from this client or token: try again after `Retry-After` seconds",
    503: "PostgreSQL is unreachable or takes no writes; nothing was saved, unless `detail` says that PostgreSQL's "
    "answer to the commit was lost and it may have been done: look before doing it again, or send it again with the "
    "same Idempotency-Key. Try again after `Retry-After` seconds",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI declaration of the problem details an API endpoint may answer with; every API endpoint is rate
    limited (suggestions.ratelimit), so 429 is always among them."""
    return {
        status: ResponseSpec(
            data_container=Problem, description=PROBLEMS[status], media_type=PROBLEM_JSON, generate_examples=False
        )
        for status in sorted({*statuses, 429})
    }


class OutcomeUnknown(Exception):
    """A write whose commit went unanswered (its server lost or fallen silent just then), and whether it was stored
    cannot be told until PostgreSQL answers again. For an item: the tracking code it is stored under if it is, and the
    class of the outage that lost the answer."""

    def __init__(self, *, tracking_code: str | None = None, outage: str | None = None) -> None:
        super().__init__()
        self.tracking_code = tracking_code
        self.outage = outage


class InvalidInput(Exception):
    """Input that decoded but breaks a rule across fields or of the domain."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.problems = [FieldProblem(field, message)]


class Conflict(Exception):
    """A request that contradicts an earlier one: `field` names what ties them (a key, an external id), `also` the
    fields in which they differ, `stored` what the earlier one stored when its sender may be told."""

    def __init__(
        self, message: str, field: str | None = None, also: list[str] | None = None, stored: Any = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.also = also or []
        self.stored = (
            stored  # what the earlier request stored, when its sender may be told: {"id", "tracking_code", ...}
        )


class StateConflict(Exception):
    """A valid request that the item's current status does not allow, such as closing a closed item."""

    def __init__(self, message: str, *, current_status: str) -> None:
        super().__init__(message)
        self.current_status = current_status


def problem(
    status: int, title: str, *, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "status": status, "title": title}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_name(message: str, key: str | None = None) -> str:
    """The field a decoding error is about, from msgspec's message ("... - at `$.data.text`") or Litestar's key."""
    for marker in ("unknown field `", "required field `"):
        if marker in message:
            return message.split(marker, 1)[1].split("`", 1)[0]
    if "at `$." in message:
        path = message.rsplit("at `$.", 1)[1].rstrip("`").split("[")[0]
        # Litestar nests the body under "data".
        return path.removeprefix("data.") if path != "data" else ""
    return key or ""


def _validation_problems(exc: ValidationException) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for entry in extra:
        if not isinstance(entry, dict):
            continue
        message = str(entry.get("message", ""))
        # Litestar's key for the body is "data", a name the caller never sees.
        field = field_name(message, entry.get("key"))
        problems.append(FieldProblem(field if field not in ("", "data") else BODY, message))
    if not problems:
        problems.append(FieldProblem(field_name(str(exc.detail)), str(exc.detail)))
    return problems


def _names_sent(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A handler's parameters that the caller sends under another name (the header Idempotency-Key), by argument."""
    handler = request.scope.get("route_handler")
    parameters = getattr(getattr(handler, "parsed_fn_signature", None), "parameters", {})
    return {
        name: field.kwarg_definition.name
        for name, field in parameters.items()
        if isinstance(field.kwarg_definition, ParameterKwarg) and field.kwarg_definition.name
    }


def on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    sent = _names_sent(request)
    problems = [FieldProblem(sent.get(p.field, p.field), p.message) for p in _validation_problems(exc)]
    return _invalid(problems)


def on_invalid_input(request: Request[Any, Any, Any], exc: InvalidInput) -> Response[dict[str, Any]]:
    return _invalid(exc.problems)


def _invalid(problems: list[FieldProblem]) -> Response[dict[str, Any]]:
    # msgspec quotes a value that is no enum member and the name of an unknown field: a phone sent in the wrong
    # place would come back in the answer, and from there into the caller's logs.
    errors = [{"field": mask_pii(p.field), "message": mask_pii(p.message)} for p in problems]
    return problem(HTTP_422_UNPROCESSABLE_ENTITY, "Invalid input", errors=errors)


def on_conflict(request: Request[Any, Any, Any], exc: Conflict) -> Response[dict[str, Any]]:
    errors = [{"field": exc.field, "message": str(exc)}] if exc.field else []
    errors += [{"field": field, "message": f"differs from the {field} stored under {exc.field}"} for field in exc.also]
    extra: dict[str, Any] = {"errors": errors} if errors else {}
    if exc.stored is not None:
        extra["stored"] = exc.stored
    return problem(HTTP_422_UNPROCESSABLE_ENTITY, "Conflicts with an earlier request", detail=str(exc), **extra)


def on_state_conflict(request: Request[Any, Any, Any], exc: StateConflict) -> Response[dict[str, Any]]:
    return problem(
        HTTP_409_CONFLICT,
        "Not possible in the item's current status",
        detail=str(exc),
        current_status=exc.current_status,
    )


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc.__cause__, SerializationException):
        # A body that is not JSON at all: Litestar raises a bare 400 carrying msgspec's message, which quotes no input.
        return problem(400, "Request body is not valid JSON", errors=[{"field": BODY, "message": exc.detail}])
    extra: dict[str, Any] = {}
    if isinstance(exc.extra, dict):
        extra.update(exc.extra)
    if isinstance(exc, RequestEntityTooLarge):
        # Bad input as a body that is not JSON is: named, with the size that would do.
        handler = request.scope.get("route_handler")
        limit = handler.resolve_request_max_body_size() if isinstance(handler, HTTPRouteHandler) else None
        said = f"at most {limit} bytes" if limit else "a smaller body"
        extra["errors"] = [{"field": BODY, "message": f"the body is larger than the service accepts: send {said}"}]
    return problem(exc.status_code, exc.detail, headers=exc.headers, **extra)


def _route(request: Request[Any, Any, Any]) -> str:
    # The route's template, never the path: a path holds what the caller typed (a "tracking code" may be a phone).
    return str(request.scope.get("path_template") or "(no route)")


def retry_after(exc: BaseException) -> dict[str, str]:
    """When to try again after nothing was stored: at once after a transaction PostgreSQL rolled back to let another
    through, after a few seconds when PostgreSQL is away."""
    busy = isinstance(exc, asyncpg.exceptions.TransactionRollbackError)
    return {"Retry-After": "1" if busy else str(RETRY_AFTER_SECONDS)}


READS = frozenset({"GET", "HEAD", "OPTIONS"})


def may_have_been_done(request: Request[Any, Any, Any], exc: BaseException) -> bool:
    """A request that writes, ended by a commit whose answer never came (`db.commit_unanswered`): it may have been
    done, and told "nothing was saved", its sender would do it again (an interim reply the resident reads twice)."""
    return request.method not in READS and commit_unanswered(exc)


MAY_HAVE_BEEN_DONE = (
    "PostgreSQL's answer to the commit was lost: this may have been done. Look before doing it again (an "
    "Idempotency-Key sent again with the same request answers what was done)."
)


def on_database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    in_doubt = may_have_been_done(request, exc)
    log.warning("database unavailable: %s%s", type(exc).__name__, " after the commit was sent" if in_doubt else "")
    return problem(
        503,
        "Service temporarily unavailable",
        detail=MAY_HAVE_BEEN_DONE if in_doubt else "Nothing was saved. Please try again shortly.",
        headers=retry_after(exc),
    )


def on_transaction_rollback(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # A deadlock or serialisation failure: PostgreSQL rolled the request's transaction back to let another through.
    log.warning("transaction rolled back: %s on %s %s", type(exc).__name__, request.method, _route(request))
    return problem(
        503,
        "Service temporarily busy",
        detail="Another change to the same records went first and nothing was saved. Please try again.",
        headers=retry_after(exc),
    )


def on_outcome_unknown(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning("outcome unknown on %s %s", request.method, _route(request))
    return problem(
        503,
        "Service temporarily unavailable",
        detail="PostgreSQL's answer was lost, and this may have been saved. Send it again with the same "
        "Idempotency-Key: what was saved is then answered.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Log the class and where, never the message: it may quote the resident's text.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, _route(request), exc_info=False)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error")


DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    OSError,
    # Class 08, the connection failed or was lost; not 08P01 (a protocol violation is a bug) nor 08007 (a commit
    # whose outcome is unknown must not read "nothing was saved").
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.ClientCannotConnectError,
    asyncpg.exceptions.ConnectionRejectionError,
    asyncpg.exceptions.CrashShutdownError,  # 57P02: another backend crashed, every session is ended
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    # The server's goodbye (a FATAL error: a restart, a failover, pg_terminate_backend) arrives before its connection
    # closes; in between, asyncpg refuses every statement on that connection with this, before sending anything.
    asyncpg.exceptions.InternalClientError,
    # 25006: a server that takes no writes for now (a primary being demoted in a failover, read-only for maintenance
    # or to protect a full disk) has stored nothing; the request succeeds once it takes writes again.
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    # 57014 and 55P03: the server cancelled the statement (pg_cancel_backend, a statement_timeout or lock_timeout set on
    # the server, while a migration or a long transaction held the rows), which rolled its work back.
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.LockNotAvailableError,
    # Class 53: the server is out of a resource (disk full, "could not extend file"; out of memory; too many
    # connections) and rolled the statement back; the request succeeds once an administrator has made room.
    asyncpg.exceptions.InsufficientResourcesError,
    TimeoutError,
)
# Nothing was stored: PostgreSQL away, or a transaction it rolled back to let another through.
NOT_STORED = (*DATABASE_OUTAGES, asyncpg.exceptions.TransactionRollbackError)
# Every way an outage ends a request: NOT_STORED, unless its commit went unanswered (`may_have_been_done`), and 08007.
OUTAGES = (*NOT_STORED, asyncpg.exceptions.TransactionResolutionUnknownError)


# Paths that are not the residents' pages: the API, probes and metrics answer machines.
MACHINE_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics")
RESIDENT_MESSAGES = {
    404: ("没有找到这个页面", "请从首页重新进入。"),
    # The submitted page's address is /submit: reopened from a saved or shared link, it is asked for by GET.
    405: ("这个页面已失效", "如果您已经提交过，请凭查询码查询办理进度；还没提交的，请从首页重新填写。"),
    413: ("内容太长了", "请删减一些内容后再提交。"),
    429: ("提交太频繁了", "请过几分钟再试。情况紧急请直接拨打 12345，危及人身安全请拨打 110。"),
    503: (
        "系统暂时繁忙",
        "您这次提交的内容没有保存。请按手机的“返回”键回到上一页（您写的内容还在），稍后再点“提交”。"
        "情况紧急请直接拨打 12345，危及人身安全请拨打 110。",
    ),
    500: ("系统出错了", "请稍后再试。情况紧急请直接拨打 12345，危及人身安全请拨打 110。"),
}
# Staff's and the console's pages (`staff_web`, `console_web`): what to do next, for staff rather than residents.
STAFF_MESSAGES = {
    404: ("没有找到", "这件事或这个页面不存在，请回到工作台重新打开。"),
    503: ("系统暂时繁忙", "数据库暂时连不上，这次操作没有执行。请稍后刷新页面再试。"),
    500: ("系统出错了", "这次操作可能没有执行，请刷新页面查看最新情况。"),
}
# A write whose commit went unanswered (`may_have_been_done`): for staff, and for residents.
STAFF_MAYBE_DONE = (
    "系统暂时繁忙",
    "数据库没有回应，这次操作可能已经执行了。请稍后先刷新页面看看，确实没有执行再重做。",
)
RESIDENT_MAYBE_SAVED = (
    "系统暂时繁忙",
    "系统没有回应，不能确定您这次提交的内容是否已经保存。请稍后凭查询码查询；"
    "情况紧急请直接拨打 12345，危及人身安全请拨打 110。",
)
BAD_REQUEST = ("提交的内容有误", "请返回上一页，检查后重新填写提交。")
# The look-up pages only read: a resident who looked a code up sent nothing that could be lost.
LOOK_UP_PATH = "/track"
LOOK_UP_UNAVAILABLE = (
    "暂时查不到",
    "系统暂时繁忙，暂时查不到办理进度，请稍后再试。情况紧急请直接拨打 12345，危及人身安全请拨打 110。",
)


def resident_page(handler: Any) -> Any:
    """The handler, answering a resident's page with a Chinese page of the same status and Retry-After."""

    @functools.wraps(handler)
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response: Response[Any] = handler(request, exc)
        if request.scope["path"].startswith(MACHINE_PREFIXES):
            return response
        status = response.status_code or HTTP_500_INTERNAL_SERVER_ERROR
        heading, message = RESIDENT_MESSAGES.get(status, BAD_REQUEST if status < 500 else RESIDENT_MESSAGES[500])
        if status == 503 and request.scope["path"] == LOOK_UP_PATH:
            heading, message = LOOK_UP_UNAVAILABLE
        path = request.scope["path"]
        home = signed_in_area(path)
        if home:
            heading, message = STAFF_MESSAGES.get(status, (heading, "请返回上一页重试。"))
        if status == 503 and may_have_been_done(request, exc):
            heading, message = STAFF_MAYBE_DONE if home else RESIDENT_MAYBE_SAVED
        kept = {name: value for name, value in response.headers.items() if name.lower() in ("retry-after", "allow")}
        return Template(
            template_name="error.html",
            context={"heading": heading, "message": message, "home": home},
            status_code=status,
            headers=kept,
        )

    return handle


def exception_handlers() -> dict[type[Exception] | int, Any]:
    handlers: dict[type[Exception] | int, Any] = {
        ValidationException: on_validation,
        InvalidInput: on_invalid_input,
        Conflict: on_conflict,
        StateConflict: on_state_conflict,
        HTTPException: on_http_exception,
        asyncpg.exceptions.TransactionRollbackError: on_transaction_rollback,
        OutcomeUnknown: on_outcome_unknown,
        # 08007: the server says that a transaction's outcome is unknown (its commit may have been done).
        asyncpg.exceptions.TransactionResolutionUnknownError: on_database_unavailable,
        Exception: on_unexpected,
    }
    for outage in DATABASE_OUTAGES:
        handlers[outage] = on_database_unavailable
    # An InterfaceError of the driver's own making (an argument of the wrong type for a query) is a bug, not an
    # outage; asyncpg exports the server's DataError under that name, so the client's is taken from its module.
    handlers[asyncpg_base.DataError] = on_unexpected
    return {key: resident_page(handler) for key, handler in handlers.items()}
