"""Text signatures for grouping reports of one problem: hashed characters and character pairs, cut to the strongest.

Two reports of one problem share few sentences: "暖气一直不热" and "供暖温度不达标", "电梯困人" and "被关在轿厢里".
They share characters (暖, 梯) and a few pairs (暖气, 电梯, 号楼) far more than words or longer runs, so the features
are single characters, weighted above pairs, and bigrams. Measured on the evaluation stream (`bench/duplicates_eval.py`,
average precision over report pairs less than a week apart, place and topic factors applied): characters and bigrams
0.922; characters alone 0.918; jieba words plus characters 0.915, no better, at the cost of a dictionary whose every
change would change the signatures already stored; jieba words 0.72; bigrams 0.81; bigrams and trigrams 0.71.
Weighting features by their document frequency in the seed corpus changed nothing, so no corpus is needed either.

Cut out before counting:
- what every report says whatever its problem: the channels' openings ("来电人反映", "网格员巡查发现", a letter's
  "尊敬的领导：您好！本人…"), requests ("希望尽快解决", "要求有关部门处理") and characters that carry no subject
  (的, 了, 我, 在; digits and 年, 月, 元, 区, which dates, sums and districts are written with);
- the report's own place names (`places`): where a report is, its street and locality already say, and `cases`
  weighs that separately; left in the text, a long estate name is a dozen features that make every report of the
  estate look alike whatever its problem (pairwise precision on the stream falls from 0.93 to 0.77).

A feature is the crc32 of its UTF-8 bytes: the same in every process and every Python version, so signatures can be
stored and compared later. Weights are sublinear counts, L2-normalised after keeping the strongest `SIGNATURE_SIZE`.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Iterable, Mapping

import msgspec

from suggestions.hotspots.facets import facets

SIGNATURE_SIZE = 64
SIGNATURE_CHARS = 120

# Phrases of the channels' own form and of any request, longest first so "来电人再次反映" goes before "来电人".
BOILERPLATE = tuple(
    sorted(
        {
            "来电人再次反映", "来电人反映", "来电人称", "来电人表示", "来电人认为", "来电人希望", "来电人要求",
            "来电人", "市民来电称", "市民来电反映", "市民来电", "来电反映", "来电称", "来电",
            "网格员", "巡查发现", "巡查了解", "夜间巡查", "凌晨巡查", "清晨巡查", "走访发现", "走访了解", "走访核实",
            "入户走访", "入户了解", "检查发现", "核查发现", "到场了解", "巡查", "走访", "发现",
            "反映", "诉求", "希望", "尽快", "解决", "要求", "请求", "恳请", "麻烦", "相关部门", "有关部门",
            "相关单位", "主管部门", "上级部门", "部门", "处理", "处置", "督促", "协调", "落实", "情况", "问题",
            "已上报", "上报", "建议", "能不能", "是否", "一下", "我们", "他们", "现在", "已经", "目前", "近日",
            "这几天", "一直", "多次", "非常", "特别", "严重", "影响", "居民", "市民", "群众", "小区", "社区",
            "尊敬的", "领导", "您好", "你好", "本人", "书记", "市长", "局长", "咨询", "投诉", "举报", "请问", "询问",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip

# A match starts only where a run of numerals starts: tried from every position of a long run that no 号楼 follows,
# the pattern cost time growing with the square of the run's length (5,000 digits: 300 ms a signature).
_BUILDING = re.compile(
    r"(?<![0-9０-９一二三四五六七八九十两])[0-9０-９一二三四五六七八九十两]+(?:号楼|栋|单元|号院|层|楼)"
    r"|(?<![#＃0-9０-９])[0-9０-９]{1,3}[#＃]"
)
# Which building: 12号楼, 3栋, 5号院, 12# (as grid workers write it), and each number of 12、13号楼. Units and floors
# say where inside one building. Spelled-out numbers only before 号楼/号院: 两栋楼, 一栋楼 count buildings, they do
# not name one.
_LIST = "(?:{n})(?:[、和与及,，](?:{n}))*"
_BUILDINGS = re.compile(
    "({d})(?:号楼|号院|栋|幢)|(?<![#＃0-9])([0-9]{{1,3}})[#＃]|({c})(?:号楼|号院)".format(
        d=_LIST.format(n="[0-9]+"), c=_LIST.format(n="[一二三四五六七八九十两]+")
    )
)
# A bus route (273路, 昌21路) or a metro line (4号线) says which problem as a building number does: letters about
# route 273 and route 702 are two requests. Kept beside the buildings, negated (273路 → −273, 4号线 → −10004).
# Not a time, a fare or a duration: 7:30公交车, 公交车10分钟一班, 巴士30元, 坐公交1个小时.
_LINES = re.compile(
    r"(?<![0-9a-z.:])([0-9]{1,4})(路|号线|公交)(?!口)"
    r"|(?:公交车?|巴士)([0-9]{1,4})(?![0-9.:分点个年元站次多公里米号岁秒天周月])"
)
_METRO = 10_000
_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"两": 2}
_MAX_BUILDING = 2**31 - 1  # cases.signature_buildings is integer[]: a larger number would fail the item's placing
_PLACEHOLDER = re.compile(r"\[[^\]\s]{1,12}\]")  # "[手机号]", "[身份证号]": masks say nothing about the problem
_BOILERPLATE = re.compile("|".join(map(re.escape, BOILERPLATE)))
# Runs of Han characters, letters and digits; bigrams never cross punctuation or a cut-out phrase.
_RUN = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")

# Function characters: alone they say nothing of the problem; a bigram of two of them ("我们", "已经") neither.
STOP_CHARACTERS = frozenset(
    "的了在是有我们你他她它这那个和也都就还到说要把被给让很太又好没不一上下里中来去着过吗呢吧啊呀么什怎为与及或"
    "而且但等从对向于以其之所能会可已经再才只每各些该此"
    # Digits and what dates, sums and administrative units are written with: "2018年3月", "22万元", "A市A5区" are
    # in letters of every kind. Numbers that say which building or bus line are compared apart (`buildings`).
    "0123456789年月日元市区县省"
)

# Reworded duplicates share characters more than pairs: a character outranks a pair when the signature is cut.
UNIGRAM_WEIGHT = 1.5
# Suffixes of a place's kind: "陈庄村" is also written "陈庄", "霍营街道" "霍营".
_PLACE_SUFFIXES = ("街道", "地区", "社区", "小区", "镇", "村")


class Signature(msgspec.Struct, frozen=True, array_like=True):
    keys: list[int]  # crc32 of the features, ascending
    weights: list[float]  # L2-normalised, in the order of keys
    facets: list[int] = []  # crc32 of the problem facets named (`facets`), ascending; compared apart from the text
    buildings: list[int] = []  # building numbers (12号楼, 3栋) and lines (−273 for 273路), ascending; compared apart
    lead_facet: int = 0  # a report's: the key of the facet its opening names first (0: none); a case's: 0


EMPTY = Signature(keys=[], weights=[])


def signature(text: str, *, places: Collection[str | None] = (), size: int = SIGNATURE_SIZE) -> Signature:
    """`places`: the report's own street and locality as resolved (canonical names), cut from the text with their
    short forms (霍营街道 → 霍营). The thresholds in `cases` were chosen with them cut: pass them.

    Only the opening `SIGNATURE_CHARS` characters count: a report says what the problem is first, and the background
    of a long letter (尊敬的领导, 业主, 多次反映 …) makes every letter look like every other.

    Building, unit and floor numbers (12号楼, 3单元, 五层) are cut too, for the reason place names are: they say where,
    not what, and left in they made a blocked corridor and a blocked fire lane of one building one problem. On both
    evaluation streams this raised pairwise precision (0.935 → 0.957 and 0.754 → 0.786 on the whole streams) and
    changed no recall.

    The facets (`facets`) and building numbers (`buildings`) the opening names ride along apart from the weights:
    `cases` compares them on their own. The facet named first (`lead_facet`) is what the report is mostly about:
    a report names its problem before what goes with it (a lift broken, and the 物业费 paid for nothing)."""
    opening = _BUILDING.sub(" ", text)[:SIGNATURE_CHARS]
    sig = from_features(features(opening, places=places), size=size)
    if not sig.keys:
        return sig
    named = facets(opening)
    return msgspec.structs.replace(
        sig,
        facets=facet_keys(named),
        buildings=buildings(text[:SIGNATURE_CHARS]),
        lead_facet=facet_keys(named[:1])[0] if named else 0,
    )


def buildings(text: str) -> list[int]:
    """The building numbers the text names, and its bus and metro lines negated (`_LINES`), ascending."""
    normalised = unicodedata.normalize("NFKC", text).lower()
    found = {-(int(n or route) + (_METRO if kind == "号线" else 0)) for n, kind, route in _LINES.findall(normalised)}
    for match in _BUILDINGS.finditer(normalised):
        for number in re.split(r"[、和与及,，]", match.group(1) or match.group(2) or match.group(3)):
            value = _number(number)
            if value is not None and value <= _MAX_BUILDING:
                found.add(value)
    return sorted(found)


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    # 十二 → 12, 二十三 → 23, 三 → 3; anything else (一百零五) is not a building number a report would spell out.
    tens, _, units = text.partition("十")
    if "十" not in text:
        return _DIGITS.get(text) if len(text) == 1 else None
    if len(tens) > 1 or len(units) > 1 or (tens and tens not in _DIGITS) or (units and units not in _DIGITS):
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[units] if units else 0) or None


def facet_keys(names: Iterable[str]) -> list[int]:
    return sorted({zlib.crc32(f"facet:{name}".encode()) for name in names})


def features(text: str, *, places: Collection[str | None] = ()) -> Counter[str]:
    """The characters and bigrams of the text with what every report says cut out, and their counts."""
    counts: Counter[str] = Counter()
    for run in runs(text, places=places):
        counts.update(ch for ch in run if ch not in STOP_CHARACTERS)
        counts.update(
            run[i : i + 2]
            for i in range(len(run) - 1)
            if run[i] not in STOP_CHARACTERS or run[i + 1] not in STOP_CHARACTERS
        )
    return counts


def runs(text: str, *, places: Collection[str | None] = ()) -> list[str]:
    cleaned = unicodedata.normalize("NFKC", text).lower()
    for name in _place_forms(places):
        cleaned = cleaned.replace(name, " ")
    cleaned = _BOILERPLATE.sub(" ", _PLACEHOLDER.sub(" ", cleaned))
    return _RUN.findall(cleaned)


def _place_forms(places: Iterable[str | None]) -> list[str]:
    forms = set()
    for place in places:
        if not place:
            continue
        name = unicodedata.normalize("NFKC", place).lower()
        forms.add(name)
        for suffix in _PLACE_SUFFIXES:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                forms.add(name[: -len(suffix)])
    return sorted(forms, key=len, reverse=True)  # "华龙苑中里社区" before "华龙苑中里"


def from_features(counts: Mapping[str, float], *, size: int = SIGNATURE_SIZE) -> Signature:
    weighted: dict[int, float] = {}
    for feature, count in counts.items():
        if count <= 0:
            continue
        key = zlib.crc32(feature.encode())
        # Sublinear: a word repeated in a long complaint should not outweigh everything else it says.
        weight = (1.0 + math.log(count)) * (UNIGRAM_WEIGHT if len(feature) == 1 else 1.0)
        weighted[key] = weighted.get(key, 0.0) + weight
    return _normalised(weighted.items(), size)


def similarity(a: Signature, b: Signature) -> float:
    """Cosine of the two signatures, in [0, 1] (weights are never negative)."""
    if len(a.keys) > len(b.keys):
        a, b = b, a
    return similarity_to(as_map(b), a)


def as_map(sig: Signature) -> dict[int, float]:
    """The form to build once when one signature is compared with many."""
    return dict(zip(sig.keys, sig.weights, strict=True))


def similarity_to(query: Mapping[int, float], sig: Signature) -> float:
    # Two signatures share a handful of features: intersect the keys in C, then find each shared one's weight by
    # bisection (keys are sorted). Against 500 open cases this is what a new report's matching costs.
    keys, weights = sig.keys, sig.weights
    dot = 0.0
    for key in query.keys() & keys:
        dot += query[key] * weights[bisect_left(keys, key)]
    return min(1.0, max(0.0, dot))  # rounding can push a self-similarity just past 1


def combine(parts: Iterable[tuple[Signature, float]], *, size: int) -> Signature:
    """The weighted sum of signatures, normalised and cut to the `size` strongest features; the facets and buildings
    of all."""
    total: dict[int, float] = {}
    named: set[int] = set()
    numbers: set[int] = set()
    for sig, factor in parts:
        named.update(sig.facets)
        numbers.update(sig.buildings)
        for key, weight in zip(sig.keys, sig.weights, strict=True):
            total[key] = total.get(key, 0.0) + factor * weight
    combined = _normalised(total.items(), size)
    if not combined.keys:
        return combined
    return msgspec.structs.replace(combined, facets=sorted(named), buildings=sorted(numbers))


def _normalised(weighted: Iterable[tuple[int, float]], size: int) -> Signature:
    strongest = sorted(((key, w) for key, w in weighted if w > 0.0), key=lambda kw: (-kw[1], kw[0]))[:size]
    norm = math.sqrt(sum(w * w for _, w in strongest))
    if norm == 0.0:
        return EMPTY
    strongest.sort()
    return Signature(keys=[key for key, _ in strongest], weights=[w / norm for _, w in strongest])
