"""The arq worker: classifies items, and sweeps up whatever the queue lost.

Jobs carry an item id and nothing else. PostgreSQL says what is waiting; a job only says "look now". A job may run
twice, or after its item was classified by another worker: it then finds nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg
from arq import cron
from arq.typing import WorkerCoroutine

from suggestions import queue
from suggestions.classify import store
from suggestions.classify.serving import serving_dir
from suggestions.classify.store import Claimed, Outcome
from suggestions.db import CONNECT_TIMEOUT_SECONDS, connection, create_pool, rerun_after_schema_change, session
from suggestions.hotspots.tracker import placing_order, record_public_lines, refit_prior, review_hotspots
from suggestions.metrics import BATCH_SECONDS, CLASSIFICATION_FAILURES, ITEMS_CLASSIFIED, serve_worker_metrics
from suggestions.privacy import public_phones
from suggestions.settings import Settings, load_settings

log = logging.getLogger(__name__)

# A worker that died this many times while holding an item has probably been killed by the item itself.
CRASHES_PER_ATTEMPT = 3
SWEEP_SECONDS = 5


def load_serving_model(settings: Settings) -> Any:
    from ml.serving import load_model

    model = load_model(serving_dir(settings))
    # Load dictionaries now, not on the first item: the first resident should not wait for them.
    model.warm_up()
    return model


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.setdefault("settings", load_settings())
    if "db_pool" not in ctx:
        ctx["db_pool"] = await create_pool(settings.database_url, size=4)
        ctx["owns_pool"] = True
    await record_public_lines(ctx["db_pool"], public_phones(settings.public_phones, area_code=settings.area_code))
    # One thread: the model's CPU work leaves the event loop free for the database and Redis.
    if "executor" not in ctx:
        ctx["executor"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")
    if "model" not in ctx:
        ctx["model"] = await asyncio.get_running_loop().run_in_executor(ctx["executor"], load_serving_model, settings)
    log.info("worker ready, model %s", ctx["model"].version)


async def shutdown(ctx: dict[str, Any]) -> None:
    if (executor := ctx.pop("executor", None)) is not None:
        executor.shutdown(wait=True)
    if ctx.pop("owns_pool", False):
        await ctx.pop("db_pool").close()


def predict_outcomes(model: Any, claimed: list[Claimed]) -> list[Outcome]:
    predictions = model.predict([c.text for c in claimed])
    return [
        Outcome(
            item_id=c.id,
            topic=p.topic,
            topic_confidence=float(p.topic_confidence),
            risk_level=int(p.risk_level),
            risk_confidence=float(p.risk_confidence),
            kind=p.kind,
            terms=list(p.terms),
            needs_review=bool(p.needs_review),
            model_version=model.version,
        )
        for c, p in zip(claimed, predictions, strict=True)
    ]


async def classify_claimed(ctx: dict[str, Any], claimed: list[Claimed]) -> int:
    """Classify claimed items: those claimed for the first time in one model call, then each one a worker died holding
    on its own, so that an item that kills its worker is given up alone (`store.GIVE_UP_ON_CRASHES`) and never takes
    the items beside it with it."""
    done = await _classify_batch(ctx, [c for c in claimed if c.attempts <= 1])
    for retried in (c for c in claimed if c.attempts > 1):
        done += await _classify_batch(ctx, [retried])
    return done


async def _classify_batch(ctx: dict[str, Any], claimed: list[Claimed]) -> int:
    """Classify claimed items in one model call; if the batch fails, item by item, so one bad item fails alone."""
    if not claimed:
        return 0
    # In the order the tracker places a batch in (`tracker.placing_order`), not the order claimed (the item a job
    # asked for first): outcomes recorded one at a time (`_record`) then make the cases and hotspots the batch would.
    claimed = sorted(claimed, key=placing_order)
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        outcomes = await loop.run_in_executor(ctx["executor"], predict_outcomes, ctx["model"], claimed)
    except Exception:
        outcomes = []
        for one in claimed:
            try:
                outcomes.extend(await loop.run_in_executor(ctx["executor"], predict_outcomes, ctx["model"], [one]))
            except Exception as exc:
                await _failed(ctx, one.id, exc)
    done = await _record(ctx, outcomes)
    seconds = time.perf_counter() - started
    ITEMS_CLASSIFIED.inc(len(done))
    BATCH_SECONDS.observe(seconds)
    log.info("classified %d items in %.0f ms", len(done), seconds * 1000)
    return len(done)


# What PostgreSQL answers when it refuses what an outcome holds (class 22, a value out of range; class 23, a check
# failed): the outcome's fault, not the server's, and so the item's failure.
REFUSED = (asyncpg.exceptions.DataError, asyncpg.exceptions.IntegrityConstraintViolationError)


async def _record(ctx: dict[str, Any], outcomes: list[Outcome]) -> list[int]:
    """Record outcomes in one transaction; if the database refuses the batch, each on its own, in the order given
    (time order, `_classify_batch`), so that one it refuses (a model that gives a kind the database does not know, a
    value out of range) fails its own item only, and the items beside it are recorded now rather than retried after
    their lease, placed as the batch would have placed them."""
    try:
        async with connection(ctx["db_pool"]) as conn:
            done: list[int] = await store.record_classifications(conn, outcomes)
            return done
    except REFUSED as exc:
        if len(outcomes) == 1:
            await _failed(ctx, outcomes[0].item_id, exc)
            return []
    done = []
    for outcome in outcomes:
        done += await _record(ctx, [outcome])
    return done


async def _failed(ctx: dict[str, Any], item_id: int, exc: Exception) -> None:
    """An item whose classification raised: retried by the sweeper, then given up on (`store.RECORD_FAILURE`)."""
    CLASSIFICATION_FAILURES.inc()
    async with connection(ctx["db_pool"]) as conn:
        status = await store.record_failure(
            conn, item_id=item_id, error=type(exc).__name__, max_attempts=ctx["settings"].max_attempts
        )
    log.warning("item %s: classification raised %s (now %s)", item_id, type(exc).__name__, status)


async def classify_item(ctx: dict[str, Any], item_id: int) -> int:
    """Job: classify this item, and with it other pending items up to a batch, so a backlog drains in batches."""
    settings: Settings = ctx["settings"]
    async with connection(ctx["db_pool"]) as conn:
        claimed = await store.claim(
            conn, first=item_id, limit=settings.classify_batch_size, lease_seconds=settings.lease_seconds
        )
    return await classify_claimed(ctx, claimed)


async def sweep(ctx: dict[str, Any]) -> int:
    """Cron: classify pending items that waited too long (their wake-up was lost, or their worker died)."""
    settings: Settings = ctx["settings"]
    pool = ctx["db_pool"]
    async with connection(pool) as conn:
        given_up = await store.give_up_on_crashes(conn, crash_limit=settings.max_attempts * CRASHES_PER_ATTEMPT)
        if given_up:
            log.warning("gave up on %d items whose workers kept dying", len(given_up))
        overdue = await store.overdue(conn, older_than_seconds=settings.sweep_after_seconds, limit=1000)
    # Items never claimed (their wake-up was lost) go in batches. An item a worker died holding is claimed only when
    # its turn comes, and classified alone: one that kills its worker then counts a crash against no other item.
    fresh = [item_id for item_id, attempts in overdue if attempts == 0]
    retried = [item_id for item_id, attempts in overdue if attempts > 0]
    done = 0
    deadline = time.monotonic() + SWEEP_SECONDS - 1
    while fresh and time.monotonic() < deadline:
        batch, fresh = fresh[: settings.classify_batch_size], fresh[settings.classify_batch_size :]
        async with connection(pool) as conn:
            claimed = [
                c
                for item_id in batch
                if (c := await store.claim_one(conn, item_id=item_id, lease_seconds=settings.lease_seconds))
            ]
        done += await classify_claimed(ctx, claimed)
    for item_id in retried:
        if time.monotonic() >= deadline:
            break
        async with connection(pool) as conn:
            one = await store.claim_one(conn, item_id=item_id, lease_seconds=settings.lease_seconds)
        done += await classify_claimed(ctx, [one] if one else [])
    if done:
        log.info("sweeper classified %d overdue items", done)
    return done


async def purge_idempotency_keys(ctx: dict[str, Any]) -> None:
    """Cron: forget Idempotency-Keys older than their window."""
    await run_if_due(ctx, "purge_idempotency_keys", stopping=ctx.get("stopping"))


async def hourly(ctx: dict[str, Any]) -> None:
    """Cron: refit the burst prior to the district's counts, and end hotspots that have cooled."""
    await run_if_due(ctx, "hourly", stopping=ctx.get("stopping"))


