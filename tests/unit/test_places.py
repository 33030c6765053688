import csv
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suggestions.hotspots.places import UNKNOWN, Gazetteer, Place

GAZETTEER = Path(__file__).resolve().parents[2] / "ml" / "district" / "changping" / "gazetteer.csv"


def gazetteer_rows() -> list[dict[str, str]]:
    with GAZETTEER.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


ROWS = gazetteer_rows()
NAMES = sorted({row["name"] for row in ROWS} | {alias for row in ROWS for alias in row["aliases"].split("|") if alias})
PARENTS: dict[tuple[str, str], set[str | None]] = {(row["name"], row["level"]): set() for row in ROWS}
for row in ROWS:
    PARENTS[row["name"], row["level"]].add(row["parent"] or None)
# Texts made of place names and the small words found around them.
WORDS = st.one_of(
    st.sampled_from(NAMES), st.sampled_from(["的", "在", "、", "，", "和", "路灯坏了", "我们", "2区", " "])
)


@pytest.fixture(scope="module")
def changping() -> Gazetteer:
    return Gazetteer.load(GAZETTEER)


def street_only(street: str | None) -> Place:
    return Place(street=street, locality=None, locality_level=None)


def test_streets_are_the_townships_in_file_order(changping: Gazetteer) -> None:
    streets = changping.streets()
    assert len(streets) == 22
    assert streets[:3] == ("城北街道", "城南街道", "天通苑北街道")
    assert "回天地区" not in streets  # an area across streets, not a street
    assert "天通苑" not in streets


@pytest.mark.parametrize(
    ("text", "place", "expected"),
    [
        # The place field alone is enough, and counts before the text.
        ("路灯坏了", "回龙观街道", street_only("回龙观街道")),
        ("我在城南街道上班，小区门口路灯坏了", "城北街道", street_only("城北街道")),
        ("路灯坏了", "城北", street_only("城北街道")),
        # Aliases count; the longest name wins.
        ("我是城北的，想问低保", "", street_only("城北街道")),
        ("天通苑北街道某小区停水", "", street_only("天通苑北街道")),
        ("龙跃苑二区楼下垃圾没人清", "", Place("龙泽园街道", "龙跃苑二区社区", "社区")),
        ("霍营地铁站附近积水很深", "", Place("霍营街道", "霍营站", "地标")),
        # A finer place implies its street.
        ("于辛庄村西侧空地焚烧垃圾", "", Place("沙河镇", "于辛庄村", "村")),
        ("华龙苑北里一栋楼外墙脱落", "霍营街道 华龙苑", Place("霍营街道", "华龙苑北里社区", "社区")),
        # Digits and full-width characters are the same names.
        ("龙跃苑2区东门", "", Place("龙泽园街道", "龙跃苑二区社区", "社区")),
        ("龙跃苑２区东门", "", Place("龙泽园街道", "龙跃苑二区社区", "社区")),
        ("温泉花园ａ区门口", "", Place("北七家镇", "温泉花园A区社区", "社区")),
        # Roads that cross streets are a finer place without a street of their own.
        ("京藏高速辅路有个深坑", "", Place(None, "京藏高速", "道路")),
        ("G6辅路有个深坑", "", Place(None, "京藏高速", "道路")),
        ("回龙观西大街上有人讨薪", "回龙观街道", Place("回龙观街道", "回龙观西大街", "道路")),
        # Areas drawn across streets place nothing.
        ("回天地区的公交太挤", "", UNKNOWN),
        ("天通苑这边的公交太挤", "", UNKNOWN),
        ("", "", UNKNOWN),
    ],
)
def test_resolves_streets_and_finer_places(changping: Gazetteer, text: str, place: str, expected: Place) -> None:
    assert changping.resolve(text, place) == expected


