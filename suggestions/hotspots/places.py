"""Where an item is: its 街道/镇 and, when the words allow it without guessing, a finer place, from the gazetteer.

The gazetteer (`name,level,parent,aliases`) lists streets (街道, 镇, and a 地区 that other places name as their
parent), areas (a 地区 nobody names as parent, such as 回天地区: it spans several streets) and finer places (社区,
小区, 村, 道路, 地标) whose `parent` is their street, or empty for a road, landmark or estate that crosses streets.
An estate across streets may instead be listed under each (天通西苑), and villages of one name lie in several towns
(王庄村); but a 社区 or 村 belongs to one street, named as its parent, and a 社区 is listed under one street only.
Names and aliases both count; one Aho–Corasick automaton finds every occurrence in one pass.

How words become a `Place`, in order:

1. Matching. Every name and alias is found in the place field and in the text (full-width letters and digits count
   as ASCII, letters ignore case, "龙跃苑2区" counts as "龙跃苑二区"), and so do the short forms residents use for
   a 社区 or 小区 where no listed name is written so (`_short_forms`: 龙腾四区 for 龙腾苑四区, 天通西苑三区 for
   天通西苑第三社区, 太阳城 for 太阳城社区, 郝庄西区 for 郝庄家园西区; and 中苑二区 for 天通中苑第二社区, since
   天通 holds several estates whose residents name their parts without it; 罗兰香谷 for 保利罗兰香谷 and 恒大二区
   for 恒大幸福家园第二社区, without the developer or with it alone; but not 站前路 for 站前路社区 nor 玻璃公司 for
   玻璃公司社区: named after a road or a works, such a 社区 is that road or works without 社区, as in 火车站前路边 and
   一家玻璃公司), a 社区 or 村 without 社区 or 村 where that is no word of everyday Chinese, as a loose name (东辰这边
   for 东辰社区; not 新建 for 新建村, a word, nor 西湖 for 西湖村, a place elsewhere: the reference segmenter's general
   dictionary lists both) followed by what makes it the place (这边, 附近, 小区: not 新开的 nor 在店上买, everyday words
   the dictionary does not list), and a station's as riders say it
   (霍营地铁站, 霍营地铁口, 地铁霍营站, 霍营轻轨站 for 霍营站). Overlapping matches keep the longest:
   龙跃苑二区 over 龙跃苑, 天通苑北街道 over 天通苑. A *loose* name — two characters or fewer (城北, 沙河, 王庄,
   G6), or a number with a measure word (十一条) — counts only where it stands as a place expression: with the edge of
   the field, punctuation, another place, or a word that goes with places on each side (在…, 我们…, …附近, …的,
   …一家, …派出所). So 城南 in 城南北, 南口 in 胡同南口, 回天 in 无力回天, 百善 in 百善孝为先, 六环 in 第六环境,
   G6 in G6PD and 十一条 in 第十一条 do not count; nor does 南口 (北口 …) as the exit of what stands before it
   (霍营站南口, 小区南口). A name whose last character starts a common word with what follows
   does not count either: 智慧社区 is 智慧 + 社区, not the estate 智慧社; 科技创新园区 is a park, not the estate 创新园;
   重新开村民大会 is not the village 新开村, nor 从昌平路过 the road 昌平路. A village named after its town in full
   (南口镇村) counts only where what follows goes with a place, as a loose name does: 南口镇村口 and 南口镇村道 are
   the town's 村口 and 村道, while 南口镇村村委会 and 南口镇村的 are the village. So does, on both sides, an estate
   named by a slogan's word and its estate word alone (和谐家园): 共建和谐家园 is the slogan, 住和谐家园 the estate.
2. Reading a match. A name under several parents (王庄村 is in 南口镇, 沙河镇 and 十三陵镇) is read only from
   context: a street named in the place field or text, or another place that lies in one street only; when there is
   none, two ambiguous names that share exactly one street settle each other. Otherwise the name tells nothing.
   A name that stays ambiguous within one street (大东流 is both a 社区 and a 村 of 小汤山镇) gives the street but no
   finer place.
3. The street. The place field outranks the text. Within each, a 社区, 小区 or 村 named in full outranks a street
   named outright, which outranks a road, a landmark or a loose name: residents keep using street names from before
   re-divisions (回龙观 was split into 回龙观, 龙泽园 and 史各庄 in 2019; seed reports still file 龙跃苑 under
   回龙观街道), while the gazetteer is the authority on which street an estate belongs to, and reports about one
   estate must share a street for duplicate grouping and burst counts to see them together.
   Conflicts at the best rank: in the place field, the text decides between the candidates when it supports exactly
   one of them, else the street stays None; in the text, the first mentioned wins, unless the text lists places of
   different streets as equals ("十三陵、居庸关、小汤山") — then it is about several places and the street stays None.
4. The finer place. The first one (place field before text; estates and villages before roads and landmarks; then
   order of mention) that lies in the chosen street, or crosses streets; a longer name that extends it wins
   (华龙苑北里 over 华龙苑). Places in other streets are dropped: they are mentioned, not where the item is.
"""