async def retention(ctx: dict[str, Any]) -> None:
    """Cron: anonymise the personal data of items closed longer ago than the retention period."""
    await run_if_due(ctx, "retention", stopping=ctx.get("stopping"))


# Work that stops at its next safe point once this says so (SIGTERM), and what never does.
Stopped = Callable[[], bool]


async def _purge_idempotency_keys(conn: Any, settings: Settings, stopped: Stopped) -> None:
    from suggestions.intake.store import delete_expired_idempotency_keys

    deleted = await delete_expired_idempotency_keys(conn, hours=settings.idempotency_hours)
    log.info("deleted %d expired idempotency keys", deleted)


async def _refit_and_review(conn: Any, settings: Settings, stopped: Stopped) -> None:
    await refit_prior(conn)
    await review_hotspots(conn)


# How long one hour's retention run may take: a backlog (the first run on years of records, a retention period
# shortened) goes on in the next hour's, within arq's timeout for a job.
RETENTION_SECONDS = 40
# How long, after SIGTERM, a worker without Redis waits for the maintenance statement in hand (a retention batch held
# up by rows another transaction holds may wait the statement time, 30 s) before giving it up, on the server too
# (`_cancel_on_server`): compose kills a worker 30 s after SIGTERM.
STOP_SECONDS = 5


