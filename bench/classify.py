"""Classification throughput: end to end through a real worker process vs the bare segment+predict loop.

    .venv/bin/python bench/classify.py [--items 5000] [--batch 32]

Both run in one go on the same texts (the seed corpus, cycled and cut to ~200 characters): first the bare loop
(model.predict on batches, in this process), then a `suggestions worker` process draining jobs for items already
stored in PostgreSQL. The ratio end-to-end / bare says what the queue, the database and the bookkeeping cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from bench._servers import REDIS_URL, ROOT, fresh_database
from bench._texts import seed_texts


def bare_loop(texts: list[str], batch: int) -> tuple[float, float]:
    from ml.serving import ensure_default_model, load_model

    started = time.perf_counter()
    model = load_model(ensure_default_model())
    model.predict(texts[:batch])
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.predict(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started), load_seconds


async def store_items(database_url: str, texts: list[str]) -> list[int]:
    conn = await asyncpg.connect(database_url)
    rows = [(f"BENCH-{n:08d}", "web", text, text) for n, text in enumerate(texts)]
    await conn.copy_records_to_table("items", records=rows, columns=["tracking_code", "channel", "text", "text_masked"])
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM items ORDER BY id")]
    await conn.close()
    return ids


async def drain_through_worker(database_url: str, ids: list[int]) -> tuple[float, int]:
    from suggestions.queue import create_queue, wake_classifier

    queue_name = f"bench:{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SUGGESTIONS_QUEUE_NAME": queue_name,
        "SUGGESTIONS_LOG_LEVEL": "WARNING",
        "SUGGESTIONS_SWEEP_AFTER_SECONDS": "3600",
    }
    queue = await create_queue(REDIS_URL, queue_name)
    await queue.flushdb()
    worker = subprocess.Popen([sys.executable, "-m", "suggestions", "worker"], env=env, cwd=ROOT)
    try:
        while not await queue.exists(queue_name + ":health-check"):
            await asyncio.sleep(0.1)
        conn = await asyncpg.connect(database_url)
        started = time.perf_counter()
        for item_id in ids:
            await wake_classifier(queue, item_id)
        while await conn.fetchval("SELECT count(*) FROM items WHERE status = 'pending'") > 0:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await conn.close()
        peak_kib = int(
            next(
                line for line in Path(f"/proc/{worker.pid}/status").read_text().splitlines() if line.startswith("VmHWM")
            ).split()[1]
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        await queue.flushdb()
        await queue.aclose()
    return len(ids) / elapsed, peak_kib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    texts = seed_texts(args.items)
    bare_rate, load_seconds = bare_loop(texts, args.batch)
    with fresh_database() as url:
        ids = asyncio.run(store_items(url, texts))
        worker_rate, peak_kib = asyncio.run(drain_through_worker(url, ids))
    print(f"model load + first batch: {load_seconds:.2f} s")
    print(f"bare segment+predict loop: {bare_rate:,.0f} items/s (batches of {args.batch}, one thread)")
    print(f"end to end through one worker process: {worker_rate:,.0f} items/s ({args.items} items)")
    print(f"ratio worker / bare: {worker_rate / bare_rate:.2f}")
    print(f"worker peak resident memory: {peak_kib / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