import csv
import functools
import re
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import ahocorasick_rs
import msgspec

STREET_LEVELS = frozenset({"街道", "镇"})
AREA_LEVEL = "地区"
RESIDENTIAL_LEVELS = frozenset({"社区", "小区", "村"})
ROAD_LEVEL = "道路"
LEVELS = frozenset({*STREET_LEVELS, AREA_LEVEL, *RESIDENTIAL_LEVELS, ROAD_LEVEL, "地标"})
# A 社区's residents' committee and a village's committee answer to one 街道 or 镇: without it as their parent, no
# report naming them would count in any street.
_ONE_STREET_LEVELS = frozenset({"社区", "村"})

_HEADER = ["name", "level", "parent", "aliases"]

# Evidence of a street, strongest first (module docstring, step 3).
_ESTATE, _STREET, _MENTION = 0, 1, 2

# Words that go right before a place ("住在沙河", "到南口", "昌平区城北", "我们霍营", "举报霍营某社区"), and the
# verbs a call's summary puts before what the caller said (来电人称水屯那边, 说中滩那边).
_BEFORE_PLACE = ("在", "住", "于", "到", "去", "往", "回", "离", "从", "自", "至", "是", "近", "靠", "临", "和", "与",
                 "及", "或", "经", "们", "咱", "家", "查", "访", "举报", "反映", "昌平", "区", "称", "说", "问",
                 )  # fmt: skip
# Words that go right after one: position words, place suffixes, its people and offices, and what one does there
# ("在霍营一家银行", "在沙河开了家店", "南口我们村").
_AFTER_PLACE = ("的", "这", "那", "附近", "一", "某", "各", "几", "两", "地区", "地界", "周边", "周围", "片区", "区域",
                "境内", "辖区", "街道", "镇", "村", "社区", "小区", "居民", "村民", "老百姓", "有", "和", "与", "及",
                "或", "等", "到", "至", "去", "往", "之间", "交界", "方向", "路段", "边", "旁", "里", "上", "山",
                "工作", "打工", "开", "租", "买", "住", "给", "找", "我", "咱", "派出所", "政府", "中学",
                "小学", "幼儿园", "医院", "卫生院", "市场", "大集", "地铁", "站", "停车场", "门口")  # fmt: skip
# What follows a 社区's or 村's name without 社区 or 村 (东辰这边, 昌园那个卫生站, 化庄附近, 东辰小区) where it names
# the place: not 的, verbs or 一, which follow everyday words as often (新开的, 在店上买, 万龙的滑雪场). After another
# place (小汤山汤南的), _AFTER_PLACE will do.
_AFTER_BARE = ("这边", "那边", "这里", "那里", "这儿", "那儿", "这块", "那块", "这片", "那片", "那个", "那条", "附近",
               "一带", "周边", "周围", "片区", "地区", "地界", "境内", "辖区", "街道", "镇", "村", "社区", "小区",
               "居民", "村民", "老百姓", "派出所", "边上", "旁边")  # fmt: skip