async def _anonymise_past_retention(conn: Any, settings: Settings, stopped: Stopped) -> None:
    from suggestions.retention import anonymise_closed

    # Each batch commits on its own: stopped between two, the run loses nothing.
    report = await anonymise_closed(
        conn, closed_days=settings.retention_days, until=time.monotonic() + RETENTION_SECONDS, stopped=stopped
    )
    log.info("retention anonymised %d items and %d contacts", report.items, report.contacts)


class Maintenance(NamedTuple):
    minute: int  # of every hour
    work: Callable[[Any, Settings, Stopped], Awaitable[None]]
    # Work that commits as it goes (a batch at a time, so that no row stays locked for long) runs once its claim has
    # committed; a worker that dies meanwhile leaves the rest to the next due time.
    commits_as_it_goes: bool = False


# The workers' maintenance. arq runs it (unique: one worker for each due time) while Redis answers; while it is away
# each worker's sweeping loop runs what is due (`run_due_maintenance`).
MAINTENANCE: dict[str, Maintenance] = {
    "purge_idempotency_keys": Maintenance(17, _purge_idempotency_keys),
    "hourly": Maintenance(7, _refit_and_review),
    # Personal data kept past the retention period (`suggestions retention` does the same by hand).
    "retention": Maintenance(37, _anonymise_past_retention, commits_as_it_goes=True),
}

# The job's latest due time, by the server's clock (one for every worker), claimed unless it ran for it already. A
# second worker claiming it waits for the first's transaction: it finds the job done once that commits, and runs it
# itself if that rolled back.
CLAIM_DUE = """
INSERT INTO maintenance_runs AS runs (job, due_at)
SELECT $1, date_trunc('hour', now() - make_interval(mins => $2)) + make_interval(mins => $2)
ON CONFLICT (job) DO UPDATE SET due_at = EXCLUDED.due_at, ran_at = now() WHERE runs.due_at < EXCLUDED.due_at
RETURNING due_at
"""


async def run_if_due(ctx: dict[str, Any], job: str, *, stopping: asyncio.Event | None = None) -> bool:
    """Run a maintenance job unless a worker ran it for its latest due time: once per due time between all the
    workers, whether arq started it or a worker without Redis did. Its work commits with the claim, or after it
    (`Maintenance.commits_as_it_goes`), and then stops at its next safe point once `stopping` is set."""
    stopped = stopping.is_set if stopping is not None else lambda: False
    async with connection(ctx["db_pool"]) as conn:
        due = await _claim_and_run(conn, job, ctx["settings"], stopped)
    if due is None:
        return False
    log.info("ran %s due at %s", job, due.isoformat(timespec="minutes"))
    return True


@rerun_after_schema_change
async def _claim_and_run(conn: Any, job: str, settings: Settings, stopped: Stopped) -> datetime | None:
    """The due time the job ran for, None if a worker ran it for that time already."""
    minute, work, commits_as_it_goes = MAINTENANCE[job]
    async with conn.transaction():
        due: datetime | None = await conn.fetchval(CLAIM_DUE, job, minute)
        if due is not None and not commits_as_it_goes:
            await work(conn, settings, stopped)
    if due is not None and commits_as_it_goes:
        try:
            await work(conn, settings, stopped)
        except asyncio.CancelledError:  # given up (STOP_SECONDS, arq's timeout)
            await _cancel_on_server(settings, conn)
            raise
    return due