def test_an_estate_files_under_the_street_the_gazetteer_gives_it(changping: Gazetteer) -> None:
    # Residents still say 回龙观 for estates that moved to 龙泽园街道; reports of one estate must share a street.
    from_place_field = changping.resolve("电梯困人了", "回龙观街道 龙跃苑二区")
    from_text = changping.resolve("回龙观龙跃苑二区电梯困人了")
    assert from_place_field == from_text == Place("龙泽园街道", "龙跃苑二区社区", "社区")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a numbered part without 苑, 家园 or 花园, and 三区 for 第三
        ("龙腾四区12号楼电梯又坏了", Place("龙泽园街道", "龙腾苑四区社区", "社区")),
        ("融泽2区门口的健身房跑路了", Place("回龙观街道", "融泽家园二区社区", "社区")),
        ("名佳三区靠南那几栋夜里施工", Place("北七家镇", "名佳花园三区社区", "社区")),
        ("住天通西苑三区，楼下停车难", Place("天通苑北街道", "天通西苑第三社区", "社区")),
        ("北街三区7号楼电梯卡住了", Place("沙河镇", "北街家园第三社区", "社区")),
        # a 社区 without the word 社区
        ("太阳城那个老年餐桌关了", Place("小汤山镇", "太阳城社区", "社区")),
        # a short form never shadows a name the gazetteer lists (领秀慧谷 is a 小区 beside 领秀慧谷社区)
        ("领秀慧谷门口的公交站没了", Place("史各庄街道", "领秀慧谷", "小区")),
        # no short form of two characters, and none from a village's name: 发电站村's stem is an everyday word
        ("附近的发电站噪音大", UNKNOWN),
        # a metro station as riders name it
        ("霍营地铁口的单车又堆成山了", Place("霍营街道", "霍营站", "地标")),
        ("朱辛庄地铁站换乘的扶梯停了", Place("史各庄街道", "朱辛庄站", "地标")),
        ("地铁南邵站旁边的围挡", Place("南邵镇", "南邵站", "地标")),
        ("霍营轻轨站下面积水", Place("霍营街道", "霍营站", "地标")),
        # the part of one of an area's estates (天通东苑, 天通中苑 …) without the area, and a part named by its side
        ("中苑二区的消防通道又被堵了", Place("天通苑北街道", "天通中苑第二社区", "社区")),
        ("北苑二东8号楼停水", Place("天通苑北街道", "天通北苑第二东社区", "社区")),
        ("天通北苑二区东11号楼的电梯坏了", Place("天通苑北街道", "天通北苑第二东社区", "社区")),
        ("北苑二区东 晚上路灯全黑", Place("天通苑北街道", "天通北苑第二东社区", "社区")),
        # ... but 一区东门 is 一区's east gate as often as the gate of 一区东: the part without its side, where the
        # gazetteer has it; where it has only the sided parts, the gate is the sided part's
        ("天通东苑一区东门外的路面塌了", Place("天通苑南街道", "天通东苑第一社区", "社区")),
        ("天通东苑一区东侧的人行道", Place("天通苑南街道", "天通东苑第一社区", "社区")),
        ("天通东苑二区北京华联门口占道", Place("天通苑南街道", "天通东苑第二社区", "社区")),
        ("北苑二区东门口有人摆摊", Place("天通苑北街道", "天通北苑第二东社区", "社区")),
        ("郝庄西区门口摆摊的太多", Place("城南街道", "郝庄家园西区社区", "社区")),
        # ... but not a part that several estates have: 东二区 of 天通东苑 or of 龙锦苑
        ("东二区电梯又坏了", UNKNOWN),
        ("融泽嘉园二区停电了", Place("回龙观街道", "融泽家园二区社区", "社区")),  # the estate's other spelling
        # an estate named after its developer, without it, or its part with the developer alone
        ("罗兰香谷底商的培训班关门了", Place("沙河镇", "保利罗兰香谷社区", "社区")),
        ("恒大二区的孩子入学要走很远", Place("沙河镇", "恒大幸福家园第二社区", "社区")),
    ],
)
def test_short_forms_residents_use(changping: Gazetteer, text: str, expected: Place) -> None:
    assert changping.resolve(text) == expected


def test_the_level_of_a_listed_name(changping: Gazetteer) -> None:
    assert changping.level_of("龙腾苑四区社区") == "社区"
    assert changping.level_of("霍营站") == "地标"
    assert changping.level_of("龙腾四区") is None  # a written form, not a listed name
    assert changping.level_of("大东流") is None  # an alias (of a 社区 and of a 村), not a listed name


def test_a_place_in_another_street_is_mentioned_not_located(changping: Gazetteer) -> None:
    assert changping.resolve("每天去沙河高教园上班，路上太堵", "城北街道") == street_only("城北街道")


