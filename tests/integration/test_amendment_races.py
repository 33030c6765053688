"""A call corrected to another street while the worker places a report beside it: the street's lock orders them."""

from __future__ import annotations

import asyncio

import asyncpg

from suggestions.auth import Principal
from suggestions.hotspots.places import Gazetteer
from suggestions.intake.amendments import Amendment, amend
from tests.integration.test_case_races import STREET, classify, pending, placed

COUNTS = "SELECT coalesce(sum(reports), 0), coalesce(sum(problems), 0) FROM place_topic_days WHERE street = $1"


async def test_a_correction_while_a_worker_joins_the_case_it_leaves_counts_both_reports(
    pool: asyncpg.Pool, gazetteer: Gazetteer
) -> None:
    async with pool.acquire() as worker, pool.acquire() as operator:
        moved, left = await placed(worker)
        token = await worker.fetchval("INSERT INTO api_tokens (token_hash, role) VALUES ('x', 'staff') RETURNING id")
        joining = await pending(worker)
        transaction = worker.transaction()
        await transaction.start()
        await classify(worker, joining)  # joins `left`, not committed yet
        assert await worker.fetchval("SELECT case_id FROM items WHERE id = $1", joining) == left
        correction = amend(
            operator,
            item_id=moved,
            amendment=Amendment(place="霍营街道"),
            principal=Principal(token_id=token, role="staff"),
            gazetteer=gazetteer,
            area_code="010",
        )
        correcting = asyncio.create_task(correction)
        await asyncio.sleep(0.3)
        await transaction.commit()
        assert (await correcting) is not None

        assert tuple(await worker.fetchrow("SELECT status, size FROM cases WHERE id = $1", left)) == ("open", 1)
        assert tuple(await worker.fetchrow(COUNTS, STREET)) == (1, 1)
        assert tuple(await worker.fetchrow(COUNTS, "霍营街道")) == (1, 1)
        street, case_id = await worker.fetchrow("SELECT street, case_id FROM items WHERE id = $1", moved)
        assert street == "霍营街道"
        assert await worker.fetchval("SELECT street FROM cases WHERE id = $1", case_id) == "霍营街道"
