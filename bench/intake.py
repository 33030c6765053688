"""Intake over HTTP against the local PostgreSQL and Redis, beside pgbench's single-row insert rate.

    .venv/bin/python bench/intake.py [--items 5000] [--concurrency 32] [--seconds 10]

Prints items/s and p50/p99 latency of POST /api/v1/items (one API process, uvicorn), and the ratio to the rate at
which pgbench, with the same number of clients, inserts single rows into a table of the same database. The ratio is
what to compare between runs: the machine is shared and absolute numbers move.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

import httpx

from bench._servers import api_server, fresh_database, percentile

TEXTS = [
    "小区东门的路灯坏了快一个月了，晚上出门很不方便，希望尽快修好。",
    "来电人反映：楼上住户每天夜里十一点以后还在装修，电钻声音很大，多次沟通无果。",
    "网格员巡查发现：村口桥面出现裂缝，护栏松动，已设置警示标志，请相关部门尽快查看。",
    "建议在地铁站出口增设共享单车停放区，现在车辆乱停，挡住了盲道。",
]


async def post_items(base: str, items: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one_client() -> None:
            nonlocal next_index, errors
            while next_index < items:
                n = next_index
                next_index += 1
                body = {"channel": "web", "text": f"{TEXTS[n % len(TEXTS)]}（{n}）", "place": "回龙观街道"}
                started = time.perf_counter()
                response = await client.post("/api/v1/items", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return items / elapsed, latencies, errors


def pgbench_inserts(database_url: str, clients: int, seconds: int) -> float:
    parts = urlsplit(database_url)
    database = parts.path.lstrip("/")
    host, port = parts.hostname or "127.0.0.1", str(parts.port or 5432)
    user = parts.username or "postgres"
    psql = ["psql", "-h", host, "-p", port, "-U", user, "-d", database, "-qc"]
    subprocess.run([*psql, "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, body text NOT NULL)"], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write("INSERT INTO bench_rows (body) VALUES (repeat('字', 40));\n")
        script.flush()
        result = subprocess.run(
            [
                "pgbench",
                "-h",
                host,
                "-p",
                port,
                "-U",
                user,
                "-n",
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-f",
                script.name,
                database,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    assert match, result.stdout
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10, help="pgbench duration")
    args = parser.parse_args()

    with fresh_database() as url, api_server(url) as base:
        asyncio.run(post_items(base, 200, args.concurrency))  # warm-up
        rate, latencies, errors = asyncio.run(post_items(base, args.items, args.concurrency))
        pg_rate = pgbench_inserts(url, args.concurrency, args.seconds)
    print(f"intake: {rate:,.0f} items/s over HTTP ({args.items} items, {args.concurrency} clients, 1 API process)")
    print(f"latency: p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms")
    print(f"errors: {errors}")
    print(f"pgbench single-row inserts: {pg_rate:,.0f} rows/s ({args.concurrency} clients)")
    print(f"ratio intake / pgbench: {rate / pg_rate:.2f}")


if __name__ == "__main__":
    main()
