"""Explicit risk signals from the rubric: phrases that set a floor under the model's risk level.

The rubric's signals, as the labelled real messages read them (`ml/eval/README.md`):
- urgent (3): harm that may happen now — a stated wish to die or a threat of self-harm, a threat to kill or maim
  (or a knife drawn), a gas leak, a fire, collapse or explosion under way, a person trapped, held or missing now, a
  blockade or gathering under way, a fraud being paid right now;
- warning (2): many people involved or escalation — groups of owners, villagers, workers, teachers; wages owed to
  a group; compensation disputes over demolition and land; petitioning, media, banners; scuffles and assaults that
  are over; schemes with many victims; deaths or grave injuries behind a dispute; hazards to many people, feared
  or backed by an incident (the same hazard words as level 3 when nothing says it is happening now);
- watch (1): an unresolved problem hardening, an individual loss, a dispute between two parties.

A phrase does not count when the clause negates it right before it (没有燃气泄漏, 未发现起火). Each rule names
literal triggers, one of which every match contains: one Aho–Corasick pass over the text finds which rules can
match at all and where, so most texts cost a single scan, and a rule's pattern reads only the stretches around its
triggers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

URGENT = 3
WARNING = 2
WATCH = 1
MAX_TERM = 8  # characters of a phrase named as a term when a shorter phrase sets the same level


class _Rule(msgspec.Struct, frozen=True):
    level: int
    pattern: str
    triggers: str  # space-separated literals; every match of `pattern` contains one of them
    feared_is_warning: bool = False  # "担心坍塌", "存在火灾隐患": a hazard not yet happening is a warning
    urgent_only_now: bool = False  # a hazard word is urgent only when the clause says it is happening now
    unless_before: str | None = None  # the clause before the phrase shows it means something ordinary
    unless_after: str | None = None  # what follows shows it is over or means something else
    # `pattern` is what must stand right before a trigger (ending in $): the match is that and the trigger. Faster
    # than scanning the whole text when what comes first (a number) is common and the trigger (a noun) is not.
    before_trigger: bool = False


# traffic, parking or a building site "blocks the road" too; that is not a mass incident.
_TRAFFIC = r"车|施工|占道|拥堵|停车|摊|拥$"
# the harm is over: a death, an attempt that failed, an event reported afterwards
_OVER = r"^(?:了)?(?:身亡|死亡|去世|未遂|事件|案|事故|的事)"
# parties that are many people by themselves, and those that are only when counted
_GROUP = r"村民|业主|居民|住户|职工|员工|工人|农民工|民工|司机|商户|拆迁户|股民|投资人|退休人员"
_COUNTED = rf"{_GROUP}|教师|老师|家长|学员|会员|群众|老人|学生|户"
_MANY = "全体 众多 多名 多位 数十 几十 上百 几百 数百 上千 几千 大批"

_RULES = (
    # threats of self-harm
    _Rule(
        URGENT,
        r"以死相逼|同归于尽|一起完蛋|不想活了|(?<!不)想死(?!你|了你)|活不下去|寻死|誓死|拼死|死也(?:要|不)|死在[^，。！？]{0,8}(?:门口|面前|门前|大门)"
        r"|(?:想|干脆|不如|就)一了百了|了结(?:自己|了自己|生命|此生)|[“\"]了结[”\"]|(?:划|割)(?:了)?(?:自己的)?手腕"
        r"|手腕上[^，。！？]{0,6}(?:划|割)|(?:划|割)伤自己"
        r"|以(?:生命|死)(?:来)?(?:抗争|维权|保护|相拼|明志)|报复社会",
        "以死相逼 同归于尽 一起完蛋 不想活了 想死 活不下去 寻死 誓死 拼死 死也 死在 以生命 以死 报复社会 一了百了 了结 "
        "手腕 伤自己",
    ),
    _Rule(
        URGENT,
        r"跳楼|跳河|跳桥|跳江|跳下[去来]|自杀(?!式)|轻生|寻短见|喝农药|服毒|割腕|上吊",
        "跳楼 跳河 跳桥 跳江 跳下 自杀 轻生 寻短见 喝农药 服毒 割腕 上吊",
        unless_after=_OVER,
    ),
    # threats to kill or maim, a weapon drawn
    _Rule(
        URGENT,
        r"(?:扬言|威胁|恐吓|声称|叫嚣|放话)[^。！？]{0,16}(?:杀|砍|弄死|打死|捅|扫了|报复|炸|烧死|灭了|废了|拼了|好看)"
        r"|拿刀|持刀|拿着.{0,2}刀|刀拿在手|提着刀|动刀|杀了(?:你|他|她|他们|你们)|砍死你|弄死你|打死你"
        r"|泼汽油|浇汽油|浇了汽油|提着.{0,3}汽油|放火|跟.{0,6}拼了|死亡威胁|泼硫酸|硫酸泼|拿硫酸|刀的照片",
        "扬言 威胁 恐吓 声称 叫嚣 放话 刀 杀了 砍死你 弄死你 打死你 汽油 放火 拼了 硫酸",
    ),
    # harm happening now: a gas or chemical leak is urgent unless only feared or over
    _Rule(
        URGENT,
        r"(?:燃气|煤气|天然气|液化气|毒气|氨气|氯气)(?:管道?)?泄[漏露]|泄[漏露]|漏气|(?:燃气|煤气|天然气|液化气)味",
        "泄漏 泄露 漏气 燃气味 煤气味 天然气味 液化气味",
        feared_is_warning=True,
        unless_before=r"(?:信息|隐私|数据|资料|号码|个人|内容|题)$",
        unless_after=r"^(?:了)?(?:的)?(?:信息|隐私|个人|身份|号码|资料|秘密|事故后|事件)",
    ),
    # fire, explosion, collapse, entrapment: urgent when happening now, else a hazard to many people
    _Rule(
        URGENT,
        r"起火|着火|失火|火灾|火情|火势|爆炸|爆燃|坍塌|倒塌|塌陷|塌方|垮塌|塌了|要塌|滑坡|触电"
        r"|被困(?!扰)|困人|困在|砸下来|砸到人|踩踏|喘不上气|晕过去|失去意识|昏迷",
        "起火 着火 失火 火灾 火情 火势 爆炸 爆燃 坍塌 倒塌 塌陷 塌方 垮塌 塌了 要塌 滑坡 触电 被困 困人 困在 "
        "砸下来 砸到人 踩踏 喘不上气 晕过去 失去意识 昏迷",
        feared_is_warning=True,
        urgent_only_now=True,
        unless_before="憋$",
    ),
    # a person held or missing
    _Rule(
        URGENT,
        r"失联|失踪|走失|下落不明|联系不上(?:人|了)|非法拘禁|扣押(?:了)?(?:人|工人|他|她)|绑架|囚禁|不放人",
        "失联 失踪 走失 下落不明 联系不上 非法拘禁 扣押 绑架 囚禁 不放人",
        unless_before=r"防(?:止|范)?[^，。！？]{0,4}$",  # 防走失手环, 防止老人走失
        # a missing person found again is over (还没找到, 希望平安回家 are not)
        unless_after=r"^(?:人口|儿童|人员)?(?:的)?(?:案|事件|多年)"
        r"|^[^。！？]{0,20}(?:已经?|已于[^，。！？]{0,10})[^，。！？]{0,8}(?:找到|找回|寻回|获救|救出|回到家)",
    ),
    # a person locked in or kept from leaving: urgent while it lasts (孩子被锁在车里 also heads a question on
    # prevention); nobody is held when the clause is about a thing (钥匙锁在屋里, 押金被扣住, 车被挡住出不来)
    _Rule(
        URGENT,
        r"被(?:反)?(?:关|锁|扣)(?:在|起来|住)|关起来|锁在(?:屋|房|车|里|阳台)|不让(?:他|她|我|我们|人)?(?:走|出门|离开)|出不来",
        "关在 关起来 关住 锁在 锁起来 锁住 扣在 扣起来 扣住 不让 出不来",
        feared_is_warning=True,
        urgent_only_now=True,
        unless_before=r"(?:钥匙|手机|东西|包裹|快递|猫|狗|宠物|车子|车辆|汽车|轿车|私家车|电动车|自行车|的车|别的车|大门|房门|车门|货物"
        r"|押金|身份证|证件|钱|水龙头|自来水|的水|结果|超市|店铺|商店|房子|资料)[^，。！？]{0,8}$",
        unless_after=r"^[^。！？]{0,20}(?:救出|放出来|放了|获救|被放)",
    ),
    # fraud in progress
    _Rule(
        URGENT,
        r"正在(?:转账|汇款|打款)|正要转账|准备转账|马上(?:就要)?转账|催(?:促)?(?:他|她|老人)?转账"
        r"|(?:正准备|正要|准备|马上|这就)(?:再|又)(?:转|汇|打)|(?:正在|正准备|正要)(?:转钱|汇钱|转一笔)",
        "转账 汇款 打款 再转 又转 再汇 又汇 再打 又打 转钱 汇钱 转一笔",
    ),
    # a mass incident: urgent while under way, a warning when reported or threatened
    _Rule(
        URGENT,
        r"堵路(?!口)|堵门|拦路|把(?:大门|校门|路口|道路|马路|门口)堵|堵住(?:了)?(?:马路|道路|大门|校门)|围堵"
        r"|聚众闹事|正在聚集|设置路障|拦截.{0,4}车辆|聚集(?:在|到|于).{0,10}(?:门口|门前|楼下|大门|政府|售楼处|工地|现场|路口|路|局)"
        r"|静坐|游行|示威|冲击(?:政府|派出所)",
        "堵路 堵门 拦路 堵 围堵 聚众闹事 聚集 路障 拦截 静坐 游行 示威 冲击",
        feared_is_warning=True,
        urgent_only_now=True,
        unless_before=_TRAFFIC,
    ),
    # a sit-in, or a person surrounded, that says by itself it is going on
    _Rule(
        URGENT,
        r"(?:坐|躺|跪)在[^，。！？]{0,10}(?:门口|门前|前面|路上|路中间|地上)(?:不走|不起来)"
        r"|把(?:老板|经理|负责人|领导|包工头|他|她|他们)[^，。！？]{0,4}围(?:起来|住)",
        "不走 不起来 围起来 围住",
        feared_is_warning=True,
    ),
    # escalation
    _Rule(
        WARNING,
        r"越级上访|集体上访|上访|越级|进京|赴京|(?:去|到|上)北京|集体信访|多次信访|横幅|举牌|找媒体|向媒体|媒体曝光|新闻媒体|记者"
        r"|曝光(?!台)|集体维权|联名",
        "上访 越级 进京 赴京 北京 信访 横幅 举牌 媒体 记者 曝光 维权 联名",
    ),
    # many people involved
    _Rule(
        WARNING,
        rf"(?:全体|众多|多名|多位|数十|几十|上百|几百|数百|上千|几千|成百上千|大批)(?:名|位|户|个)?(?:{_COUNTED})",
        _MANY,
    ),
    _Rule(WARNING, rf"(?:{_GROUP})们", " ".join(f"{group}们" for group in _GROUP.split("|"))),
    _Rule(
        WARNING,
        r"(?:[1-9]\d+|十几|二十|三十|四十|五十|六十|七十|八十|九十|一百)多?(?:名|位|个|户)?$",
        " ".join(_COUNTED.split("|")),
        before_trigger=True,
    ),
    _Rule(
        WARNING,
        rf"(?:我们|我等|本村|全村|全组|本组|全小区|整栋)(?:是|这些|这里的|全体|所有)?[^，。！？]{{0,8}}(?:{_GROUP})",
        "我们 我等 本村 全村 全组 本组 全小区 整栋",
    ),
    # wages and benefits owed, compensation for demolition and land
    _Rule(
        WARNING,
        r"集体讨薪|欠薪|(?:拖欠|欠发|克扣|拒发)[^。！？]{0,12}(?:工资|薪|奖金|补贴|绩效|社保|养老金|退休金|工程款|劳务费)",
        "讨薪 欠薪 拖欠 欠发 克扣 拒发",
    ),
    _Rule(
        WARNING,
        r"强拆|(?:拆迁|征地|征收|棚改|安置)[^。！？]{0,16}(?:纠纷|不公|不合理|太低|过低|不到位|未到位|不满|拖欠|没兑现"
        r"|未兑现|补偿|赔偿|强行|威逼)",
        "强拆 拆迁 征地 征收 棚改 安置",
    ),
    # a developer's dispute is with all the owners of the estate
    _Rule(WARNING, r"开发商", "开发商"),
    # scuffles and assaults, over
    _Rule(
        WARNING,
        r"打架|打起来|厮打|推搡|殴打|打伤|打人|被打|围攻|群殴|大打出手|肢体冲突|扭打|杀人|砍人|捅人|砍伤|捅伤",
        "打架 打起来 厮打 推搡 殴打 打伤 打人 被打 围攻 群殴 大打出手 肢体冲突 扭打 杀人 砍人 捅人 砍伤 捅伤",
    ),
    # schemes with many victims
    _Rule(
        WARNING,
        r"传销|非法集资|集资诈骗|p2p|暴雷|爆雷|庞氏|骗局|(?:老人|老年人|大爷|大妈|老太太)[^。！？]{0,20}(?:被骗|受骗|保健品)"
        r"|被骗(?:了)?\d{1,8}万",
        "传销 集资 p2p 暴雷 爆雷 庞氏 骗局 被骗 受骗 保健品",
    ),
    # deaths or grave injuries
    _Rule(
        WARNING,
        r"死亡|身亡|致死|丧命|遇难|重伤|伤残|医疗事故|自残|溺亡",
        "死亡 身亡 致死 丧命 遇难 重伤 伤残 医疗事故 自残 溺亡",
    ),
    # hazards to many people backed by a breach
    _Rule(
        WARNING,
        r"电梯[^。！？]{0,12}(?:故障|事故|坠落|下坠|停运|频繁|急停|关人|困人)|消防通道[^。！？]{0,6}(?:堵|占)|墙体开裂|开裂|裂缝|裂痕"
        r"|(?:饮用水|自来水|水源|井水)[^。！？]{0,10}(?:污染|发黄|浑浊|异味|发臭|超标)"
        r"|污染[^。！？]{0,20}(?:村民|居民|群众|百姓|健康|水源|饮用水)|(?:村民|居民|群众|百姓)[^。！？]{0,20}污染",
        "电梯 消防通道 开裂 裂缝 裂痕 饮用水 自来水 水源 井水 污染",
    ),
    # an unresolved problem hardening
    _Rule(
        WATCH,
        r"多次反映|反映多次|多次投诉|多次来电|多次举报|一直没(?:有)?解决|至今未解决|仍未解决|迟迟不解决|被骗|纠纷|安全隐患",
        "多次 反映多次 一直没 至今未 仍未 迟迟 被骗 纠纷 安全隐患",
    ),
)

_BATCH_SEPARATOR = "\n"
# characters a `before_trigger` pattern may need before its trigger
_LONGEST_BEFORE = 12
# No rule's match is longer than this, and no lookahead reads further than `_LOOKAHEAD` past a match (the tests
# check both): a rule's matches lie within that reach of the triggers they hold, so a rule reads those windows of a
# text rather than the whole of it.
_LONGEST_MATCH = 32
_LOOKAHEAD = 4
_CLAUSE_ENDS = "，。！？；,.!?;：:\n"
_SENTENCE_ENDS = "。！？!?\n"
_LAST_END = 0xFFFF  # every clause end is below; any character from here on ends nothing
# the negation must stand right before the phrase: 没有燃气泄漏, 未发现明显漏气, 打不着火; 不解决就跳楼 is no negation.
_NEGATED = re.compile(
    r"(?:没有|没|无|未|不|并未|并没有|不存在|排除|不是|并非|否认)(?:发现|出现|存在|闻到|看到|发生|听到|任何|明显|什么|人){0,4}$"
)
_LONGEST_NEGATION = 11  # characters `_NEGATED` can match
# How far around a match its clause is read for what undoes or qualifies it (防止, 担心, 正在, …). A clause is rarely
# longer; a text of thousands of characters without punctuation would otherwise be read whole for every match.
_CONTEXT_REACH = 80
# "随时可能坍塌" is imminent, "可能坍塌" is not
_ONLY_FEARED_BEFORE = re.compile(
    r"担心|害怕|怕|防止|预防|避免|以防|谨防|防范|存在|(?<!随时)可能|容易|一旦|如果|万一|要去|准备|打算|扬言|威胁"
)
_ONLY_FEARED_AFTER = re.compile(r"^(?:的)?(?:隐患|风险|危险|可能|之虞)")
# the hazard or the crowd is there now
_NOW = re.compile(
    r"正在|现在|此刻|此时|目前|刚刚|刚才|马上|随时|快要|即将|眼看|还在|仍在|一直在|当场|已经|救命|今天|今日|今晚|今早"
)
_NOW_AFTER = re.compile(r"^(?:了|着)?[^，。！？]{0,4}(?:了[，。！!]|出不来|救命|快来|求救|请求救援|正在|中)")


class RiskSignal(msgspec.Struct, frozen=True):
    level: int
    phrase: str  # as written in the text


_Compiled = tuple[_Rule, re.Pattern[str], re.Pattern[str] | None, re.Pattern[str] | None]


@cache
def _compiled() -> tuple[Any, tuple[_Compiled, ...], list[int]]:
    """The trigger automaton, the compiled rules, and the rules each trigger can start (bit n: rule n).

    Built on first use."""
    import ahocorasick_rs

    triggers: list[str] = []
    rules_of: dict[str, list[int]] = {}
    for number, rule in enumerate(_RULES):
        for trigger in rule.triggers.split():
            if trigger not in rules_of:
                rules_of[trigger] = []
                triggers.append(trigger)
            rules_of[trigger].append(number)
    compiled = tuple(
        (
            rule,
            re.compile(rule.pattern),
            re.compile(rule.unless_before) if rule.unless_before else None,
            re.compile(rule.unless_after) if rule.unless_after else None,
        )
        for rule in _RULES
    )
    # a DFA: larger than the default automaton, and twice as fast to scan with
    automaton = ahocorasick_rs.AhoCorasick(triggers, implementation=ahocorasick_rs.Implementation.DFA)
    return automaton, compiled, [sum(1 << n for n in rules_of[t]) for t in triggers]


def risk_signals(text: str) -> list[RiskSignal]:
    """Every non-negated signal in the text, strongest first."""
    return batch_risk_signals([text])[0]


def batch_risk_signals(texts: Sequence[str]) -> list[list[RiskSignal]]:
    """`risk_signals` of each text. The batch is read as one string, its texts separated by newlines: no trigger
    holds a newline, a newline ends a clause and a sentence, and each rule reads only the text of a trigger it
    matched (its own slice of the string), so that no text reads into the next."""
    automaton, compiled, rules_of = _compiled()
    texts = list(texts)
    original = _BATCH_SEPARATOR.join(texts)
    joined = _lower(original, texts)
    try:
        hits = automaton.find_matches_as_indexes(joined, overlapping=True)
    except UnicodeEncodeError:  # a lone surrogate (broken input) becomes "?"
        texts = [text.encode("utf-8", "replace").decode("utf-8") for text in texts]
        original = _BATCH_SEPARATOR.join(texts)
        joined = _lower(original, texts)
        hits = automaton.find_matches_as_indexes(joined, overlapping=True)
    found: list[list[RiskSignal]] = [[] for _ in texts]
    if not hits:
        return found
    starts = np.cumsum([0, *(len(text) + 1 for text in texts[:-1])])
    text_start, text_end = starts.tolist(), (starts + [len(text) for text in texts]).tolist()
    clause_start, sentence_start = _starts(joined)
    trigger, hit_start, hit_end = np.array(hits, dtype=np.int64).T
    hit_text = np.searchsorted(starts, hit_start, side="right") - 1
    possible = np.asarray(rules_of, dtype=np.int64)[trigger]
    spans: list[tuple[int, int, int, int]] = []  # rule, begin, end, text
    for number, (rule, pattern, _, _) in enumerate(compiled):
        mine = (possible >> number & 1).astype(np.bool_)
        if not mine.any():
            continue
        rule_hits = hit_start[mine].tolist(), hit_end[mine].tolist(), hit_text[mine].tolist()
        if rule.before_trigger:
            for start, end, text in zip(*rule_hits, strict=True):
                leading = pattern.search(joined, max(text_start[text], start - _LONGEST_BEFORE), start)
                if leading:
                    spans.append((number, leading.start(), end, text))
        else:
            for begin, end, text in _windows(*rule_hits, text_start, text_end):
                spans.extend((number, *m.span(), text) for m in pattern.finditer(joined, begin, end))
    begins = [begin for _, begin, _, _ in spans]
    clauses, sentences = clause_start[begins].tolist(), sentence_start[begins].tolist()
    for (number, begin, end, text), clause, sentence in zip(spans, clauses, sentences, strict=True):
        rule, _, unless_before, unless_after = compiled[number]
        if _NEGATED.search(joined, max(clause, begin - _LONGEST_NEGATION), begin):
            continue
        before = joined[max(clause, begin - _CONTEXT_REACH) : begin]
        if unless_before and unless_before.search(before):
            continue
        level = rule.level
        if unless_after or rule.feared_is_warning:
            after = joined[end : min(text_end[text], end + _CONTEXT_REACH)]
            if unless_after and unless_after.match(after):
                level = WARNING if rule.level == URGENT else rule.level
            if level == URGENT and rule.feared_is_warning:
                feared = _ONLY_FEARED_BEFORE.search(before) or _ONLY_FEARED_AFTER.match(after)
                now = _NOW.search(joined, max(sentence, begin - _CONTEXT_REACH), begin) or _NOW_AFTER.match(after)
                if feared or (rule.urgent_only_now and not now):
                    level = WARNING
        found[text].append(RiskSignal(level=level, phrase=original[begin:end]))
    return [sorted(signals, key=lambda signal: -signal.level) if len(signals) > 1 else signals for signals in found]


def _windows(
    starts: list[int], ends: list[int], texts: list[int], text_start: list[int], text_end: list[int]
) -> list[tuple[int, int, int]]:
    """(begin, end, text) of the stretches around the triggers (at starts/ends, in texts) where a rule's matches may
    lie, overlapping ones merged.

    A scan of a stretch finds the matches a scan of the whole text finds there: every match holds a trigger and lies
    within its window, so none crosses the edge of a merged stretch.
    """
    out: list[tuple[int, int, int]] = []
    for start, end, text in sorted(zip(starts, ends, texts, strict=True)):
        begin = max(text_start[text], start - _LONGEST_MATCH)
        finish = min(text_end[text], end + _LONGEST_MATCH + _LOOKAHEAD)
        if out and out[-1][2] == text and begin <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], finish), text)
        else:
            out.append((begin, finish, text))
    return out


def risk_floor(text: str) -> tuple[int, tuple[str, ...]]:
    """The lowest level the text allows, and the phrases that set it."""
    return _floor(risk_signals(text))


def risk_floors(texts: Sequence[str]) -> list[tuple[int, tuple[str, ...]]]:
    """`risk_floor` of each text."""
    return [_floor(signals) for signals in batch_risk_signals(texts)]


def _floor(signals: list[RiskSignal]) -> tuple[int, tuple[str, ...]]:
    if not signals:
        return 0, ()
    level = signals[0].level
    phrases = list(dict.fromkeys(signal.phrase for signal in signals if signal.level == level))
    # a phrase spanning a gap (拖欠…工资) reads badly as a term when a short one says as much
    phrases = [p for p in phrases if len(p) <= MAX_TERM] or phrases
    # "40多名工人" also matches as "多名工人": name the longest phrase only
    return level, tuple(p for p in phrases if not any(p != other and p in other for other in phrases))


def _lower(joined: str, texts: list[str]) -> str:
    """The joined texts in lower case, each text kept as it is where a character's lower case is longer (so that
    positions stay those of the text)."""
    lowered = joined.lower()
    if len(lowered) == len(joined):
        return lowered
    return _BATCH_SEPARATOR.join(low if len(low := text.lower()) == len(text) else text for text in texts)


def _starts(joined: str) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """For each position of `joined`, where its clause and its sentence start."""
    from ml.kernels import clause_starts

    code_points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    starts: tuple[NDArray[np.int32], NDArray[np.int32]] = clause_starts(code_points, _ends_table())
    return starts


@cache
def _ends_table() -> NDArray[np.uint8]:
    """What each code point ends: 0 nothing, 1 a clause, 2 a sentence (and its clause)."""
    table = np.zeros(_LAST_END + 1, dtype=np.uint8)
    table[[ord(c) for c in _CLAUSE_ENDS]] = 1
    table[[ord(c) for c in _SENTENCE_ENDS]] = 2
    return table
