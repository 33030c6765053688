from __future__ import annotations

import pytest

from ml.kinds import stated_kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("我要投诉，楼下饭店油烟很大", "complaint"),
        ("请问社保断缴了怎么补", "inquiry"),
        ("建议在东门增设公交站", "suggestion"),
        ("实名举报某厂夜间偷排污水", "report"),
        ("网格员巡查发现楼道堆物", "report"),
        ("求助：老人走失了", "help"),
        ("投诉：咨询了三次都没人回", "complaint"),  # the earliest cue wins
    ],
)
def test_an_item_that_names_its_kind_in_its_opening_has_that_kind(text: str, kind: str) -> None:
    assert stated_kind(text) == kind


def test_a_cue_far_from_the_opening_or_no_cue_leaves_the_kind_to_the_model() -> None:
    late = "楼下饭店油烟很大，每天晚上都排放，窗户都不敢开，已经持续好几个月了，大家都很难受，希望有人建议"

    assert stated_kind(late) is None
    assert stated_kind("路灯坏了") is None