@pytest.mark.parametrize(
    ("text", "place", "expected"),
    [
        ("王庄村的路灯坏了", "", UNKNOWN),  # 王庄村 lies in 南口镇, 沙河镇 and 十三陵镇
        ("十三陵镇王庄村的路灯坏了", "", Place("十三陵镇", "王庄村", "村")),
        ("王庄村离德胜口村不远，路灯坏了", "", Place("十三陵镇", "王庄村", "村")),  # 德胜口村 is in 十三陵镇 only
        ("天通西苑某号楼暖气爆了", "", UNKNOWN),
        ("暖气爆了", "天通苑南街道 天通西苑", Place("天通苑南街道", "天通西苑", "小区")),
        ("龙锦苑门口", "", UNKNOWN),
        ("龙锦苑门口", "霍营街道", Place("霍营街道", "龙锦苑", "小区")),
        ("大东流这边", "", street_only("小汤山镇")),  # a 社区 and a 村 of one street share the alias
    ],
)
def test_names_under_several_parents_are_read_from_context_only(
    changping: Gazetteer, text: str, place: str, expected: Place
) -> None:
    assert changping.resolve(text, place) == expected


@pytest.mark.parametrize(
    ("text", "place", "expected"),
    [
        ("城北街道的居民，去城南街道办事被推诿", "", "城北街道"),  # the first mentioned
        ("十三陵、居庸关、小汤山都值得去", "", None),  # places listed as equals
        ("龙跃苑和华龙苑之间的路没人修", "", None),
        ("噪音扰民", "城北街道 城南街道", None),  # the sender's own field contradicts itself
        ("城南街道这边噪音扰民", "城北街道 城南街道", "城南街道"),  # ... unless the text settles it
    ],
)
def test_conflicting_streets(changping: Gazetteer, text: str, place: str, expected: str | None) -> None:
    assert changping.resolve(text, place).street == expected


@pytest.mark.parametrize(
    "text",
    [
        "问题已经无力回天",
        "来自天南地北的朋友",
        "百善孝为先",
        "依据第十一条规定处理",
        "胡同南口有个垃圾堆",
        "小区南口的垃圾桶满了",  # an estate's south gate
        "公园东口停满了车",
        "建议建设智慧社区",
        "科技创新园区招商",
        "混凝土楼板开裂",
        "孩子查出G6PD缺乏症",
        "他一点都不讲礼貌",
        "南沙河水质变差",
        "老城南北两条街",
        "门前一片桃林",
        # an estate's name without its developer reads as a slogan; sights' words fit landmarks only
        "共建幸福家园，楼道堆物要清理",
        "桃林景区的桃花开了",
        "推荐十一条景点线路",
        # a village's name without 村 that is a word (新建村) or a place elsewhere (西湖村), and a 社区's without 社区
        # that runs into a word (东辰科技)
        "我们新建的小区没有物业",
        "去杭州西湖那边旅游",
        "东辰科技公司拖欠货款",
        # ... and one the dictionary does not list that is everyday words put together (新开 for 新开村: newly
        # opened; 店上 for 店上村: at the shop), or a place elsewhere (万龙, a ski resort in Hebei)
        "附近新开的健身房噪音扰民",
        "这家超市是新开的，卖过期食品",
        "新开的公交线路班次太少",
        "他问新开的停车场收费标准是多少",
        "我在店上买的面包过期了",
        "市民称店上的东西不合格",
        "万龙的滑雪场票价太贵",
    ],
)
def test_short_names_inside_ordinary_words_do_not_count(changping: Gazetteer, text: str) -> None:
    assert changping.resolve(text) == UNKNOWN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我在霍营一家银行办卡", street_only("霍营街道")),
        ("住在沙河，每天堵车", street_only("沙河镇")),
        ("我们阳坊这边老人多", street_only("阳坊镇")),
        ("家住桃林，村口路灯坏了", Place("兴寿镇", "桃林村", "村")),
        ("昌平区南口这边的路灯不亮", street_only("南口镇")),
        # 南口 after a station is its south exit, not the town
        ("霍营站南口有黑车揽客", Place("霍营街道", "霍营站", "地标")),
        ("定陵景区的厕所太少", Place("十三陵镇", "定陵", "地标")),
        ("法大门口单车乱停", Place("城北街道", "中国政法大学昌平校区", "地标")),
        # a 社区 or 村 named without 社区 or 村, and what a call's summary puts before what the caller said
        ("东辰这边物业欠保洁工资", Place("天通苑南街道", "东辰社区", "社区")),
        ("来电人称东辰小区车棚丢电瓶", Place("天通苑南街道", "东辰社区", "社区")),
        ("一位老人来电哭诉，说水屯那边坟地要平", Place("城南街道", "水屯村", "村")),
        ("市民来电称中滩那边的垃圾又烧起来了", Place("东小口镇", "中滩村", "村")),
    ],
)
def test_short_names_count_where_they_stand_as_places(changping: Gazetteer, text: str, expected: Place) -> None:
    assert changping.resolve(text) == expected


