"""The same reports in the same time order make the same cases and hotspots however the worker batches them.

A generated stream of five weeks (two wage disputes rising to threats, a lift many residents report, a letter sent
three times in one second, a junction's threat and complaints of one second, an area's warning followed within the
hour by complaints of other places, one place's threat followed by another place's complaint, and unrelated reports
between them) goes through
the worker's own path (`sweep`, `classify_claimed`, `store.record_classifications`, `tracker.track`) with a stub
model that gives each text its topic and risk level: by the sweeper's batches, one report at a time, in batches of
uneven sizes claimed in shuffled order, and all in one batch. Each way must leave the same cases, the same hotspots
(raised, ended and active, with their numbers and members), the same lifts and the same daily counts."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import pytest

from suggestions.classify import store
from suggestions.classify.worker import classify_claimed, sweep
from suggestions.hotspots.views import hotspot_members
from suggestions.settings import Settings
from tests.conftest import TABLES

WAGES, CITY, TRAFFIC, ENVIRONMENT = "劳动和社会保障", "城乡建设", "交通运输", "环境保护"
SCHOOLS, HEALTH = "教育文体", "卫生计生"
NORTH, SOUTH = "回龙观街道", "龙泽园街道"
START = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class Report(NamedTuple):
    hours: float  # after START
    street: str
    topic: str
    risk: int
    text: str


def stream() -> list[Report]:
    """The stream, oldest first; reports of one time in the order intake stores them."""
    reports = [
        # A wage dispute at one site: complaints, then warnings and a threat.
        Report(0, NORTH, WAGES, 0, "龙域中心工地拖欠农民工工资三个月，多次讨要无果，请劳动监察部门处理。"),
        Report(30, NORTH, WAGES, 1, "龙域中心工地一直拖欠工人工资，老板避而不见，工人们生活困难。"),
        Report(70, NORTH, WAGES, 0, "龙域中心工地欠薪的事情到现在还没有解决，希望劳动监察部门尽快处理。"),
        Report(120, NORTH, WAGES, 2, "龙域中心工地拖欠工资的问题还没解决，工人们情绪很激动，说再不给钱就上访。"),
        Report(121, NORTH, WAGES, 3, "龙域中心工地拖欠工人工资，几十个工人扬言明天去堵路讨薪，情况紧急。"),
        # A second site of the same street and topic: a complaint, and a warning the day after the first threat.
        Report(100, NORTH, WAGES, 0, "育知东路快递驿站的老板把快递员的押金扣了不退，社保也一直没给交。"),
        Report(140, NORTH, WAGES, 2, "育知东路快递驿站克扣快递员押金和工资，快递员们说要集体去找老板算账。"),
        Report(141, NORTH, WAGES, 0, "育知东路快递驿站的押金到现在也没退，社保也没交，请有关部门过问。"),
        # A lift many residents report, each in their own words.
        Report(200, SOUTH, CITY, 1, "龙跃苑二区5号楼的电梯又坏了，已经停了三天。"),
        Report(203, SOUTH, CITY, 1, "龙跃苑二区5号楼电梯又坏了，停了三天一直没人修。"),
        Report(207, SOUTH, CITY, 1, "龙跃苑二区5号楼的电梯坏了三天了，老人下不了楼。"),
        Report(210, SOUTH, CITY, 1, "龙跃苑二区5号楼电梯又坏了，物业说已经停了三天在等配件。"),
        Report(215, SOUTH, CITY, 2, "龙跃苑二区5号楼的电梯已经坏了三天，天天爬楼，再不修我们就去物业堵门。"),
        Report(216, SOUTH, CITY, 1, "龙跃苑二区5号楼电梯停运好几天了，楼里老人孩子出行很不方便。"),
        # One letter sent three times at one second, after two calmer ones: its copies placed in id order.
        Report(300, SOUTH, ENVIRONMENT, 0, "龙泽苑东区旁边的搅拌站晚上施工，噪音很大，影响休息。"),
        Report(310, SOUTH, ENVIRONMENT, 0, "龙泽苑东区旁边搅拌站夜里一直施工，粉尘和噪音扰民。"),
        *[
            Report(330, SOUTH, ENVIRONMENT, 3, "龙泽苑东区旁边的搅拌站通宵施工，居民忍无可忍，准备集体去堵搅拌站大门。")
            for _ in range(3)
        ],
        # A warning and a complaint of another place in the same second.
        Report(400, NORTH, ENVIRONMENT, 0, "回龙观东大街垃圾站的垃圾好几天没清运，臭气熏天。"),
        Report(420, NORTH, ENVIRONMENT, 2, "回龙观东大街垃圾站一直没人清运，居民说要把垃圾堆到街道办门口。"),
        Report(420, NORTH, ENVIRONMENT, 0, "龙锦三街的路灯坏了一个月，晚上回家黑漆漆的。"),
        Report(421, NORTH, ENVIRONMENT, 2, "回龙观东大街垃圾站还是没有清运，气味太大，居民很愤怒要去上访。"),
        # A junction's lights: two complaints, then a threat and two complaints of one second, in one case. Placed in
        # id order, the threat raises the case's escalation and the complaints after it end it.
        Report(500, SOUTH, TRAFFIC, 0, "龙泽路与回南路路口的红绿灯坏了，车辆乱行。"),
        Report(510, SOUTH, TRAFFIC, 0, "龙泽路回南路路口红绿灯不亮，路口很乱。"),
        Report(520, SOUTH, TRAFFIC, 3, "龙泽路与回南路路口红绿灯坏了，差点撞到学生，家长们说再不修就堵路。"),
        Report(520, SOUTH, TRAFFIC, 0, "龙泽路和回南路路口的红绿灯还是坏的，请尽快修。"),
        Report(520, SOUTH, TRAFFIC, 0, "龙泽路回南路路口红绿灯坏了没人管，车辆乱行。"),
        # An area's complaints of two places, a warning, and complaints of other places within the hour: the warning's
        # two weeks rise, whichever batch the complaints after it came in.
        Report(600, NORTH, SCHOOLS, 0, "回龙观第二小学门口早上接送孩子的车乱停，堵得走不动。"),
        Report(610, NORTH, SCHOOLS, 0, "回龙观图书馆周末开放时间太短，希望延长开放时间。"),
        Report(620, NORTH, SCHOOLS, 1, "回龙观第二小学门口接送孩子的车辆乱停的问题还是很严重。"),
        Report(630, NORTH, SCHOOLS, 2, "回龙观第二小学门口接送孩子的车又因为停车吵起来了，家长说要打人。"),
        Report(630.5, NORTH, SCHOOLS, 0, "回龙观体育公园的篮球场地面坑洼不平。"),
        Report(631, NORTH, SCHOOLS, 0, "回龙观文化馆的培训课程报名太难了。"),
        Report(631.5, NORTH, SCHOOLS, 0, "回龙观第三中学旁边的书店卖盗版教辅。"),
        # One place's complaints rising to a threat, then a complaint of another place: that place's own escalation,
        # whether or not the complaint came in the threat's batch.
        Report(700, NORTH, HEALTH, 0, "回龙观社区卫生服务中心挂号排队太久。"),
        Report(724, NORTH, HEALTH, 1, "回龙观社区卫生服务中心挂号排长队，医生态度也不好。"),
        Report(748, NORTH, HEALTH, 0, "回龙观社区卫生服务中心挂号要排一个小时的队。"),
        Report(770, NORTH, HEALTH, 3, "回龙观社区卫生服务中心挂号排队太久，病人家属和医生吵起来扬言要动手。"),
        Report(772, NORTH, HEALTH, 0, "回龙观的药店卖的口罩价格太高。"),
    ]
    # Unrelated reports between them, each its own problem.
    rng = random.Random(7)
    places = ("龙锦苑", "龙腾苑", "流星花园", "新龙城", "天露园", "龙禧苑", "金域华府", "和谐家园")
    things = ("路灯不亮", "井盖缺失", "绿化带被占", "楼道堆物", "共享单车乱停", "下水道堵塞", "违章搭建", "广告牌松动")
    for index in range(40):
        street = rng.choice((NORTH, SOUTH))
        topic = rng.choice((CITY, TRAFFIC, ENVIRONMENT))
        place, thing = places[index % len(places)], things[(index * 3) % len(things)]
        text = f"{place}{rng.randint(1, 30)}号楼附近{thing}，请尽快处理。"
        reports.append(Report(round(rng.uniform(0, 440), 1), street, topic, rng.choice((0, 0, 0, 1)), text))
    return sorted(reports, key=lambda r: r.hours)


class Prediction(NamedTuple):
    topic: str
    topic_confidence: float
    risk_level: int
    risk_confidence: float
    kind: str
    terms: Sequence[str]
    needs_review: bool


class StubModel:
    """The serving model's `predict`, answering each text with its stream topic and risk."""

    version = "stub"

    def __init__(self, reports: Sequence[Report]) -> None:
        self.labels = {r.text: (r.topic, r.risk) for r in reports}

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [
            Prediction(
                topic=self.labels[text][0],
                topic_confidence=0.9,
                risk_level=self.labels[text][1],
                risk_confidence=0.9,
                kind="complaint",
                terms=(),
                needs_review=False,
            )
            for text in texts
        ]


