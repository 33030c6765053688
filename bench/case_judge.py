"""A case's own hotspots judged again (`tracker.judge_case`): what a new report of a large case costs.

    .venv/bin/python -m bench.case_judge [--sizes 2 50 200] [--probes 60] [--length 500]

A fresh database holds one case of each size, its reports the seed corpus's items padded to `--length` characters,
no two alike, no phones. Each probe judges the case once (reporters, copies, risk trend; a case of five reporters or
more updates its crowd hotspot), as the tracker does for every report that joins a case of three or more. Prints
p50/p95 in ms per size and the ratio of each p50 to the smallest case's, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import asyncpg

from bench._servers import fresh_database
from bench._texts import seed_texts
from suggestions.db import init_connection
from suggestions.hotspots.tracker import judge_case

STREET = "城北街道"
TOPIC = "城乡建设"


async def case_of(conn: Any, texts: list[str], tag: str) -> int:
    case_id: int = await conn.fetchval(
        "INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk, summary)"
        " VALUES ($1, $2, now(), now(), $3, 1, '') RETURNING id",
        STREET,
        TOPIC,
        len(texts),
    )
    await conn.executemany(
        "INSERT INTO items (tracking_code, channel, text, text_masked, status, street, topic, risk_level, case_id)"
        " VALUES ($1, 'web', $2, $2, 'open', $3, $4, 1, $5)",
        [(f"{tag}{n}", text, STREET, TOPIC, case_id) for n, text in enumerate(texts)],
    )
    return case_id


async def timed(conn: Any, case_id: int, probes: int) -> dict[str, float]:
    took = []
    for _ in range(probes):
        start = time.perf_counter()
        async with conn.transaction():
            await judge_case(conn, case_id, STREET, TOPIC)
        took.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(took, n=20)
    return {"p50": round(statistics.median(took), 2), "p95": round(cuts[18], 2)}


async def run(url: str, sizes: list[int], probes: int, length: int) -> dict[str, object]:
    conn = await asyncpg.connect(url)
    await init_connection(conn)  # jsonb as the service reads and writes it
    try:
        texts = seed_texts(max(sizes), length)
        cases = {
            size: await case_of(conn, [f"{t}{n}" for n, t in enumerate(texts[:size])], f"S{size}-") for size in sizes
        }
        judged = {size: await timed(conn, case_id, probes) for size, case_id in cases.items()}
    finally:
        await conn.close()
    smallest = judged[min(sizes)]["p50"]
    return {
        "length": length,
        "judge_ms": {str(size): figures for size, figures in judged.items()},
        "ratio_p50": {str(size): round(figures["p50"] / smallest, 1) for size, figures in judged.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 50, 200])
    parser.add_argument("--probes", type=int, default=60)
    parser.add_argument("--length", type=int, default=500)
    args = parser.parse_args()
    with fresh_database() as url:
        print(json.dumps(asyncio.run(run(url, args.sizes, args.probes, args.length)), indent=2))


if __name__ == "__main__":
    main()
