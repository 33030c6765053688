"""The kind an item states itself in its opening (我要投诉, 请问, 建议, 举报, 求助, 网格员巡查发现): it overrides the
kind head, which only guesses from the whole text. The earliest cue in the first `OPENING` characters wins.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

OPENING = 40

_CUES = re.compile(
    r"(?P<report>举报|网格员|巡查发现|巡查中发现)"
    r"|(?P<help>求助|求救|救救|帮帮)"
    r"|(?P<inquiry>咨询|请问|询问|问一下|想问|是否|能否|可否|怎么办|如何|吗[？?])"
    r"|(?P<suggestion>建议|提议)"
    r"|(?P<complaint>投诉)"
)


def stated_kind(text: str) -> str | None:
    """suggestion | complaint | inquiry | report | help, when the opening of the text says so."""
    return stated_kinds([text])[0]


def stated_kinds(texts: Sequence[str]) -> list[str | None]:
    """`stated_kind` of each text, in one scan of their openings joined by newlines (no cue holds one)."""
    openings = [text[:OPENING] for text in texts]
    starts = list(accumulate((len(opening) + 1 for opening in openings[:-1]), initial=0))
    kinds: list[str | None] = [None] * len(texts)
    for match in _CUES.finditer("\n".join(openings)):
        number = bisect_right(starts, match.start()) - 1
        if kinds[number] is None:
            kinds[number] = match.lastgroup
    return kinds
