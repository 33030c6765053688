import base64
from datetime import UTC, datetime, timedelta

import pytest

from suggestions.errors import InvalidInput
from suggestions.triage.feed import FeedEntry, Reason, decode_cursor, encode_cursor, reasons_for

NOW = datetime(2026, 11, 1, 11, 45, tzinfo=UTC)


def feed_row(**changes: object) -> dict[str, object]:
    """A feed row as `reasons_for` reads it: an open item of risk 1 that arrived at 8:30 today."""
    row: dict[str, object] = {
        "status": "open",
        "risk_level": 1,
        "needs_review": False,
        "hotspot_id": None,
        "received_at": datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
        "reopened_at": None,
        "reopen_count": 0,
        "reply_withdrawn_at": None,
        "resident_said": None,
        "satisfaction": None,
        "case_id": None,
        "case_previous_at": None,
    }
    return {**row, **changes}


def entry() -> FeedEntry:
    return FeedEntry(
        id=7,
        tracking_code="ABCD-EFGH-JKMN",
        priority=1,
        reasons=[],
        risk_level=2,
        topic="城乡建设",
        place="",
        street=None,
        status="open",
        received_at=datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
        channel="web",
        kind=None,
        needs_review=False,
        excerpt="",
    )


def test_cursor_round_trip() -> None:
    cursor = decode_cursor(encode_cursor(entry()))
    assert (cursor.priority, cursor.received_at, cursor.id) == (1, datetime(2026, 11, 1, 8, 30, tzinfo=UTC), 7)


