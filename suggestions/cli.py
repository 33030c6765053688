"""The `suggestions` command: dev, serve, worker, migrate, token, import, export, reclassify, grouping-report,
retention."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click
import msgspec

from suggestions.settings import MAX_RETENTION_DAYS, Settings, load_settings

if TYPE_CHECKING:
    from suggestions.importer import ImportReport

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _require_urls(settings: Settings) -> None:
    missing = [
        name
        for name, value in (("DATABASE_URL", settings.database_url), ("REDIS_URL", settings.redis_url))
        if not value
    ]
    if missing:
        raise click.ClickException(
            f"set {' and '.join(missing)} (or use `suggestions dev`, which starts embedded servers)"
        )


def _database_settings() -> Settings:
    """The settings, for a command that needs PostgreSQL only."""
    settings = load_settings()
    if not settings.database_url:
        raise click.ClickException("set DATABASE_URL")
    return settings


def _with_connection(settings: Settings, work: Callable[[Any], Awaitable[T]], *, wait_seconds: float = 0) -> T:
    """Run `work` with one PostgreSQL connection, closed afterwards; jsonb as the service's pool reads it. With
    `wait_seconds`, a server that does not accept connections yet is waited for that long."""
    from suggestions.db import init_connection

    async def go() -> T:
        conn = await _connect(settings.database_url, wait_seconds)
        try:
            await init_connection(conn)
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


async def _connect(dsn: str, wait_seconds: float) -> Any:
    """A connection; a server not accepting connections yet (starting, recovering, its host rebooting) is tried again
    each second for `wait_seconds`, said once on stderr, then named in one line. A server that answers and refuses (a
    wrong password, no such database) is not waited for."""
    import asyncpg

    from suggestions.db import CONNECT_TIMEOUT_SECONDS

    not_yet = (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError, asyncpg.ConnectionFailureError)
    deadline = time.monotonic() + wait_seconds
    said = False
    while True:
        left = deadline - time.monotonic()
        try:
            return await asyncpg.connect(dsn, timeout=max(1.0, min(CONNECT_TIMEOUT_SECONDS, left)))
        except not_yet as exc:
            if not wait_seconds:
                raise
            if time.monotonic() >= deadline:
                raise click.ClickException(
                    f"PostgreSQL did not accept connections within {wait_seconds:g} s ({type(exc).__name__})"
                ) from None
            if not said:
                click.echo(
                    f"waiting up to {wait_seconds:g} s for PostgreSQL to accept connections ({type(exc).__name__})",
                    err=True,
                )
                said = True
            await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


class _Group(click.Group):
    """A user's mistake (no server, no database, not migrated, a bad setting, a path) is one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        import asyncpg
        import redis.exceptions

        from ml.artifacts import ModelError
        from suggestions.migrate import MigrationError
        from suggestions.settings import SettingsError

        try:
            return super().invoke(ctx)
        except asyncpg.UndefinedTableError:
            raise click.ClickException("the database has no tables yet: run `suggestions migrate`") from None
        except asyncpg.PostgresError as exc:  # its message may quote a row: name the error only
            raise click.ClickException(f"PostgreSQL refused: {type(exc).__name__} ({exc.sqlstate})") from None
        except (OSError, asyncpg.InterfaceError) as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
        except redis.exceptions.RedisError as exc:  # names the host and port, never the password
            raise click.ClickException(f"Redis: {type(exc).__name__}: {exc}") from None
        except msgspec.ValidationError as exc:
            raise click.ClickException(f"bad SUGGESTIONS_* setting: {exc}") from None
        except (ModelError, MigrationError, SettingsError) as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group)
def main() -> None:
    """Residents' suggestions and complaints: intake, classification, triage."""


@main.command()
@click.option(
    "--wait",
    "wait_seconds",
    type=click.IntRange(0, 3600),
    default=60,
    show_default=True,
    help="seconds to wait for PostgreSQL to accept connections (started beside it, or a host rebooting)",
)
def migrate(wait_seconds: int) -> None:
    """Apply pending database migrations."""
    settings = _database_settings()
    from suggestions.migrate import migrate as apply

    applied = _with_connection(settings, apply, wait_seconds=wait_seconds)
    click.echo(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="API processes")