async def intake(conn: Any, reports: Sequence[Report]) -> None:
    """Store the stream as pending items, oldest first (ids follow intake), each named by its place in the stream."""
    for index, report in enumerate(reports):
        await conn.execute(
            "INSERT INTO items (tracking_code, channel, text, text_masked, street, received_at) "
            "VALUES ($1, 'web', $2, $2, $3, $4)",
            f"S{index:03d}",
            report.text,
            report.street,
            START + timedelta(hours=report.hours),
        )


async def outcome(conn: Any) -> dict[str, Any]:
    """Cases, hotspots ever raised, lifts and counts, named by the stream's places (no ids)."""
    code = dict(await conn.fetch("SELECT id, tracking_code FROM items"))
    cases = sorted(
        r["members"]
        for r in await conn.fetch(
            "SELECT array_agg(tracking_code ORDER BY tracking_code) AS members FROM items GROUP BY case_id"
        )
    )
    hotspots = []
    for row in await conn.fetch("SELECT * FROM hotspots"):
        case = await conn.fetchval(
            "SELECT array_agg(tracking_code ORDER BY tracking_code) FROM items WHERE case_id = $1", row["case_id"]
        )
        hotspots.append(
            {
                "kind": row["kind"],
                "street": row["street"],
                "topic": row["topic"],
                "status": row["status"],
                "score": row["score"],
                "why": row["why"],
                "case": case,
                "members": sorted(code[m["id"]] for m in await hotspot_members(conn, row, limit=1000)),
                "lifts": sorted(
                    r["tracking_code"]
                    for r in await conn.fetch("SELECT tracking_code FROM items WHERE hotspot_id = $1", row["id"])
                ),
            }
        )
    counts = [tuple(r) for r in await conn.fetch("SELECT * FROM place_topic_days ORDER BY street, topic, day")]
    pending = await conn.fetchval("SELECT count(*) FROM items WHERE status = 'pending' OR case_id IS NULL")
    return {
        "pending": pending,
        "cases": cases,
        "hotspots": sorted(json.dumps(h, sort_keys=True, ensure_ascii=False) for h in hotspots),
        "counts": counts,
    }