@settings(max_examples=300, deadline=None)
@given(text=st.lists(WORDS, max_size=8).map("".join), place=st.lists(WORDS, max_size=3).map("".join))
def test_every_answer_agrees_with_the_gazetteer(changping: Gazetteer, text: str, place: str) -> None:
    resolved = changping.resolve(text, place)
    assert resolved.street is None or resolved.street in changping.streets()
    assert (resolved.locality is None) == (resolved.locality_level is None)
    if resolved.locality is not None:
        assert resolved.locality_level is not None
        parents = PARENTS[resolved.locality, resolved.locality_level]
        assert resolved.street in parents or None in parents


def test_resolving_a_long_text_is_fast(changping: Gazetteer) -> None:
    text = (
        "来电人反映，其居住的回龙观龙跃苑二区东边工地夜间施工，噪音很大。在霍营一家银行上班的邻居也说，"
        "京藏高速辅路和回龙观西大街早晚都堵，沙河高教园附近的公交末班车太早。希望有关部门协调处理。"
    ) * 3
    rounds = 500
    started = time.perf_counter()
    for _ in range(rounds):
        changping.resolve(text[:300], "回龙观街道 龙跃苑")
    per_item = (time.perf_counter() - started) / rounds
    assert per_item < 0.001  # budget 0.1 ms; ten times that leaves room for a busy machine


