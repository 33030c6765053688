"""What was stored under an older masking is masked again, whole, and nothing else changes."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from click.testing import CliRunner

from suggestions.cli import main
from suggestions.privacy import mask_pii
from suggestions.remask import UPDATE_ITEM, remask
from suggestions.retention import anonymise_closed
from suggestions.settings import Settings
from tests.integration.records import classified_item, close_item, staff_token_id

# Forms an older masking let through: a mobile spelt in Chinese numerals, one written with dots, a name after 我叫.
SPELT = "一三九一二三四五六七八"
DOTTED = "139.1234.5678"
TEXT = f"我叫王建国，电话{SPELT}，龙跃苑二区5号楼电梯坏了三天，老人下不了楼。"
# The phone straddles the 80th character, where a case's summary is cut.
LONG = "回龙观街道龙泽苑东区" + "楼道灯不亮" * 13 + f"，联系{DOTTED}"
ANSWER = f"已派维保单位修复，回访电话{DOTTED}。"
NOTE = f"已电话联系来电人（{SPELT}），明日上门。"
COMMENT = f"修好了，谢谢。有事打我{DOTTED}"

EVERYTHING = """
SELECT (SELECT jsonb_agg(to_jsonb(i) ORDER BY id) FROM items i),
       (SELECT jsonb_agg(to_jsonb(n) ORDER BY id) FROM item_notes n),
       (SELECT jsonb_agg(to_jsonb(r) ORDER BY item_id, closed_at) FROM ratings r),
       (SELECT jsonb_agg(to_jsonb(c) ORDER BY id) FROM cases c)