# ... and after a landmark, what one does or finds at a sight ("定陵景区", "去长陵参观").
_AFTER_LANDMARK = ("景区", "景点", "参观")
# A name whose last character is the first of one of these words, followed by its second, is really that word.
# A name's last character and the next that make one of these words belong to the word: 重新开村民大会 is not the
# village 新开村, 我每天从昌平路过 not the road 昌平路, 我家七间房子 not 七间房(村).
_COMMON_WORDS = frozenset({"社区", "小区", "街道", "村民", "村委", "村里", "村干", "村级", "村务", "路过", "房子"})
# What may stand between places listed as equals.
_LIST_SEPARATORS = frozenset("、和与及或跟/")
_NUMERALS = frozenset("一二三四五六七八九十百零〇两第")
_MEASURE_WORDS = frozenset("条个号次件项名位点层楼栋户排组队")
_WIDE = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_WIDE_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B)}
# "二区" and "第二" are written with digits as often as with characters.
_NUMBERED = re.compile(r"(?<=第)[一二三四五六七八九]|[一二三四五六七八九](?=区)")
# "龙腾苑四区", "融泽家园二区", "龙锦苑东五区", "郝庄家园西区": an estate's numbered part or side, which residents
# name without 苑, 园 or 家园.
_SUB_ESTATE = re.compile(
    r"(?P<estate>.{2,}?)(?:家园|花园|苑|园)(?P<part>[东西南北]?[一二三四五六七八九]区|[东西南北]区)"
)
# "天通西苑第三": the third part of an estate, which residents call 天通西苑三区.
_ORDINAL_ESTATE = re.compile(r"(?P<estate>.{2,})第(?P<number>[一二三四五六七八九])(?P<side>[东西南北]?)")
# "天通中苑第二": one of several estates of an area (天通东苑, 天通西苑, 天通中苑 …), whose residents name its parts
# without the area: 中苑二区, 北苑二东.
_AREA_ESTATE = re.compile(r"(?P<area>.{2})(?P<estate>.{2})第[一二三四五六七八九][东西南北]?")
_SHORTEST_DERIVED = 3
# A 社区 named after a road or a works (站前路社区, 市场街社区, 玻璃公司社区): without 社区 its name is the road's or
# the works', and an everyday phrase (火车站前路边, 一家玻璃公司), so residents' short form of it names no 社区. The
# gazetteer lists the roads it knows (水厂路 beside 水厂路社区).
_NAMED_AFTER = ("路", "街", "道", "巷", "胡同", "公司", "厂")
# Words an estate's name shares with slogans and everyday praise: without its developer it no longer names it.
_SLOGAN_WORDS = ("幸福", "和谐", "美好", "美丽", "阳光", "温馨", "文明", "平安", "祥和", "康乐")
# ... and an estate named by such a word and its estate word alone (和谐家园) is the slogan as often (共建和谐家园).
_SLOGAN_ESTATE = re.compile(f"(?:{'|'.join(_SLOGAN_WORDS)})(?:家园|花园|苑|园)")
_PART = re.compile(r"第?[一二三四五六七八九][东西南北]?区?$")
_SIDE_PART = re.compile(r"区[东西南北]$")  # 北苑二区东: a part's side, as residents write 第二东
# What follows a side that is a direction or the start of a word (东门, 东侧, 东南角, 北京): not a part's name.
_AFTER_DIRECTION = frozenset("门侧边面角口部头南北东西大小出京路街")
_ESTATE_WORD = re.compile("家园|花园|苑|园")
# Developers whose name residents leave off an estate's (保利罗兰香谷 is 罗兰香谷) or keep alone (恒大二区).
_DEVELOPERS = ("保利", "恒大", "万科", "金隅", "龙湖", "首开", "华润", "中海", "远洋", "碧桂园", "富力", "北辰", "金地",
               "融创", "招商", "旭辉", "中粮", "首创", "合生", "住总", "鲁能", "中铁", "中建", "绿地", "万达", "泰禾",
               "天恒")  # fmt: skip
# An exit or gate: 霍营站南口, 小区北口, 公园东口 name a side of the place before them, not the town 南口. A loose name
# of this shape counts only where no such place or word stands right before it.
_EXITS = frozenset({"东口", "南口", "西口", "北口"})
_BEFORE_EXIT = frozenset("站门园院村楼路街桥场苑里城校馆厂店区")
# A station (霍营站) as riders name it: 霍营地铁站, 霍营地铁口, 地铁霍营站.
_STATION_SPELLINGS = ("{stem}地铁站", "{stem}地铁口", "地铁{stem}站", "{stem}轻轨站")
_SHORTENED_LEVELS = frozenset({"社区", "小区"})  # not 村: `_short_forms`
_DIGIT_FOR = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}


class Place(msgspec.Struct, frozen=True):
    street: str | None  # canonical 街道/镇 name from the gazetteer, e.g. "回龙观街道"; None if unknown
    locality: str | None  # canonical finer place (社区/小区/村/道路/地标) if resolved unambiguously, else None
    locality_level: str | None  # its level


UNKNOWN = Place(street=None, locality=None, locality_level=None)


class _Entry(msgspec.Struct, frozen=True):
    name: str
    level: str
    street: str | None  # the street itself, a finer place's parent; None for areas and places that cross streets
    is_street: bool
    rank: int


class _Meaning(msgspec.Struct, frozen=True):
    """What a match says: the street it points at and the finer place it names, each None if not exactly one."""

    street: str | None
    locality: _Entry | None
    rank: int


