from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import ml.lexicon
from ml.lexicon import _RULES, batch_risk_signals, risk_floor, risk_floors, risk_signals


@pytest.mark.parametrize(
    ("text", "level", "phrase"),
    [
        ("来电人称邻居因噪音纠纷扬言要跳楼，情绪激动", 3, "跳楼"),
        ("他说再不还钱就拿刀去找对方", 3, "拿刀"),
        ("楼道里燃气泄漏，味道很大", 3, "燃气泄漏"),
        ("老人正在转账给自称公安的人", 3, "正在转账"),
        ("几十名工人此刻在厂门口堵路讨薪", 3, "堵路"),
        ("楼下饭店着火了，浓烟很大", 3, "着火"),
        ("房子住不进去，真是想死的心都有了", 3, "想死"),
        ("举报后村民接到匿名的死亡威胁", 3, "死亡威胁"),
        ("对方说不给钱就不放人", 3, "不放人"),
        ("他说再拖下去就一了百了", 3, "就一了百了"),
        ("她在电话里说今晚就“了结”了", 3, "“了结”"),
        ("退不了钱，我手腕上已经划了一道", 3, "手腕上已经划"),
        ("那人拎着瓶子说要拿硫酸泼她", 3, "拿硫酸"),
        ("讨薪的工人现在被关在宿舍里，手机都收了", 3, "被关在"),
        ("孩子被反锁在车里出不来了", 3, "被反锁在"),
        ("几十个工人坐在厂门口不走", 3, "坐在厂门口不走"),
        ("大家把老板的车围起来了", 3, "把老板的车围起来"),
        ("骗子还在催，我妈正准备再转", 3, "正准备再转"),
        ("工地40多名工人被拖欠半年工资", 2, "40多名工人"),
        ("业主们准备拉横幅维权", 2, "横幅"),
        ("说不解决就越级上访", 2, "越级上访"),
        ("小区几十户业主联名反对", 2, "几十户业主"),
        ("开发商延期交房两年", 2, "开发商"),
        ("这个问题已经多次反映了", 1, "多次反映"),
    ],
)
def test_explicit_signals_set_a_floor(text: str, level: int, phrase: str) -> None:
    found, phrases = risk_floor(text)

    assert found == level
    assert phrase in phrases


@pytest.mark.parametrize(
    "text",
    [
        "经排查没有燃气泄漏，是下水道的味道",
        "现场无燃气泄漏",
        "网格员到场，未发现明显漏气",
        "并未起火，只是冒了点热气",
        "我不想死，只想要回工资",
        "好久不见，想死你了",
    ],
)
def test_a_negated_signal_sets_no_floor(text: str) -> None:
    assert risk_floor(text) == (0, ())


def test_a_negation_elsewhere_in_the_clause_does_not_cancel_a_threat() -> None:
    assert risk_floor("如果不解决就同归于尽")[0] == 3


@pytest.mark.parametrize("text", ["楼道堆满纸箱，存在火灾隐患", "担心老楼墙体坍塌", "消防通道被占，万一起火人出不去"])
def test_a_hazard_only_feared_is_a_warning_not_an_emergency(text: str) -> None:
    assert risk_floor(text)[0] == 2


@pytest.mark.parametrize(
    "text", ["去年小区发生过火灾", "前年工地塌方", "上个月有人跳楼身亡", "走失的老人昨晚已被民警找到，送回家中"]
)
def test_harm_that_is_over_is_a_warning_not_an_emergency(text: str) -> None:
    assert risk_floor(text)[0] == 2


@pytest.mark.parametrize(
    "text",
    [
        "施工车辆堵路，早高峰很难走",
        "建议在龙跃苑东门增设公交站",
        "长期被噪音困扰",
        "希望给小区加装电梯",
        "请相关人员尽快处理",
    ],
)
def test_ordinary_items_have_no_floor(text: str) -> None:
    assert risk_floor(text)[0] == 0


@pytest.mark.parametrize(
    "text",
    [
        # a person locked in or missing, only in passing: prevention, a thing held, a rescue that is over
        "请问孩子被锁在车里这种事该怎么预防",
        "建议给失智老人配发防走失手环",
        "我准备转学，想问问手续",
        "钥匙锁在屋里了，开锁多少钱",
        "建议社区加强管理，防止老人走失",
        "我的车被别的车挡住出不来了",
        "家里水龙头的水出不来了",
        "押金被扣住了",
        "我家的狗被邻居关起来了",
        "来电人和孩子被关在里面二十多分钟才被救出来",
        # everyday words of the urgent rules
        "我的车停在楼下被人划了一道口子",
        "建议在路口划一道停车线",
        "把这条路彻底修好，一了百了",
        "工地用围挡把绿地围起来了",
        "小区保安拦着不让外卖进",
        "保安守在门口不让进",
        "业主们准备打款维修",
        "工作人员说马上转过去",
        "去年小区围墙倒塌了",
        "上个月仓库着火了",
    ],
)
def test_look_alikes_of_the_urgent_rules_are_no_emergency(text: str) -> None:
    assert risk_floor(text)[0] < 3


