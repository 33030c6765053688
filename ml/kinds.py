"""The kind an item states itself in its opening (我要投诉, 请问, 建议, 举报, 求助, 网格员巡查发现): it overrides the
kind head, which only guesses from the whole text. The earliest cue in the first `OPENING` characters wins.
"""

from __future__ import annotations

import re

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
    match = _CUES.search(text, 0, OPENING)
    return match.lastgroup if match else None