BATCHINGS = ("sweeper", "one at a time", "uneven and shuffled", "all at once")


async def replay(
    pool: asyncpg.Pool, settings: Settings, reports: Sequence[Report], batching: str, model: StubModel | None = None
) -> dict[str, Any]:
    await pool.execute(f"TRUNCATE {TABLES} CASCADE")
    async with pool.acquire() as conn:
        await intake(conn, reports)
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM items ORDER BY id")]
    executor = ThreadPoolExecutor(max_workers=1)
    ctx: dict[str, Any] = {
        "settings": msgspec.structs.replace(settings, classify_batch_size=16),
        "db_pool": pool,
        "model": model or StubModel(reports),
        "executor": executor,
    }
    rng = random.Random(batching)
    try:
        if batching == "sweeper":
            while await sweep(ctx):
                pass
        else:
            if batching == "one at a time":
                batches = [[item_id] for item_id in ids]
            elif batching == "all at once":
                batches = [list(reversed(ids))]
            else:
                batches, left = [], list(ids)
                while left:
                    size = rng.randint(1, 9)
                    batches.append(rng.sample(left[:size], len(left[:size])))
                    left = left[size:]
            for batch in batches:
                async with pool.acquire() as conn:
                    claimed = [c for i in batch if (c := await store.claim_one(conn, item_id=i, lease_seconds=30))]
                await classify_claimed(ctx, claimed)
    finally:
        executor.shutdown()
    async with pool.acquire() as conn:
        return await outcome(conn)


