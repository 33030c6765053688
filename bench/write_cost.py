"""What PostgreSQL writes for each accepted item, end to end: WAL bytes, commits and fsyncs, rows per table.

    .venv/bin/python -m bench.write_cost [--items 400] [--rate 20]

One API process (rate limits on, set far above what the run sends, so that each request is counted as it would be)
and one worker, against a fresh database and Redis database 12 (a queue of its own). Items arrive at a steady rate, as
the soak sends them: residents on the web channel (one in three with a phone, one in two with an Idempotency-Key),
hotline calls with an operator token, a 12345 work-order number and a key, and grid reports with a grid token, the
time they were written down, a position and a key. One accepted item in ten is sent again with its key and body (a
retry, answered 200). Once every item is classified and the counters have settled, it prints one JSON object: per
accepted item, the WAL written (bytes, records, full-page images), the commits (`pg_stat_database.xact_commit`, and
those that wrote WAL), the WAL fsyncs (a synchronous commit waits for one), and the rows inserted, updated (HOT or
not) and deleted in each table; where the WAL went, by table and index; and with pg_stat_statements loaded, the
statements that wrote the most.

`pg_stat_wal` and the WAL position are the cluster's: on a PostgreSQL others use at the same time they count their
writes too. Run it against a PostgreSQL of its own (`BENCH_DATABASE_URL`); `wal_by_relation` and `wal_commits`
are read from the WAL itself (pg_walinspect) and count this database's records only, wherever it runs. Everything is
measured from a checkpoint taken once the service is warm, so each run pays the same full-page images.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench._servers import REDIS_URL, ROOT, free_port, fresh_database
from bench._texts import seed_corpus_texts

# Far above what a run sends from its one address: every limit is counted, none refuses.
GENEROUS = "1000000/minute"
LIMITS = ("PUBLIC", "PUBLIC_ADDRESS", "TOKEN", "ADDRESS", "CALLER")
# Backends report their counters at most once a second, and an idle one within ten (PostgreSQL 15's pgstat).
STATS_SETTLE_SECONDS = 11
BLOCK_REF = re.compile(r"rel \d+/(\d+)/(\d+)")


def service_env(database_url: str, queue_name: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SUGGESTIONS_LOG_LEVEL": "WARNING",
        "SUGGESTIONS_QUEUE_NAME": queue_name,
        **{f"SUGGESTIONS_RATE_LIMIT_{name}": GENEROUS for name in LIMITS},
    }


def start_api(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "suggestions", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the API did not become ready")


class Sender:
    """The requests of a run: item n's body, headers, and whether it is sent again."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.texts = seed_corpus_texts()
        self.tokens = tokens
        self.run = secrets.token_hex(4)
        self.written_at = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()

    def request(self, n: int) -> tuple[dict[str, Any], dict[str, str]]:
        text = self.texts[(n * 37) % len(self.texts)]
        share = n % 20
        headers: dict[str, str] = {}
        if share < 12:
            body: dict[str, Any] = {"channel": "web", "text": text}
            if n % 3 == 0:
                body["contact_phone"] = f"139{(n * 7919) % 500:08d}"
            if n % 2 == 0:
                headers["Idempotency-Key"] = f"{self.run}-{n}"
        elif share < 17:
            body = {
                "channel": "hotline",
                "text": text,
                "external_id": f"WO-{self.run}-{n}",
                "contact_phone": f"138{(n * 104729) % 800:08d}",
            }
            headers = {"Authorization": f"Bearer {self.tokens['operator']}", "Idempotency-Key": f"{self.run}-{n}"}
        else:
            body = {
                "channel": "grid",
                "text": text,
                "received_at": self.written_at,
                "lat": 40.22 + (n % 50) / 1000,
                "lon": 116.23 + (n % 40) / 1000,
            }
            headers = {"Authorization": f"Bearer {self.tokens['grid']}", "Idempotency-Key": f"{self.run}-{n}"}
        return body, headers

    @staticmethod
    def sent_again(n: int) -> bool:
        return n % 10 == 5


async def post_items(base: str, sender: Sender, first: int, count: int, rate: float) -> tuple[Counter[int], int]:
    """Post items first … first+count-1 at `rate` a second, each retry right after its answer; the statuses seen and
    the requests sent."""
    statuses: Counter[int] = Counter()
    requests = 0

    async def post(client: httpx.AsyncClient, n: int) -> None:
        nonlocal requests
        body, headers = sender.request(n)
        for _ in range(2 if sender.sent_again(n) else 1):
            requests += 1
            try:
                response = await client.post("/api/v1/items", json=body, headers=headers)
            except httpx.HTTPError:
                statuses[0] += 1
                return
            statuses[response.status_code] += 1

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.monotonic()
        tasks = []
        for n in range(first, first + count):
            if (wait := started + (n - first) / rate - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(post(client, n)))
        await asyncio.gather(*tasks)
    return statuses, requests


