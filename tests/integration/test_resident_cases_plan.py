"""The lookups of a resident's own open cases stay key lookups, however young or unanalysed the database.

Planned freely, the tracker's lookup scanned every open case of a young database for each report; a soak of 20
items a second then held its street lock for seconds per report, and the worker's jobs timed out behind it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from suggestions.hotspots.tracker import CASE_FACTS, CASE_LIFETIME, OWN_CASES, RESIDENT_REPORTS
from suggestions.hotspots.views import CALLER_CASES
from suggestions.intake.callers import CALLER_ITEMS, CLOSED_SHOWN_DAYS, OPEN_SHOWN


async def fill(conn: Any) -> int:
    await conn.execute(
        """INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk, signature_keys,
                              signature_weights, anchor_keys, anchor_weights, summary)
           SELECT '城北街道', '城乡建设', now() - g * interval '1 minute', now(), 2, 0, '{1}', '{1}', '{1}', '{1}', ''
           FROM generate_series(1, 1000) g"""
    )
    await conn.execute(
        """INSERT INTO items (tracking_code, channel, text, text_masked, status, case_id, received_at)
           SELECT 'T' || g, 'web', '', '', 'open', (SELECT min(id) FROM cases) + g / 2, now() - g * interval '1 minute'
           FROM generate_series(1, 1999) g"""
    )
    await conn.execute("INSERT INTO contacts (item_id, phone) SELECT id, '139000000' || (id % 50) FROM items")
    newest: int = await conn.fetchval("SELECT max(id) FROM items")
    return newest


def scans_of(plan: dict[str, Any], relation: str) -> list[str]:
    found = [plan["Node Type"]] if plan.get("Relation Name") == relation else []
    for child in plan.get("Plans", []):
        found += scans_of(child, relation)
    return found


async def plan(conn: Any, query: str, *args: Any) -> dict[str, Any]:
    [row] = await conn.fetch("EXPLAIN (FORMAT JSON) " + query, *args)
    root: dict[str, Any] = json.loads(row[0])[0]["Plan"]
    return root


async def test_a_residents_cases_are_read_by_key(conn: Any) -> None:
    newest = await fill(conn)
    middle = newest - 1000  # its phone's reports lie on both sides of it
    since = datetime.now(UTC) - CASE_LIFETIME
    lookups = [(OWN_CASES, (item, CASE_LIFETIME, since, RESIDENT_REPORTS, 4)) for item in (newest, middle)]
    lookups.append((CALLER_CASES, ("1390000007", since, 5, RESIDENT_REPORTS)))
    for query, args in lookups:
        root = await plan(conn, query, *args)
        assert scans_of(root, "cases") == ["Index Scan"], query
        assert await conn.fetch(query, *args)  # and they find the resident's cases


async def test_a_callers_items_are_read_by_key_all_of_them(conn: Any) -> None:
    """The caller's history reads every item of the phone (an open one is never left out for being old): by the
    phone's index and the items' keys, not by reading every item stored."""
    await fill(conn)
    args = ("1390000007", 20, datetime.now(UTC) - timedelta(days=CLOSED_SHOWN_DAYS), 60, OPEN_SHOWN)
    root = await plan(conn, CALLER_ITEMS, *args)
    assert scans_of(root, "items") == ["Index Scan"]
    assert scans_of(root, "contacts") in (["Index Only Scan"], ["Index Scan"], ["Bitmap Heap Scan"])
    assert len(await conn.fetch(CALLER_ITEMS, *args)) == min(40, OPEN_SHOWN)  # the latest of its 40, all open


async def test_a_cases_reporters_are_told_by_the_phones_index(conn: Any) -> None:
    """Whether a reporter's phone is shared is read by the phone's line, by its index, for each report of the case."""
    newest = await fill(conn)
    case_id = await conn.fetchval("SELECT case_id FROM items WHERE id = $1", newest)
    root = await plan(conn, CASE_FACTS, case_id)
    scans = scans_of(root, "contacts")
    assert scans, root  # the phones are read, and read so
    assert set(scans) <= {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, scans
    assert (await conn.fetchrow(CASE_FACTS, case_id))["reporters"] >= 1


# How the release before the phones' lines compared phones, whole, in the caller's history, the caller's cases and the
# tracker's follow-ups: its API and workers run on while a rolling deploy applies this release's migrations.
PREVIOUS_RELEASE_LOOKUPS = (
    "SELECT item_id FROM contacts WHERE phone = $1",
    "SELECT item_id FROM contacts WHERE phone = $1 ORDER BY item_id DESC LIMIT 50",
    "SELECT item_id FROM contacts WHERE phone = $1 AND item_id < $2 ORDER BY item_id DESC LIMIT 50",
    "SELECT item_id FROM contacts WHERE phone = $1 AND item_id > $2 ORDER BY item_id LIMIT 50",
)


async def test_the_previous_releases_phone_lookups_keep_an_index_during_a_deploy(conn: Any) -> None:
    """Without one, each call taken and each report placed by the release still running read every contact stored."""
    newest = await fill(conn)
    for query in PREVIOUS_RELEASE_LOOKUPS:
        args = ("1390000007",) if "$2" not in query else ("1390000007", newest - 1000)
        root = await plan(conn, query, *args)
        scans = scans_of(root, "contacts")
        assert scans, query
        assert "Seq Scan" not in scans, query