"""


async def stored_under_old_masking(conn: Any) -> dict[str, int]:
    """Items, a note, a rating and cases as an older masking would have left them: the new forms in plain sight."""
    staff = await staff_token_id(conn)
    lift = await classified_item(conn, text=TEXT, topic="城乡建设", risk_level=1)
    lights = await classified_item(conn, text=LONG, topic="城乡建设", risk_level=0)
    moved = await classified_item(conn, text=f"路灯不亮，我叫李秀英，电话{SPELT}", topic="城乡建设", risk_level=0)
    await close_item(conn, lift, answer=ANSWER, staff_id=staff)
    await conn.execute(
        "UPDATE items SET text_masked = text, answer_masked = answer, place = $1 WHERE true", f"电话{SPELT}"
    )
    await conn.execute(
        "INSERT INTO item_notes (item_id, text, text_masked, written_by) VALUES ($1, $2, $2, $3)", lift, NOTE, staff
    )
    await conn.execute(
        "INSERT INTO ratings (item_id, closed_at, rating, comment, answer_masked) "
        "SELECT id, closed_at, 'satisfied', $2, answer FROM items WHERE id = $1",
        lift,
        COMMENT,
    )
    case_of = {}
    for item_id in (lift, lights, moved):
        case_of[item_id] = await conn.fetchval(
            "INSERT INTO cases (street, topic, opened_at, last_activity, size, summary) "
            "SELECT '回龙观街道', '城乡建设', received_at, received_at, 1, left(text, 80) FROM items WHERE id = $1 "
            "RETURNING id",
            item_id,
        )
        await conn.execute("UPDATE items SET case_id = $2 WHERE id = $1", item_id, case_of[item_id])
    await conn.execute(
        "INSERT INTO hotspots (kind, case_id, status, why, dismissal_note) VALUES ('case', $1, 'dismissed', '{}', $2)",
        case_of[lift],
        f"物业经理{SPELT}已到场",
    )
    await conn.execute("UPDATE cases SET answer_masked = $2 WHERE id = $1", case_of[lift], ANSWER)
    # The report that opened this case was moved out of it: its summary is masked as it reads.
    await conn.execute("UPDATE items SET case_id = $2 WHERE id = $1", moved, case_of[lights])
    return {"lift": lift, "lights": lights, "moved": moved, "orphan_case": case_of[moved], "lift_case": case_of[lift]}


async def test_every_masked_text_is_masked_again_whole(conn: Any) -> None:
    ids = await stored_under_old_masking(conn)
    before = await conn.fetchrow(EVERYTHING)

    dry = await remask(conn, dry_run=True)
    assert await conn.fetchrow(EVERYTHING) == before
    report = await remask(conn, batch_size=2)
    # A dry run reads a summary as it is: the number the cut split is no number it can see.
    assert report == msgspec.structs.replace(dry, dry_run=False, cases_changed=report.cases_changed)
    assert (report.items, report.items_changed, report.notes_changed, report.ratings_changed) == (3, 3, 1, 1)
    assert (dry.cases_changed, report.cases_changed, report.dismissal_notes_changed) == (2, 3, 1)
    assert (
        await conn.fetchval("SELECT dismissal_note FROM hotspots WHERE status = 'dismissed'")
        == "物业经理[手机号]已到场"
    )
    assert report.case_answers_changed == 1
    assert await conn.fetchval("SELECT answer_masked FROM cases WHERE id = $1", ids["lift_case"]) == mask_pii(ANSWER)

    item = await conn.fetchrow("SELECT * FROM items WHERE id = $1", ids["lift"])
    assert item["text"] == TEXT  # the record stays as it was written
    assert (
        item["text_masked"] == mask_pii(TEXT) == "我叫[姓名]，电话[手机号]，龙跃苑二区5号楼电梯坏了三天，老人下不了楼。"
    )
    assert item["answer"] == ANSWER
    assert item["answer_masked"] == mask_pii(ANSWER)
    assert item["place"] == "电话[手机号]"
    note = await conn.fetchrow("SELECT * FROM item_notes")
    assert (note["text"], note["text_masked"]) == (NOTE, mask_pii(NOTE))
    rating = await conn.fetchrow("SELECT * FROM ratings")
    assert (rating["comment"], rating["answer_masked"]) == (mask_pii(COMMENT), mask_pii(ANSWER))

    summaries = dict(await conn.fetch("SELECT id, summary FROM cases"))
    lights = await conn.fetchrow("SELECT text_masked, case_id FROM items WHERE id = $1", ids["lights"])
    # Cut from the report again, not masked as cut: the number the cut split is masked whole.
    assert summaries[lights["case_id"]] == lights["text_masked"][:80]
    assert summaries[lights["case_id"]].endswith("联系[手")  # not the phone's first digits

    assert SPELT not in summaries[ids["orphan_case"]]
    assert all(SPELT not in s and DOTTED not in s for s in summaries.values())

    again = await conn.fetchrow(EVERYTHING)
    unchanged = msgspec.structs.replace(
        report,
        items_changed=0,
        notes_changed=0,
        ratings_changed=0,
        cases_changed=0,
        dismissal_notes_changed=0,
        case_answers_changed=0,
    )
    assert await remask(conn) == unchanged
    assert await conn.fetchrow(EVERYTHING) == again


async def test_a_reply_replaced_since_it_was_read_is_left_to_the_next_run(conn: Any) -> None:
    ids = await stored_under_old_masking(conn)
    item = await conn.fetchrow("SELECT * FROM items WHERE id = $1", ids["lift"])
    # Staff answer again between the batch's read and its write: the write is made of the reply read.
    await conn.execute(
        "UPDATE items SET answer = '已重新处理。', answer_masked = '已重新处理。' WHERE id = $1", ids["lift"]
    )
    row = (item["id"], item["text"], item["answer"], mask_pii(TEXT), item["place"], mask_pii(ANSWER), item["text"])
    assert (await conn.fetchrow(UPDATE_ITEM, *row))["items"] == 0
    assert await conn.fetchval("SELECT answer_masked FROM items WHERE id = $1", ids["lift"]) == "已重新处理。"
    assert (await remask(conn)).items_changed == 3


async def test_the_command_prints_counts_as_one_json_line(conn: Any, settings: Settings) -> None:
    await stored_under_old_masking(conn)
    env = {"DATABASE_URL": settings.database_url}

    def run(*arguments: str) -> Any:
        return asyncio.to_thread(CliRunner().invoke, main, ["remask", *arguments], env=env)

    dry = await run("--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("\n") == 1
    assert msgspec.json.decode(dry.output)["items_changed"] == 3
    done = await run()
    assert msgspec.json.decode(done.output)["items_changed"] == 3
    assert msgspec.json.decode((await run()).output)["items_changed"] == 0


async def test_the_words_of_every_rating_given_and_of_a_withdrawn_replys_rating_are_masked_again(conn: Any) -> None:
    """The words kept with each rating on record, and those given with a rating of a reply staff withdrew meanwhile,
    are stored masked only: masked again like a rating's comment, and nothing else changes."""
    staff = await staff_token_id(conn)
    item = await classified_item(conn, text="路灯坏了", topic="城乡建设", risk_level=0)
    await close_item(conn, item, answer="已修复。", staff_id=staff)
    closed_at = await conn.fetchval("SELECT closed_at FROM items WHERE id = $1", item)
    await conn.execute(
        "INSERT INTO rating_changes (item_id, closed_at, rating, source, comment) VALUES "
        "($1, $2, 'satisfied', 'resident', $3), ($1, $2, 'basically_satisfied', 'resident', NULL)",
        item,
        closed_at,
        COMMENT,
    )
    await conn.execute(
        "INSERT INTO resident_comments (item_id, closed_at, rating, comment, source) "
        "VALUES ($1, $2, 'satisfied', $3, 'resident'), ($1, NULL, 'dissatisfied', '还是不亮', 'resident')",
        item,
        closed_at,
        COMMENT,
    )
    dry = await remask(conn, dry_run=True)
    assert (dry.rating_changes_changed, dry.resident_comments_changed) == (1, 1)
    assert await conn.fetchval("SELECT count(*) FROM rating_changes WHERE comment = $1", COMMENT) == 1
    report = await remask(conn)
    assert (report.rating_changes_changed, report.resident_comments_changed) == (1, 1)
    given = await conn.fetch("SELECT comment FROM rating_changes ORDER BY id")
    assert [r["comment"] for r in given] == [mask_pii(COMMENT), None]
    said = await conn.fetch("SELECT comment FROM resident_comments ORDER BY id")
    assert [r["comment"] for r in said] == [mask_pii(COMMENT), "还是不亮"]
    assert mask_pii(COMMENT) == "修好了，谢谢。有事打我[手机号]"
    again = await remask(conn)
    assert (again.rating_changes_changed, again.resident_comments_changed) == (0, 0)


