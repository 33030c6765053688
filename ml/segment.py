"""Word segmentation: jieba precise mode with the HMM on, the district's words added.

Two engines give the same tokens: `jieba` (the reference) and `rjieba` (a Rust port, about 15 times faster). rjieba
keeps runs of digits, letters and punctuation such as `2.A` or `0000-1111` as one token where jieba splits them;
`_split_like_jieba` splits those the way jieba does, after which the token lists agree (checked by
`tests/unit/test_ml_segment.py` on the seed corpus).

A segmented document is its tokens joined by single spaces, with whitespace and punctuation-only tokens dropped:
the form the feature pipeline reads.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Protocol

from ml.dictionary import DictEntry

ENGINES = ("jieba", "rjieba")
DEFAULT_ENGINE = "jieba"

_WHITESPACE = re.compile(r"\s+")
_HAN = re.compile("[\u4e00-\u9fd5]")
# jieba's finalseg splits a run of non-Chinese characters with this pattern.
_JIEBA_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")


class _Cutter(Protocol):
    def __call__(self, text: str) -> list[str]: ...


def normalise(text: str) -> str:
    """Full-width letters and digits to ASCII, any whitespace run to one space."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


class Segmenter:
    """Thread-safe; the dictionary is loaded on first use, not when the segmenter is made."""

    def __init__(self, entries: Sequence[DictEntry] = (), engine: str = DEFAULT_ENGINE) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown segmenter engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.engine = engine
        self._entries = tuple(entries)
        self._cut: _Cutter | None = None
        self._lock = threading.Lock()

    def cut(self, text: str) -> list[str]:
        """The tokens of the normalised text, whitespace dropped, punctuation kept."""
        return [token for token in self._cutter()(normalise(text)) if token.strip()]

    def document(self, text: str) -> str:
        return " ".join(token for token in self.cut(text) if is_word(token))

    def documents(self, texts: Iterable[str]) -> list[str]:
        return [self.document(text) for text in texts]

    def warm_up(self) -> None:
        self._cutter()

    def _cutter(self) -> _Cutter:
        if self._cut is None:
            with self._lock:
                if self._cut is None:
                    self._cut = _load_jieba(self._entries) if self.engine == "jieba" else _load_rjieba(self._entries)
        return self._cut


def engine_version(engine: str) -> str:
    from importlib.metadata import version

    return version(engine)


def _load_jieba(entries: Sequence[DictEntry]) -> _Cutter:
    import jieba

    # jieba announces every dictionary load on its own stderr handler; only warnings are worth showing.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for entry in entries:
        tokenizer.add_word(entry.word, entry.freq, entry.tag)

    def cut(text: str) -> list[str]:
        return list(tokenizer.cut(text, HMM=True))

    return cut


def _load_rjieba(entries: Sequence[DictEntry]) -> _Cutter:
    import rjieba

    tokenizer = rjieba.Jieba()
    for entry in entries:
        tokenizer.add_word(entry.word, entry.freq, entry.tag)

    def cut(text: str) -> list[str]:
        return _split_like_jieba(tokenizer.cut(text, True))

    return cut


def _split_like_jieba(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if len(token) > 1 and not token.isalnum() and not _HAN.search(token):
            out.extend(part for part in _JIEBA_SKIP.split(token) if part)
        else:
            out.append(token)
    return out
