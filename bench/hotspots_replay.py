"""Replay a real, time-stamped message stream through intake, the worker and the hotspot tracker; print the top
hotspots with their members and why.

    .venv/bin/python -m bench.hotspots_replay --data ../shared/data/tipdm2020c_hotspot_stream.csv [--top 10]
        [--cases-out FILE] [--localities] [--senders]

The stream's places are anonymised codes of districts, counties and county-level cities ("A市A3区", "A7县", "A9市")
rather than the default district's streets, so a gazetteer of those codes is built from the data itself (what a
district replacing `gazetteer.csv` would do); finer places are left to text similarity. With `--localities` the
gazetteer also lists the estates, villages and roads the letters name right after a district, county, street or town
(A市A2区某某新城小区, 某某街道某某村), when the name appears in two letters at least (what a district listing its
社区, 小区 and roads would have): an estate, village or 社区 under the district that at least 80 % of the letters
naming it with a district give (the district written right before it, else the letter's first), else an estate under
none and a village or 社区 not at all (a district lists each under its street); a road under none. With
`--senders` each letter's anonymised user code stands for its sender's phone, so that a writer's letters are theirs
(`cases.follow_up`); the codes stay in the replay's own database, which is dropped.
Topics come from the serving model. Nothing is tuned on this data: the thresholds are the service's own.
`--cases-out` writes every case of more than one report as a JSON line (`{"case": id, "members": [msg_id, ...]}`,
members in time order) for reading them by hand: message ids only, no text. `--hotspots-out` writes every hotspot
ever raised, active or ended, as a JSON line (kind, street, topic, status, its numbers and its members' message ids in
time order), sorted, so that two runs can be compared line by line: the same stream must give the same lines however
the worker happened to batch it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import re
from collections import Counter
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ahocorasick_rs
import msgspec

from bench._servers import REDIS_URL, fresh_database
from suggestions.classify.worker import shutdown, startup, sweep
from suggestions.db import create_pool
from suggestions.hotspots.places import Gazetteer
from suggestions.hotspots.views import active_hotspots, hotspot_members
from suggestions.intake.schema import ItemIn
from suggestions.intake.service import accept_item
from suggestions.queue import create_queue
from suggestions.settings import Settings

BEIJING = ZoneInfo("Asia/Shanghai")
# The city's districts (A3区) and counties (A7县), written after the city, and its county-level cities (A9市), which
# letters write on their own. Each is a "street" of the replay's gazetteer: a letter placed in none is compared with
# every case of its topic, and letters of different counties about one kind of thing chain together.
DISTRICT_CODE = re.compile(r"[A-Z]市([A-Z]\d+[区县])|(?<![A-Za-z0-9])([A-Z]\d+市)")
DISTRICT_MENTION = re.compile(r"[A-Z]\d+[区县市]")  # "A4区四方坪…": letters name their district without the city too


def parse_time(text: str) -> datetime:
    # The stream writes times both as 2019/2/28 11:25:05 and as 2019-08-01 00:00:00.
    return (
        datetime.fromisoformat(text.replace("/", "-")) if "-" in text else datetime.strptime(text, "%Y/%m/%d %H:%M:%S")
    )


def read_stream(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as rows:
        messages = list(csv.DictReader(rows))
    return sorted(messages, key=lambda m: parse_time(m["time"]))


# A place named right after its district, county, street or town: an estate, a village or a road.
NAMED_PLACE = re.compile(
    r"(?:(?P<district>[A-Z]\d+[区县市])|[\u4e00-\u9fa5]{2,3}(?:街道|镇|乡))"
    r"(?P<name>[\u4e00-\u9fa5A-Za-z0-9]{2,8}?(?P<kind>小区|社区|村|花园|家园|新城|新村|公寓|苑|路|大道))"
)
# What such a pattern also catches that is no one place: 我们小区, 周边小区, 公交线路, 城际铁路, A1区路 ….
NOT_A_PLACE = re.compile(
    r"^[我本该这那其某各每有在的和与及是]|^(?:住宅|周边|居民|安置|附近|整个|老旧)|街道|镇|乡|线路|铁路|[A-Z]\d"
)
LEVEL_OF_KIND = {"社区": "社区", "村": "村", "路": "道路", "大道": "道路"}  # the rest are estates: 小区


def gazetteer_of(messages: list[dict[str, str]], *, localities: bool = False) -> Gazetteer:
    texts = [m["title"] + "。" + m["detail"] for m in messages]
    codes = sorted({written or alone for text in texts for written, alone in DISTRICT_CODE.findall(text)})
    rows = [[code, "街道", "", "" if code.endswith("市") else f"A市{code}"] for code in codes]
    if localities:
        rows += locality_rows(texts, codes)
    return Gazetteer.from_rows(rows)


def locality_rows(texts: list[str], codes: Collection[str]) -> list[list[str]]:
    """Gazetteer rows of the places the letters name after a district or street (`NAMED_PLACE`) whose names appear in
    two letters at least; a parent only among the districts the letters write with their city (`DISTRICT_CODE`), and
    no 社区 or village without one."""
    kinds: dict[str, str] = {}
    districts: dict[str, Counter[str]] = {}
    for text in texts:
        mention = DISTRICT_MENTION.search(text)
        for match in NAMED_PLACE.finditer(text):
            name = match["name"]
            if NOT_A_PLACE.search(name):
                continue
            kinds[name] = LEVEL_OF_KIND.get(match["kind"], "小区")
            if district := match["district"] or (mention[0] if mention else None):
                districts.setdefault(name, Counter())[district] += 1
    automaton = ahocorasick_rs.AhoCorasick(list(kinds))
    letters = Counter(index for text in texts for index in {m[0] for m in automaton.find_matches_as_indexes(text)})
    rows = []
    for index, name in enumerate(kinds):
        if letters[index] < 2:
            continue
        level = kinds[name]
        parent = ""
        if level != "道路" and name in districts:
            [(district, count)] = districts[name].most_common(1)
            if district in codes and count >= 0.8 * sum(districts[name].values()):
                parent = district
        if level in ("社区", "村") and not parent:
            continue  # a district lists each 社区 and village under its street, and `Gazetteer` refuses one without
        rows.append([name, level, parent, ""])
    return rows


async def replay(
    database_url: str, messages: list[dict[str, str]], *, localities: bool = False, senders: bool = False
) -> Any:
    settings = Settings(database_url=database_url, redis_url=REDIS_URL, queue_name="bench:replay", lease_seconds=600)
    pool = await create_pool(database_url, size=4)
    queue = await create_queue(REDIS_URL, settings.queue_name)
    await queue.flushdb()
    gazetteer = gazetteer_of(messages, localities=localities)
    ids: dict[int, str] = {}
    async with pool.acquire() as conn:
        for message in messages:
            at = parse_time(message["time"]).replace(tzinfo=BEIJING)
            text = f"{message['title']}。{message['detail']}"[:5000]
            item = msgspec.convert({"channel": "web", "text": text, "received_at": at}, ItemIn)
            accepted = await accept_item(conn, item, principal=None, gazetteer=gazetteer, area_code="010", history=True)
            ids[accepted.item.id] = message["msg_id"]
            if senders and message.get("user"):
                # the stream's anonymised user code stands for the sender's phone, in this throwaway database only
                await conn.execute(SENDER, accepted.item.id, f"user:{message['user']}")
    # The worker's own sweeper classifies everything waiting, oldest first, in batches.
    ctx: dict[str, Any] = {"settings": settings, "db_pool": pool}
    await startup(ctx)
    while await pool.fetchval("SELECT count(*) FROM items WHERE status = 'pending'"):
        await sweep(ctx)
    await shutdown(ctx)
    async with pool.acquire() as conn:
        hotspots = await active_hotspots(conn, limit=1000)
        all_hotspots = await conn.fetch("SELECT kind, count(*) FROM hotspots GROUP BY kind")
        cases = await conn.fetchrow("SELECT count(*) AS cases, count(*) FILTER (WHERE size > 1) AS grouped FROM cases")
        members = await conn.fetch(
            "SELECT case_id, array_agg(id ORDER BY received_at, id) AS items FROM items WHERE case_id IS NOT NULL"
            " GROUP BY case_id HAVING count(*) > 1 ORDER BY case_id"
        )
        raised = [
            {
                "kind": row["kind"],
                "street": row["street"],
                "topic": row["topic"],
                "status": row["status"],
                "why": row["why"],
                "members": [
                    ids[r["id"]]
                    for r in sorted(
                        await hotspot_members(conn, row, limit=10_000), key=lambda r: (r["received_at"], r["id"])
                    )
                ],
            }
            for row in await conn.fetch("SELECT kind, street, topic, case_id, status, why FROM hotspots")
        ]
    await queue.aclose()
    await pool.close()
    grouped = [{"case": row["case_id"], "members": [ids[item] for item in row["items"]]} for row in members]
    return hotspots, ids, all_hotspots, cases, grouped, sorted(raised, key=lambda h: json.dumps(h, sort_keys=True))


SENDER = """
INSERT INTO contacts (item_id, phone) VALUES ($1, $2)
ON CONFLICT (item_id) DO UPDATE SET phone = excluded.phone
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--top", type=int, default=5, help="hotspots shown of each kind")
    parser.add_argument("--cases-out", type=Path, help="write the cases of more than one report here, as JSON lines")
    parser.add_argument(
        "--hotspots-out", type=Path, help="write every hotspot ever raised here, as sorted JSON lines (msg ids only)"
    )
    parser.add_argument(
        "--localities", action="store_true", help="also place letters at the estates, villages and roads they name"
    )
    parser.add_argument(
        "--senders", action="store_true", help="take each letter's user code for its sender's phone (`cases.follow_up`)"
    )
    args = parser.parse_args()
    messages = read_stream(args.data)
    with fresh_database() as url:
        hotspots, ids, counts, cases, grouped, raised = asyncio.run(
            replay(url, messages, localities=args.localities, senders=args.senders)
        )
    if args.cases_out:
        args.cases_out.write_text("".join(json.dumps(case) + "\n" for case in grouped))
    if args.hotspots_out:
        args.hotspots_out.write_text("".join(json.dumps(h, sort_keys=True, ensure_ascii=False) + "\n" for h in raised))
    print(f"messages: {len(messages)}; cases: {cases['cases']} ({cases['grouped']} with more than one report)")
    print("hotspots ever raised:", {r["kind"]: r["count"] for r in counts})
    print(
        "active at the end:",
        {kind: sum(h.kind == kind for h in hotspots.hotspots) for kind in ("burst", "case", "escalation")},
    )
    shown: dict[str, int] = {}
    for hotspot in hotspots.hotspots:  # most urgent kind first, strongest first within a kind
        shown[hotspot.kind] = shown.get(hotspot.kind, 0) + 1
        if shown[hotspot.kind] > args.top:
            continue
        print(f"\n[{hotspot.kind}] {hotspot.explanation}")
        for member in hotspot.members[:8]:
            when = f"{member.received_at:%Y-%m-%d}"
            print(f"  msg {ids[member.id]}  {when}  risk {member.risk_level}  {member.excerpt[:60]}")


if __name__ == "__main__":
    main()