TINY = """name,level,parent,aliases
东镇,镇,,东乡
西镇,镇,,
南镇,镇,,
北地区,地区,,
环城区域,地区,,
柳村,村,东镇,
柳村,村,西镇,
松村,村,东镇,
松村,村,南镇,
杏林村,村,西镇,杏林
桃园社区,社区,东镇,桃园
桃园村,村,东镇,桃园
枣村,村,北地区,
梨园,小区,西镇,
梨园二区,小区,西镇,
环城路,道路,,
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Gazetteer:
    path = tmp_path / "gazetteer.csv"
    path.write_text(TINY, encoding="utf-8")
    return Gazetteer.load(path)


def test_a_district_that_others_belong_to_is_a_street(tiny: Gazetteer) -> None:
    assert tiny.streets() == ("东镇", "西镇", "南镇", "北地区")
    assert tiny.resolve("枣村的路坏了") == Place("北地区", "枣村", "村")
    assert tiny.resolve("环城区域的路坏了") == UNKNOWN


@pytest.mark.parametrize(
    ("text", "place", "expected"),
    [
        ("柳村的路坏了", "", UNKNOWN),
        ("柳村的路坏了", "东镇", Place("东镇", "柳村", "村")),  # its parent in the place field
        ("西镇柳村的路坏了", "", Place("西镇", "柳村", "村")),  # its parent in the text
        ("柳村的路坏了", "杏林村", Place("西镇", "杏林村", "村")),  # another place of that parent
        ("柳村的路坏了，杏林的也坏了", "", Place("西镇", "柳村", "村")),
        ("柳村和松村之间的路坏了", "", Place("东镇", "柳村", "村")),  # two ambiguous names share one street
        ("柳村的路坏了", "南镇", street_only("南镇")),  # the context rules out every reading: no guess
        ("桃园的路坏了", "", street_only("东镇")),  # a 社区 and a 村 of one street share the alias
    ],
)
def test_ambiguous_names(tiny: Gazetteer, text: str, place: str, expected: Place) -> None:
    assert tiny.resolve(text, place) == expected


def test_the_longest_name_and_the_finer_place_win(tiny: Gazetteer) -> None:
    assert tiny.resolve("梨园二区的路坏了") == Place("西镇", "梨园二区", "小区")
    assert tiny.resolve("梨园二区3号楼漏水", "梨园") == Place("西镇", "梨园二区", "小区")
    assert tiny.resolve("环城路上有坑", "东乡") == Place("东镇", "环城路", "道路")


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("name,level\n东镇,镇\n", "header"),
        ("name,level,parent,aliases\n东镇,县,,\n", "level"),
        ("name,level,parent,aliases\n柳村,村,东镇,\n", "parent"),
        ("name,level,parent,aliases\n东镇,镇,,\n柳村,村,东镇,\n柳村,村,东镇,柳\n", "twice"),
        ("name,level,parent,aliases\n东镇,镇,,\n柳村,村,东镇\n", "fields"),
        # One place written twice: each row would claim the other's forms, and neither would ever be placed.
        ("name,level,parent,aliases\n东镇,镇,,\n梨园二区社区,社区,东镇,\n梨园2区社区,社区,东镇,\n", "written again"),
        (
            "name,level,parent,aliases\n东镇,镇,,\n温泉花园A区社区,社区,东镇,\n温泉花园Ａ区社区,社区,东镇,\n",
            "written again",
        ),
        ("name,level,parent,aliases\n", "no places"),
        # A 社区 or a village lies in one street: without it, no report naming it would count in any street.
        ("name,level,parent,aliases\n东镇,镇,,\n桃园社区,社区,,\n", "needs its street"),
        ("name,level,parent,aliases\n东镇,镇,,\n柳村,村,,\n", "needs its street"),
        # One 社区 under two streets (a re-division written twice) would be read from context only, so never placed.
        ("name,level,parent,aliases\n东镇,镇,,\n西镇,镇,,\n桃园社区,社区,东镇,\n桃园社区,社区,西镇,\n", "one street"),
    ],
)
def test_a_malformed_gazetteer_is_refused(tmp_path: Path, csv_text: str, message: str) -> None:
    """A village of one name in two towns is two places (王庄村 under 东镇 and under 西镇); these are errors."""
    path = tmp_path / "gazetteer.csv"
    path.write_text(csv_text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Gazetteer.load(path)


def test_places_across_streets_and_villages_of_one_name_are_accepted() -> None:
    """Roads, landmarks and estates may cross streets (no parent, or one row per street); villages of one name lie in
    several towns (王庄村)."""
    rows = [["东镇", "镇", "", ""], ["西镇", "镇", "", ""], ["环城路", "道路", "", ""], ["古塔", "地标", "", ""]]
    rows += [["梨园", "小区", "", ""], ["桃园", "小区", "东镇", ""], ["桃园", "小区", "西镇", ""]]
    rows += [["柳村", "村", "东镇", ""], ["柳村", "村", "西镇", ""]]
    gazetteer = Gazetteer.from_rows(rows)
    assert gazetteer.resolve("梨园门口环城路上有坑", "东镇") == Place("东镇", "梨园", "小区")
    assert gazetteer.resolve("桃园的路坏了", "西镇") == Place("西镇", "桃园", "小区")
    assert gazetteer.resolve("柳村的路坏了", "西镇") == Place("西镇", "柳村", "村")


def test_the_real_stream_replay_lists_the_places_letters_name_after_their_district() -> None:
    from bench.hotspots_replay import locality_rows

    letters = [
        "A市A2区青枫家园小区门口的路灯坏了",
        "青枫家园的路灯一直没人修，A2区城管也不管",
        "A5区松溪路口红绿灯时间太短",
        "松溪路上大货车太多，A3区这边晚上很吵",
        "A市A4区我们小区电梯又坏了",  # 我们小区 is no place
        "A6区白鹭村只出现过一次",  # named by one letter only
    ]
    rows = {row[0]: row[1:] for row in locality_rows(letters, codes={"A2区", "A5区"})}
    assert rows == {"青枫家园": ["小区", "A2区", ""], "松溪路": ["道路", "", ""]}
    # The district written right before a name is its district. A village or 社区 the letters place in no district
    # of theirs (A6区 is never written with its city) is left out, as a district's list has each under its street;
    # an estate stays, under none.
    letters = ["A3区的领导您好，我住在A2区青枫家园小区", "青枫家园门口又堵了"]
    letters += ["A6区白鹭村的路灯坏了", "白鹭村的路灯还没修", "A6区翠湖花园的路灯坏了", "翠湖花园的路灯还没修"]
    rows = {row[0]: row[1:] for row in locality_rows(letters, codes={"A2区", "A3区"})}
    assert rows == {"青枫家园": ["小区", "A2区", ""], "翠湖花园": ["小区", "", ""]}
    Gazetteer.from_rows(
        [["A2区", "街道", "", ""], ["A3区", "街道", "", ""], *([name, *row] for name, row in rows.items())]
    )


@pytest.mark.parametrize(
    "text",
    [
        "村里要重新开村民大会，选举不公开",  # 新开村 + 民
        "村里新建村委会办公楼占了耕地",  # 新建村 + 委
        "我们一家八口村里就我家最困难",  # 八口村 + 里
        "我每天从昌平路过，这边红绿灯太短",  # 昌平路 + 过
        "我家七间房子被强拆了",  # 七间房(村) + 子
    ],
)
def test_a_name_that_runs_into_an_everyday_word_names_no_place(changping: Gazetteer, text: str) -> None:
    assert changping.resolve(text) == Place(None, None, None)


def test_a_village_named_before_its_villagers_is_still_read(changping: Gazetteer) -> None:
    assert changping.resolve("新开村村民反映") == Place("流村镇", "新开村", "村")


@pytest.mark.parametrize(
    "text",
    [
        "火车站前路边有黑车拉客",  # 站前路社区 is named after a road: 站前路 is any station's front road
        "站前路边的摊贩太多，晚上很吵",
        "市场街这条街晚上摆摊占道",
        "我在一家玻璃公司上班，老板欠了三个月工资",  # 玻璃公司社区 is named after a works
        "他在一家保温瓶公司干了十年",
    ],
)
def test_a_community_named_after_a_road_or_a_works_has_no_short_form(changping: Gazetteer, text: str) -> None:
    assert changping.resolve(text) == UNKNOWN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("站前路社区门口有人发传单", Place("沙河镇", "站前路社区", "社区")),
        ("玻璃公司社区今天停水", Place("南口镇", "玻璃公司社区", "社区")),
        # a road the gazetteer lists is that road, and 路边 is its side: 水厂路 + 边, not 水厂 + 路边
        ("水厂路边有人烧垃圾", Place("南口镇", "水厂路", "道路")),
    ],
)
def test_a_community_named_after_a_road_is_read_by_its_full_name(
    changping: Gazetteer, text: str, expected: Place
) -> None:
    assert changping.resolve(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "南口镇村口堆满了垃圾",  # 南口镇 + 村口, not 南口镇村 + 口
        "南口镇村道坑坑洼洼",
        "南口镇村庄规划什么时候公示",
        "南口镇村民反映路灯坏了",
        "南口镇村干部不作为",
    ],
)
def test_a_village_named_after_its_town_counts_only_as_a_place_expression(changping: Gazetteer, text: str) -> None:
    assert changping.resolve(text) == street_only("南口镇")


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("来电人反映南口镇村村委会门口垃圾没人清", ""),
        ("我是南口镇村的，家门口的路灯坏了", ""),
        ("南口镇村附近有人烧秸秆", ""),
        ("家门口的路灯坏了", "南口镇村"),
    ],
)
def test_a_village_named_after_its_town_is_read_where_it_stands_as_a_place(
    changping: Gazetteer, text: str, place: str
) -> None:
    assert changping.resolve(text, place) == Place("南口镇", "南口镇村", "村")


@pytest.mark.parametrize(
    "text",
    [
        "共建和谐家园，楼道堆物要清理",  # the estate 和谐家园 (社区) of 霍营 named as a slogan
        "建设和谐家园人人有责",
        "希望把我们村建成一个和谐家园",
    ],
)
def test_an_estate_named_as_a_slogan_counts_only_as_a_place_expression(changping: Gazetteer, text: str) -> None:
    assert changping.resolve(text) == UNKNOWN


@pytest.mark.parametrize(
    "text",
    [
        "和谐家园小区里有人挨家挨户推销净水器",
        "我住和谐家园，楼下停车太难",
        "来电人反映和谐家园附近一所中学乱收费",
        "和谐家园社区的公告栏坏了",
    ],
)
def test_an_estate_named_as_a_slogan_is_read_where_it_stands_as_a_place(changping: Gazetteer, text: str) -> None:
    assert changping.resolve(text) == Place("霍营街道", "和谐家园社区", "社区")