@pytest.mark.parametrize("bad", ["", "not-a-cursor", "W10", "eyJhIjoxfQ"])
def test_a_forged_cursor_is_bad_input(bad: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(bad or "=")


@pytest.mark.parametrize(
    "forged",
    [
        b'[99999,"2026-11-01T08:30:00Z",7]',
        b'[1,"2026-11-01T08:30:00Z",99999999999999999999]',
        b'[1,"2026-11-01T08:30:00Z",7,5,0,[' + b",".join(b"1" for _ in range(33)) + b"]]",
        b'[1,"2026-11-01T08:30:00Z",7,5,0,[-1]]',
    ],
)
def test_a_cursor_past_the_columns_ranges_is_bad_input(forged: bytes) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(base64.urlsafe_b64encode(forged).decode())


def test_reasons_say_why() -> None:
    now = NOW
    row = feed_row(risk_level=3, needs_review=True)
    codes = [r.code for r in reasons_for(row, now)]
    assert codes == ["risk", "needs_review", "waiting"]
    assert reasons_for(row, now)[-1].message == "已等待 3 小时 15 分"
    pending = {**row, "status": "pending", "risk_level": None, "needs_review": False}
    assert [r.code for r in reasons_for(pending, now)] == ["unclassified", "waiting"]
    sent_back = {**row, "status": "assigned", "reopened_at": now, "reopen_count": 2}
    assert reasons_for(sent_back, now)[0] == Reason("dissatisfied", "居民对答复不满意，退回重办（第 2 次）")
    closed_after = {**sent_back, "status": "closed"}
    assert "dissatisfied" not in [r.code for r in reasons_for(closed_after, now)]


def test_a_hotspot_reason_says_it_lifts_only_an_item_it_lifts() -> None:
    now = NOW
    row = feed_row(
        hotspot_id=4,
        hotspot_kind="case",
        hotspot_street="回龙观街道",
        hotspot_topic="城乡建设",
        hotspot_why={"reports": 7, "reporters": 6, "channels": 2, "span_days": 3},
        hotspot_case_id=9,
    )

    def hotspot(r: dict[str, object]) -> str:
        return next(reason.message for reason in reasons_for(r, now) if reason.code == "hotspot")

    assert hotspot(row).startswith("属于热点，提前一档：")
    # An emergency already ranks first: the hotspot does not move it.
    assert "提前" not in hotspot({**row, "risk_level": 3})


def test_a_closed_item_is_not_said_to_be_waiting() -> None:
    now = NOW
    row = feed_row(status="closed", received_at=datetime(2026, 10, 1, 8, 30, tzinfo=UTC))
    assert [r.code for r in reasons_for(row, now)] == ["risk"]
    assert [r.code for r in reasons_for({**row, "status": "assigned"}, now)] == ["risk", "waiting"]


def test_an_item_assigned_without_a_classification_says_why_it_ranks_as_a_warning() -> None:
    """A desk took an item the worker gave up on without setting its topic and risk: it still ranks as a warning."""
    now = NOW
    row = feed_row(status="assigned", risk_level=None)
    assert [r.code for r in reasons_for(row, now)] == ["classification_failed", "waiting"]


def test_an_item_sent_back_says_how_long_it_waits_since_it_was_sent_back_and_since_it_arrived() -> None:
    """The desk answered after a month and the resident sent the reply back two hours ago: it has waited two hours for
    the rework, not a month; it ranks by its first arrival, which the reason says too."""
    arrived = datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
    sent_back = feed_row(status="assigned", received_at=arrived, reopened_at=datetime(2026, 11, 1, 9, 45, tzinfo=UTC))
    assert reasons_for(sent_back, NOW)[-1] == Reason("waiting", "退回后已等待 2 小时 0 分（首次反映至今 31 天 3 小时）")
    assert reasons_for(feed_row(received_at=arrived), NOW)[-1] == Reason("waiting", "已等待 31 天 3 小时")


def test_a_reply_withdrawn_after_a_sending_back_reads_as_withdrawn_and_waits_since_the_withdrawal() -> None:
    """Sent back a month ago, answered again, and that reply withdrawn by staff an hour ago: the latest event is the
    withdrawal. The item reads as a reply withdrawn, not as sent back, and has waited since the withdrawal."""
    arrived = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
    sent_back = datetime(2026, 10, 1, 11, 45, tzinfo=UTC)
    withdrawn = datetime(2026, 11, 1, 10, 45, tzinfo=UTC)
    row = feed_row(
        status="assigned",
        received_at=arrived,
        reopened_at=sent_back,
        reopen_count=1,
        resident_said=None,  # the words of the sending back are not about the reply withdrawn (`COLUMNS`)
        reply_withdrawn_at=withdrawn,
    )
    reasons = reasons_for(row, NOW)
    assert [r.code for r in reasons] == ["reply_withdrawn", "risk", "waiting"]
    assert reasons[0] == Reason("reply_withdrawn", "答复已撤回，重新办理（此前群众不满意退回 1 次）")
    assert reasons[-1] == Reason("waiting", "撤回答复后已等待 1 小时 0 分（首次反映至今 61 天 3 小时）")
    # Sent back again after that: the sending back is the latest event, and the item reads so again.
    again = {**row, "reopened_at": NOW, "reopen_count": 2}
    assert [r.code for r in reasons_for(again, NOW)] == ["dissatisfied", "risk", "waiting"]
    assert reasons_for(again, NOW)[-1].message.startswith("退回后已等待 0 分钟")
    # A reply withdrawn that no resident ever sent back reads the same, without the sending back.
    only = feed_row(status="open", received_at=arrived, reply_withdrawn_at=withdrawn)
    assert reasons_for(only, NOW)[0] == Reason("reply_withdrawn", "答复已撤回，重新办理")
    assert reasons_for(only, NOW)[-1].message.startswith("撤回答复后已等待 1 小时 0 分")
    # Closed again, it waits for nothing, and nothing is said of the withdrawal.
    assert [r.code for r in reasons_for({**row, "status": "closed", "resident_said": None}, NOW)] == ["risk"]


def test_a_report_weeks_after_its_cases_previous_one_says_it_came_back_and_ranks_as_before() -> None:
    """Past the case window only: a case's reports days apart are one problem still being reported."""
    arrived = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    row = feed_row(case_id=41, case_previous_at=arrived - timedelta(days=20, hours=5))
    assert reasons_for(row, NOW)[1] == Reason("reported_again", "同一问题 20 天前已有反映（案件 41），现再次反映")
    assert [r.code for r in reasons_for(row, NOW)] == ["risk", "reported_again", "waiting"]
    at_the_window = feed_row(case_id=41, case_previous_at=arrived - timedelta(days=7))
    assert "reported_again" not in [r.code for r in reasons_for(at_the_window, NOW)]
    just_past = feed_row(case_id=41, case_previous_at=arrived - timedelta(days=7, minutes=1))
    assert "同一问题 7 天前" in reasons_for(just_past, NOW)[1].message
