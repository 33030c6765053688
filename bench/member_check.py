"""The long-letter check's cost (`cases.needs_a_member`): a letter compared with a case's reports one by one.

    .venv/bin/python -m bench.member_check [--members 50] [--probes 50]

A fresh database holds one case of `--members` long reports (the seed corpus's items padded to 200 characters) and
one letter that resembles none of them, so every report is read and signed: the worst case of `tracker._may_take`
for one case (the tracker tries three at most). Reference in the same run: the same check against a case of two
reports, the smallest it is made for. Prints p50/p95 in ms for both and their ratio; the tracker reads at most
`MEMBERS_READ` reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench._servers import fresh_database
from bench._texts import seed_texts
from suggestions.hotspots.similarity import signature
from suggestions.hotspots.tracker import MEMBERS_READ, Placed, _may_take, candidate_from_row

STREET = "城北街道"
# A letter on a subject the seed corpus does not have: it resembles none of the case's reports.
LETTER = (
    "关于延长区图书馆少儿阅览室周末开放时间的建议。目前少儿阅览室周六周日下午四点半就闭馆，很多双职工家庭只有周末才能"
    "带孩子去看书，刚坐下没多久就要离开。建议周末延长到晚上八点，寒暑假期间增加志愿者值守，并增设绘本借阅的自助机，"
    "方便家长和孩子使用。孩子们都很喜欢这个阅览室，希望能让更多家庭受益，恳请有关部门研究采纳，谢谢！"
)


async def case_of(conn: Any, texts: list[str], tag: str) -> Any:
    row = await conn.fetchrow(
        "INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk, summary)"
        " VALUES ($1, '教育文体', now(), now(), $2, 0, '') RETURNING *",
        STREET,
        len(texts),
    )
    for n, text in enumerate(texts):
        await conn.execute(
            "INSERT INTO items (tracking_code, channel, text, text_masked, status, street, case_id)"
            " VALUES ($1, 'web', $2, $2, 'open', $3, $4)",
            f"{tag}{n}",
            text,
            STREET,
            row["id"],
        )
    return candidate_from_row(row)


async def timed(conn: Any, item: Placed, case: Any, probes: int) -> tuple[dict[str, float], bool]:
    took, taken = [], True
    for _ in range(probes):
        start = time.perf_counter()
        taken = await _may_take(conn, item, case, {})
        took.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(took, n=20)
    return {"p50": round(statistics.median(took), 2), "p95": round(cuts[18], 2)}, taken


async def run(url: str, members: int, probes: int) -> dict[str, object]:
    conn = await asyncpg.connect(url)
    try:
        many = await case_of(conn, seed_texts(members, 200), "M")
        two = await case_of(conn, seed_texts(2, 200), "T")
        item_id = await conn.fetchval(
            "INSERT INTO items (tracking_code, channel, text, text_masked, status, street)"
            " VALUES ('L', 'web', $1, $1, 'open', $2) RETURNING id",
            LETTER,
            STREET,
        )
        item = Placed(
            id=item_id,
            text=LETTER,
            street=STREET,
            locality=None,
            topic="教育文体",
            risk_level=0,
            received_at=datetime.now(UTC),
            signature=signature(LETTER, places=(STREET, None)),
        )
        full, taken = await timed(conn, item, many, probes)
        reference, _ = await timed(conn, item, two, probes)
    finally:
        await conn.close()
    return {
        "members": members,
        "members_read": min(members, MEMBERS_READ),
        "resembled_one": taken,  # False: every report was read, the worst case
        "check_ms": full,
        "two_reports_ms": reference,
        "ratio_p50": round(full["p50"] / reference["p50"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--probes", type=int, default=50)
    args = parser.parse_args()
    with fresh_database() as url:
        print(json.dumps(asyncio.run(run(url, args.members, args.probes)), indent=2))


if __name__ == "__main__":
    main()
