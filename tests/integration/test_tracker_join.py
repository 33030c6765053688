"""A report joins only a case that is still open: another worker may absorb it, or staff merge it away, between the
tracker reading the case and joining it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from suggestions.hotspots.cases import CaseCandidate, join_threshold, merge_signature
from suggestions.hotspots.similarity import signature, similarity
from suggestions.hotspots.tracker import Placed, _join, _may_take, _place, candidate_from_row
from tests.letters import BUS_ROUTE, JUNCTION_LIGHTS, JUNCTION_LIGHTS_AGAIN, TRAFFIC_IN_GENERAL

TEXT = "龙跃苑二区5号楼的电梯又坏了，已经停了三天。"


def placed(item_id: int, text: str, *, street: str, topic: str) -> Placed:
    return Placed(
        id=item_id,
        text=text,
        street=street,
        locality=None,
        topic=topic,
        risk_level=0,
        received_at=datetime.now(UTC),
        signature=signature(text, places=(street, None)),
    )


async def letter(conn: Any, text: str, case: int | None = None) -> Placed:
    """A traffic letter of 城北街道 stored (in `case`, if given) and ready to place; no resident's phone."""
    item_id = await conn.fetchval(
        "INSERT INTO items (tracking_code, channel, text, text_masked, status, street, case_id)"
        " VALUES (substr(md5(random()::text), 1, 10), 'web', $1, $1, 'open', '城北街道', $2) RETURNING id",
        text,
        case,
    )
    return msgspec.structs.replace(placed(item_id, text, street="城北街道", topic="交通运输"), resident_phone=False)


async def test_a_report_does_not_join_a_case_closed_meanwhile(conn: Any) -> None:
    sig = merge_signature(signature(TEXT), signature(TEXT), 0)
    row = await conn.fetchrow(
        """INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk, signature_keys,
                              signature_weights, anchor_keys, anchor_weights, summary)
           VALUES ('龙泽园街道', '城乡建设', now(), now(), 1, 0, $1, $2, $1, $2, '')
           RETURNING *""",
        sig.keys,
        sig.weights,
    )
    item_id = await conn.fetchval(
        "INSERT INTO items (tracking_code, channel, text, text_masked, status) VALUES ('J1', 'web', $1, $1, 'open') "
        "RETURNING id",
        TEXT,
    )
    item = placed(item_id, TEXT, street="龙泽园街道", topic="城乡建设")
    case = candidate_from_row(row)
    await conn.execute("UPDATE cases SET status = 'closed' WHERE id = $1", case.id)
    assert await _join(conn, item, case, 0.5) is None
    assert await conn.fetchval("SELECT case_id FROM items WHERE id = $1", item_id) is None
    assert await conn.fetchval("SELECT size FROM cases WHERE id = $1", case.id) == 1

    await conn.execute("UPDATE cases SET status = 'open' WHERE id = $1", case.id)
    joined = await _join(conn, item, case, 0.5)
    assert joined is not None
    assert joined.size == 2
    assert await conn.fetchval("SELECT case_id FROM items WHERE id = $1", item_id) == case.id


async def test_a_long_letter_is_compared_with_the_cases_reports_one_by_one(conn: Any) -> None:
    async def case_of(*texts: str) -> CaseCandidate:
        row = await conn.fetchrow(
            """INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk, summary)
               VALUES ('城北街道', '交通运输', now(), now(), $1, 0, '') RETURNING *""",
            len(texts),
        )
        for text in texts:
            await letter(conn, text, row["id"])
        return candidate_from_row(row)

    letters = await case_of(JUNCTION_LIGHTS, BUS_ROUTE)
    assert await _may_take(conn, await letter(conn, JUNCTION_LIGHTS_AGAIN), letters, {})  # like the junction's letter
    general = await letter(conn, TRAFFIC_IN_GENERAL)
    assert not await _may_take(conn, general, letters, {})  # like their mean only
    assert await _may_take(conn, general, letters, {letters.id: letters})  # the resident's own case: a follow-up
    # A case of short reports is not checked: a long account of its problem joins the operators' summaries.
    assert await _may_take(conn, general, await case_of(TEXT, TEXT, BUS_ROUTE), {})


async def test_a_long_letter_like_only_the_cases_mean_opens_a_case_of_its_own(conn: Any) -> None:
    """The tracker's placing: a case of two long letters whose mean a third letter matches (traffic in general), but
    neither letter, is passed over; a letter like one of them joins it."""
    members = [signature(text, places=("城北街道", None)) for text in (JUNCTION_LIGHTS, BUS_ROUTE)]
    mean, first = merge_signature(members[0], members[1], 1), members[0]
    case_id = await conn.fetchval(
        """INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk, signature_keys,
                              signature_weights, anchor_keys, anchor_weights, summary)
           VALUES ('城北街道', '交通运输', now(), now(), 2, 0, $1, $2, $3, $4, '') RETURNING id""",
        mean.keys,
        mean.weights,
        first.keys,
        first.weights,
    )

    await letter(conn, JUNCTION_LIGHTS, case_id)
    await letter(conn, BUS_ROUTE, case_id)
    general = await letter(conn, TRAFFIC_IN_GENERAL)
    assert similarity(general.signature, mean) >= join_threshold(2)  # the mean alone would take it
    placed_at, opened, size = await _place(conn, general)
    assert (placed_at != case_id, opened, size) == (True, True, 1)
    placed_at, opened, size = await _place(conn, await letter(conn, JUNCTION_LIGHTS_AGAIN))
    assert (placed_at, opened, size) == (case_id, False, 3)
