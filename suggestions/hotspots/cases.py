"""Which open case a new report belongs to: text similarity, weighed by where and what it is about.

Reports of one problem come from different people in different words, so the text alone is weak evidence and the
place carries much of the decision. The signatures leave the report's own place names out (`similarity`); the place
comes back here as a factor on the text similarity:
- the same 社区, 村 or road: the text decides alone;
- one side names only the street: the text decides alone too (tuning found nothing to gain in weighing it down:
  a report that names no estate is still most likely about one with an open case, if its words match);
- a village and an urban community of one name (二街村, 二街社区) are different localities;
- different localities of one street: usually two problems of one kind (two estates' lifts, two villages' dumped
  rubble), so the match is weighed down hard but not ruled out (a resolver can name a road for one report of an
  estate's problem and the estate for another); harder still (×0.25 against ×0.4) when both are estates or villages
  (社区, 小区, 村), which chose nothing on the ten written streams alone and lifted their overlay (a busy month) from
  0.489 / 0.808 to 0.539 / 0.829 (0.483 / 0.678 to 0.537 / 0.685 placed from the texts);
- different streets: never the same case.
Topic disagreement weighs a little: the classifier can file one problem under two departments (a gym vanishing with
prepaid fees is 商贸旅游 or 政法; illegal parking 政法 or 交通运输).

What is at fault weighs too (`facets`: 电梯, 暖气, 供水, 共享单车, 黑车 …). When the report and the case both
name facets and share none, the match is weighed down by half: characters alone made a leaking heating pipe and low
water pressure in one building, or shared bikes and unlicensed taxis at one station exit, one problem. When they
share one, it is weighed up (×1.2): reworded reports of one problem share few characters but name the same thing.
Building numbers weigh the same way, down only: two reports naming only different buildings of one estate (3号楼
and 12号楼 elevators) are two problems, while one report naming none says nothing either way.

The place and topic factors were chosen on the tuning half of `tests/data/duplicate_stream.jsonl` (even cluster ids)
by `bench/duplicates_eval.py --tune`. The facet and building factors and the threshold's rise with the case's size
were then chosen on the whole evaluation streams 1-3 from a small grid, and checked on a real, unlabelled stream of
4,326 letters (`bench/hotspots_replay.py`): a larger facet boost (×1.4) or a lower threshold (0.20) scored better on
the written streams but chained unrelated long letters into cases of 20-40 on the real one (97 and 99 case
hotspots against 87 before facets), and so did a shared facet between letters that name no place (every bus route
letter of the city names 公交): the boost now needs both sides to know their street (64 case hotspots). Stream 4,
written apart, was scored after the first setting (×1.4) and after this one.

Streams 5 and 6 were written apart later and each scored once before anything was read from it (stream 5 with the
sibling rule and the first facet additions below, stream 6 after stream 5 had been read). Their errors, and those of
streams 1-4, then chose: two 社区 or two 村 whose names run alike are two places (龙禧苑社区, 龙禧苑二区社区);
more facets (façades, roof leaks, vaccines, subsidies, meal services …, `facets`); and the weight of a shared facet
that is not the one the report names first (`lead_elsewhere`). A larger or smaller threshold, facet factor or
place factor gained on some streams only what it lost on others. The real stream's replay kept its shape (63 case
hotspots). Stream 7, written apart after all of this, scored 0.813 / 0.817: its decoys (a gas-inspection scam in
the building of a gas leak, a valve leaking during the heating trial before the radiators stayed cold, wages owed
by a restaurant and by a building site of one town) share place and facet with a true case. Classes of what is
wrong (不热, 漏, 坏, 收费 …) weighed like the facets raised its precision to 0.866 at a recall of 0.775 and moved the
other streams less: no better, so not kept. Stream 8, written after stream 7 was scored, scored 0.860 / 0.819 (the
code before streams 5-8: 0.829 / 0.798). Streams 9 and 10, written apart after that and scored once with this
code, scored 0.834 / 0.843 and 0.809 / 0.871 with their place labels, and 0.822 / 0.657 and 0.826 / 0.684 placed
from their texts alone (`bench/README.md`: a report that names no place is weighed down as an unknown place).
Not weighing that place down when the report says it follows an earlier one (之前反映过, 还没修, 第三天了) raised
recall from text on streams 5-12 from 0.602 to 0.634 at the same precision, and on streams 13 and 14 too; on the
real stream it joined 201 pairs of letters, nearly all of them two problems (a letter that names no place and says
至今 or 再次 is compared with its topic's open cases in the whole city). Cut to short reports (120 characters) it
still joined 21 such pairs; cut also to explicit references to a report (反映过, 再次来电, 催办) it joined none and
raised recall on streams 5-12 by 0.015 only. Not kept.

A learned join decision was tried too: a logistic regression (or gradient-boosted trees) over a report and a case's
similarity, place, facet, building and topic factors, the days between them, the case's size, and the score's
standing against the report's other candidates (minus their median, over their spread), trained on replays of
streams 1-10 (with labels and placed from text) and joining the best case with P(same problem) > 0.4. On streams
11-14, written apart and never trained on, it lifted recall far at some cost in precision: with place labels 0.908 /
0.918, 0.963 / 0.850, 0.880 / 0.892 and 0.907 / 0.940 (this rule: 0.959 / 0.835, 0.972 / 0.637, 0.935 / 0.747,
0.917 / 0.843); from text 0.82-0.91 / 0.64-0.79 (this rule: 0.88-0.96 / 0.47-0.61). Through the tracker on the
real stream it made 1,715 pairs this rule does not (30 case hotspots became 80), and of 30 read at random all but
one or two joined two problems; kept to reports of 160 characters or fewer it still made 774, mostly wrong. The
written streams' short reports of one problem each reward a bolder matcher than real letters allow, so it was not
kept; a learned decision needs real, labelled pairs to learn from. Its weights say mostly this: same place and
same topic should join at a lower score. Used only as a second chance (no case found, the best case of the same
locality and topic at P > 0.4), it gave 0.917 / 0.907, 0.971 / 0.850, 0.895 / 0.892 and 0.888 / 0.952 on streams
11-14 with labels, and changes nothing on the real stream, whose gazetteer names no locality. So its safety on real
letters is unknown. The same second chance as a plain lower threshold (0.16 instead of 0.22) traded precision for
recall about evenly on streams 1-10 (0.891 / 0.876 → 0.866 / 0.905 with labels, means), so it was not kept either.

A narrower second chance was kept (`second_report`). Of the reports that plain threshold would have joined on streams
1-10 with labels, those joined to a case of one report were of its problem 40 times in 49, to a case of two 9 in 16, to
a larger case 12 in 42: the second report of a problem is the one that falls short, while a report that misses a case of
several is more often another problem of the place. So only a case of one report, of the same estate, village or
landmark (not a road) and topic, and with no facet or building that disagrees (chosen after reading the wrong joins of
streams 1-10), is joined at 0.15, and a case of two such at 0.18 (chosen on streams 1-15). With the facet words read
from streams 12 and 13's misses (`facets`), streams 1-10, means: 0.891 / 0.876 → 0.888 / 0.906 with labels, 0.887 /
0.723 → 0.884 / 0.752 placed from text. Streams 11-14 with labels 0.949 / 0.867, 0.967 / 0.758, 0.944 / 0.882, 0.914 /
0.896 (before: 0.959 / 0.835, 0.972 / 0.637, 0.935 / 0.747, 0.917 / 0.843); from text 0.942 / 0.642, 0.961 / 0.546,
0.872 / 0.569, 0.883 / 0.639 (before: 0.955 / 0.613, 0.962 / 0.469, 0.882 / 0.493, 0.876 / 0.566). Stream 15, written
blind after the second-report rule and the facet words, scored 0.985 / 0.525 with labels and 0.972 / 0.289 from text on
arrival (the code before this round: 1.000 / 0.471 and 1.000 / 0.252), 0.986 / 0.566 and 0.974 / 0.306 with the third
report: its writer reworded hard (梯子 for 电梯, 小黄车 for 共享单车, 防感冒的针 for 流感疫苗), which characters cannot
follow. Stream 16, written blind and scored once with all of this: 1.000 / 0.817 with labels, 0.941 / 0.708 from text
(the code before this round: 1.000 / 0.777 and 0.939 / 0.688). The overlay of streams 1-12: 0.499 / 0.811 → 0.508 /
0.845 with labels, 0.456 / 0.648 → 0.455 / 0.674 from text. On the real stream the rule needs localities, which its
gazetteer of district codes lacks; with the estates, villages and roads its letters name (`hotspots_replay
--localities`) it joined two pairs of letters that the code before did not, both one problem (an estate's new water
tank, a clinic opening at an estate's gate), and changed no other case; before roads were left out it also joined two
letters about one arterial road's two junctions. The facet words there split one pair of two different letters.

The written streams hold a few hundred short reports a month, half of them in clusters. Two readings said how far
that is from a district's intake. Reading 140 of the cases the real stream's replay formed (`hotspots_replay
--cases-out`), four readers found pairwise precision 0.34 among the cases both this code and the code before
streams 5-8 formed, 0.15 and 0.09 among the cases only one of them formed; the large true cases (the mixing plant,
the parking bundling) lift the whole stream's estimate to 0.48 and 0.41. Long letters share their wording whatever
their problem, and most letters have no duplicate at all. And the eight streams laid over one another in one month
(`duplicates_eval --overlay`: 2,400 reports, the same estates, several problems of one kind at each) score 0.57 /
0.83. So a match must also stand out from the report's other candidates (`background_bar`). As first written (mean
plus two standard deviations, once there are eight) it left 473 of the 1,001 pairs the readers judged wrong in one
case (560 without it) and 129 of the 134 judged right (129); three deviations left 264 and 115, and cost the overlay
0.07 of recall. Digits and the characters of dates and districts then left the signatures (`similarity`): 145 and
124. Read afresh, that replay's cases (all 18 of six reports or more, and 45 of the 489 smaller ones at random) came
to a pairwise precision of 0.80 and 0.58: about 0.71 over the whole stream, 0.51 without its three largest cases,
which are true. A review then showed that the mean counts the report's own cases: with two open cases of its
problem among eight, it could join neither. The bar is now the median plus two robust deviations (leaving the
tested score out of the mean and deviation instead kept 187 of the judged-wrong pairs). The final replay
(149 and 124 of the judged pairs; 16 cases changed, 2 of them one problem) comes to about 0.69 (0.48), with 30 case
hotspots raised instead of 65.

Stream 17, written blind with no distinctive phrase shared within a cluster, scored 0.941 / 0.552 with labels and
0.867 / 0.396 from text: rewording that characters cannot follow. Who sent a report helps where the words do not: a
resident's follow-up from the same phone (`follow_up`) joins their own open case at FOLLOW_UP_THRESHOLD. Stream 18,
the first to say who sent each report and scored once on arrival, gave 0.906 / 0.912 with labels and 0.884 / 0.780
from text, against 0.908 / 0.901 and 0.846 / 0.564 without its senders. On the real stream, each letter's anonymised
user code taken for its sender's phone (`hotspots_replay --senders`), 11 of 16 newly joined pairs read at random were
one problem, about the share of the stream's grouping as a whole.

Stream 20, scored once on arrival (0.897 / 0.802 with labels, 0.783 / 0.501 from text), showed the follow-up's cost: a
resident's report of their estate's parking fee rising joined their own case of a broken slide, three weeks old, and
the fee's eleven other reports followed it (0.10 of similarity: 物业, 请). Past the case's window a report joins its
sender's case at the lower bar only when it says it follows an earlier report (再次来电, 仍未, 上周反映的, 都俩礼拜了):
stream 20 0.935 / 0.802 and 0.887 / 0.501; streams 18 and 19, whose late follow-ups (8 to 14 days) all say so,
unchanged. On the real stream with senders, 23 pairs were split, all but one two problems (one writer's letters about
a station's bus shelter and its ticket window, a junction's bridge and another's lights), and 5 formed, each two.

Cases on the real stream still chained an area's problems, one letter at a time: a case of eleven A7县 letters about
one area held a road's repair, two junctions' lighting (each a true pair), an underpass's progress, night noise and
development plans. The first letter opened it; a short lighting report joined it (0.28, a case of one); the underpass
letter joined a case of three (0.26 against the mean, at most 0.25 against any of its letters) and the noise letter a
case of six (0.26; at most 0.24): long letters, let in by the mean because the case was not mostly long (one of three,
three of six); and a short report of development plans, joining their case of two, absorbed the case of seven (0.21
against it, 0.30 case against case). So a long letter now resembles one of a mixed case's reports too, at
MIXED_MEMBER_FLOOR (`member_floor`). Tried, with the 23 written streams' means (with place labels, then from text;
before: 0.925 / 0.823, 0.913 / 0.667) and the real replay (before: 3,471 cases, 581 of several reports, 28 case
hotspots): every report joining a case of three or more resembles a member at 0.30: 0.942 / 0.666, 0.932 / 0.561,
short reports of one problem share too few words; at 0.15: nothing changes. Absorbing needs the report to resemble a
member of the absorbed case at 0.30: 0.928 / 0.801, 0.915 / 0.645; at 0.20: 0.925 / 0.819, 0.912 / 0.664, and the real
stream hardly moves (3,471 cases, 582). Long letters only, joining a case of three or more, at 0.25: written streams
unchanged, 20 pairs split in two cases; at 0.30: as the rule kept below on the written streams, 72 pairs split (69 two
problems) and 8 formed (all two); at 0.35: more of the area's case stays together. Long letters joining a case of two
or more at 0.25: written streams unchanged, 54 pairs split (53 two problems), 5 formed (all two), but the area's case
keeps ten letters. At 0.30 (kept): 0.925 / 0.822, 0.913 / 0.665 (met on 9 and 3 streams, as before); the real replay
makes 3,485 cases (591 of several), 22 case hotspots (every one it drops was a chain of several problems), 47
escalations instead of 54. Of the 120 pairs it splits, read in full, 115 were two problems (the five of one: one
writer's two letters and a third on the area's development, two letters about abandoned cars, two about one metro
line's extension); the 12 pairs it forms, letters set free that join another letter nearby, are all two problems. The
area's case keeps six letters: the two lighting pairs, the road's repair and a development letter; the two lighting
pairs still resemble each other (0.48).

The mixing plant's case (53 letters) then still held two letters about night building work at another estate of the
district. No long-letter rule let them in: the first opened a case (0.26 against the plant's case of 47, under its bar
of 0.30), the second joined it (0.53) and matched the plant's case at 0.29 but resembled none of its letters
(`member_floor`); a short plant letter joining the plant's case (0.62) and the night work's case (0.21) then showed them
to be one (`cases_to_absorb`): 0.27 case against case, raised to 0.32 by a facet they share, because a case's facets are
all its reports have named and the plant's letters name its mixer trucks (罐车, a facet of building noise). So a shared
facet counts for two cases only when one of them knows its locality (an estate, village, road or landmark); across a
street (here a district) it says little. The 23 written streams score as before (means 0.925 / 0.822 with labels, 0.913
/ 0.665 from text; met on 9 and 3). The real replay: 3,485 cases (593 of several), 21 case hotspots, 46 escalations; 108
pairs split, none formed: the night work's two letters from the plant's 51, and an A7县 case of five letters about three
problems (a bus route, a junction's hoarding, a bus terminal with a land sale) into three and two, both still mixed.
Tried first, each the same on the replay: no facet boost case against case at all (0.925 / 0.817 and 0.913 / 0.659:
streams 10, 18 and 19 lose recall); one only when the two cases name the same facets (0.925 / 0.818, 0.913 / 0.662); one
only when both know their locality (0.925 / 0.821, 0.913 / 0.663: stream 12 from text falls to 0.604). Telling the two
estates apart by the names the letters give needs localities the replay's gazetteer of districts lacks.

A problem nobody fixes is reported again weeks apart. A report that says so (`says_unresolved`: 再次反映, 至今未解决,
复查; not 再次 or 又 alone, which tell of a new fault after a repair as often) reaches a case of its own estate and
topic gone quiet past the window (`reopens`): stream 23's recall 0.496 → 0.586 with labels and 0.468 → 0.586 from
text, no other stream's precision moved; `bench/README.md` has the figures and the real stream's pairs."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import msgspec

from suggestions.hotspots.places import RESIDENTIAL_LEVELS, ROAD_LEVEL
from suggestions.hotspots.similarity import Signature, as_map, combine, similarity, similarity_to

THRESHOLD = 0.22  # best_match: below this a report opens a new case (against a case of one report)
# The bar rises with the case's size by SIZE_STEP × ln(size): a wrong join to a case of n reports makes n wrong
# pairs of reports, and a case's mean signature of many members scores its true reports higher anyway.
SIZE_STEP = 0.02
# cases_to_absorb: chosen on the tuning half of the evaluation stream, with best_match's threshold fixed.
ABSORB_REPORT_FLOOR = 0.15
ABSORB_THRESHOLD = 0.28
# A report must also stand out from the open cases it is compared with: a score BACKGROUND_Z robust standard
# deviations above their median, when there are at least BACKGROUND_MIN of them (`background_bar`).
BACKGROUND_Z = 2.0
BACKGROUND_MIN = 8
# A report that clears no case's bar may still be a problem's second report: it joins a case of one report of its
# own 社区, 小区, 村 or landmark (any locality but a road) and topic at this lower bar (`second_report`), and a case
# of two at the next.
SECOND_REPORT_THRESHOLD = 0.15
THIRD_REPORT_THRESHOLD = 0.18
# A long letter shares much of its wording with every letter of its kind (路, 车, 公交 in traffic letters), and the
# mean signature of a case of such letters gathers exactly that: on the real stream twelve different A3区 traffic
# letters chained into one case, each matching the mean (0.26-0.43) better than any one letter before it (at most
# 0.42), while each letter of its largest true cases resembled one earlier letter at 0.41-1.00. So a letter of
# LONG_LETTER characters or more joins (or absorbs) a case of two reports or more, most of them long too, only when
# it resembles one of them at MEMBER_FLOOR (`resembles_a_member`); otherwise its next best case is tried. A
# resident's own case is exempt: a follow-up is told by the phone. The two ranges above meet at 0.40, so the floor
# alone does not part them exactly; what the reading of the replay's pairs shows does. The real stream's replay: 376
# pairs parted and 72 formed; of 60 pairs drawn at random from a first form of the rule and read blind, the 37 this
# rule parts were two problems 36 times, and the 12 it forms one problem 4 times; 3,535 cases instead of
# 3,480, 24 case hotspots instead of 30, 40 escalations instead of 50-51. Written reports are short, and a case
# mostly of them is checked at a lower floor, MIXED_MEMBER_FLOOR (`member_floor`): the mean of short reports of one
# problem is that problem's wording, and a resident's long, rambling account of it resembles none of the crisp ones
# at MEMBER_FLOOR; but once a long letter is in the case, the mean carries its road's wording too, and another long
# letter of the road matches it (the module's docstring has the figures).
LONG_LETTER = 150
MEMBER_FLOOR = 0.40
MIXED_MEMBER_FLOOR = 0.30
MEMBER_TRIES = 3  # the best cases a long letter is checked against before it opens a case of its own
# A resident's follow-up (催办: the same phone calls or writes again) joins the open case of their own earlier report
# at this bar, when it names no other place, topic, facet or building (`follow_up`). 95 % of the same-problem pairs of
# the written streams score at least this, against 36 % of the different problems of one topic within a week; a
# resident has one or two open cases, not a street's hundreds.
FOLLOW_UP_THRESHOLD = 0.10
# A resident's own case stays theirs for its whole lifetime, but once it is closed to other reports (past the
# matching `window` after its last one) their report joins it at the follow-up bar only when it says it follows an
# earlier report (`says_follow_up`); otherwise at the ordinary bar of the case's size. Three weeks on, the same phone
# is as likely to be about another problem of the estate (stream 20: a playground's broken slide, then the parking
# fee's rise) as about the first.
# What a report that follows an earlier one says: that it calls again (再次来电, 第三次反映), that the problem is
# still there (仍未修, 还是没人管, 至今), how long it has lasted (都俩礼拜了), or when it was reported
# (上周五打电话反映的, 前几天我反映的). A date alone says nothing: 上周开始 and 月底之前 open reports and set
# deadlines. The words need not be sure: a report that says them only meets the bar every follow-up met within the
# week, and one that does not still joins its case at the ordinary bar.
_FOLLOWS_UP = re.compile(
    "再次|又一次|又来|第[二三四五六七八九十几]次|多次来电|仍|依然|依旧|还是没|还没|还未|至今|迄今|一直没|没人管|没人理"
    "|没人处理|没下文|没有下文|反映过|投诉过|打过电话|来过电话|催办|上次|上回"
    "|(?:之前|此前|上周|上个?月|前几天|前些天|前段时间)[^，。！？,.!?；;]{0,8}?"
    "(?:反映|来电|投诉|打电话|打过|报修|提过|说过|找过)"
    "|都(?:俩|[0-9两一二三四五六七八九十几半多]+)个?多?(?:天|周|礼拜|星期|月)"
)
# What a report says when the problem it reported is still there, weeks on (`reopens`): that it reports it again
# (再次反映, 第三次来电, 多次向物业反映), that it reported it before (反映过), that it is still not fixed (仍未, 至今,
# 还没修, 没人管), or, for a grid worker, that this is a re-inspection (复查：, 网格员跟进 at its head). Narrower than
# `_FOLLOWS_UP`: 再次 or 又 alone (电梯再次停运, 又坏了) tells of a new breakdown as often as of an old one. 复查 and
# 跟进 elsewhere in a text are as often a first report's: a check-up at the hospital (下不了楼去医院复查), an inspection
# to come (已督促整改，下周复查), a desk asked to see to it (告知物业跟进). A phone nobody answers (电话一直没人接) is
# said of a new question (when a vaccine comes) as often as of an old problem.
_UNRESOLVED = re.compile(
    "(?:再次|第[二三四五六七八九十几]次|多次)(?:向[^，。！？,.!?；;]{0,8})?(?:反映|来电|投诉|致电|写信|求助|打电话)"
    "|反映过|投诉过|仍未|仍然没|依然没|依旧没|还是没|还没(?:修|解决|处理|人(?!接))|至今|迄今|一直没(?!人接)|没人管"
    "|没人理|没下文|没有下文|(?:^|网格员)(?:复查|跟进)|(?:复查|跟进)[：:]"
)
SUGGESTION_FLOOR = 0.12  # rank_suggestions: an operator glances at a list, so it reaches lower than best_match
CASE_SIGNATURE_SIZE = 128  # a case keeps more features than one report: its members word the problem differently


# Suffixes that name a place's kind, not which place: 北街家园第三社区 and 北街家园第三 are one estate, 陈庄村 and
# 陈庄 one village.
_KIND_SUFFIXES = ("社区", "小区", "村")


class Weights(msgspec.Struct, frozen=True):
    """Factors on the text similarity for how the places and topics of a report and a case agree."""

    same_locality: float = 1.0
    nested_locality: float = 0.9  # 北街家园 and 北街家园第三社区: one name inside the other, likely one estate
    street_only: float = 1.0  # one side names only the street
    other_locality: float = 0.4  # both name a place of the street, different ones (one a road or landmark)
    other_residence: float = 0.25  # both name an estate or village (社区, 小区, 村) of the street, different ones
    unknown_place: float = 0.7  # a side has neither street nor locality, or only a locality; not tuned
    other_street: float = 0.0
    topic_disagrees: float = 0.85
    facets_disagree: float = 0.5  # both name what is at fault (`facets`), and nothing in common
    facets_agree: float = 1.2  # both name one facet
    lead_elsewhere: float = 0.8  # they share one, but not the one the report names first
    buildings_disagree: float = 0.5  # both name building numbers (12号楼), and none in common


WEIGHTS = Weights()


class Report(msgspec.Struct, frozen=True):
    signature: Signature
    street: str | None
    locality: str | None
    topic: str | None
    at: datetime
    locality_level: str | None = None  # the gazetteer's level of `locality` (社区, 小区, 村, 道路, 地标)
    says_follow_up: bool = False  # its text says it follows an earlier report (`says_follow_up`)
    says_unresolved: bool = False  # its text says a problem reported before is still there (`says_unresolved`)


class CaseCandidate(msgspec.Struct, frozen=True):
    id: int
    street: str | None
    locality: str | None
    topic: str | None
    last_activity: datetime
    signature: Signature
    size: int
    locality_level: str | None = None


class Match(msgspec.Struct, frozen=True):
    case_id: int
    score: float


def scored_matches(
    report: Report,
    candidates: Sequence[CaseCandidate],
    *,
    window: timedelta = timedelta(days=7),
    floor: float = 0.0,
    weights: Weights = WEIGHTS,
) -> list[Match]:
    """Every open case scoring at least `floor` for the report, best first.

    A case is open for the report while its last activity lies within `window` before it (or after it: reports can
    arrive out of order).
    """
    query = as_map(report.signature)
    matches = []
    for case in candidates:
        if abs(report.at - case.last_activity) > window:
            continue
        factor = match_factor(report, case, weights)
        if factor == 0.0:
            continue
        score = similarity_to(query, case.signature) * factor
        if score >= floor:
            matches.append(Match(case_id=case.id, score=score))
    matches.sort(key=lambda m: (-m.score, m.case_id))
    return matches


def best_match(
    report: Report,
    candidates: Sequence[CaseCandidate],
    *,
    window: timedelta = timedelta(days=7),
    threshold: float = THRESHOLD,
    size_step: float = SIZE_STEP,
    weights: Weights = WEIGHTS,
) -> Match | None:
    """The open case the report most likely belongs to, or None when it is a new problem."""
    best, _ = choose_case(
        report, candidates, lambda _: True, window=window, threshold=threshold, size_step=size_step, weights=weights
    )
    return best


def choose_case(
    report: Report,
    candidates: Sequence[CaseCandidate],
    eligible: Callable[[int], bool],
    *,
    window: timedelta = timedelta(days=7),
    threshold: float = THRESHOLD,
    size_step: float = SIZE_STEP,
    weights: Weights = WEIGHTS,
    floor: float = ABSORB_REPORT_FLOOR,
    own: Sequence[CaseCandidate] = (),
    quiet: Sequence[CaseCandidate] = (),
) -> tuple[Match | None, list[Match]]:
    """The case to join (None: a new problem) and the eligible matches scoring at least `floor` or `threshold`,
    whichever is lower, best first (`cases_to_absorb` reads them, and reads none below its own floor). The case is
    the best match that `joinable` allows, else the best one when the report is its problem's `second_report`, else
    the one of `own` (open cases holding another report of the same resident) that the report `follow_up`s, else the
    case of `quiet` (open cases of the report's street gone quiet past `window`) that it `reopens`; for a report that
    names no place, the resident's own case comes first.

    Every candidate is scored and sets the report's `background_bar`; only the cases `eligible` (by id) may be
    joined: the tracker keeps those whose first report the new one resembles too. Eligibility is asked only of
    matches that could be joined or absorbed: it costs a comparison with the case's first report."""
    scored = scored_matches(report, candidates, window=window, weights=weights)
    bar = background_bar([match.score for match in scored])
    least = min(floor, threshold)
    matches = [
        match for match in scored if match.score >= min(least, SECOND_REPORT_THRESHOLD) and eligible(match.case_id)
    ]
    # A resident's report that names no place is most likely about what they reported before, however close another
    # resident's wording of another problem comes: their own open case comes first. One that names a place is matched
    # as any report is, and falls back on the resident's own case.
    placeless = report.street is None and report.locality is None
    # The background bar on a follow-up's scale: its score carries no place factor, while a report of no place meets
    # every other case at `unknown_place`. Long letters of one writer share their wording whatever their problem.
    own_bar = bar / weights.unknown_place if placeless and weights.unknown_place > 0 else bar
    best = follow_up(report, own, eligible, bar=own_bar, window=window, weights=weights) if own and placeless else None
    if best is None:
        best = joinable(matches, candidates, threshold=threshold, size_step=size_step, bar=bar)
    if best is None and matches:
        best = second_report(report, matches[0], candidates, bar=bar)
    if best is None and own and not placeless:
        best = follow_up(report, own, eligible, bar=bar, window=window, weights=weights)
    if best is None and quiet and report.says_unresolved:
        best = reopens(report, quiet, eligible, bar=bar, threshold=threshold, size_step=size_step, weights=weights)
    return best, [match for match in matches if match.score >= least]


def second_report(report: Report, top: Match, candidates: Sequence[CaseCandidate], *, bar: float = 0.0) -> Match | None:
    """`top`, the report's best eligible match, when the report is the second report of that case's problem.

    The second report of a problem is the one that most often falls short: it is compared with one other wording, not
    with a case's several. So a report that clears no case's bar joins its best match at the lower
    SECOND_REPORT_THRESHOLD when that case holds one report of the same topic and the same locality (an estate, a
    village, a landmark; not a road), and names no other facet or building; the third report of such a case of two at
    THIRD_REPORT_THRESHOLD. A case of more reports has shown its wording, and a report that misses it is more often
    another problem of the place. A road runs for kilometres: two letters about one arterial road of a real stream
    were two problems at two junctions. The module's docstring has the figures."""
    if top.score < max(bar, SECOND_REPORT_THRESHOLD) or not report.locality or report.topic is None:
        return None
    case = next(c for c in candidates if c.id == top.case_id)
    if case.size > 2 or (case.size == 2 and top.score < THIRD_REPORT_THRESHOLD):
        return None
    if case.topic != report.topic or not one_locality(report, case):
        return None
    # Nothing they name may disagree: another facet or another building is another problem of the estate.
    return top if names_nothing_else(report.signature, case.signature) else None


def follow_up(
    report: Report,
    own: Sequence[CaseCandidate],
    eligible: Callable[[int], bool],
    *,
    bar: float = 0.0,
    window: timedelta = timedelta(days=7),
    weights: Weights = WEIGHTS,
) -> Match | None:
    """The open case of the resident's own earlier report that this report follows up, if any.

    A resident who calls again (还是没人修, 上周反映的事怎么样了) often names no place the second time: the first report
    did. Against the street's cases such a report is weighed down as of unknown place and clears no bar; against the
    cases that hold the same resident's earlier reports it needs only FOLLOW_UP_THRESHOLD of text similarity, with the
    case's topic, no other place (a resident may report two estates' problems), no other facet or building, and the
    report's `background_bar`. The place counts as agreeing when the report names none. More than `window` after the
    case's last report, when it takes no other report, the lower bar needs a report that says it follows an earlier
    one."""
    best: Match | None = None
    query = as_map(report.signature)
    for case in own:
        if report.topic is None or case.topic != report.topic:
            continue
        place = place_factor(
            report.street,
            report.locality,
            case.street,
            case.locality,
            weights,
            levels=(report.locality_level, case.locality_level),
        )
        if place < min(weights.unknown_place, weights.nested_locality, weights.street_only):
            continue
        if not names_nothing_else(report.signature, case.signature, weights):
            continue
        score = similarity_to(query, case.signature)
        floor = FOLLOW_UP_THRESHOLD
        # Later than the window, not earlier: a report placed out of order (an import) came before the rest.
        if report.at - case.last_activity > window and not report.says_follow_up:
            floor = join_threshold(case.size)
        if score < max(bar, floor) or (best is not None and score <= best.score):
            continue
        if eligible(case.id):
            best = Match(case_id=case.id, score=score)
    return best


def reopens(
    report: Report,
    quiet: Sequence[CaseCandidate],
    eligible: Callable[[int], bool],
    *,
    bar: float = 0.0,
    threshold: float = THRESHOLD,
    size_step: float = SIZE_STEP,
    weights: Weights = WEIGHTS,
) -> Match | None:
    """The case gone quiet (past the matching window after its last report, within its lifetime) that a report
    saying its problem is still there (`says_unresolved`: 再次反映, 至今未解决, 复查) takes up again, if any.

    A problem nobody fixes is reported again weeks apart: a building's heating all winter, a village's unpaid land
    rent. Only a report that says so reaches such a case, and only one of its own 社区, 小区, 村 or landmark (not a
    road: it runs for kilometres) and topic, naming no other facet or building, at the ordinary bar of the case's
    size and the report's `background_bar`. A report that only says the problem happened again (电梯又停了, 再次困人)
    may be a new breakdown after a repair, and opens a case of its own."""
    best: Match | None = None
    query = as_map(report.signature)
    for case in quiet:
        if report.topic is None or case.topic != report.topic or not one_locality(report, case):
            continue
        if not names_nothing_else(report.signature, case.signature, weights):
            continue
        score = similarity_to(query, case.signature) * match_factor(report, case, weights)
        if score < max(bar, join_threshold(case.size, threshold=threshold, size_step=size_step)):
            continue
        if (best is None or score > best.score) and eligible(case.id):
            best = Match(case_id=case.id, score=score)
    return best


def needs_a_member(text: str, case_size: int) -> bool:
    """Whether a report of this text may join (or absorb) a case of this size only if it `resembles_a_member` at the
    case's `member_floor`. The callers exempt a resident's own case: their follow-up (`follow_up`) is told by their
    phone, not by the wording."""
    return len(text) >= LONG_LETTER and case_size >= 2


def member_floor(texts: Sequence[str]) -> float:
    """How much a long letter must resemble one of the case's reports (`texts`) to join it: MEMBER_FLOOR when the
    case is `mostly_long`, else MIXED_MEMBER_FLOOR. A long account of a problem resembles none of its short reports
    at MEMBER_FLOOR, while its mean, once a long letter is in it, carries the road's or the area's wording."""
    return MEMBER_FLOOR if mostly_long(texts) else MIXED_MEMBER_FLOOR


def mostly_long(texts: Sequence[str]) -> bool:
    """Whether more than half of a case's reports are long letters: the mean of long letters is a kind's wording,
    and a long letter must resemble one of them at MEMBER_FLOOR."""
    return sum(len(text) >= LONG_LETTER for text in texts) * 2 > len(texts)


def resembles_a_member(report: Signature, members: Iterable[Signature], *, floor: float = MEMBER_FLOOR) -> bool:
    """Whether the report resembles one of the case's reports at `floor`, not only their mean; `members` is read
    only as far as the first that does."""
    return any(similarity(report, member) >= floor for member in members)


def says_follow_up(text: str) -> bool:
    """Whether the text says it follows an earlier report of its problem (再次反映, 还是没人修, 上周反映的)."""
    return _FOLLOWS_UP.search(text) is not None


def says_unresolved(text: str) -> bool:
    """Whether the text says that a problem reported before is still there (`reopens`)."""
    return _UNRESOLVED.search(text) is not None


def names_nothing_else(report: Signature, case: Signature, weights: Weights = WEIGHTS) -> bool:
    """Whether the report names no facet and no building that the case's reports do not (`facet_factor`,
    `building_factor`): the condition of the lower bars, `second_report` and `follow_up`."""
    return facet_factor(report, case, weights) >= 1.0 and building_factor(report, case, weights) >= 1.0


def background_bar(scores: Sequence[float], *, z: float = BACKGROUND_Z, minimum: int = BACKGROUND_MIN) -> float:
    """The score a match must reach to stand out from the report's other candidates (`scores`: all of them).

    Long letters share much of their wording whatever their problem (业主, 开发商, 交房, 公交, 线路): against the
    open cases of a busy district, a letter about one estate's title deeds scores 0.25-0.35 with a dozen other
    estates' letters, above the fixed threshold. Short reports of the written streams rarely score above 0.1 with
    another problem. The bar follows the report's own background, the scores against the open cases it is compared
    with (its street's, or its topic's when it has no street), when there are enough of them to say: their median
    plus z robust standard deviations (1.4826 × the median absolute deviation). Median and deviation are those of
    the many unrelated cases, so two open cases of the report's own problem (a split the next report may mend) do
    not raise the bar above themselves."""
    if len(scores) < minimum:
        return 0.0
    middle = statistics.median(scores)
    spread = 1.4826 * statistics.median(abs(score - middle) for score in scores)
    return middle + z * spread


def join_threshold(size: int, *, threshold: float = THRESHOLD, size_step: float = SIZE_STEP) -> float:
    """The score a report needs to join a case of `size` reports."""
    return threshold + size_step * math.log(max(size, 1))


def joinable(
    matches: Sequence[Match],
    candidates: Iterable[CaseCandidate],
    *,
    threshold: float = THRESHOLD,
    size_step: float = SIZE_STEP,
    bar: float = 0.0,
) -> Match | None:
    """The best of `matches` (best first) that clears the bar of its case's size, and `bar` (`background_bar`)."""
    sizes = {c.id: c.size for c in candidates}
    for match in matches:
        if match.score >= max(bar, join_threshold(sizes[match.case_id], threshold=threshold, size_step=size_step)):
            return match
    return None


def cases_to_absorb(
    joined: CaseCandidate,
    report_matches: Sequence[Match],
    candidates: Mapping[int, CaseCandidate],
    *,
    report_floor: float = ABSORB_REPORT_FLOOR,
    threshold: float = ABSORB_THRESHOLD,
    weights: Weights = WEIGHTS,
) -> list[int]:
    """Other open cases that the report just joined to `joined` shows to be the same problem.

    The second report of a problem often scores too low against a case of one report and opens a case of its own;
    a later report that resembles both reveals it. A case is absorbed when the report also matches it
    (`report_floor`) and it matches the joined case as a whole (`threshold`), so one report alone cannot chain two
    problems together.
    """
    # A case's facets are all its reports have named: a large case shares one with many a case of its kind (a
    # mixing plant's letters name its trucks' noise, an estate's building site its night work). Across a street, or
    # a district, a shared facet says little of two cases; it counts only when one of them knows its locality:
    # an estate, village, road or landmark. The module's docstring has the figures.
    plain = msgspec.structs.replace(weights, facets_agree=min(weights.facets_agree, 1.0))
    absorbed = []
    for match in report_matches:
        if match.case_id == joined.id or match.score < report_floor:
            continue
        other = candidates[match.case_id]
        factor = match_factor(joined, other, weights if joined.locality or other.locality else plain)
        if similarity(joined.signature, other.signature) * factor >= threshold:
            absorbed.append(other.id)
    return absorbed


def rank_suggestions(
    text_signature: Signature,
    street: str | None,
    locality: str | None,
    candidates: Sequence[CaseCandidate],
    limit: int = 5,
    *,
    floor: float = SUGGESTION_FLOOR,
    weights: Weights = WEIGHTS,
) -> list[Match]:
    """Open cases an operator may be typing about, best first. No topic and no time: the call is being taken now,
    the candidates are the open cases, and the text is not finished enough to classify. Of cases the words so far
    score alike (a caller's "what I reported" matches none of theirs), the most recently active comes first: the
    one a caller ringing again is most likely chasing."""
    query = as_map(text_signature)
    ranked = []
    for case in candidates:
        factor = place_factor(street, locality, case.street, case.locality, weights)
        if factor == 0.0:
            continue
        score = similarity_to(query, case.signature) * factor
        if score >= floor:
            ranked.append((Match(case_id=case.id, score=score), case.last_activity))
    ranked.sort(key=lambda ranking: (-ranking[0].score, -ranking[1].timestamp(), ranking[0].case_id))
    return [match for match, _ in ranked[:limit]]


def merge_signature(case: Signature, member: Signature, size: int) -> Signature:
    """The case's signature once `member` joins it; `size` is the number of members before.

    The mean of the members' signatures: what they share adds up, what one member alone says fades as the case grows.
    """
    if size <= 0:
        return combine([(member, 1.0)], size=CASE_SIGNATURE_SIZE)
    return combine([(case, float(size)), (member, 1.0)], size=CASE_SIGNATURE_SIZE)


def match_factor(a: Report | CaseCandidate, b: CaseCandidate, weights: Weights = WEIGHTS) -> float:
    """The factor on the text similarity of a report (or a case) and a case: how their places, topics, facets and
    building numbers agree."""
    factor = place_factor(
        a.street, a.locality, b.street, b.locality, weights, levels=(a.locality_level, b.locality_level)
    )
    factor *= topic_factor(a.topic, b.topic, weights)
    factor *= facet_factor(a.signature, b.signature, weights, placed=bool(a.street and b.street))
    return factor * building_factor(a.signature, b.signature, weights)


def place_factor(
    street_a: str | None,
    locality_a: str | None,
    street_b: str | None,
    locality_b: str | None,
    weights: Weights = WEIGHTS,
    *,
    levels: tuple[str | None, str | None] = (None, None),
) -> float:
    """`levels`: the gazetteer's levels of the two localities, where known."""
    if street_a and street_b and street_a != street_b:
        return weights.other_street
    # Localities are compared even when a street is unknown: a road or landmark that crosses streets has none.
    if locality_a and locality_b:
        # A village and an urban community of one name are two places (二街村 and 二街社区 of one street).
        if _is_village(locality_a) != _is_village(locality_b) and _has_kind(locality_a) and _has_kind(locality_b):
            return weights.other_locality
        core_a, core_b = _core(locality_a), _core(locality_b)
        if core_a == core_b:
            return weights.same_locality
        # The gazetteer lists an estate (小区 天通北苑) and the 社区 it holds (天通北苑第二东社区) as separate places of
        # one street; a resolver can return either for the same building. Two 社区 (or two 村) are siblings, not one
        # inside the other, however their names run: 龙禧苑社区 and 龙禧苑二区社区 are two communities.
        if (core_a.startswith(core_b) or core_b.startswith(core_a)) and not _same_kind(locality_a, locality_b):
            return weights.nested_locality
        # Two estates or villages are two places; a road or a landmark may be where a resident stood to report an
        # estate's problem (霍营站 for the KTV under 华龙苑中里).
        if all(level in RESIDENTIAL_LEVELS for level in levels):
            return weights.other_residence
        return weights.other_locality
    if street_a and street_b:
        return weights.street_only
    return weights.unknown_place


def topic_factor(topic_a: str | None, topic_b: str | None, weights: Weights = WEIGHTS) -> float:
    if topic_a is None or topic_b is None or topic_a == topic_b:
        return 1.0
    return weights.topic_disagrees


def facet_factor(a: Signature, b: Signature, weights: Weights = WEIGHTS, *, placed: bool = True) -> float:
    """`placed`: both sides know their street. Without it a shared facet is no evidence of one problem (every bus
    route letter of the city names 公交), so only disagreement counts (none shared, or not the report's first).

    `a` is the report (or a case), `b` the case. When the report's first facet is not among the case's, what they
    share is a side matter (a roof leak and a broken lift, both blamed on the 物业费), weighed down a little."""
    if not (a.facets and b.facets):
        return 1.0
    if not set(a.facets).intersection(b.facets):
        return weights.facets_disagree
    if a.lead_facet and a.lead_facet not in b.facets:
        return weights.lead_elsewhere
    return weights.facets_agree if placed else 1.0


def building_factor(a: Signature, b: Signature, weights: Weights = WEIGHTS) -> float:
    if a.buildings and b.buildings and not set(a.buildings).intersection(b.buildings):
        return weights.buildings_disagree
    return 1.0


def one_locality(report: Report, case: CaseCandidate) -> bool:
    """Whether the report and the case name one 社区, 小区, 村 or landmark (its name with or without its kind's suffix;
    a village and a community of one name are two), not a road: a road runs for kilometres. The place of the lower
    bars of `second_report` and of `reopens`."""
    if not (report.locality and case.locality) or ROAD_LEVEL in (report.locality_level, case.locality_level):
        return False
    return _core(case.locality) == _core(report.locality) and _is_village(case.locality) == _is_village(report.locality)


def same_place_names(name: str) -> list[str]:
    """The names a locality may be written under with each kind's suffix or none (北街家园第三社区, 北街家园第三): those
    `place_factor` finds the same, and more (a village's name with 社区), which it tells apart."""
    core = _core(name)
    return [core, *(core + suffix for suffix in _KIND_SUFFIXES)]


def _has_kind(name: str) -> bool:
    return name.endswith(_KIND_SUFFIXES)


def _same_kind(a: str, b: str) -> bool:
    return any(a.endswith(suffix) and b.endswith(suffix) for suffix in ("社区", "村"))


def _is_village(name: str) -> bool:
    return name.endswith("村")


def _core(name: str) -> str:
    for suffix in _KIND_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name
