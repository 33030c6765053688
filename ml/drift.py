"""Drift report: how the service's classifications move from month to month.

Input: JSON lines `{"at": ISO datetime, "topic", "risk_level", "model_version"}`, optionally with `confidence`,
`topic_confidence`, `risk_confidence` and `corrected` (the service exports each item's first classification so, dated
by the item's arrival, with whether staff corrected it). Per month: counts, the topic and risk distributions, mean
confidences, the model versions seen, the share staff corrected, and the Jensen–Shannon distance (base 2, 0 = same
distribution, 1 = disjoint) of each distribution to the previous month's. A rising share of corrections is the
plainest sign that the model no longer fits what comes in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

import msgspec
import numpy as np


class Classification(msgspec.Struct, frozen=True):
    at: datetime
    topic: str
    risk_level: int
    model_version: str
    confidence: float | None = None  # one figure for the classification, when the export gives one
    topic_confidence: float | None = None
    risk_confidence: float | None = None
    corrected: bool | None = None  # staff corrected the topic or the risk later


class Month(msgspec.Struct, frozen=True):
    month: str  # YYYY-MM
    n: int
    topics: dict[str, float]  # share of the month's items
    risk_levels: dict[str, float]
    model_versions: dict[str, int]
    mean_confidence: float | None  # of `confidence`, else of the lower of topic and risk confidence
    mean_topic_confidence: float | None
    mean_risk_confidence: float | None
    corrected_share: float | None  # of the month's items whose export says whether staff corrected them
    topic_js_distance: float | None  # to the previous month; None for the first
    risk_js_distance: float | None


def read_classifications(lines: Iterable[str | bytes], name: str | None = None) -> list[Classification]:
    """Errors name the line, after the file's `name` when given."""
    decoder = msgspec.json.Decoder(Classification)
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if number == 1:  # a byte-order mark, as an editor saving "UTF-8" on Windows writes
            line = line.removeprefix(b"\xef\xbb\xbf") if isinstance(line, bytes) else line.removeprefix("\ufeff")
        try:
            out.append(decoder.decode(line))
        except msgspec.DecodeError as exc:
            raise ValueError(f"{name}:{number}: {exc}" if name else f"line {number}: {exc}") from None
    return out


def js_distance(p: dict[str, float], q: dict[str, float]) -> float:
    keys = sorted(set(p) | set(q))
    a = np.array([p.get(k, 0.0) for k in keys])
    b = np.array([q.get(k, 0.0) for k in keys])
    m = (a + b) / 2

    def kl(x: np.ndarray) -> float:
        present = x > 0
        return float(np.sum(x[present] * np.log2(x[present] / m[present])))

    return round(float(np.sqrt(max((kl(a) + kl(b)) / 2, 0.0))), 4)


def monthly(classifications: Iterable[Classification]) -> list[Month]:
    by_month: dict[str, list[Classification]] = defaultdict(list)
    for c in classifications:
        by_month[f"{c.at:%Y-%m}"].append(c)
    months: list[Month] = []
    for month in sorted(by_month):
        items = by_month[month]
        topics = _shares(Counter(c.topic for c in items))
        risks = _shares(Counter(str(c.risk_level) for c in items))
        previous = months[-1] if months else None
        months.append(
            Month(
                month=month,
                n=len(items),
                topics=topics,
                risk_levels=risks,
                model_versions=dict(Counter(c.model_version for c in items).most_common()),
                mean_confidence=_mean([_overall(c) for c in items]),
                mean_topic_confidence=_mean([c.topic_confidence for c in items]),
                mean_risk_confidence=_mean([c.risk_confidence for c in items]),
                corrected_share=_mean([None if c.corrected is None else float(c.corrected) for c in items]),
                topic_js_distance=js_distance(topics, previous.topics) if previous else None,
                risk_js_distance=js_distance(risks, previous.risk_levels) if previous else None,
            )
        )
    return months


def _overall(c: Classification) -> float | None:
    if c.confidence is not None:
        return c.confidence
    present = [x for x in (c.topic_confidence, c.risk_confidence) if x is not None]
    return min(present) if present else None


def _shares(counts: Counter[str]) -> dict[str, float]:
    total = sum(counts.values())
    return {key: round(count / total, 4) for key, count in sorted(counts.items(), key=lambda kv: -kv[1])}


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None
