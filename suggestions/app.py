"""The Litestar application: one factory, nothing done at import time."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, Router, get, route
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import BodyKwarg, HeaderParameter, QueryParameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.status_codes import HTTP_404_NOT_FOUND
from litestar.template.config import TemplateConfig

from suggestions import console_web, staff_tokens, staff_web, web
from suggestions.auth import STAFF_ROLES
from suggestions.classify.corrections import put_classification
from suggestions.classify.serving import find_serving_model
from suggestions.db import QUICK_STATEMENT_SECONDS, connection, create_pool
from suggestions.district import load_gazetteer
from suggestions.errors import DATABASE_OUTAGES, InvalidInput, exception_handlers, field_name, problem
from suggestions.headers import security_headers
from suggestions.hotspots import routes as hotspot_routes
from suggestions.hotspots.places import Gazetteer
from suggestions.intake import amendments
from suggestions.intake.routes import caller_items, create_item, look_up_item, rate_reply, track_item
from suggestions.metrics import http_metrics, metrics
from suggestions.openapi import ProblemHeadersPlugin, StrictStructSchemaPlugin
from suggestions.privacy import public_phones
from suggestions.queue import open_queue
from suggestions.ratelimit import RateLimiter, RateLimitMiddleware
from suggestions.settings import Settings
from suggestions.signin import SignInNeeded, on_sign_in_needed, signed_in_pages
from suggestions.triage import routes as triage_routes

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"


class Readiness(msgspec.Struct):
    ready: bool
    postgres: bool
    redis: bool
    model: str | None


# Ready means able to take items: a server that answers but takes no writes (a standby, a primary being demoted, one
# made read-only) is not.
TAKES_WRITES = "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'"


READY_SECONDS = 2


async def _takes_writes(pool: asyncpg.Pool) -> bool:
    # A connection of its own, closed if the deadline passes: the pool would reset it first, waiting on a server gone
    # silent as long as the statement did, and the probe would answer after half a minute.
    async with connection(pool, statement_seconds=READY_SECONDS) as conn:
        if await conn.fetchval(TAKES_WRITES):
            return True
        conn.terminate()  # tied to a server that takes no writes: the next connection may reach one that does
        return False


@get("/healthz", tags=["health"], summary="The process is up", include_in_schema=True)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/readyz",
    tags=["health"],
    summary="PostgreSQL reachable and taking writes, Redis reachable, model loaded",
    responses={503: ResponseSpec(Readiness, description="Not ready: what is missing", generate_examples=False)},
)
async def readyz(state: State, settings: NamedDependency[Settings]) -> Response[Readiness]:
    postgres = redis = False
    try:
        postgres = await asyncio.wait_for(_takes_writes(state.db_pool), READY_SECONDS)
    except Exception:  # any failure means "not ready"; the reason is in the server's log
        log.warning("readyz: PostgreSQL unreachable")
    try:
        redis = bool(await asyncio.wait_for(state.queue.ping(), READY_SECONDS))
    except Exception:
        log.warning("readyz: Redis unreachable")
    model = getattr(await find_serving_model(state, settings), "version", None)
    readiness = Readiness(ready=bool(postgres and redis and model), postgres=bool(postgres), redis=redis, model=model)
    return Response(readiness, status_code=200 if readiness.ready else 503)


@route("/api/v1/items", http_method="OPTIONS", include_in_schema=False)
async def items_options(request: Request[Any, Any, Any]) -> Response[None]:
    # Litestar 2 answers OPTIONS with the methods of the first handler registered on a path (litestar#4169), and
    # intake (POST) and triage (GET) both serve this one: list them all.
    methods = request.app.route_handler_method_map["/api/v1/items"]
    return Response(None, status_code=204, headers={"Allow": ", ".join(sorted(methods))})


WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


async def refuse_repeated_values(request: Request[Any, Any, Any]) -> None:
    """Values Litestar would quietly reinterpret are bad input: a query parameter or a declared header that takes one
    value given more than once (Litestar keeps one of them), and a whole-number query parameter written otherwise
    ("1.0", "1e0")."""
    query = request.query_params
    counts = Counter(key for key, _ in query.multi_items())
    for name, field in request.route_handler.parsed_fn_signature.parameters.items():
        if isinstance(field.kwarg_definition, HeaderParameter):
            # Two Idempotency-Keys: Litestar keeps the first, and a retry with the second stores the item again.
            header = field.kwarg_definition.name or name
            if len(request.headers.getall(header, [])) > 1:
                raise InvalidInput(header, f"{header} takes one value")
            continue
        if not isinstance(field.kwarg_definition, QueryParameter):
            continue
        if not field.is_non_string_sequence and counts[name] > 1:
            raise InvalidInput(name, f"{name} takes one value")
        whole = int in (field.annotation, *getattr(field.annotation, "__args__", ()))
        if whole and name in query and not WHOLE_NUMBER.fullmatch(query[name]):
            raise InvalidInput(name, f"{name} is a whole number")


def refuse_loose_path_ids(request: Request[Any, Any, Any]) -> None:
    """A whole number in a path is written one way: Python's int() also reads "1_0", "+1", "01", " 1" and digits of
    other scripts (١, １), which would make many addresses of one item."""
    params: dict[str, Any] = request.path_params
    template: str = request.scope.get("path_template") or ""
    if not any(type(value) is int for value in params.values()):
        return
    written = request.scope["path"].split("/")
    pattern = template.split("/")
    for part, raw in zip(reversed(pattern), reversed(written), strict=False):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1].partition(":")[0]
            value = params.get(name)
            if type(value) is int and raw != str(value):
                raise InvalidInput(name, f"{name} is a whole number written in the digits 0-9, without a leading zero")


async def refuse_loose_json(request: Request[Any, Any, Any]) -> None:
    """A JSON body is held to its declared types. Litestar converts a handler's arguments leniently, as query strings
    need ("5" for 5, 5.0 for 5, 0 for false), and would pass such a body on; here it is bad input naming the field.
    An empty body is a 400 naming it, as a body of spaces is; any other body that is not JSON at all is left to
    Litestar's own answer."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None or request.route_handler.resolve_data_dto() is not None:
        return
    # A body declared without Body(...) is JSON too.
    if isinstance(field.kwarg_definition, BodyKwarg) and field.kwarg_definition.media_type != RequestEncodingType.JSON:
        return
    body = await request.body()
    if not body:
        raise ClientException(
            "Request body is not valid JSON",
            extra={"errors": [{"field": "body", "message": "empty: send a JSON object"}]},
        )
    try:
        msgspec.json.decode(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise InvalidInput(field_name(message) or "body", message.split(" - at ")[0]) from None
    except UnicodeDecodeError:
        # msgspec raises this, not DecodeError, for bytes that are not UTF-8 inside a string; so does Litestar's decoder
        raise ClientException(
            "Request body is not valid JSON", extra={"errors": [{"field": "body", "message": "not UTF-8"}]}
        ) from None
    except msgspec.DecodeError:
        return


async def check_request(request: Request[Any, Any, Any]) -> None:
    await refuse_repeated_values(request)
    refuse_loose_path_ids(request)
    await refuse_loose_json(request)


async def _docs_404(response: Response[Any]) -> Response[Any]:
    if response.status_code == HTTP_404_NOT_FOUND:
        return problem(HTTP_404_NOT_FOUND, "Not Found", detail="no such page of the API's documentation")
    return response


async def open_pool(settings: Settings) -> asyncpg.Pool:
    """The API's pool, which it starts without: after a host's reboot, or in compose, the API may come up before
    PostgreSQL answers. It then answers 503 (`/readyz` names postgres) and each request tries to connect, so it serves
    once PostgreSQL is back. A server that answers and refuses (a wrong password, no such database) still stops it."""
    try:
        return await create_pool(settings.database_url, size=settings.db_pool_size)
    except DATABASE_OUTAGES as exc:
        log.warning("PostgreSQL unreachable at start (%s): answering 503 until it answers", type(exc).__name__)
    return await create_pool(settings.database_url, size=settings.db_pool_size, lazy=True)


async def provide_connection(
    request: Request[Any, Any, Any], db_pool: NamedDependency[asyncpg.Pool]
) -> AsyncIterator[Any]:
    """A connection for one request, returned to the pool afterwards. Staff's work (the feed, reports, a case closed
    with all its reports) may wait for a busy server as long as the pool allows; the statements of every other
    request (a resident's, an operator's, a grid worker's) answer within QUICK_STATEMENT_SECONDS, or it answers 503."""
    principal = getattr(request.state, "principal", None)
    # Staff's pages (`staff_web`) do the same work as the API's staff; their guard leaves the principal too.
    staff = getattr(principal, "role", None) in STAFF_ROLES
    # Staff's statements are watched: one whose connection has gone silent ends within seconds (`db.WATCH_SECONDS`).
    async with connection(db_pool, statement_seconds=None if staff else QUICK_STATEMENT_SECONDS, watched=staff) as conn:
        yield conn


def _provide_pool(state: State) -> asyncpg.Pool:
    pool: asyncpg.Pool = state.db_pool
    return pool


def create_app(
    settings: Settings,
    *,
    pool: asyncpg.Pool | None = None,
    queue: Any = None,
    model: Any = None,
    gazetteer: Gazetteer | None = None,
) -> Litestar:
    """Build the app. Tests pass their own pool, queue, model and gazetteer; otherwise the lifespan opens them.

    `model` needs only `version` and `topics`: classification happens in workers.
    """

    limiter = RateLimiter(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if pool is None:
            app.state.db_pool = await open_pool(settings)
        if queue is None:
            app.state.queue = await open_queue(settings.redis_url, settings.queue_name)
        if gazetteer is None:
            app.state.gazetteer = await asyncio.get_running_loop().run_in_executor(None, load_gazetteer, settings)
        if model is None:
            await find_serving_model(app.state, settings)
        try:
            yield
        finally:
            await limiter.close()
            if queue is None:
                await app.state.queue.aclose()
            if pool is None:
                await app.state.db_pool.close()

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics,
            items_options,
            create_item,
            track_item,
            look_up_item,
            rate_reply,
            caller_items,
            *amendments.routes,
            *triage_routes.routes,
            put_classification,
            *hotspot_routes.routes,
            *web.routes,
            *staff_web.routes,
            *staff_tokens.routes,
            *console_web.routes,
        ],
        lifespan=[lifespan],
        before_request=check_request,
        # Every page of staff's and the console's, signed in: a page added later is too.
        guards=[signed_in_pages(staff_web.STAFF, console_web.CONSOLE)],
        plugins=[StrictStructSchemaPlugin(), ProblemHeadersPlugin()],
        # What the caller passed in is there from the start; the lifespan opens the rest.
        state=State(
            {
                "db_pool": pool,
                "queue": queue,
                "model": model,
                "gazetteer": gazetteer,
                "limiter": limiter,
                # The district's time zone, whose day of each token's use is recorded (`auth.principal_for_token`).
                "timezone": settings.timezone,
                # A bad number stops the service here rather than leaving an office number masked in every reply.
                "public_phones": public_phones(settings.public_phones, area_code=settings.area_code),
            }
        ),
        dependencies={
            "db_connection": Provide(provide_connection),
            "db_pool": Provide(_provide_pool, sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
        },
        middleware=[http_metrics.middleware, RateLimitMiddleware(limiter)],
        before_send=[security_headers],
        exception_handlers={**exception_handlers(), SignInNeeded: on_sign_in_needed},
        # Logging is the process's (suggestions.logs): one JSON line a record, nothing personal. Unexpected errors are
        # logged, by class, by the handlers in suggestions.errors.
        logging_config=None,
        request_max_body_size=settings.max_body_bytes,
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="suggestions",
            version="1",
            description="Residents' suggestions and complaints: intake, classification and triage.",
            path="/api/docs",
            # Litestar answers an unknown page under the docs with an HTML page of its own; every /api answer here is
            # problem details.
            openapi_router=Router("/api/docs", route_handlers=[], include_in_schema=False, after_request=_docs_404),
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="sgt_…")}
            ),
        ),
        debug=False,
    )
