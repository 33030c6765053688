"""The PostgreSQL pool and the per-request connection."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg
import msgspec

from suggestions.files import written_whole

log = logging.getLogger(__name__)


CONNECT_TIMEOUT_SECONDS = 5
# How long a statement of a request that is not staff's work may wait for its answer: a resident's item, a call an
# operator enters, a tracking code looked up, a token checked take milliseconds on a server that answers. A server
# that has gone silent (its host lost without closing anything) is so found out in seconds, not in the half minute
# a staff report may take on a busy server (COMMAND_TIMEOUT_SECONDS).
QUICK_STATEMENT_SECONDS = 5
COMMAND_TIMEOUT_SECONDS = 30
# How long a statement of staff's work (`connection(pool, watched=True)`) waits for its answer before PostgreSQL is
# asked, on a connection of its own, whether its session is still at work on it, and again after each such while: a
# report or a step waiting for a lock goes on, for up to COMMAND_TIMEOUT_SECONDS, and one whose answer was lost on a
# connection gone silent, or whose server is gone, ends then rather than after the half minute.
WATCH_SECONDS = 5
# The session (its process number $1, begun at $2) runs a statement, or waits for a lock to run it; not idle after one
# (its answer sent, and lost), nor blocked sending it (ClientWrite: the connection carries nothing).
AT_WORK = """
SELECT state = 'active' AND wait_event IS DISTINCT FROM 'ClientWrite' FROM pg_stat_activity
WHERE pid = $1 AND (backend_start = $2 OR $2::timestamptz IS NULL)
"""

# A statement that ended so leaves its connection in doubt (waiting for an answer, or cut off; or its task cancelled,
# a request given up on, a probe's deadline), or tied to the wrong server: it is closed, not kept.
LOST = (
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InternalClientError,
    asyncio.CancelledError,
    # A server that takes no writes (a primary demoted in a failover, one made read-only): a new connection may reach
    # the one that does now (a URL naming both hosts with target_session_attrs=read-write, a proxy that moved), and this
    # one, kept, would refuse every write for as long as requests keep it busy.
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)


# How a statement ends when it may have done its work all the same: its answer did not come in time, or its connection
# was lost after it was sent (08007 is the server saying so). For a commit, its transaction may have committed.
IN_DOUBT = (
    TimeoutError,
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.TransactionResolutionUnknownError,
)
# The note a commit that ended so (IN_DOUBT) leaves on its exception: a request answered with it may not say "nothing
# was saved" (`commit_unanswered`).
COMMIT_UNANSWERED = "the commit was sent and its answer never came: it may have committed"


def commit_unanswered(exc: BaseException) -> bool:
    """Whether `exc` ended a commit that may have committed all the same (08007 is the server saying so of any)."""
    return isinstance(exc, asyncpg.exceptions.TransactionResolutionUnknownError) or COMMIT_UNANSWERED in getattr(
        exc, "__notes__", ()
    )


def commit_settled(exc: BaseException) -> BaseException:
    """`exc`, once it is known that the commit it ended did not commit (its session ended, and nothing of it found)."""
    notes: list[str] = getattr(exc, "__notes__", [])
    while COMMIT_UNANSWERED in notes:
        notes.remove(COMMIT_UNANSWERED)
    return exc


# A migration applied while the service runs (a rolling deploy) changed what a statement prepared before it returns.
# asyncpg then forgets the pool's prepared statements and prepares the statement again, but only outside a
# transaction: inside one, the server has already aborted it.
SCHEMA_CHANGED = (asyncpg.exceptions.InvalidCachedStatementError, asyncpg.exceptions.OutdatedSchemaCacheError)

P = ParamSpec("P")
T = TypeVar("T")


def rerun_after_schema_change(
    work: Callable[Concatenate[Any, P], Awaitable[T]],
) -> Callable[Concatenate[Any, P], Awaitable[T]]:
    """`work(conn, ...)`, whose transaction a migration broke (SCHEMA_CHANGED), run once more: its transaction rolled
    back, and its statements are prepared anew. Within a caller's transaction it is the caller's to run again."""

    @functools.wraps(work)
    async def run(conn: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await work(conn, *args, **kwargs)
        except SCHEMA_CHANGED as exc:
            if conn.is_in_transaction():
                raise
            log.info(
                "the schema changed under a prepared statement (%s): running %s again",
                type(exc).__name__,
                work.__name__,
            )
        return await work(conn, *args, **kwargs)

    return run


class Session(msgspec.Struct, frozen=True):
    """The server's session behind a connection: its process number and when it began, which together name it on its
    server alone (a number is given again once the session is gone, and another server after a failover has its
    own)."""

    pid: int
    started: datetime | None  # None: a connection opened outside the pool, whose start was not asked


SESSION_STARTED = "SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"


def session(conn: Any) -> Session:
    return Session(pid=conn.get_server_pid(), started=getattr(conn, "session_started", None))


# How long a sender waits, after a commit whose answer never came, for the service to find out whether it was done:
# longer, and a server that is gone keeps every sender waiting twice the statement time.
IN_DOUBT_SECONDS = 3.0
# How long, of that, the session that sent the commit is waited for to go once ended (`end_session`).
IN_DOUBT_WAIT_MS = int(IN_DOUBT_SECONDS * 1000 / 2)

# After a commit whose answer never came: the session that sent it (its number $1, begun at $2, as `Session` names it)
# is ended, waiting up to $3 ms for it to go, so that its transaction has committed or never will.
END_SESSION = """
SELECT pg_terminate_backend(pid, $3) FROM pg_stat_activity
WHERE pid = $1 AND (backend_start = $2 OR $2::timestamptz IS NULL)
"""
SESSION_GONE = """
SELECT NOT EXISTS (
    SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND (backend_start = $2 OR $2::timestamptz IS NULL)
)
"""


async def end_session(conn: Any, in_doubt: Session, *, wait_ms: int) -> bool:
    """`in_doubt` (whose commit went unanswered) ended, waiting up to `wait_ms` for it to go; whether it is gone."""
    await conn.fetch(END_SESSION, in_doubt.pid, in_doubt.started, wait_ms)
    return bool(await conn.fetchval(SESSION_GONE, in_doubt.pid, in_doubt.started))


async def look_after_unanswered_commit(
    conn: Any, database_url: str, look: Callable[[Any], Awaitable[T]], *, what: str
) -> T:
    """`look(fresh)` on a connection of the service's own, after a commit on `conn` went unanswered: `conn` is
    terminated first (the pool would reset it, waiting on a server gone silent; refused when it closed and went back
    to the pool already). OutcomeUnknown, logged as whether `what` cannot be told, when anything stops the look within
    IN_DOUBT_SECONDS (PostgreSQL is away, or the session outlived its ending)."""
    from suggestions.errors import OutcomeUnknown  # errors imports this module

    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()
    try:
        async with asyncio.timeout(IN_DOUBT_SECONDS):
            fresh = await asyncpg.connect(database_url, server_settings={"application_name": "suggestions"})
            try:
                return await look(fresh)
            finally:
                fresh.terminate()
    except Exception as exc:  # whatever stops the look, the sender hears that it may have been done
        log.warning("whether %s cannot be told (%s)", what, type(exc).__name__)
        raise OutcomeUnknown from None


class Connection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg ships no types
    """A connection whose statements, transactions' BEGIN and COMMIT included, wait `statement_seconds` for their
    answer while set (`connection(pool, statement_seconds=...)`), else the pool's command timeout. A statement given
    a timeout of its own keeps it. The methods keep asyncpg's signatures, `timeout` arguments included."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.statement_seconds: float | None = None
        self.session_started: datetime | None = None  # set by the pool (`_init_pooled`)
        self.unanswered = False  # a statement's answer did not come in time: the connection is not to be trusted
        self.dsn: str | None = None  # set by the pool (`_init_pooled`): where `watched` asks after the session
        self.watched = False  # set by `connection(pool, watched=True)`

    def set_statement_seconds(self, seconds: float | None) -> None:
        self.statement_seconds = seconds

    def set_watched(self, watched: bool) -> None:
        self.watched = watched

    def _timeout(self, timeout: float | None) -> float | None:
        return self.statement_seconds if timeout is None else timeout

    async def _answered(self, statement: Awaitable[T]) -> T:
        try:
            if self.watched and self.dsn is not None and self.statement_seconds is None:
                return await self._watching(statement)
            return await statement
        except TimeoutError:
            self.unanswered = True
            raise

    async def _watching(self, statement: Awaitable[T]) -> T:
        """The statement's answer, or TimeoutError as soon as its session is found no longer at work on it (its answer
        lost on a connection gone silent, its server gone) rather than once the command timeout has passed."""
        task = asyncio.ensure_future(statement)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=WATCH_SECONDS)
                if done:
                    return task.result()
                if not await self._at_work():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    raise TimeoutError
        except asyncio.CancelledError:
            task.cancel()
            raise

    async def _at_work(self) -> bool:
        """Whether PostgreSQL, asked on a connection of its own, says that this connection's session is working on a
        statement (running, or waiting for a lock). A server that cannot be reached within WATCH_SECONDS is gone; one
        that answers and refuses (too many connections) cannot tell, and the statement goes on waiting."""
        assert self.dsn is not None
        try:
            async with asyncio.timeout(WATCH_SECONDS):
                side = await asyncpg.connect(self.dsn, server_settings={"application_name": "suggestions"})
                try:
                    return bool(await side.fetchval(AT_WORK, self.get_server_pid(), self.session_started))
                finally:
                    side.terminate()
        except (TimeoutError, OSError):
            return False
        except Exception as exc:
            log.warning("whether a statement is still at work cannot be told (%s)", type(exc).__name__)
            return True

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        said = query.strip().rstrip(";").upper()
        if said == "ROLLBACK" and self.unanswered:
            # The transaction of a statement left unanswered: on a server gone silent its ROLLBACK would wait as long
            # again before the request could answer. Closed, the connection ends its session, and so the transaction.
            self.terminate()
            return "ROLLBACK"
        try:
            return await self._answered(super().execute(query, *args, timeout=self._timeout(timeout)))
        except IN_DOUBT as exc:
            # A transaction's commit (asyncpg's own, `COMMIT;`): what a request that ends with it answers must say that
            # it may have been done.
            if said == "COMMIT" and not commit_unanswered(exc):
                exc.add_note(COMMIT_UNANSWERED)
            raise

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._answered(super().executemany(command, args, timeout=self._timeout(timeout)))

    async def fetch(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> Any:  # noqa: ASYNC109
        statement = super().fetch(query, *args, timeout=self._timeout(timeout), record_class=record_class)
        return await self._answered(statement)

    async def fetchval(self, query: str, *args: Any, column: int = 0, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        return await self._answered(super().fetchval(query, *args, column=column, timeout=self._timeout(timeout)))

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> Any:  # noqa: ASYNC109
        statement = super().fetchrow(query, *args, timeout=self._timeout(timeout), record_class=record_class)
        return await self._answered(statement)


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb in and out as plain Python values, encoded by msgspec: for the pool, and for every connection opened on
    its own (the command line, benchmarks)."""
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=lambda v: msgspec.json.encode(v).decode(), decoder=msgspec.json.decode
    )


async def _init_pooled(conn: Any, *, dsn: str) -> None:
    await init_connection(conn)
    if isinstance(conn, Connection):
        conn.session_started = await conn.fetchval(SESSION_STARTED)
        conn.dsn = dsn


async def create_pool(dsn: str, *, size: int = 10, lazy: bool = False) -> asyncpg.Pool:
    """A pool that opens its first connection now, or, when `lazy`, at its first use: a process that must start while
    PostgreSQL is away (its host rebooting, a failover) connects once it answers."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=0 if lazy else 1,
        max_size=size,
        init=functools.partial(_init_pooled, dsn=dsn),
        connection_class=Connection,
        command_timeout=COMMAND_TIMEOUT_SECONDS,
        # Connecting takes milliseconds; a server that has not answered in this long is gone (its host lost, a
        # failover under way), and a request waiting on it gets its 503 now rather than after asyncpg's minute.
        timeout=CONNECT_TIMEOUT_SECONDS,
        # Statements are small and few; keep a bounded cache per connection.
        statement_cache_size=256,
        # Times written by the server itself (inside JSON built in SQL) in UTC, as asyncpg returns the others.
        server_settings={"application_name": "suggestions", "timezone": "UTC"},
    )
    return pool


@asynccontextmanager
async def connection(
    pool: asyncpg.Pool, *, statement_seconds: float | None = None, watched: bool = False
) -> AsyncIterator[Any]:
    """A connection from the pool, returned by `release` afterwards: what `pool.acquire()` gives, for the API's
    requests and the worker's jobs alike, its statements waiting `statement_seconds` for an answer (else the pool's
    command timeout). A connection whose statement timed out, was lost or was cancelled is closed instead: the pool
    would reset it first, a round trip that waits as long as the statement did on a server that is gone (a host
    vanished, a failover), before the request could answer. `watched`: statements without `statement_seconds` (staff's)
    are watched (`Connection._watching`, WATCH_SECONDS)."""
    conn = await pool.acquire()
    # The pool's proxy passes methods on, not attributes set.
    if watched and hasattr(conn, "set_watched"):
        conn.set_watched(True)
    # A pool of plain asyncpg connections (a test's, a tool's) keeps its command timeout.
    timed = statement_seconds is not None and hasattr(conn, "set_statement_seconds")
    if timed:
        conn.set_statement_seconds(statement_seconds)
    try:
        yield conn
    except LOST:
        # Refused when the connection closed first and the pool took it back then: there is nothing left to close.
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()
        raise
    finally:
        if watched and hasattr(conn, "set_watched"):
            # Refused by a connection closed above, which the pool took back then.
            with contextlib.suppress(asyncpg.InterfaceError, AttributeError):
                conn.set_watched(False)
        if timed:
            # Refused by a connection closed above, which the pool took back then.
            with contextlib.suppress(asyncpg.InterfaceError, AttributeError):
                conn.set_statement_seconds(None)
        await release(pool, conn)


async def release(pool: asyncpg.Pool, conn: Any) -> None:
    """Return a connection to the pool. The connection may be lost on its way back: the pool resets it there with a
    round trip to the server, which fails when the server drops the connection meanwhile (the pool then terminates it
    and raises that failure), and when the server drops it while it is being returned, asyncpg's pool frees its slot
    from the connection's close callback first and then refuses the release itself (InternalClientError: release()
    called on a free connection holder). The pool has the slot back either way, and the request's or job's own
    outcome (a 503 for the outage that dropped it, or what it had committed: a 201 for an item stored) must not turn
    into a 500, a 503 saying nothing was saved, or a failed job for that."""
    try:
        await pool.release(conn)
    except Exception as exc:
        log.warning("connection lost while it went back to the pool (%s)", type(exc).__name__)


async def write_jsonl(conn: Any, path: Path, query: str, record: Callable[[Any], msgspec.Struct]) -> int:
    """Each row of `query`, read by a cursor within one transaction, as one JSON line of `record(row)` in `path`.
    Returns how many lines were written. The file appears only once every line is in it."""
    count = 0
    encoder = msgspec.json.Encoder()
    with written_whole(path) as out:
        async with conn.transaction():
            async for row in conn.cursor(query):
                out.write(encoder.encode(record(row)) + b"\n")
                count += 1
    return count