# The statement of the session (its process number $1, begun at $2, as `db.Session` names it) cancelled: a number names
# a session on its server alone, and the connection asking may have reached another server (a URL naming two hosts, a
# proxy that moved), whose session of that number is someone else's.
CANCEL_SESSION = """
SELECT pg_cancel_backend(pid) FROM pg_stat_activity
WHERE pid = $1 AND (backend_start = $2 OR $2::timestamptz IS NULL)
"""


async def _cancel_on_server(settings: Settings, conn: Any) -> None:
    """Cancel the statement in hand on the connection, which is closed next (`db.connection`). asyncpg sends a cancel
    request of its own for a statement given up, but from a task that closing the connection drops before it has run;
    and the server, waiting for a lock the statement needs, reads nothing from its client meanwhile: the statement
    would wait on, then run and commit (work that commits as it goes commits each statement on its own) once the lock
    is let go, after the worker has stopped. A server that does not answer in CONNECT_TIMEOUT_SECONDS is not waited
    for."""
    if conn.is_closed():  # lost: its session, and the statement, ended with it
        return
    in_hand = session(conn)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            side = await asyncpg.connect(settings.database_url, server_settings={"application_name": "suggestions"})
            try:
                await side.fetch(CANCEL_SESSION, in_hand.pid, in_hand.started)
            finally:
                side.terminate()
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("a statement given up could not be cancelled on the server (%s)", type(exc).__name__)


async def run_due_maintenance(ctx: dict[str, Any], stopping: asyncio.Event) -> None:
    """What arq would have run by now, run by a worker without Redis; each job on its own, so that one failing does
    not hold back the other. None is begun once `stopping` is set."""
    for job in MAINTENANCE:
        if stopping.is_set():
            return
        try:
            await run_if_due(ctx, job, stopping=stopping)
        except Exception as exc:  # as arq takes a failed cron job: logged by class, tried again next round
            log.warning("%s without Redis failed (%s)", job, type(exc).__name__)


class JobFailed(Exception):
    """A job's failure as arq logs it: the class of the error, never its message."""