_NOTHING = _Meaning(street=None, locality=None, rank=_MENTION)


class _Surface(msgspec.Struct, frozen=True):
    """One written form — a name, an alias or its spelling with digits — and the places it may mean."""

    text: str
    entries: tuple[_Entry, ...]
    streets: frozenset[str]  # the streets its places lie in
    meaning: _Meaning | None  # what it says whatever the context; None when only context can tell
    loose: bool
    residential: bool
    landmark: bool  # every place it may mean is a 地标
    bare: bool  # a 社区's or 村's name without 社区 or 村: it needs what makes it the place after it


class _Reading(msgspec.Struct, frozen=True):
    """A match read in context, and where it stands."""

    street: str | None
    locality: _Entry | None
    rank: int
    start: int
    end: int


class Gazetteer:
    """The district's places and a matcher over their names; immutable once built."""

    def __init__(
        self, entries: Sequence[_Entry], forms: dict[str, list[_Entry]], bare: frozenset[str] = frozenset()
    ) -> None:
        self._streets = tuple(entry.name for entry in entries if entry.is_street)
        levels: dict[str, set[str]] = {}
        for entry in entries:
            levels.setdefault(entry.name, set()).add(entry.level)
        self._levels = {name: next(iter(kinds)) for name, kinds in levels.items() if len(kinds) == 1}
        self._surfaces = tuple(_surface(form, meanings, bare=form in bare) for form, meanings in forms.items())
        self._automaton = ahocorasick_rs.AhoCorasick(forms)
        # Parts named by their side (一区东) whose estate also has the part without it (一区), so that before a
        # direction (一区东门) the side may be the gate's, not the part's. Where the estate has only sided parts
        # (天通北苑 has 二区东 and 二区西), 北苑二区东门 is that part's gate.
        self._sided = frozenset(form for form in forms if _SIDE_PART.search(form) and form[:-1] in forms)
        # Villages named after their town in full (南口镇村): 镇村 is also "towns and villages", and what follows
        # may start a word with that 村 (南口镇村口, 南口镇村道, 南口镇村民).
        self._town_villages = frozenset(form for form in forms if form.endswith("村") and form[:-1] in self._streets)
        self._slogans = frozenset(form for form in forms if _SLOGAN_ESTATE.fullmatch(form))

    @classmethod
    def load(cls, path: Path) -> "Gazetteer":
        """Read a gazetteer CSV (header `name,level,parent,aliases`); a malformed row raises ValueError."""
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.reader(file))
        if not rows or [cell.strip() for cell in rows[0]] != _HEADER:
            raise ValueError(f"{path}: the header must be {','.join(_HEADER)}")
        return cls.from_rows(rows[1:], source=str(path))

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[str]], *, source: str = "gazetteer") -> "Gazetteer":
        """Build from the CSV's rows after the header; `source` names the file in error messages."""
        cleaned: list[tuple[str, str, str, str, tuple[str, ...]]] = []
        for line, row in enumerate(rows, start=2):
            where = f"{source}:{line}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(_HEADER):
                raise ValueError(f"{where}: expected {len(_HEADER)} fields, got {len(row)}")
            name, level, parent = (cell.strip() for cell in row[:3])
            if not name or level not in LEVELS:
                raise ValueError(f"{where}: needs a name and a level among {'/'.join(sorted(LEVELS))}")
            cleaned.append((where, name, level, parent, tuple(a.strip() for a in row[3].split("|") if a.strip())))

        parents = {parent for *_, parent, _ in cleaned if parent}
        # A 地区 that other places belong to is a street-level unit (Beijing's 地区办事处); one that nobody names as
        # parent is an area drawn across streets and places nothing by itself.
        streets = {name for _, name, level, _, _ in cleaned if level in STREET_LEVELS or (
            level == AREA_LEVEL and name in parents)}  # fmt: skip
        entries: list[_Entry] = []
        forms: dict[str, list[_Entry]] = {}
        listed: set[tuple[str, str]] = set()
        communities: dict[str, str] = {}
        spelled: dict[tuple[str, str], str] = {}
        for where, name, level, parent, aliases in cleaned:
            if name in streets and parent:
                raise ValueError(f"{where}: a 街道/镇 has no parent")
            if parent and parent not in streets:
                raise ValueError(f"{where}: parent {parent!r} is not a 街道/镇 of this gazetteer")
            if level in _ONE_STREET_LEVELS and not parent:
                raise ValueError(f"{where}: {name!r}, a {level}, needs its street as parent")
            # One 社区 under two streets is one written twice (a re-division: 回龙观 → 龙泽园), and would be read from
            # context only, so hardly ever placed. Villages of one name are several villages (王庄村).
            if level == "社区" and communities.setdefault(name, parent) != parent:
                raise ValueError(
                    f"{where}: {name!r} is a 社区 of one street, already listed under {communities[name]!r}"
                )
            if (name, parent) in listed:
                raise ValueError(f"{where}: {name!r} under {parent or 'the district'} is listed twice")
            listed.add((name, parent))
            # One place written twice (二区 and 2区, a full-width Ａ): both rows would claim every written form, and
            # the place would be read as ambiguous, so never placed.
            for spelling in _spellings(_normalise(name)):
                if (parent, spelling) in spelled:
                    raise ValueError(
                        f"{where}: {name!r} is {spelled[parent, spelling]!r} of the same parent written again"
                    )
                spelled[parent, spelling] = name
            is_street = name in streets
            entry = _Entry(
                name=name,
                level=level,
                street=name if is_street else parent or None,
                is_street=is_street,
                rank=_STREET if is_street else _ESTATE if level in RESIDENTIAL_LEVELS else _MENTION,
            )
            entries.append(entry)
            for written in (name, *aliases):
                for spelling in _spellings(_normalise(written)):
                    meanings = forms.setdefault(spelling, [])
                    if entry not in meanings:
                        meanings.append(entry)
        # Short forms people use, where no name or alias of the gazetteer is written so (step 1 of the docstring).
        short: dict[str, list[_Entry]] = {}
        areas = _areas(entry.name for entry in entries if entry.level in _SHORTENED_LEVELS)
        for entry, (*_, aliases) in zip(entries, cleaned, strict=True):
            station = _is_station(entry)
            if entry.level not in _SHORTENED_LEVELS and not station:
                continue
            for written in (entry.name, *aliases):
                normalised = _normalise(written)
                for derived in _station_forms(normalised) if station else _short_forms(normalised, areas):
                    for spelling in _spellings(derived):
                        if spelling not in forms and spelling not in streets:
                            meanings = short.setdefault(spelling, [])
                            if entry not in meanings:
                                meanings.append(entry)
        forms.update(short)
        # A 社区 or 村 without its suffix, as residents name it (东辰这边, 说水屯那边), where the gazetteer has no
        # form written so and it is no word of everyday Chinese: a loose name, counted only as a place expression.
        bare: dict[str, list[_Entry]] = {}
        for entry in entries:
            stem = _bare_stem(entry)
            if stem and stem not in forms and stem not in streets:
                bare.setdefault(stem, []).append(entry)
        for word in _everyday_words(frozenset(bare)):
            del bare[word]
        forms.update(bare)
        if not entries:
            raise ValueError(f"{source}: no places")
        return cls(entries, forms, frozenset(bare))

    def streets(self) -> tuple[str, ...]:
        """Canonical street-level names, in gazetteer order."""
        return self._streets

    def level_of(self, name: str) -> str | None:
        """The level of the place listed under `name` (社区, 道路 …), None when there is none or several."""
        return self._levels.get(name)

    def resolve(self, text: str, place: str = "") -> Place:
        """The street and finer place of an item, from its sender's place field and its text."""
        place, text = _normalise(place), _normalise(text)
        place_matches, text_matches = self._matches(place), self._matches(text)
        if not place_matches and not text_matches:
            return UNKNOWN
        context = _context_streets(surface for _, _, surface in (*place_matches, *text_matches))
        place_readings = [_read(match, context) for match in place_matches]
        text_readings = [_read(match, context) for match in text_matches]
        street = _choose_street(place_readings, text_readings, text)
        locality = _choose_locality(place_readings, text_readings, street)
        if locality is None:
            return Place(street=street, locality=None, locality_level=None)
        return Place(street=street, locality=locality.name, locality_level=locality.level)

    def _matches(self, text: str) -> list[tuple[int, int, _Surface]]:
        """(start, end, surface) of the places named in text, in text order; the longest where they overlap."""
        if not text:
            return []
        found = self._automaton.find_matches_as_indexes(text, overlapping=True)
        if not found:
            return []
        # A loose name next to another place name stands as a place ("西镇柳村", "沙河于辛庄").
        starts = {start for _, start, _ in found}
        ends = {end for _, _, end in found}
        kept: list[tuple[int, int, _Surface]] = []
        taken = bytearray(len(text))
        for index, start, end in sorted(found, key=lambda match: (match[1] - match[2], match[1])):
            surface = self._surfaces[index]
            if taken.find(1, start, end) != -1:
                continue
            if surface.loose and not _stands_alone(text, start, end, starts, ends, landmark=surface.landmark):
                continue
            if surface.bare and not _names_a_place(text, start, end, starts, ends):
                continue
            if surface.text in _EXITS and _is_exit(text, start, ends):
                continue
            if surface.text in self._town_villages and not _ends_as_place(text, end, starts):
                continue
            if surface.text in self._slogans and not _stands_alone(text, start, end, starts, ends):
                continue
            # 一区东门 is 一区's east gate as often as the gate of 一区东, 二区北京华联 a shop in 二区: where the estate
            # also has the part without the side, a side followed by what a side or a word goes on with is read as
            # that part (天通东苑一区), which the overlapping shorter match gives.
            if surface.text in self._sided and text[end : end + 1] in _AFTER_DIRECTION:
                continue
            if _runs_into_common_word(text, end, surface.residential):
                continue
            kept.append((start, end, surface))
            taken[start:end] = b"\x01" * (end - start)
        kept.sort(key=lambda match: match[0])
        return kept


