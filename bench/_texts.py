"""Benchmark texts: the project's own seed corpus, never the shared data."""

from __future__ import annotations

import json
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parents[1] / "ml" / "seed"


def seed_corpus_texts() -> list[str]:
    return [
        json.loads(line)["text"]
        for path in sorted(SEED_DIR.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def seed_texts(count: int, length: int = 200) -> list[str]:
    """`count` texts of `length` characters: seed items cycled, each padded with others until long enough."""
    base = seed_corpus_texts()
    texts = []
    for n in range(count):
        text = base[n % len(base)]
        while len(text) < length:
            text += base[(n * 7 + len(text)) % len(base)]
        texts.append(text[:length])
    return texts