async def test_the_office_numbers_replies_may_show_stay_shown(conn: Any) -> None:
    staff = await staff_token_id(conn)
    item = await classified_item(conn, text="路灯坏了，我电话13912345678", topic="城乡建设", risk_level=0)
    answer = "已修复。如有问题请拨打 010-69712345。"
    await close_item(conn, item, answer=answer, staff_id=staff)
    await conn.execute("UPDATE items SET answer_masked = answer WHERE id = $1", item)
    await remask(conn, keep=frozenset({"010-69712345"}))
    row = await conn.fetchrow("SELECT text_masked, answer_masked FROM items WHERE id = $1", item)
    assert (row["text_masked"], row["answer_masked"]) == ("路灯坏了，我电话[手机号]", answer)
    await remask(conn)
    assert (
        await conn.fetchval("SELECT answer_masked FROM items WHERE id = $1", item) == "已修复。如有问题请拨打 [电话]。"
    )


RETAINED_TEXT = f"我叫王建国，电话{SPELT}，回龙观龙跃苑二区5号楼电梯坏了三天，老人下不了楼。"
RETAINED_ANSWER = f"已派维保单位修复，有事请打{SPELT}。"
RETAINED_NOTE = f"已电话联系来电人（{SPELT}），明日上门。"


async def test_what_retention_kept_of_an_anonymised_item_is_masked_again_too(conn: Any) -> None:
    """Retention replaced the text, reply and notes by their masked forms under the older masking, and never looks
    at the item again: those columns are masked again as well, or the personal data it erases stays for good."""
    staff = await staff_token_id(conn)
    item = await classified_item(conn, text=RETAINED_TEXT, topic="城乡建设", risk_level=1)
    await close_item(conn, item, answer=RETAINED_ANSWER, staff_id=staff, days_ago=400)
    await conn.execute(
        "INSERT INTO item_notes (item_id, text, text_masked, written_by) VALUES ($1, $2, $2, $3)",
        item,
        RETAINED_NOTE,
        staff,
    )
    # As the older masking stored it: neither the spelt mobile nor the name was masked.
    await conn.execute("UPDATE items SET text_masked = text, answer_masked = answer WHERE id = $1", item)
    assert (await anonymise_closed(conn, closed_days=365)).items == 1

    await remask(conn)

    row = await conn.fetchrow("SELECT text, text_masked, answer, answer_masked, anonymised_at FROM items")
    assert row["anonymised_at"] is not None
    assert SPELT not in row["text_masked"]  # what staff read
    assert SPELT not in row["answer_masked"]
    kept = {
        "items.text": row["text"],
        "items.answer": row["answer"],
        "item_notes.text": await conn.fetchval("SELECT text FROM item_notes"),
    }
    leaks = {column for column, value in kept.items() if SPELT in value or "王建国" in value}
    assert not leaks, f"personal data kept in an anonymised item after remask: {sorted(leaks)}"