def unquoted(job: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """The job, failing with `JobFailed` named after its error. arq logs a failed job's exception with its message,
    and PostgreSQL quotes the row it refused in its own (an item's row holds the resident's text as written, phone
    numbers and all). The traceback stays: the log says where, by frames."""

    @functools.wraps(job)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await job(ctx, *args, **kwargs)
        except Exception as exc:
            raise JobFailed(type(exc).__name__).with_traceback(exc.__traceback__) from None

    return run


def worker_settings(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for arq's Worker."""
    options: dict[str, Any] = {
        "functions": [unquoted(classify_item)],
        "cron_jobs": [
            cron(
                unquoted(sweep), second=set(range(0, 60, SWEEP_SECONDS)), run_at_startup=True, unique=True, timeout=60
            ),
            cron(
                unquoted(purge_idempotency_keys),
                minute={MAINTENANCE["purge_idempotency_keys"].minute},
                second={0},
                unique=True,
            ),
            cron(unquoted(hourly), minute={MAINTENANCE["hourly"].minute}, second={0}, unique=True, run_at_startup=True),
            cron(
                unquoted(retention),
                minute={MAINTENANCE["retention"].minute},
                second={0},
                unique=True,
                run_at_startup=True,
            ),
        ],
        "queue_name": settings.queue_name,
        "redis_settings": queue.redis_settings(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "job_serializer": queue.job_serializer,
        "job_deserializer": queue.job_deserializer,
        "job_timeout": 60,
        "keep_result": 0,
        "max_jobs": 8,
        "poll_delay": 0.2,
        "health_check_interval": 10,
        # On SIGTERM finish the batch in hand (a deploy should not leave leases to expire).
        "job_completion_wait": 15,
        "ctx": {"settings": settings},
    }
    options.update(overrides)
    return options


def run_worker(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM. Losing Redis, or PostgreSQL at start-up, does not end the worker: it waits and
    connects again, keeping its model, so that restarting either server needs nobody to restart the workers."""
    import asyncpg
    from arq.worker import Worker
    from redis.exceptions import RedisError

    unreachable = (
        RedisError,
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError,  # PostgreSQL is starting up or recovering
        asyncpg.TooManyConnectionsError,
    )

    serve_worker_metrics(settings.worker_metrics_port)
    stopping = asyncio.Event()
    # Maintenance run by arq hears SIGTERM through its ctx (`run_if_due`).
    ctx: dict[str, Any] = {"settings": settings, "stopping": stopping}
    delay = 1.0
    while not stopping.is_set():
        # A client of its own each time round, whose commands time out: on a Redis gone silent the worker would wait
        # on its connection for as long as TCP takes to give up.
        redis = queue.client(settings.redis_url, settings.queue_name)
        worker = Worker(**worker_settings(settings, ctx=ctx, redis_pool=redis))
        _stop_on_signals(worker, stopping)
        try:
            worker.run()
            return
        except unreachable as exc:
            log.warning("server unreachable (%s); connecting again in %.0f s", type(exc).__name__, delay)
            # arq closes its client only after a last word with Redis, which a Redis that is away never hears.
            with contextlib.suppress(Exception):
                worker.loop.run_until_complete(redis.aclose())
        # Wait on the worker's loop, so that SIGTERM during the wait is heard; sweep meanwhile.
        worker.loop.run_until_complete(_sweep_until(stopping, ctx, delay, unreachable))
        delay = min(delay * 2, 10.0)
    worker.loop.run_until_complete(shutdown(ctx))


def _stop_on_signals(worker: Any, stopping: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stopping` at once, then go to arq, which lets the jobs in hand finish for up to
    `job_completion_wait`: maintenance stops at its next safe point (a retention run between two batches) rather than
    being cancelled once that wait is over."""

    def stop(signum: signal.Signals) -> None:
        stopping.set()
        worker.handle_sig_wait_for_completion(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # a loop without signals (Windows)
            worker.loop.add_signal_handler(signum, stop, signum)
    worker.on_stop = lambda _signal: stopping.set()


async def _sweep_until(
    stopping: asyncio.Event, ctx: dict[str, Any], seconds: float, unreachable: tuple[type[Exception], ...]
) -> None:
    """Sweep every SWEEP_SECONDS for `seconds`, or until SIGTERM. arq runs the sweeper only while Redis answers, and
    items accepted while it is away wait in PostgreSQL: a Redis that stays away must not leave them unclassified.
    Workers sweeping side by side claim each item once (`store.claim_one`). The hourly maintenance arq would run is
    run too, once per due time between the workers (`run_if_due`), beside the sweep: a retention run may take
    RETENTION_SECONDS, and the sweep goes on meanwhile (the round lasts until it ends). SIGTERM stops it at its next
    safe point, or, after STOP_SECONDS, gives up the statement in hand, on the server too (`_cancel_on_server`)."""
    deadline = time.monotonic() + seconds
    maintenance: asyncio.Task[None] | None = None
    try:
        while not stopping.is_set():
            left = deadline - time.monotonic()
            running = maintenance is not None and not maintenance.done()
            if left <= 0 and not running:
                break
            try:
                if not {"db_pool", "executor", "model"} <= ctx.keys():
                    await startup(ctx)  # the pool and the model, kept from one round to the next
            except unreachable as exc:
                log.warning("PostgreSQL unreachable (%s)", type(exc).__name__)
            else:
                try:
                    await sweep(ctx)
                except Exception as exc:  # as arq takes a failed sweep: logged by class, and the next one tries again
                    log.warning("sweep without Redis failed (%s)", type(exc).__name__)
                if maintenance is None or maintenance.done():
                    maintenance = asyncio.ensure_future(run_due_maintenance(ctx, stopping))
            if left > 0:
                await _sleep_unless(stopping, min(SWEEP_SECONDS, left))
            else:  # the round is over once the maintenance beside it is
                await _sleep_unless(stopping, SWEEP_SECONDS, maintenance)
        if maintenance is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(maintenance, STOP_SECONDS if stopping.is_set() else None)
    finally:
        if maintenance is not None and not maintenance.done():
            maintenance.cancel()


async def _sleep_unless(stopping: asyncio.Event, seconds: float, also: asyncio.Future[Any] | None = None) -> None:
    """Sleep `seconds`, or until `stopping` is set or `also` (work beside the sleep) is done."""
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({stopped} | ({also} if also is not None else set()), timeout=seconds)
    finally:
        stopped.cancel()
