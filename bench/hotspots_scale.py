"""Duplicate suggestions and hotspot updates with many items stored: the cost per item must not grow with them.

    .venv/bin/python -m bench.hotspots_scale [--items 1000000] [--probes 300]

Fills a fresh database with synthetic history (900 items a day, the default district's streets, nine topics, one
case per two items, daily counts), first the latest 10,000 items, then older history up to the full size, and
measures at both sizes:
- `POST /api/v1/cases/suggest`-equivalent (`suggest_cases`, what the endpoint runs) p50/p95 in ms;
- tracking one newly classified item (case placement, daily count, burst and case checks, in its transaction).
The ratio full / small is the number to compare: near 1 means the work per item does not grow with the store.
The fill closes cases older than 8 days, which a district's staff may leave open for longer. The lookups read open
cases by street, topic or recency and last activity (indexes of migrations 0002 and 0014), or by key, so older open
cases add little to what they read; the probes all name a street.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench._servers import fresh_database
from bench._texts import seed_corpus_texts
from suggestions.auth import create_token, hash_token
from suggestions.district import load_gazetteer
from suggestions.hotspots.similarity import signature
from suggestions.hotspots.tracker import Placed, track
from suggestions.hotspots.views import CallerLookUp, suggest_cases
from suggestions.settings import Settings

PER_DAY = 900  # about 1,000,000 items in three years
# One item in three leaves a phone, drawn from this many residents: some call again, as residents do. A tracked item
# and a suggestion carry one too, so the lookup of a resident's own cases (`follow_up`, `caller`) is measured. One
# phone in the store is on one item in thirty (a switchboard's), and one probe in ten carries it: that lookup must stay
# bounded too.
PHONES = 200_000
SHARED_PHONE = "13900000000"
TOPICS = ["城乡建设", "环境保护", "交通运输", "劳动和社会保障", "政法", "民政", "教育文体", "卫生计生", "商贸旅游"]


async def fill(url: str, count: int, streets: list[str], texts: list[str], start_id: int) -> None:
    """Append `count` items (and a case per two items) at a district's steady rate of PER_DAY items a day, going back
    in time from where the last fill stopped: the recent weeks look the same however long the history is."""
    rng = random.Random(start_id)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    signatures = [signature(t) for t in texts]
    cases = []
    for n in range(count // 2):
        s = signatures[n % len(signatures)]
        at = now - timedelta(days=(start_id + 2 * n + rng.random()) / PER_DAY)
        cases.append(
            (
                rng.choice(streets),
                None,
                rng.choice(TOPICS),
                "closed" if at < now - timedelta(days=8) else "open",
                at,
                at,
                2,
                rng.randint(0, 3),
                s.keys,
                s.weights,
                texts[n % len(texts)][:80],
            )
        )
    await conn.copy_records_to_table(
        "cases",
        records=cases,
        columns=[
            "street",
            "locality",
            "topic",
            "status",
            "opened_at",
            "last_activity",
            "size",
            "max_risk",
            "signature_keys",
            "signature_weights",
            "summary",
        ],
    )
    first_case = await conn.fetchval("SELECT min(id) FROM cases WHERE id >= $1", start_id // 2 + 1)
    first_item = await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM items")
    items = []
    for n in range(count):
        case = cases[n // 2]
        text = texts[n % len(texts)]
        items.append(
            (
                f"S{start_id + n:011d}",
                "web",
                text,
                text,
                case[0],
                case[2],
                case[7],
                case[4],
                "open",
                first_case + n // 2,
            )
        )
    await conn.copy_records_to_table(
        "items",
        records=items,
        columns=[
            "tracking_code",
            "channel",
            "text",
            "text_masked",
            "street",
            "topic",
            "risk_level",
            "received_at",
            "status",
            "case_id",
        ],
    )
    await conn.execute(
        "INSERT INTO contacts (item_id, phone) SELECT id, CASE WHEN id % 30 = 0 THEN $4 "
        "ELSE $2 || lpad(((id * 7919) % $3)::text, 8, '0') END FROM items WHERE id >= $1 AND id % 3 = 0",
        first_item,
        "139",
        PHONES,
        SHARED_PHONE,
    )
    await conn.execute("""
        INSERT INTO place_topic_days (street, topic, day, problems, reports)
        SELECT street, topic, (opened_at AT TIME ZONE 'Asia/Shanghai')::date, count(*), count(*) * 2 FROM cases
        GROUP BY 1, 2, 3
        ON CONFLICT (street, topic, day) DO UPDATE SET problems = excluded.problems, reports = excluded.reports
    """)
    # Vacuumed as well as analysed: the autovacuum a bulk load sets off would otherwise run during the measurement.
    await conn.execute("VACUUM (ANALYZE)")
    await conn.close()


def phone(rng: random.Random) -> str:
    return SHARED_PHONE if rng.random() < 0.1 else f"139{1 + rng.randrange(PHONES - 1):08d}"


async def measure(url: str, texts: list[str], streets: list[str], probes: int, gazetteer: Any) -> dict[str, float]:
    rng = random.Random(7)
    conn = await asyncpg.connect(url)
    from suggestions.db import init_connection

    await init_connection(conn)
    # The operator asking: each look-up that lists a caller's own case records a read of their contact, as it would.
    token = await create_token(conn, role="operator", label="bench")
    reader = await conn.fetchval("SELECT id FROM api_tokens WHERE token_hash = $1", hash_token(token))
    suggest_ms = []
    for _ in range(probes):
        text = f"{rng.choice(streets)}{rng.choice(texts)}"
        started = time.perf_counter()
        await suggest_cases(
            conn, gazetteer, text=text, place="", limit=5, caller=CallerLookUp(phone=phone(rng), reader=reader)
        )
        suggest_ms.append((time.perf_counter() - started) * 1000)
    track_ms: list[float] = []
    for n in range(probes):
        text = rng.choice(texts)
        street = rng.choice(streets)
        item_id = await conn.fetchval(
            "INSERT INTO items (tracking_code, channel, text, text_masked, street, status) "
            "VALUES ($1, 'web', $2, $2, $3, 'open') RETURNING id",
            f"P{len(streets)}-{id(track_ms)}-{n}",
            text,
            street,
        )
        await conn.execute("INSERT INTO contacts (item_id, phone) VALUES ($1, $2)", item_id, phone(rng))
        placed = Placed(
            id=item_id,
            text=text,
            street=street,
            locality=None,
            topic=rng.choice(TOPICS),
            risk_level=1,
            received_at=datetime.now(UTC),
            signature=signature(text, places=(street, None)),
        )
        started = time.perf_counter()
        async with conn.transaction():
            await track(conn, [placed])
        track_ms.append((time.perf_counter() - started) * 1000)
    await conn.close()

    def p(values: list[float], q: float) -> float:
        return sorted(values)[int(q * (len(values) - 1))]

    return {
        "suggest_p50_ms": round(statistics.median(suggest_ms), 2),
        "suggest_p95_ms": round(p(suggest_ms, 0.95), 2),
        "track_p50_ms": round(statistics.median(track_ms), 2),
        "track_p95_ms": round(p(track_ms, 0.95), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=300)
    args = parser.parse_args()
    texts = seed_corpus_texts()
    gazetteer = load_gazetteer(Settings())
    streets = list(gazetteer.streets())
    with fresh_database() as url:
        asyncio.run(fill(url, args.small, streets, texts, 0))
        small = asyncio.run(measure(url, texts, streets, args.probes, gazetteer))
        started = time.perf_counter()
        asyncio.run(fill(url, args.items - args.small, streets, texts, args.small))
        filled = time.perf_counter() - started
        full = asyncio.run(measure(url, texts, streets, args.probes, gazetteer))
    print(f"filled to {args.items:,} items in {filled:.0f} s")
    print(f"{args.small:,} items stored:   {small}")
    print(f"{args.items:,} items stored: {full}")
    print("ratios full/small:", {k: round(full[k] / small[k], 2) for k in small})


if __name__ == "__main__":
    main()
