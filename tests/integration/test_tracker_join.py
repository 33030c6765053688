"""A report joins only a case that is still open: another worker may absorb it, or staff merge it away, between the
tracker reading the case and joining it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from suggestions.hotspots.cases import CaseCandidate, join_threshold, merge_signature
from suggestions.hotspots.similarity import Signature, signature, similarity
from suggestions.hotspots.tracker import Placed, _join, _may_take, _place, candidate_from_row
from tests.letters import (
    BUS_ROUTE,
    JUNCTION_LIGHTS,
    JUNCTION_LIGHTS_AGAIN,
    JUNCTION_LIGHTS_SHORT,
    JUNCTION_LIGHTS_SHORT_AGAIN,
    NIGHT_TRUCKS,
    TRAFFIC_IN_GENERAL,
)

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
    # A case mostly of short reports is checked at a lower floor: a long account of its problem joins the operators'
    # summaries when it resembles one of them that much (the bus route's letter here), not otherwise.
    assert await _may_take(conn, general, await case_of(TEXT, TEXT, BUS_ROUTE), {})
    assert not await _may_take(conn, general, await case_of(TEXT, TEXT, JUNCTION_LIGHTS_SHORT), {})


@pytest.mark.parametrize(
    ("members", "other"),
    [
        # a case of two long letters, whose mean a third matches (traffic in general)
        ((JUNCTION_LIGHTS, BUS_ROUTE), TRAFFIC_IN_GENERAL),
        # a case mostly of short reports of a junction's lights, whose mean carries the long letter's wording of the
        # road: another problem of the road (trucks at night)
        ((JUNCTION_LIGHTS, JUNCTION_LIGHTS_SHORT, JUNCTION_LIGHTS_SHORT_AGAIN), NIGHT_TRUCKS),
    ],
)
async def test_a_long_letter_like_only_the_cases_mean_opens_a_case_of_its_own(
    conn: Any, members: tuple[str, ...], other: str
) -> None:
    """The tracker's placing: a long letter that matches a case's mean but none of its reports is passed over; a
    letter like one of them (the junction's lights again) joins it."""
    case_id, mean = await stored_case(conn, *members)
    letter_of_another_problem = await letter(conn, other)
    # the mean alone would take it
    assert similarity(letter_of_another_problem.signature, mean) >= join_threshold(len(members))
    placed_at, opened, size = await _place(conn, letter_of_another_problem)
    assert (placed_at != case_id, opened, size) == (True, True, 1)
    placed_at, opened, size = await _place(conn, await letter(conn, JUNCTION_LIGHTS_AGAIN))
    assert (placed_at, opened, size) == (case_id, False, len(members) + 1)


async def stored_case(conn: Any, *texts: str) -> tuple[int, Signature]:
    """A traffic case of 城北街道 holding these letters, first to last, and its mean signature."""
    members = [signature(text, places=("城北街道", None)) for text in texts]
    mean = members[0]
    for size, member in enumerate(members[1:], start=1):
        mean = merge_signature(mean, member, size)
    case_id: int = await conn.fetchval(
        """INSERT INTO cases (street, topic, opened_at, last_activity, size, max_risk, signature_keys,
                              signature_weights, signature_facets, anchor_keys, anchor_weights, summary)
           VALUES ('城北街道', '交通运输', now(), now(), $1, 0, $2, $3, $4, $5, $6, '') RETURNING id""",
        len(texts),
        mean.keys,
        mean.weights,
        mean.facets,
        members[0].keys,
        members[0].weights,
    )
    for text in texts:
        await letter(conn, text, case_id)
    return case_id, mean