async def until_classified(conn: asyncpg.Connection, *, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while await conn.fetchval("SELECT count(*) FROM items WHERE status = 'pending'"):
        if time.monotonic() > deadline:
            raise RuntimeError("items still pending")
        await asyncio.sleep(0.5)


TABLE_COUNTS = """
SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables
"""
WAL_STATS = "SELECT wal_records, wal_fpi, wal_bytes::bigint, wal_write, wal_sync, wal_sync_time FROM pg_stat_wal"
COMMITS = "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()"
# Each relation file of this database: the table a WAL record changed, an index of it, or its TOAST table, by name.
RELATIONS = """
SELECT c.relfilenode, c.relname,
       coalesce(owner.relname, indexed.relname, c.relname) AS table_name
FROM pg_class c
LEFT JOIN pg_index ix ON ix.indexrelid = c.oid
LEFT JOIN pg_class indexed ON indexed.oid = ix.indrelid
LEFT JOIN pg_class owner ON owner.reltoastrelid = c.oid
    OR owner.reltoastrelid = (SELECT ix2.indrelid FROM pg_index ix2 WHERE ix2.indexrelid = c.oid)
WHERE c.relfilenode <> 0
"""
WAL_RECORDS = """
SELECT resource_manager, record_type, xid::text::bigint AS xid, record_length, fpi_length, block_ref
FROM pg_get_wal_records_info($1::text::pg_lsn, $2::text::pg_lsn)
"""
STATEMENTS = """
SELECT query, calls, rows, wal_records, wal_fpi, wal_bytes::bigint
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database() AND s.wal_bytes > 0
ORDER BY s.wal_bytes DESC
LIMIT $1
"""


async def snapshot(conn: asyncpg.Connection) -> dict[str, Any]:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return {
        "lsn": await conn.fetchval("SELECT pg_current_wal_lsn()::text"),
        "wal": dict(await conn.fetchrow(WAL_STATS)),
        "commits": dict(await conn.fetchrow(COMMITS)),
        "tables": {r["relname"]: dict(r) for r in await conn.fetch(TABLE_COUNTS)},
    }


async def wal_by_relation(conn: asyncpg.Connection, start: str, end: str) -> dict[str, Any]:
    """This database's WAL records between two positions: bytes by relation, and its commits that wrote WAL."""
    database = str(await conn.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()"))
    names = {str(r["relfilenode"]): (r["relname"], r["table_name"]) for r in await conn.fetch(RELATIONS)}
    by_relation: Counter[str] = Counter()
    by_table: Counter[str] = Counter()
    fpi_by_table: Counter[str] = Counter()
    ours: set[int] = set()
    commits: dict[int, int] = {}
    kinds: Counter[str] = Counter()
    for record in await conn.fetch(WAL_RECORDS, start, end):
        if record["resource_manager"] == "Transaction" and record["record_type"].startswith("COMMIT"):
            commits[record["xid"]] = record["record_length"]
            continue
        match = BLOCK_REF.search(record["block_ref"] or "")
        if match is None or match.group(1) != database:
            continue
        ours.add(record["xid"])
        relation, table = names.get(match.group(2), (f"file {match.group(2)}", "(catalog or dropped)"))
        by_relation[relation] += record["record_length"]
        by_table[table] += record["record_length"]
        fpi_by_table[table] += record["fpi_length"]
        kinds[f"{record['resource_manager']}/{record['record_type']}"] += record["record_length"]
    writing = [xid for xid in commits if xid in ours]
    return {
        "wal_commits": len(writing),
        "commit_record_bytes": sum(commits[xid] for xid in writing),
        "by_table": dict(by_table.most_common()),
        "full_page_images_by_table": {k: v for k, v in fpi_by_table.most_common() if v},
        "by_relation": dict(by_relation.most_common()),
        "by_record": dict(kinds.most_common(15)),
    }


def per_item(value: float, items: int) -> float:
    return round(value / items, 2)


def report(before: dict[str, Any], after: dict[str, Any], walled: dict[str, Any] | None, items: int) -> dict[str, Any]:
    wal = {key: after["wal"][key] - before["wal"][key] for key in before["wal"]}
    commits = after["commits"]["xact_commit"] - before["commits"]["xact_commit"]
    tables: dict[str, dict[str, float]] = {}
    for name, counts in after["tables"].items():
        earlier = before["tables"].get(name, {})
        moved = {
            key.removeprefix("n_tup_"): counts[key] - earlier.get(key, 0)
            for key in ("n_tup_ins", "n_tup_upd", "n_tup_hot_upd", "n_tup_del")
        }
        if any(moved.values()):
            tables[name] = {key: per_item(value, items) for key, value in moved.items()}
    result: dict[str, Any] = {
        "per_item": {
            "wal_bytes": per_item(wal["wal_bytes"], items),
            "wal_records": per_item(wal["wal_records"], items),
            "wal_fpi": per_item(wal["wal_fpi"], items),
            "commits": per_item(commits, items),
            "wal_fsyncs": per_item(wal["wal_sync"], items),
            "rows_written": per_item(sum(sum(t[k] for k in ("ins", "upd", "del")) for t in tables.values()), 1),
        },
        "tables_per_item": dict(sorted(tables.items(), key=lambda kv: -sum(kv[1].values()))),
        "totals": {
            "wal_bytes": wal["wal_bytes"],
            "lsn_diff_bytes": None,
            "commits": commits,
            "rollbacks": after["commits"]["xact_rollback"] - before["commits"]["xact_rollback"],
            "wal_fsyncs": wal["wal_sync"],
            "wal_sync_ms": round(wal["wal_sync_time"], 1),
        },
    }
    if walled is not None:
        result["per_item"]["wal_commits"] = per_item(walled["wal_commits"], items)
        result["per_item"]["database_wal_bytes"] = per_item(sum(walled["by_table"].values()), items)
        result["wal_per_item_by_table"] = {k: per_item(v, items) for k, v in walled["by_table"].items()}
        result["wal_per_item_by_relation"] = {k: per_item(v, items) for k, v in walled["by_relation"].items()}
        result["fpi_per_item_by_table"] = {
            k: per_item(v, items) for k, v in walled["full_page_images_by_table"].items()
        }
        result["wal_per_item_by_record"] = {k: per_item(v, items) for k, v in walled["by_record"].items()}
    return result


async def measure(base: str, database_url: str, tokens: dict[str, str], items: int, warm: int, rate: float) -> dict:
    conn = await asyncpg.connect(database_url)
    try:
        walinspect = await _extension(conn, "pg_walinspect")
        statements = await _extension(conn, "pg_stat_statements")
        sender = Sender(tokens)
        # Warm: the worker's model, the first cases and hotspots, the pools' connections and prepared statements.
        await post_items(base, sender, 0, warm, rate)
        await until_classified(conn)
        await asyncio.sleep(STATS_SETTLE_SECONDS)
        await conn.execute("CHECKPOINT")
        if statements:
            await conn.execute("SELECT pg_stat_statements_reset()")
        before = await snapshot(conn)
        started = time.monotonic()
        statuses, requests = await post_items(base, sender, warm, items, rate)
        posted = time.monotonic() - started
        await until_classified(conn)
        await asyncio.sleep(STATS_SETTLE_SECONDS)
        after = await snapshot(conn)
        accepted = statuses[201]
        walled = await wal_by_relation(conn, before["lsn"], after["lsn"]) if walinspect else None
        result = report(before, after, walled, accepted)
        result["totals"]["lsn_diff_bytes"] = await conn.fetchval(
            "SELECT pg_wal_lsn_diff($1::text::pg_lsn, $2::text::pg_lsn)::bigint", after["lsn"], before["lsn"]
        )
        result = {
            "items": accepted,
            "requests": requests,
            "statuses": dict(statuses),
            "rate_per_s": rate,
            "posting_s": round(posted, 1),
            "classified_once": await conn.fetchval(
                "SELECT count(*) FROM items i WHERE status = 'open' "
                "AND (SELECT count(*) FROM classifications c WHERE c.item_id = i.id) = 1"
            ),
            **result,
        }
        if statements:
            result["statements"] = [
                {
                    "query": " ".join(r["query"].split())[:160],
                    "calls_per_item": per_item(r["calls"], accepted),
                    "rows_per_item": per_item(r["rows"], accepted),
                    "wal_bytes_per_item": per_item(r["wal_bytes"], accepted),
                    "fpi_per_item": per_item(r["wal_fpi"], accepted),
                }
                for r in await conn.fetch(STATEMENTS, 25)
            ]
        return result
    finally:
        await conn.close()


async def _extension(conn: asyncpg.Connection, name: str) -> bool:
    """Whether the extension answers in this database (pg_stat_statements only when the server preloads it)."""
    try:
        await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
        if name == "pg_stat_statements":
            await conn.fetchval("SELECT count(*) FROM pg_stat_statements")
    except asyncpg.PostgresError:
        return False
    return True


async def create_tokens(database_url: str) -> dict[str, str]:
    from suggestions.auth import create_token

    conn = await asyncpg.connect(database_url)
    try:
        return {role: await create_token(conn, role=role, label="bench") for role in ("operator", "grid")}  # type: ignore[arg-type]
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=400, help="items measured, after the warm-up")
    parser.add_argument("--warm-up", type=int, default=60, help="items sent before measuring")
    parser.add_argument("--rate", type=float, default=20.0, help="items a second")
    args = parser.parse_args()
    with fresh_database() as database_url:
        tokens = asyncio.run(create_tokens(database_url))
        env = service_env(database_url, f"bench-write-cost-{secrets.token_hex(4)}")
        api, base = start_api(env)
        worker = subprocess.Popen([sys.executable, "-m", "suggestions", "worker"], env=env, cwd=ROOT)
        try:
            result = asyncio.run(measure(base, database_url, tokens, args.items, args.warm_up, args.rate))
        finally:
            for process in (worker, api):
                process.terminate()
            for process in (worker, api):
                process.wait(30)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
