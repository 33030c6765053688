"""Explicit risk signals from the rubric: phrases that set a floor under the model's risk level.

Missing an urgent item is the worst error the triage can make, and a handful of phrases say "urgent" or "escalating"
outright; the model alone may not have seen them often enough. A phrase does not count when the clause negates it
right before it (没有燃气泄漏, 未发现起火). A physical hazard or mass action that is only feared or possible
(担心坍塌, 存在火灾隐患) is a warning (2), not an emergency (3).
"""

from __future__ import annotations

import re

import msgspec

URGENT = 3
WARNING = 2
WATCH = 1


class _Rule(msgspec.Struct, frozen=True):
    level: int
    pattern: str
    feared_is_warning: bool = False  # "担心坍塌", "存在火灾隐患": a hazard not yet happening is a warning
    unless_before: str | None = None  # the clause before the phrase shows it means something ordinary


# traffic, parking or a building site "blocks the road" too; that is not a mass incident.
_TRAFFIC = r"车|施工|占道|拥堵|停车|摊"

_RULES = (
    # threats of self-harm or violence
    _Rule(
        URGENT,
        r"跳楼|跳河|跳桥|跳下[去来]|自杀|轻生|寻短见|不想活了|喝农药|服毒|割腕|上吊|以死相逼|同归于尽|一起完蛋",
    ),
    _Rule(
        URGENT,
        r"拿刀|持刀|拿着.{0,2}刀|刀拿在手|动刀|砍人|砍死|捅人|捅死|杀人|杀了(?:他|她|你|他们)|跟.{0,6}拼了"
        r"|泼汽油|浇汽油|浇了汽油|提着.{0,3}汽油|放火|点火",
    ),
    # harm happening now
    _Rule(
        URGENT,
        r"(?:燃气|煤气|天然气)(?:管道?)?泄[漏露]|漏气|(?:燃气|煤气|天然气)味",
        feared_is_warning=True,
    ),
    _Rule(
        URGENT,
        r"起火|(?<!憋)着火|失火|火灾|火势|爆炸|爆裂|坍塌|倒塌|塌陷|塌方|塌了|要塌|滑坡|触电"
        r"|被困(?!扰)|困人|困在|砸下来|砸到人|踩踏|喘不上气|晕过去|失去意识|昏迷",
        feared_is_warning=True,
    ),
    # fraud in progress
    _Rule(URGENT, r"正在(?:转账|汇款|打款)|正要转账|准备转账|马上(?:就要)?转账|催(?:促)?(?:他|她|老人)?转账"),
    # a mass incident under way
    _Rule(
        URGENT,
        r"(?<!拥)堵路(?!口)|把(?:大门|校门|路口|道路|马路|门口)堵|堵住(?:了)?(?:马路|道路|大门|校门)|围堵"
        r"|聚众闹事|正在聚集|设置路障|拦截.{0,4}车辆",
        feared_is_warning=True,
        unless_before=_TRAFFIC,
    ),
    _Rule(
        URGENT,
        r"聚集在.{0,10}(?:门口|门前|楼下|大门|政府|售楼处|工地|现场|路口)",
        feared_is_warning=True,
        unless_before=_TRAFFIC,
    ),
    # many people involved, or a stated intent to escalate
    _Rule(WARNING, r"集体讨薪|集体上访|越级上访|上访|进京|横幅|举牌|找媒体|向媒体|媒体曝光|曝光(?!台)|集体维权"),
    _Rule(WARNING, r"全体(?:业主|村民|工人|员工|住户)|多名(?:工人|业主|员工|农民工)"),
    _Rule(WARNING, r"(?:几十|数十|上百|几百|数百)多?(?:户|名|位)"),
    _Rule(
        WARNING,
        r"(?:[1-9]\d+|十几|二十|三十|四十|五十|六十|七十|八十|九十|一百)多?(?:名|位|个|户)?"
        r"(?:工人|农民工|员工|业主|村民|家长|住户|商户|学员|会员)",
    ),
    _Rule(WARNING, r"打架|打起来|厮打|推搡|殴打|动手打|大打出手|肢体冲突|扭打"),
    _Rule(
        WARNING,
        r"(?:拆迁|征地|征收)[^，。！？；]{0,12}(?:纠纷|不公|不合理|太低|过低|不到位|未到位|不满|拖欠|没兑现|未兑现)",
    ),
    _Rule(WARNING, r"(?:老人|老年人|大爷|大妈|老太太)[^。！？]{0,20}(?:被骗|受骗)|被骗(?:了)?\d+万"),
    # an unresolved problem hardening
    _Rule(WATCH, r"多次反映|反映多次|多次投诉|多次来电|一直没(?:有)?解决|至今未解决|仍未解决|迟迟不解决|被骗"),
)

_COMPILED = tuple(
    (rule, re.compile(rule.pattern), re.compile(rule.unless_before) if rule.unless_before else None) for rule in _RULES
)

_CLAUSE_END = re.compile(r"[，。！？；,.!?;：:\n]")
# the negation must stand right before the phrase: 没有燃气泄漏, 未发现明显漏气, 打不着火; 不解决就跳楼 is no negation.
_NEGATED = re.compile(
    r"(?:没有|没|无|未|不|并未|并没有|不存在|排除|不是|并非|否认)(?:发现|出现|存在|闻到|看到|发生|听到|任何|明显|什么|人)*$"
)
# "随时可能坍塌" is imminent, "可能坍塌" is not
_ONLY_FEARED_BEFORE = re.compile(r"担心|害怕|怕|防止|预防|避免|以防|谨防|防范|存在|(?<!随时)可能|容易|一旦|如果|万一")
_ONLY_FEARED_AFTER = re.compile(r"^(?:的)?(?:隐患|风险|危险|可能|之虞)")


class RiskSignal(msgspec.Struct, frozen=True):
    level: int
    phrase: str  # as written in the text


def risk_signals(text: str) -> list[RiskSignal]:
    """Every non-negated signal in the text, strongest first."""
    signals = []
    for rule, pattern, unless_before in _COMPILED:
        for match in pattern.finditer(text):
            before = _clause_before(text, match.start())
            if _NEGATED.search(before) or (unless_before and unless_before.search(before)):
                continue
            found = rule.level
            feared = _ONLY_FEARED_BEFORE.search(before) or _ONLY_FEARED_AFTER.match(text[match.end() :])
            if rule.feared_is_warning and feared:
                found = WARNING
            signals.append(RiskSignal(level=found, phrase=match.group()))
    return sorted(signals, key=lambda signal: -signal.level)


def risk_floor(text: str) -> tuple[int, tuple[str, ...]]:
    """The lowest level the text allows, and the phrases that set it."""
    signals = risk_signals(text)
    if not signals:
        return 0, ()
    level = signals[0].level
    phrases = list(dict.fromkeys(signal.phrase for signal in signals if signal.level == level))
    # "40多名工人" also matches as "多名工人": name the longest phrase only
    return level, tuple(p for p in phrases if not any(p != other and p in other for other in phrases))


def _clause_before(text: str, position: int) -> str:
    start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, position)), default=0)
    return text[start:position]
