import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from suggestions.hotspots.similarity import (
    _BUILDING,
    EMPTY,
    SIGNATURE_SIZE,
    Signature,
    combine,
    features,
    signature,
    similarity,
)

LIFT = "来电人反映，龙跃苑三区5号楼电梯这周停了两次，昨天还困住一位老人，希望物业尽快修好电梯。"
LIFT_REWORDED = "网格员巡查发现，龙跃苑三区5号楼电梯停运，轿厢门口无人维修，住户说近期多次困人，请督促物业检修。"
NOISE_SAME_ESTATE = "龙跃苑三区楼下饭馆每天半夜还在营业，客人喝酒喧哗，吵得人睡不着，希望管一管。"
ESTATE = ("龙泽园街道", "龙跃苑三区社区")


def test_feature_keys_are_crc32_so_stored_signatures_stay_comparable() -> None:
    # crc32 of the UTF-8 bytes of 电, 梯 and 电梯: the same in every process, unlike hash().
    assert signature("电梯").keys == [2289440018, 3281943009, 4257879850]


def test_a_signature_is_sorted_normalised_and_small() -> None:
    sig = signature(LIFT * 5 + NOISE_SAME_ESTATE * 5)
    assert sig.keys == sorted(sig.keys)
    assert len(sig.keys) == len(sig.weights) <= SIGNATURE_SIZE
    assert math.fsum(w * w for w in sig.weights) == pytest.approx(1.0)


def test_a_signature_is_stored_as_two_arrays() -> None:
    sig = signature(LIFT)
    encoded = msgspec.json.encode(sig)
    assert encoded.startswith(b"[[")
    assert msgspec.json.decode(encoded, type=Signature) == sig


def test_a_reworded_duplicate_is_closer_than_another_problem_at_the_same_estate() -> None:
    lift, reworded, noise = (signature(text, places=ESTATE) for text in (LIFT, LIFT_REWORDED, NOISE_SAME_ESTATE))
    assert similarity(lift, reworded) > 2 * similarity(lift, noise)


def test_the_reports_own_place_names_are_cut_so_an_estate_alone_does_not_make_reports_alike() -> None:
    kept = similarity(signature(LIFT), signature(NOISE_SAME_ESTATE))
    cut = similarity(signature(LIFT, places=ESTATE), signature(NOISE_SAME_ESTATE, places=ESTATE))
    assert cut < kept
    # Short forms go too: "龙跃苑三区" is the 社区's name without its suffix.
    assert "跃苑" not in features(LIFT, places=ESTATE)


def test_what_every_report_says_counts_for_nothing() -> None:
    a = signature("来电人反映，希望有关部门尽快解决。")
    b = signature("网格员巡查发现，诉求：要求相关部门尽快处理解决。")
    assert similarity(a, b) == 0.0
    assert a == EMPTY
    # A letter's salutation is the web channel's form, as "来电人反映" is the hotline's.
    assert signature("尊敬的领导：您好！本人咨询。") == EMPTY


def test_masked_numbers_say_nothing_about_the_problem() -> None:
    assert signature("路灯不亮，[手机号]，[身份证号]") == signature("路灯不亮")


def test_full_width_and_case_do_not_matter() -> None:
    assert signature("１２号楼ＡＢ电梯") == signature("12号楼ab电梯")


def test_combine_is_a_weighted_mean() -> None:
    a, b = signature(LIFT), signature(NOISE_SAME_ESTATE)
    alone = combine([(a, 3.0)], size=SIGNATURE_SIZE)
    assert alone.keys == a.keys
    assert alone.weights == pytest.approx(a.weights)
    leaning_to_a = combine([(a, 3.0), (b, 1.0)], size=128)
    assert similarity(leaning_to_a, a) > similarity(leaning_to_a, b)


@given(st.text(max_size=200), st.text(max_size=200))
def test_similarity_is_a_symmetric_cosine_in_the_unit_interval(one: str, other: str) -> None:
    a, b = signature(one), signature(other)
    assert 0.0 <= similarity(a, b) <= 1.0
    assert similarity(a, b) == pytest.approx(similarity(b, a))
    if a.keys:
        assert similarity(a, a) == pytest.approx(1.0)


def test_building_unit_and_floor_numbers_say_where_not_what() -> None:
    # The text's features leave them out; the building number rides along apart, for `cases` to compare.
    a, b = signature("12号楼2单元楼道里堆满杂物"), signature("3栋五层楼道里堆满杂物")
    assert (a.keys, a.weights, a.buildings, b.buildings) == (b.keys, b.weights, [12], [3])
    c, d = signature("１２号楼消防通道被占"), signature("7号楼消防通道被占")  # full-width digits too
    assert (c.keys, c.weights, c.buildings) == (d.keys, d.weights, [12])


def test_a_building_number_is_read_only_from_the_start_of_its_numerals() -> None:
    """Tried from every position of a run of numerals that no 号楼 follows, the pattern cost time growing with the
    square of the run (5,000 digits: 300 ms, on an operator's suggestion call). A match starts where a run starts."""
    assert _BUILDING.search("1" * 5000) is None
    assert [m.group() for m in _BUILDING.finditer("12号楼和三单元，二十三层")] == ["12号楼", "三单元", "二十三层"]
    assert _BUILDING.pattern.startswith("(?<![0-9")