def _bare_stem(entry: _Entry) -> str | None:
    """A 社区's or 村's name without 社区 or 村 (东辰 for 东辰社区, 水屯 for 水屯村), when it is long enough to be a
    name and not named after a road or a works (`_NAMED_AFTER`)."""
    if entry.level not in _ONE_STREET_LEVELS or not entry.name.endswith(entry.level):
        return None
    stem = _normalise(entry.name.removesuffix(entry.level))
    return stem if len(stem) >= 2 and not stem.endswith(_NAMED_AFTER) else None


@functools.lru_cache(maxsize=8)
def _everyday_words(candidates: frozenset[str]) -> frozenset[str]:
    """Those of `candidates` that the segmenter's general dictionary lists: a word of everyday Chinese (新建, 念头,
    分水岭) or a place elsewhere in China (西湖, 龙潭, 永安). Read once per gazetteer, not kept."""
    import jieba  # the reference segmenter: its dictionary ships with it

    words = list(candidates)
    if not words:
        return frozenset()
    # One line a word: "word frequency tag". One Aho–Corasick pass finds every candidate that starts a line.
    dictionary = "\n" + (Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8")
    lines = ahocorasick_rs.AhoCorasick([f"\n{word} " for word in words])
    return frozenset(words[index] for index, _, _ in lines.find_matches_as_indexes(dictionary))


def _surface(form: str, meanings: Sequence[_Entry], *, bare: bool = False) -> _Surface:
    loose = bare or _is_loose(form)
    settled = len({entry.street for entry in meanings}) == 1
    return _Surface(
        text=form,
        entries=tuple(meanings),
        streets=frozenset(entry.street for entry in meanings if entry.street),
        meaning=_meaning(meanings, loose) if settled else None,
        loose=loose,
        residential=all(entry.level in RESIDENTIAL_LEVELS for entry in meanings),
        landmark=all(entry.level == "地标" for entry in meanings),
        bare=bare,
    )


def _context_streets(surfaces: Iterable[_Surface]) -> frozenset[str]:
    """Streets the item names or implies without doubt; when there are none, the one street that two ambiguous
    names have in common, if there is exactly one."""
    certain: set[str] = set()
    ambiguous: set[frozenset[str]] = set()
    for surface in surfaces:
        if len(surface.streets) == 1:
            certain |= surface.streets
        elif surface.streets:
            ambiguous.add(surface.streets)
    if certain or len(ambiguous) < 2:
        return frozenset(certain)
    listed = list(ambiguous)
    shared = {street for i, one in enumerate(listed) for other in listed[i + 1 :] for street in one & other}
    return frozenset(shared) if len(shared) == 1 else frozenset()


def _read(match: tuple[int, int, _Surface], context: frozenset[str]) -> _Reading:
    start, end, surface = match
    meaning = surface.meaning
    if meaning is None:
        meaning = _meaning([entry for entry in surface.entries if entry.street in context], surface.loose)
    return _Reading(street=meaning.street, locality=meaning.locality, rank=meaning.rank, start=start, end=end)


def _meaning(entries: Sequence[_Entry], loose: bool) -> _Meaning:
    streets = {entry.street for entry in entries}
    if len(streets) != 1:
        return _NOTHING
    (street,) = streets
    # Several meanings within one street (a 社区 and a 村 of one name, or the street itself) name no finer place.
    locality = None
    if len(entries) == 1 and not entries[0].is_street and entries[0].level != AREA_LEVEL:
        locality = entries[0]
    rank = min(entry.rank for entry in entries)
    if loose and rank == _ESTATE:
        rank = _MENTION
    return _Meaning(street=street, locality=locality, rank=rank)


def _choose_street(place_readings: Sequence[_Reading], text_readings: Sequence[_Reading], text: str) -> str | None:
    in_place = [reading for reading in place_readings if reading.street]
    if in_place:
        best = min(reading.rank for reading in in_place)
        candidates = list(dict.fromkeys(reading.street for reading in in_place if reading.rank == best))
        if len(candidates) == 1:
            return candidates[0]
        said_in_text = {reading.street for reading in text_readings}
        supported = [street for street in candidates if street in said_in_text]
        return supported[0] if len(supported) == 1 else None
    in_text = [reading for reading in text_readings if reading.street]
    if not in_text:
        return None
    best = min(reading.rank for reading in in_text)
    first = next(reading for reading in in_text if reading.rank == best)
    for one, following in pairwise(in_text):
        between = text[one.end : following.start]
        listed = bool(between) and set(between) <= _LIST_SEPARATORS
        if listed and one.street != following.street and best in (one.rank, following.rank):
            return None
    return first.street


def _choose_locality(
    place_readings: Sequence[_Reading], text_readings: Sequence[_Reading], street: str | None
) -> _Entry | None:
    fitting = [
        (source, reading.rank, reading.start, reading.locality)
        for source, readings in enumerate((place_readings, text_readings))
        for reading in readings
        if reading.locality is not None and reading.locality.street in (street, None)
    ]
    if not fitting:
        return None
    first = min(fitting, key=lambda candidate: candidate[:3])[3]
    extending = [entry for *_, entry in fitting if entry.street == first.street and entry.name.startswith(first.name)]
    return max(extending, key=lambda entry: len(entry.name))


def _spellings(form: str) -> tuple[str, ...]:
    """The form, and the form with "二区" and "第二" written in digits."""
    digits = _NUMBERED.sub(lambda numeral: _DIGIT_FOR[numeral.group()], form)
    return (form,) if digits == form else (form, digits)


def _short_forms(form: str, areas: frozenset[str] = frozenset()) -> list[str]:
    """`_estate_forms`, and for an estate named after its developer (保利罗兰香谷, 恒大幸福家园第二) the same without
    the developer (罗兰香谷, 幸福家园二区) and its part with the developer alone (恒大二区)."""
    found = _estate_forms(form, areas)
    developer = next((name for name in _DEVELOPERS if form.startswith(name)), None)
    if developer:
        rest = form[len(developer) :]
        if len(rest.removesuffix("社区")) >= _SHORTEST_DERIVED:
            # When what is left reads as a slogan (幸福家园 in "共建幸福家园"), only its numbered parts that keep the
            # estate's word still name it: 幸福家园二区, not 幸福家园 or 幸福二区.
            if rest.startswith(_SLOGAN_WORDS):
                found += [f for f in _estate_forms(rest, areas) if _PART.search(f) and _ESTATE_WORD.search(f)]
            else:
                found += [rest, *_estate_forms(rest, areas)]
        if ordinal := _ORDINAL_ESTATE.fullmatch(form.removesuffix("社区")):
            found += [developer + part for part in _parts(ordinal)]
    return list(dict.fromkeys(found))


def _parts(ordinal: re.Match[str]) -> list[str]:
    """第二 → 二区; 第二东 → 二东, and 二区东 as residents write it too."""
    number, side = ordinal["number"], ordinal["side"]
    return [f"{number}{side}", f"{number}区{side}"] if side else [f"{number}区"]


def _estate_forms(form: str, areas: frozenset[str]) -> list[str]:
    """How residents shorten a 社区's or 小区's name: 太阳城社区 → 太阳城, 龙腾苑四区 → 龙腾四区, 名佳花园三区 →
    名佳三区, 郝庄家园西区 → 郝庄西区, 天通西苑第三(社区) → 天通西苑三区, 北街家园第三(社区) → 北街家园三区 and
    北街三区, 天通北苑第二东 → 天通北苑二东 and 天通北苑二区东; and, for the parts of an estate among several of one
    area (`areas`: 天通), without the area: 西苑三区, 北苑二东. Never a name of two characters, never a 社区's named
    after a road or a works without 社区 (站前路, 玻璃公司: `_NAMED_AFTER`), and never a village's name without 村:
    such names are everyday words too often (发电站, 分水岭, 新建), so they count only as loose names, and only
    where the general dictionary does not list them (`_bare_stem`, `_everyday_words`)."""
    found = []
    stem = form.removesuffix("社区")
    if stem != form and len(stem) >= _SHORTEST_DERIVED and not stem.endswith(_NAMED_AFTER):
        found.append(form := stem)
    if ordinal := _ORDINAL_ESTATE.fullmatch(form):
        parts = _parts(ordinal)
        area = next((area for area in areas if ordinal["estate"].startswith(area)), None)
        for part in parts:
            found.append(f"{ordinal['estate']}{part}")
            if area and len(ordinal["estate"]) - len(area) >= 2:
                found.append(ordinal["estate"][len(area) :] + part)
        form = f"{ordinal['estate']}{parts[0]}"
    if numbered := _SUB_ESTATE.fullmatch(form):
        found.append(numbered["estate"] + numbered["part"])
    return found


def _areas(names: Iterable[str]) -> frozenset[str]:
    """The areas whose estates' parts are numbered (天通 of 天通东苑第一, 天通西苑第三 …): two estates or more."""
    estates: dict[str, set[str]] = {}
    for name in names:
        if found := _AREA_ESTATE.match(name):
            estates.setdefault(found["area"], set()).add(found["estate"])
    return frozenset(area for area, held in estates.items() if len(held) >= 2)


def _is_station(entry: _Entry) -> bool:
    return entry.level == "地标" and entry.name.endswith("站") and not entry.name.endswith(("火车站", "汽车站"))


def _station_forms(form: str) -> list[str]:
    """霍营站 → 霍营地铁站, 霍营地铁口, 地铁霍营站; an alias already spelled with 地铁 gives nothing more."""
    if not form.endswith("站") or "地铁" in form or len(form) - 1 < 2:
        return []
    return [spelling.format(stem=form[:-1]) for spelling in _STATION_SPELLINGS]


def _is_exit(text: str, start: int, place_ends: set[int]) -> bool:
    """Whether 南口 (or 北口 …) at `start` is the exit of what stands before it: a place name, or a word such as 站,
    门 or 小区. After 昌平区 it is the town."""
    if start == 0:
        return False
    if text.endswith(("昌平区", "昌平"), 0, start):
        return False
    return start in place_ends or text[start - 1] in _BEFORE_EXIT


def _normalise(text: str) -> str:
    if _WIDE.search(text):
        text = text.translate(_WIDE_TO_ASCII)
    return text.upper()


def _is_loose(form: str) -> bool:
    """Short names and numbered ones ("十一条") are ordinary words too often to count wherever they appear."""
    return len(form) <= 2 or (form[-1] in _MEASURE_WORDS and all(character in _NUMERALS for character in form[:-1]))


def _stands_alone(
    text: str, start: int, end: int, place_starts: set[int], place_ends: set[int], *, landmark: bool = False
) -> bool:
    before = (
        start == 0
        or not _same_word(text[start - 1], text[start])
        or start in place_ends
        or text.endswith(_BEFORE_PLACE, 0, start)
    )
    return before and _ends_as_place(text, end, place_starts, landmark=landmark)


def _ends_as_place(
    text: str, end: int, place_starts: set[int], *, landmark: bool = False, after: tuple[str, ...] = _AFTER_PLACE
) -> bool:
    return (
        end == len(text)
        or not _same_word(text[end - 1], text[end])
        or end in place_starts
        or text.startswith(after, end)
        or (landmark and text.startswith(_AFTER_LANDMARK, end))
    )


def _names_a_place(text: str, start: int, end: int, place_starts: set[int], place_ends: set[int]) -> bool:
    """Whether a 社区's or 村's name without 社区 or 村 is followed by what makes it the place (`_AFTER_BARE`), by
    the edge of a word (东辰3号楼, 水屯。) or another place, or comes right after another place."""
    return start in place_ends or _ends_as_place(text, end, place_starts, after=_AFTER_BARE)


def _runs_into_common_word(text: str, end: int, residential: bool) -> bool:
    if end == len(text):
        return False
    return text[end - 1 : end + 1] in _COMMON_WORDS or (residential and text[end] == "区")


def _same_word(one: str, other: str) -> bool:
    """Whether two neighbouring characters may belong to one word: both Chinese, or both ASCII letters or digits
    ("G6" is not the road in "G6PD", while "沙河3号楼" is 沙河)."""
    return _script(one) == _script(other) != ""


def _script(character: str) -> str:
    if "\u3400" <= character <= "\u9fff" or "\uf900" <= character <= "\ufaff":
        return "han"
    if character.isascii() and character.isalnum():
        return "ascii"
    return ""