def serve(host: str, port: int, workers: int) -> None:
    """Run the HTTP API.

    Behind a reverse proxy, set FORWARDED_ALLOW_IPS to the proxy's address (uvicorn reads it) so that rate limits see
    residents' addresses. With several processes, set PROMETHEUS_MULTIPROC_DIR so that /metrics sums them all.
    """
    import uvicorn

    _require_urls(load_settings())
    if metrics_dir := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus_client's multiprocess files must not outlive the processes that wrote them.
        shutil.rmtree(metrics_dir, ignore_errors=True)
        Path(metrics_dir).mkdir(parents=True)
    uvicorn.run(
        "suggestions.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # No access log: it would hold residents' addresses and tracking codes; /metrics counts requests instead.
        access_log=False,
    )


@main.command()
@click.option("--check", is_flag=True, help="exit 0 if a worker reported healthy recently (for health checks)")
def worker(check: bool) -> None:
    """Run a classification worker (any number may run side by side)."""
    from suggestions.classify.worker import run_worker
    from suggestions.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    _require_urls(settings)
    if check:
        from arq.worker import async_check_health

        from suggestions.queue import redis_settings

        sys.exit(_run(async_check_health(redis_settings(settings.redis_url), queue_name=settings.queue_name)))
    run_worker(settings)


@main.group()
def token() -> None:
    """API tokens."""


