"""Retention anonymises the personal data of items closed long ago and leaves every statistic as it was."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from click.testing import CliRunner

from suggestions.cli import main
from suggestions.retention import anonymise_closed
from suggestions.settings import Settings
from tests.integration.records import classified_item, close_item, staff_token_id

PHONE = "13812345678"
ID_NUMBER = "110101199003071234"
ANSWER = f"已修复。您留的电话 {PHONE} 已回访。"

# What statistics read, each ordered so that two snapshots compare row by row.
STATISTICS = {
    "counts": """
        SELECT topic, risk_level, channel, kind, street, place, status, count(*) AS items
        FROM items GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
    """,
    # Every column of every item but the personal ones (the sender's keyed hash among them), the key PostgreSQL
    # computes from the text (`copy_key`, from the masked text once the raw one is gone) and the mark retention leaves.
    "items": (
        "SELECT to_jsonb(i) - '{text,answer,lat,lon,anonymised_at,copy_key,sender_key}'::text[] "
        "FROM items i ORDER BY id"
    ),
    "classifications": "SELECT to_jsonb(c) FROM classifications c ORDER BY id",
    "cases": "SELECT to_jsonb(c) FROM cases c ORDER BY id",
    "place_topic_days": "SELECT to_jsonb(d) FROM place_topic_days d ORDER BY street, topic, day",
    "hotspots": "SELECT to_jsonb(h) FROM hotspots h ORDER BY id",
    "contact rows": "SELECT item_id FROM contacts ORDER BY item_id",
}
EVERYTHING = {
    "items": "SELECT to_jsonb(i) FROM items i ORDER BY id",
    "contacts": "SELECT to_jsonb(c) FROM contacts c ORDER BY item_id",
    "idempotency keys": "SELECT to_jsonb(k) FROM idempotency_keys k ORDER BY item_id",
}


async def snapshot(conn: Any, queries: dict[str, str]) -> dict[str, list[Any]]:
    return {name: [list(r.values()) for r in await conn.fetch(query)] for name, query in queries.items()}


async def rows_of(conn: Any, ids: list[int]) -> list[Any]:
    return [
        list(r.values())
        for r in await conn.fetch(
            "SELECT to_jsonb(i), to_jsonb(c) FROM items i LEFT JOIN contacts c ON c.item_id = i.id "
            "WHERE i.id = ANY($1::bigint[]) ORDER BY i.id",
            ids,
        )
    ]


class District(msgspec.Struct):
    old_closed: list[int]  # closed 400 days ago
    old_with_contact: int  # how many of those left a contact
    recent_closed: list[int]  # closed 30 days ago
    not_due: list[int]  # open, assigned, or closed only today: received long ago, but not closed long ago


async def district(conn: Any) -> District:
    staff = await staff_token_id(conn)
    contact = ("王阿姨", PHONE)
    old = [
        await classified_item(
            conn,
            text=f"我电话{PHONE}，身份证{ID_NUMBER}，楼下路灯坏了",
            topic="城乡建设",
            risk_level=1,
            days_ago=500,
            contact=contact,
            place="回龙观街道",
        ),
        await classified_item(
            conn,
            text="河边有人倾倒建筑垃圾",
            topic="环境保护",
            risk_level=2,
            channel="grid",
            days_ago=450,
            lat=40.0712345,
            lon=116.3298765,
            place="沙河镇",
        ),
        await classified_item(
            conn, text=f"噪音扰民，请回电{PHONE}", topic="环境保护", risk_level=0, days_ago=420, contact=contact
        ),
    ]
    for item_id in old:
        for public in (False, True):  # a note for staff, and an interim reply the resident read
            await conn.execute(
                "INSERT INTO item_notes (item_id, text, text_masked, public, written_by) VALUES ($1, $2, $3, $4, $5)",
                item_id,
                f"联系物业 {PHONE}",
                "联系物业 [手机号]",
                public,
                staff,
            )
        await close_item(conn, item_id, answer=ANSWER, staff_id=staff, days_ago=400)
    # Sent from a browser: its keyed hash (`ratelimit.sender_key`) tells that browser's other items.
    await conn.execute("UPDATE items SET sender_key = 'browser:a2b3c4' WHERE id = ANY($1::bigint[])", old)
    recent = await classified_item(
        conn, text=f"小区门口积水，电话{PHONE}", topic="城乡建设", risk_level=1, days_ago=40, contact=contact
    )
    await close_item(conn, recent, answer=ANSWER, staff_id=staff, days_ago=30)
    still_open = [
        await classified_item(
            conn, text=f"占道经营，电话{PHONE}", topic="城乡建设", risk_level=3, days_ago=600, contact=contact
        ),
        await classified_item(conn, text="公交站牌被撞歪了", topic="交通运输", risk_level=1, channel="web"),
    ]
    await conn.execute("UPDATE items SET status = 'assigned', assigned_to = '城管科' WHERE id = $1", still_open[1])
    closed_today = await classified_item(
        conn, text=f"井盖丢失，电话{PHONE}", topic="城乡建设", risk_level=2, days_ago=800, contact=contact
    )
    await close_item(conn, closed_today, answer=ANSWER, staff_id=staff)
    return District(old_closed=old, old_with_contact=2, recent_closed=[recent], not_due=[*still_open, closed_today])


async def test_old_closed_items_are_anonymised_and_statistics_stay(conn: Any) -> None:
    items = await district(conn)
    statistics = await snapshot(conn, STATISTICS)
    untouched = await rows_of(conn, items.recent_closed + items.not_due)

    report = await anonymise_closed(conn, closed_days=365, batch_size=2)

    assert (report.items, report.contacts, report.batches) == (3, items.old_with_contact, 2)
    for row in await conn.fetch(
        "SELECT i.text, i.text_masked, i.answer, i.lat, i.lon, i.anonymised_at, i.sender_key, c.name, c.phone, "
        "c.anonymised_at "
        "AS contact_anonymised_at, c.item_id IS NOT NULL AS had_contact "
        "FROM items i LEFT JOIN contacts c ON c.item_id = i.id WHERE i.id = ANY($1::bigint[])",
        items.old_closed,
    ):
        assert row["text"] == row["text_masked"]
        assert PHONE not in row["text"]
        assert ID_NUMBER not in row["text"]
        assert PHONE not in row["answer"]
        assert row["answer"].startswith("已修复。")
        assert row["anonymised_at"] is not None
        assert row["sender_key"] is None
        if row["had_contact"]:
            assert (row["name"], row["phone"]) == (None, None)
            assert row["contact_anonymised_at"] is not None
        if row["lat"] is not None:
            assert (row["lat"], row["lon"]) == (40.071, 116.33)
    assert (
        await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE item_id = ANY($1::bigint[])", items.old_closed)
        == 0
    )
    notes = await conn.fetch("SELECT text FROM item_notes WHERE item_id = ANY($1::bigint[])", items.old_closed)
    assert [n["text"] for n in notes] == ["联系物业 [手机号]"] * 6

    assert await rows_of(conn, items.recent_closed + items.not_due) == untouched
    assert await snapshot(conn, STATISTICS) == statistics


async def test_a_second_run_changes_nothing(conn: Any) -> None:
    await district(conn)
    await anonymise_closed(conn, closed_days=365)
    after_first = await snapshot(conn, EVERYTHING)

    report = await anonymise_closed(conn, closed_days=365)

    assert (report.items, report.contacts, report.batches) == (0, 0, 0)
    assert await snapshot(conn, EVERYTHING) == after_first


async def test_a_dry_run_counts_and_changes_nothing(conn: Any) -> None:
    items = await district(conn)
    before = await snapshot(conn, EVERYTHING)

    dry = await anonymise_closed(conn, closed_days=365, dry_run=True)

    assert (dry.items, dry.contacts, dry.dry_run) == (3, items.old_with_contact, True)
    assert await snapshot(conn, EVERYTHING) == before
    done = await anonymise_closed(conn, closed_days=365)
    assert (done.items, done.contacts) == (dry.items, dry.contacts)


async def test_a_shorter_period_reaches_recently_closed_items_too(conn: Any) -> None:
    items = await district(conn)
    report = await anonymise_closed(conn, closed_days=7)
    assert report.items == len(items.old_closed) + len(items.recent_closed)


async def test_the_command_prints_counts_as_one_json_line(conn: Any, settings: Settings) -> None:
    items = await district(conn)
    env = {"DATABASE_URL": settings.database_url, "SUGGESTIONS_RETENTION_DAYS": "365"}

    def run(*arguments: str) -> Any:
        # The command runs its own event loop: give it a thread of its own.
        return asyncio.to_thread(CliRunner().invoke, main, ["retention", *arguments], env=env)

    dry = await run("--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("\n") == 1
    expected = {"closed_days": 365, "items": 3, "contacts": items.old_with_contact}
    assert msgspec.json.decode(dry.output) == {**expected, "dry_run": True, "batches": 0}
    done = await run()
    assert msgspec.json.decode(done.output) == {**expected, "dry_run": False, "batches": 1}
    assert PHONE not in done.output
    shorter = await run("--closed-days", "7")
    assert msgspec.json.decode(shorter.output)["items"] == len(items.recent_closed)
    assert (await run("--closed-days", "-1")).exit_code == 2