@pytest.mark.parametrize(
    "text", ["我爸走失了，到现在还没找到", "老人走失了，希望他平安回家", "孩子失联了，不知道是否平安"]
)
def test_a_person_still_missing_stays_an_emergency(text: str) -> None:
    assert risk_floor(text)[0] == 3


def test_the_strongest_signal_wins() -> None:
    level, phrases = risk_floor("多次反映无果，全体业主要去上访，有人说要跳楼")

    assert (level, phrases) == (3, ("跳楼",))


def test_every_rule_match_holds_one_of_its_triggers() -> None:
    """The trigger scan may skip a rule only when the rule cannot match: checked on each rule's own phrases."""
    texts = [
        "燃气泄漏了",
        "电梯多次故障关人",
        "拖欠员工三个月工资",
        "拆迁补偿太低",
        "被骗了5万",
        "传销猖獗",
        "饮用水被污染",
        "我们是村民",
        "联系不上人了",
        "跟他拼了",
        "以生命来抗争",
        "20多名家长",
    ]
    for text in texts:
        for signal in risk_signals(text):
            holders = [rule for rule in _RULES if any(t in signal.phrase.lower() for t in rule.triggers.split())]
            assert holders, signal


def test_broken_input_is_read_around_its_broken_character() -> None:
    assert risk_floor("燃气泄漏\ud83d了") == (3, ("燃气泄漏",))


def test_a_batch_reads_each_text_on_its_own() -> None:
    """The batch is scanned as one text: the end of one text must not make the next one's fire happen now."""
    texts = ["楼里的人正在", "着火", "没有", "燃气泄漏", "20多名", "家长在门口"]

    assert risk_floors(texts) == [risk_floor(text) for text in texts]
    assert risk_floors(texts)[1][0] == 2


def test_the_urgent_probe_is_what_it_says() -> None:
    from bench.urgent_probe import load

    probe = load(Path(__file__).resolve().parents[1] / "data" / "urgent_probe.jsonl")
    assert [m.id for m in probe] == list(range(1, len(probe) + 1))
    assert len({m.text for m in probe}) == len(probe)
    kinds = Counter(m.category for m in probe if m.level == 3)
    assert set(kinds) == {"self_harm", "threat", "hazard_now", "person_held", "gathering_now", "fraud_now"}
    assert min(kinds.values()) >= 12
    assert {m.level for m in probe if m.category == "lookalike"} <= {0, 1, 2}


def _widths(pattern: str) -> tuple[int, int]:
    """(longest match, furthest a lookahead reads past a match's end) of a pattern, from the regex parser."""
    parser = importlib.import_module("re._parser")  # private, but the only reader of a pattern's widths

    lookahead = 0

    def walk(items: Any) -> None:
        nonlocal lookahead
        for op, arg in items:
            if str(op) in ("ASSERT", "ASSERT_NOT") and arg[0] == 1:
                lookahead = max(lookahead, arg[1].getwidth()[1])
            for part in arg if isinstance(arg, (list, tuple)) else ():
                if isinstance(part, parser.SubPattern):
                    walk(part)
                elif isinstance(part, (list, tuple)):
                    for inner in part:
                        if isinstance(inner, parser.SubPattern):
                            walk(inner)

    parsed = parser.parse(pattern)
    walk(parsed)
    return parsed.getwidth()[1], lookahead


def test_rules_read_windows_as_wide_as_their_longest_match() -> None:
    for rule in _RULES:
        longest, lookahead = _widths(rule.pattern)
        if rule.before_trigger:  # reads a fixed stretch before its trigger instead
            continue
        assert longest <= ml.lexicon._LONGEST_MATCH, rule.pattern
        assert lookahead <= ml.lexicon._LOOKAHEAD, rule.pattern
    assert _widths(ml.lexicon._NEGATED.pattern)[0] <= ml.lexicon._LONGEST_NEGATION
    assert _widths("(?<!不)想死(?!你|了你)") == (2, 2)


def test_windows_find_what_a_scan_of_the_whole_text_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench._texts import seed_corpus_texts, seed_texts
    from bench.urgent_probe import load

    probe = load(Path(__file__).resolve().parents[1] / "data" / "urgent_probe.jsonl")
    texts = [*seed_corpus_texts(), *seed_texts(2_000, 400), *(m.text for m in probe)]
    windowed = batch_risk_signals(texts)

    def whole_texts(
        starts: list[int], ends: list[int], texts: list[int], text_start: list[int], text_end: list[int]
    ) -> list[tuple[int, int, int]]:
        return [(text_start[t], text_end[t], t) for t in dict.fromkeys(texts)]

    monkeypatch.setattr(ml.lexicon, "_windows", whole_texts)
    assert windowed == batch_risk_signals(texts)
    assert sum(map(len, windowed)) > 1_000