def _token_label(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A label staff read in `token list`: a line of printable text, not a page."""
    from suggestions.auth import label_problem

    if (problem := label_problem(value)) is not None:
        raise click.BadParameter(problem)
    return value


@token.command("create")
@click.option("--role", required=True, type=click.Choice(["operator", "grid", "staff", "admin", "monitor"]))
@click.option("--label", default="", callback=_token_label, help="who or what the token is for")
def token_create(role: str, label: str) -> None:
    """Create a token and print it (it is shown only this once)."""
    from suggestions.auth import create_token

    settings = _database_settings()

    click.echo(_with_connection(settings, lambda conn: create_token(conn, role=role, label=label)))  # type: ignore[arg-type]


@token.command("list")
@click.option("--revoked", is_flag=True, help="the revoked tokens too")
def token_list(revoked: bool) -> None:
    """The tokens in use, one JSON line each: id, role, label, created_at, revoked_at, last_used_on (never the token
    itself)."""
    from suggestions.auth import list_tokens

    settings = _database_settings()
    for info in _with_connection(settings, lambda conn: list_tokens(conn, revoked=revoked)):
        click.echo(msgspec.json.encode(info).decode())


@token.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1, max=2**63 - 1))
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id (`token list`): it stops working in every API process at once."""
    from suggestions.auth import revoke_token

    settings = _database_settings()
    if not _with_connection(settings, lambda conn: revoke_token(conn, token_id)):
        raise click.ClickException(f"no token in use has id {token_id}")
    click.echo(f"revoked token {token_id}")


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_items(path: Path) -> None:
    """Import items from a JSONL file: one POST body a line; idempotent by external_id."""
    from suggestions.importer import import_jsonl

    settings = load_settings()
    _require_urls(settings)

    def bad_line(line_number: int, field: str, message: str) -> None:
        click.echo(f"line {line_number}: {field or 'line'}: {message}", err=True)

    report = _run(import_jsonl(settings, path, on_bad=bad_line))
    click.echo(f"created {report.created}, already present {report.present}, bad {len(report.bad)}")
    if report.stopped_before is not None:
        click.echo(_stopped(report, path), err=True)
    if report.bad or report.stopped_before is not None:
        sys.exit(1)


@main.command()
def reclassify() -> None:
    """Re-classify items classified by another model version with the serving model (staff corrections stay)."""
    from suggestions.classify.backlog import reclassify as run
    from suggestions.classify.worker import load_serving_model
    from suggestions.db import create_pool

    settings = _database_settings()
    model = load_serving_model(settings)

    async def go() -> int:
        pool = await create_pool(settings.database_url, size=2)
        try:
            return await run(pool, model)
        finally:
            await pool.close()

    click.echo(f"re-classified {_run(go())} item(s) with model {model.version}")


def _stopped(report: ImportReport, path: Path) -> str:
    """How to go on after Ctrl-C, or after PostgreSQL went away: running the file again passes over what it stored
    only by external_id."""
    line = report.stopped_before
    assert line is not None  # what is said of an import that stopped
    doubt = report.in_doubt
    stopped = f"stopped before line {line}"
    if report.found_stored:
        stopped += f": PostgreSQL went away ({report.outage}) as line {line - 1} was stored (looked up, it is stored)"
    elif doubt is not None:
        stopped += (
            f": PostgreSQL went away ({report.outage}) while line {line} was being stored, and whether it was cannot "
            f"be told now: it was if an item has tracking code {doubt.tracking_code} (staff's search box finds it)"
        )
    elif report.outage is not None:
        stopped += f": PostgreSQL went away ({report.outage}) while line {line} was being stored, which was not stored"
    if report.first_unkeyed is None and (doubt is None or doubt.keyed):
        advice = (
            "run the same import again to go on (lines with an external_id already stored count as already present)"
        )
    else:
        if report.first_unkeyed is not None:
            why = f"line {report.first_unkeyed} and others stored have no external_id, and the same import again would "
            why += "store them twice"
        else:
            why = f"line {line} has no external_id, and the same import again would store it twice if it was stored"
        also = f", or from line {line + 1} if it is found" if doubt is not None and not doubt.keyed else ""
        advice = (
            f"{why}; go on with the lines from {line} only{also} "
            f"(tail -n +{line} {shlex.quote(str(path))} > rest.jsonl; their numbers then start at 1)"
        )
    return f"{stopped}{'; ' if report.outage else ': '}{advice}"


@main.command()
@click.argument("what", type=click.Choice(["corrections", "classifications", "case-edits", "hotspots"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export(what: str, out: Path) -> None:
    """Export staff corrections (CSV, for retraining), classifications (JSONL without text, for drift reports),
    staff corrections of the grouping (JSONL of ids, for measuring and retraining it) or every hotspot raised and
    how it ended, dismissals included (JSONL without text, for counting false hotspots)."""
    from suggestions.classify.backlog import export_classifications, export_corrections
    from suggestions.hotspots.editing import export_case_edits, export_hotspots

    settings = _database_settings()
    writers: dict[str, Callable[[Any, Path], Awaitable[int]]] = {
        "corrections": export_corrections,
        "classifications": partial(export_classifications, zone=ZoneInfo(settings.timezone)),
        "case-edits": export_case_edits,
        "hotspots": export_hotspots,
    }
    write = writers[what]

    click.echo(f"wrote {_with_connection(settings, lambda conn: write(conn, out))} {what} to {out}")


@main.command("grouping-report")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="reports received since")
def grouping_report(days: int) -> None:
    """How staff corrected the machine's grouping: its joins, the share staff undid (and their scores), the merges.
    Prints one JSON line."""
    from suggestions.hotspots.editing import grouping_report as report

    settings = _database_settings()
    click.echo(msgspec.json.encode(_with_connection(settings, lambda conn: report(conn, days=days))).decode())


@main.command()
@click.option(
    "--closed-days",
    type=click.IntRange(min=0, max=MAX_RETENTION_DAYS),
    default=None,
    help="anonymise items closed more than N days ago  [default: SUGGESTIONS_RETENTION_DAYS, else 365]",
)
@click.option("--dry-run", is_flag=True, help="count what would be anonymised; change nothing")
def retention(closed_days: int | None, dry_run: bool) -> None:
    """Anonymise the personal data of items closed long ago; statistics stay. Prints counts as one JSON line."""
    from suggestions.retention import anonymise_closed

    settings = _database_settings()
    days = settings.retention_days if closed_days is None else closed_days
    report = _with_connection(settings, lambda conn: anonymise_closed(conn, closed_days=days, dry_run=dry_run))
    click.echo(msgspec.json.encode(report).decode())


@main.command()
@click.option("--dry-run", is_flag=True, help="count what would be masked again; change nothing")
def remask(dry_run: bool) -> None:
    """Mask stored texts again after the masking has learnt new forms of phones or names. Prints counts as one JSON
    line."""
    from suggestions.privacy import public_phones
    from suggestions.remask import remask as remask_all

    settings = _database_settings()
    keep = public_phones(settings.public_phones, area_code=settings.area_code)  # checked when the settings were read
    report = _with_connection(settings, lambda conn: remask_all(conn, dry_run=dry_run, keep=keep))
    click.echo(msgspec.json.encode(report).decode())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Everything in one process tree: API and worker, with embedded PostgreSQL and Redis unless URLs are set."""
    from suggestions.embedded import EmbeddedServers

    settings = load_settings()
    _check_free(host, port)
    _stop_on_hangup()
    data_dir = Path(settings.data_dir).resolve()
    servers = EmbeddedServers()
    env = dict(os.environ)
    # A person reads these logs at a terminal: plain lines unless asked otherwise.
    env.setdefault("SUGGESTIONS_LOG_FORMAT", "text")
    try:
        if not settings.database_url:
            env["DATABASE_URL"] = servers.postgres_url(data_dir)
            click.echo(f"PostgreSQL: embedded, data in {data_dir / 'postgres'}")
        if not settings.redis_url:
            env["REDIS_URL"] = servers.redis_url(data_dir)
            click.echo(f"Redis: embedded, data in {data_dir / 'redis'}")
        settings = load_settings(env)
        _prepare(settings)
        staff_token = _dev_token(settings)
        children = {
            "API": subprocess.Popen(
                [sys.executable, "-m", "suggestions", "serve", "--host", host, "--port", str(port)], env=env
            ),
            "worker": subprocess.Popen([sys.executable, "-m", "suggestions", "worker"], env=env),
        }
        base = f"http://{host}:{port}"
        click.echo(
            f"\n  resident page   {base}/"
            f"\n  staff pages     {base}/staff (sign in with the staff token)"
            f"\n  API docs        {base}/api/docs"
            f"\n  triage feed     {base}/api/v1/triage"
            f"\n  staff token     {staff_token}"
            f"\n\n  try: curl -H 'Authorization: Bearer {staff_token}' {base}/api/v1/triage"
            "\n  Ctrl-C stops everything.\n"
        )
        _wait(children)
    finally:
        servers.close()


def _prepare(settings: Settings) -> None:
    from ml.serving import ensure_default_model
    from suggestions.migrate import migrate as apply

    applied = _with_connection(settings, apply)
    click.echo(f"migrations: {len(applied)} applied")
    started = time.perf_counter()
    model_dir = ensure_default_model()
    click.echo(f"model: {model_dir} ({time.perf_counter() - started:.1f} s)")


def _dev_token(settings: Settings) -> str:
    from suggestions.auth import create_token

    return _with_connection(settings, lambda conn: create_token(conn, role="staff", label="dev"))


def _stop_on_hangup() -> None:
    """SIGTERM, and SIGHUP (the terminal closed), stop `dev` as Ctrl-C does, at any step: the embedded servers run in
    sessions of their own, and would otherwise be left running when `dev` ends."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, interrupt)


def _check_free(host: str, port: int) -> None:
    """Refuse a port already in use before starting anything, rather than print its address as the service's."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            # as the server will: a port left in TIME_WAIT by an earlier run is free
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror}): stop what uses it, or choose another with --port"
        ) from None


def _wait(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """Until Ctrl-C, or until a child stops on its own: then stop the others, and fail naming it."""
    ended = None
    try:
        while ended is None:
            time.sleep(0.5)
            ended = next((name for name, child in children.items() if child.poll() is not None), None)
    except KeyboardInterrupt:
        pass
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    if ended is not None:
        raise click.ClickException(
            f"the {ended} stopped (exit status {children[ended].returncode}); its last lines above say why"
        )


if __name__ == "__main__":
    main()
