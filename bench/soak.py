"""Soak: a steady rate well above a district's peak, for minutes, watching errors, backlog and memory.

    .venv/bin/python -m bench.soak [--rate 20] [--seconds 600] [--warm-up 60]

One API process and one worker against the local PostgreSQL and Redis (a fresh database). Items are posted at a
fixed rate from a client that never waits for the previous answer; one in three leaves a phone of 500 residents, so
residents report again. Every 10 s it samples the resident memory of the API and the worker and the number of items
waiting. At the end: errors, latency, items waiting at the end, the accounting (each 201 has one row, each row one
classification), and memory growth from the end of the warm-up to the end, in per cent (the goal is under 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from bench._servers import REDIS_URL, ROOT, api_server, fresh_database, percentile
from bench._texts import seed_corpus_texts


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def api_pid(port: int) -> int:
    """The process listening on the API's port (uvicorn with one process serves in the process it started as)."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(out.split("pid=", 1)[1].split(",", 1)[0])


async def soak(base: str, database_url: str, worker_pid: int, rate: float, seconds: float, warm_up: float) -> dict:
    texts = seed_corpus_texts()
    pid = api_pid(int(base.rsplit(":", 1)[1]))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    created: set[int] = set()
    samples: list[dict[str, float]] = []
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    started = time.monotonic()

    def item(n: int) -> dict[str, str]:
        """A seed text; one item in three leaves a phone of 500 residents, so residents report again."""
        body = {"channel": "web", "text": texts[n % len(texts)]}
        if n % 3 == 0:
            body["contact_phone"] = f"139{(n * 7919) % 500:08d}"
        return body

    async def post(client: httpx.AsyncClient, n: int) -> None:
        begun = time.perf_counter()
        try:
            response = await client.post("/api/v1/items", json=item(n))
        except httpx.HTTPError:
            statuses[0] = statuses.get(0, 0) + 1
            return
        latencies.append(time.perf_counter() - begun)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code == 201:
            created.add(response.json()["id"])

    async def sample() -> None:
        while True:
            waiting = await pool.fetchval("SELECT count(*) FROM items WHERE status = 'pending'")
            samples.append(
                {
                    "t": round(time.monotonic() - started, 1),
                    "api_mib": round(rss_mib(pid), 1),
                    "worker_mib": round(rss_mib(worker_pid), 1),
                    "waiting": waiting,
                }
            )
            await asyncio.sleep(10)

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        sampler = asyncio.create_task(sample())
        tasks = []
        n = 0
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * rate)
            while n < due:
                tasks.append(asyncio.create_task(post(client, n)))
                n += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
        sampler.cancel()

    drained_at = time.monotonic()
    while (
        await pool.fetchval("SELECT count(*) FROM items WHERE status = 'pending'")
        and time.monotonic() < drained_at + 120
    ):
        await asyncio.sleep(0.5)
    drain_seconds = time.monotonic() - drained_at
    rows = await pool.fetch(
        "SELECT i.id, i.status, count(c.id) AS classifications FROM items i "
        "LEFT JOIN classifications c ON c.item_id = i.id GROUP BY i.id"
    )
    await pool.close()

    warm = [s for s in samples if s["t"] >= warm_up] or samples
    first, last = warm[0], warm[-1]
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "posted": n,
        "statuses": statuses,
        "latency_ms": {
            "p50": round(1000 * percentile(latencies, 0.5), 1),
            "p99": round(1000 * percentile(latencies, 0.99), 1),
        },
        "max_waiting": max(s["waiting"] for s in samples),
        "drain_after_end_s": round(drain_seconds, 1),
        "accounting": {
            "accepted": len(created),
            "rows": len(rows),
            "rows_of_201s": len({r["id"] for r in rows} & created),
            "classified_once": sum(1 for r in rows if r["status"] == "open" and r["classifications"] == 1),
            "failed": sum(1 for r in rows if r["status"] == "failed"),
            "pending": sum(1 for r in rows if r["status"] == "pending"),
        },
        "memory_mib": {
            "api": [first["api_mib"], last["api_mib"]],
            "worker": [first["worker_mib"], last["worker_mib"]],
            "api_growth_pct": round(100 * (last["api_mib"] - first["api_mib"]) / first["api_mib"], 1),
            "worker_growth_pct": round(100 * (last["worker_mib"] - first["worker_mib"]) / first["worker_mib"], 1),
        },
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="items a second")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--warm-up", type=float, default=60.0, help="memory is compared from here to the end")
    args = parser.parse_args()
    with fresh_database() as database_url, api_server(database_url) as base:
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "SUGGESTIONS_LOG_LEVEL": "WARNING"}
        worker = subprocess.Popen(
            [sys.executable, "-m", "suggestions", "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        try:
            time.sleep(5)  # the worker loads its model
            result = asyncio.run(soak(base, database_url, worker.pid, args.rate, args.seconds, args.warm_up))
        finally:
            worker.terminate()
            worker.wait(30)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