async def test_a_phone_split_by_a_summarys_cut_is_left_out_when_its_report_moved_away(conn: Any) -> None:
    """The summary of a case whose first report moved to another case cannot be cut again from it: masked as it
    reads, a mobile the cut split is no mobile, so a run of digits at the cut is left out."""
    prefix = "回龙观街道龙泽苑东区" + "楼道灯不亮" * 11 + "，有事请打电话"  # 10 + 55 + 7 = 72 characters
    text = prefix + SPELT + "。"
    assert len(prefix) == 72
    moved = await classified_item(conn, text=text, topic="城乡建设", risk_level=0)
    other = await classified_item(conn, text="回龙观街道龙泽苑东区路灯坏了", topic="城乡建设", risk_level=0)
    await conn.execute("UPDATE items SET text_masked = text WHERE id = $1", moved)  # the older masking
    case_id = await conn.fetchval(
        "INSERT INTO cases (street, topic, opened_at, last_activity, size, summary) "
        "SELECT '回龙观街道', '城乡建设', received_at, received_at, 1, left(text, 80) FROM items WHERE id = $1 "
        "RETURNING id",
        moved,
    )
    # The first report was moved out of the case it opened (staff split it, or moved it elsewhere).
    await conn.execute("UPDATE items SET case_id = $2 WHERE id = $1", other, case_id)
    await remask(conn)
    summary = await conn.fetchval("SELECT summary FROM cases WHERE id = $1", case_id)
    assert SPELT[:8] not in summary, f"most of a phone left in the summary: {summary[-12:]!r}"


async def test_a_phone_or_id_number_stored_as_a_work_order_number_is_taken_out(conn: Any) -> None:
    """Before intake refused them, a caller's number typed into the work-order box was stored there, shown to staff
    and exported whole: it numbered no work order, and goes."""
    wrong = await classified_item(conn, text="路灯坏了", topic="城乡建设", risk_level=0, external_id="WO-1")
    right = await classified_item(conn, text="井盖丢了", topic="城乡建设", risk_level=0, external_id="FZ18050200321")
    await conn.execute("UPDATE items SET external_id = '139-1234-5678' WHERE id = $1", wrong)

    dry = await remask(conn, dry_run=True)
    assert dry.work_orders_removed == 1
    assert await conn.fetchval("SELECT external_id FROM items WHERE id = $1", wrong) == "139-1234-5678"
    assert (await remask(conn, batch_size=1)).work_orders_removed == 1
    assert dict(await conn.fetch("SELECT id, external_id FROM items")) == {wrong: None, right: "FZ18050200321"}
    assert (await remask(conn)).work_orders_removed == 0


async def test_a_callers_phone_taken_out_of_the_work_order_box_becomes_the_call_back_number_it_was(conn: Any) -> None:
    """The caller's number was typed into the wrong box: an item that has no phone to call back on keeps it there."""
    without = await classified_item(conn, text="路灯坏了", topic="城乡建设", risk_level=0, external_id="WO-1")
    with_phone = await classified_item(conn, text="井盖丢了", topic="城乡建设", risk_level=0, external_id="WO-2")
    await conn.execute("UPDATE items SET external_id = '139-1234-5678' WHERE id = $1", without)
    await conn.execute("UPDATE items SET external_id = '010 6971 2345' WHERE id = $1", with_phone)
    await conn.execute("INSERT INTO contacts (item_id, phone) VALUES ($1, '13800000000')", with_phone)

    assert (await remask(conn, dry_run=True)).work_orders_removed == 2
    assert await conn.fetchval("SELECT count(*) FROM contacts WHERE item_id = $1", without) == 0
    assert (await remask(conn)).work_orders_removed == 2
    phones = dict(await conn.fetch("SELECT item_id, phone FROM contacts"))
    assert phones == {without: "13912345678", with_phone: "13800000000"}
    assert (await remask(conn)).work_orders_removed == 0
    assert dict(await conn.fetch("SELECT item_id, phone FROM contacts")) == phones