async def test_the_same_stream_makes_the_same_cases_and_hotspots_however_it_is_batched(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    reports = stream()
    outcomes = {batching: await replay(pool, settings, reports, batching) for batching in BATCHINGS}
    first = outcomes[BATCHINGS[0]]
    assert first["pending"] == 0
    assert max(len(case) for case in first["cases"]) >= 5, "the stream should make a case of several reports"
    raised = [json.loads(h) for h in first["hotspots"]]
    kinds = {h["kind"] for h in raised}
    assert {"case", "escalation"} <= kinds, f"the stream should raise hotspots of both kinds, raised: {kinds}"
    # What each story of the stream makes, placed one report at a time in (time, id) order: the junction's case
    # escalation raised by the threat and ended by the complaints of its second; the schools' area rise; the clinic's
    # case alone, no area rise.
    of = {(h["topic"], h["case"] is None, h["status"]) for h in raised if h["kind"] == "escalation"}
    assert {(TRAFFIC, False, "ended"), (SCHOOLS, True, "active")} <= of, of
    assert (HEALTH, True, "active") not in of, of
    for batching, other in outcomes.items():
        for part in ("cases", "hotspots", "counts"):
            assert other[part] == first[part], f"{part} by the {batching} batching differ from the sweeper's"


@pytest.mark.parametrize("batching", BATCHINGS[2:])
async def test_reports_of_one_time_are_placed_in_id_order_whatever_order_they_were_claimed_in(
    pool: asyncpg.Pool, settings: Settings, batching: str
) -> None:
    """A letter sent three times at one second, and two reports of one second: placed in the order intake stored
    them, however the batch listed them."""
    reports = [r for r in stream() if r.hours in (300, 310, 330, 400, 420, 421, 500, 510, 520)]
    in_order = await replay(pool, settings, reports, "one at a time")
    assert await replay(pool, settings, reports, batching) == in_order


class RefusedModel(StubModel):
    """The stub, except that one text gets a kind of item the database does not know, so that PostgreSQL refuses
    any batch with it."""

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [
            p._replace(kind="praise") if "毒丸" in t else p for t, p in zip(texts, super().predict(texts), strict=True)
        ]


async def test_a_batch_the_database_refuses_is_placed_in_time_order_whatever_order_it_was_claimed_in(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """PostgreSQL refuses a batch for one outcome in it (a kind it does not know): the others, recorded one at a
    time, are placed in (time, id) order, as the batch would have placed them, not in the order they were claimed
    (newest first here): the junction's threat of one second still raises the escalation its complaints end."""
    reports = [r for r in stream() if r.hours in (300, 310, 330, 500, 510, 520)]
    reports.append(Report(505, SOUTH, TRAFFIC, 0, "毒丸：这条内容的分类数据库不收"))
    reports.sort(key=lambda r: r.hours)
    model = RefusedModel(reports)
    in_order = await replay(pool, settings, reports, "one at a time", model)
    refused = await replay(pool, settings, reports, "all at once", model)
    assert in_order["pending"] == refused["pending"] == 1  # the refused one, alone
    assert refused == in_order
