"""Urgent messages in many wordings: how many the model raises to level 3, and how many look-alikes it raises too.

    .venv/bin/python -m bench.urgent_probe [--model DIR] [--probe tests/data/urgent_probe.jsonl]

The probe (`tests/data/urgent_probe.jsonl`) was written from the risk rubric alone, without sight of the lexicon or
the model: 102 level-3 messages in six kinds (self-harm, threats, hazards under way, a person held or missing,
a gathering under way, a fraud being paid now), and 64 look-alikes of level 0-2 that share their words (a threat
that is over, a hazard only feared, a figure of speech, a question about prevention). Even ids were read to extend
the lexicon; odd ids were scored once afterwards and are the held-out half. Printed per half: level-3 recall by
kind, the share of level-3 messages raised to at least 2, and the look-alikes raised to 3.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[1]


class ProbeMessage(msgspec.Struct, frozen=True):
    id: int
    level: int
    category: str
    channel: str
    text: str


def load(path: Path) -> list[ProbeMessage]:
    decoder = msgspec.json.Decoder(ProbeMessage)
    return [decoder.decode(line) for line in path.read_bytes().splitlines() if line.strip()]


def figures(messages: list[ProbeMessage], levels: list[int]) -> dict[str, Any]:
    urgent = [(m, level) for m, level in zip(messages, levels, strict=True) if m.level == 3]
    lookalikes = [(m, level) for m, level in zip(messages, levels, strict=True) if m.level < 3]
    by_kind: Counter[str] = Counter(m.category for m, _ in urgent)
    found: Counter[str] = Counter(m.category for m, level in urgent if level == 3)
    return {
        "urgent": len(urgent),
        "recall_3": round(sum(found.values()) / len(urgent), 3),
        "recall_3_by_kind": {kind: f"{found[kind]}/{count}" for kind, count in sorted(by_kind.items())},
        "urgent_raised_to_2_or_more": round(sum(1 for _, level in urgent if level >= 2) / len(urgent), 3),
        "lookalikes": len(lookalikes),
        "lookalikes_raised_to_3": sum(1 for _, level in lookalikes if level == 3),
    }


def main() -> None:
    from ml.serving import load_model, serving_model_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="artifact folder (default: the serving model)")
    parser.add_argument("--probe", type=Path, default=ROOT / "tests" / "data" / "urgent_probe.jsonl")
    args = parser.parse_args()
    model = load_model(args.model or serving_model_dir())
    messages = load(args.probe)
    levels = [p.risk_level for p in model.predict([m.text for m in messages])]
    halves = {"tuning (even ids)": 0, "held_out (odd ids)": 1}
    result: dict[str, Any] = {"model": model.version}
    for name, parity in halves.items():
        chosen = [(m, level) for m, level in zip(messages, levels, strict=True) if m.id % 2 == parity]
        result[name] = figures([m for m, _ in chosen], [level for _, level in chosen])
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
