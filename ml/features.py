"""How segmented documents become TF-IDF features, for a whole batch at once.

A document is its tokens joined by single spaces (see `ml.segment`). Three blocks of columns, each weighted by
sublinear TF × IDF and scaled to unit length per document:
- `words`: word uni- and bigrams;
- `chars`: character n-grams (1–3) over the words run together (punctuation is already gone, so an n-gram may
  span two words but never two documents);
- `head`: the same n-grams over the first `head_chars` characters again, since the opening of an item (a title,
  the first clause of a call summary) names its subject more often than the rest.

The loops over characters and n-grams run compiled (`ml.kernels`); a key finds its column in an open-addressing
table (`KeyIndex`). Every occurrence remembers the token it lies in, so `ml.explain` can read a column's weight
back as words of the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, vstack

BLOCKS = ("words", "chars", "head")
_EMPTY = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_GOLDEN = np.uint64(0x9E37_79B9_7F4A_7C15)
_DOCUMENT_END = "\x00"
# documents are featurised this many at a time, so that the scratch arrays stay small
_CHUNK_ROWS = 2048


class FeatureConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    word_ngrams: int = 2  # word uni- (1) or uni- and bigrams (2)
    char_ngrams: tuple[int, int] = (1, 3)  # at most 3
    head_chars: int = 0  # characters of the opening read again as their own block; 0: no such block
    head_weight: float = 1.0  # length of the head block relative to the others
    min_df: int = 2  # a column needs at least this many training documents


class Occurrences(msgspec.Struct, frozen=True):
    """Where each value of a batch's matrix came from: one entry per n-gram occurrence, and the batch's tokens."""

    entry: NDArray[np.int32]  # index into the matrix's `data`
    token: NDArray[np.int32]  # the token the n-gram lies in, -1 if it spans two
    pair: NDArray[np.bool_]  # a word bigram: `token` and the token after it share it
    share: NDArray[np.float32]  # of the entry's value: 1 / its count in the row
    text: str  # the documents joined by "\x00"; a token is text[token_start:token_end]
    token_start: NDArray[np.int32]
    token_end: NDArray[np.int32]
    token_row: NDArray[np.int32]
    token_column: NDArray[np.int32]  # the column of the token as a word unigram, -1 if unknown
    token_readable: NDArray[np.bool_]  # 2+ characters, a Chinese character or a letter, no function word

    def token_text(self, token: int) -> str:
        return self.text[self.token_start[token] : self.token_end[token]]


class KeyIndex:
    """An exact map from 64-bit keys to columns `first_column + i` (linear probing), built with array operations."""

    def __init__(self, keys: NDArray[np.uint64], first_column: int = 0) -> None:
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        bits = max(4, int(np.ceil(np.log2(max(len(self.keys), 1) * 2))))
        self._shift = np.uint64(64 - bits)
        self._mask = (1 << bits) - 1
        # a key and its column side by side: one probe reads one cache line
        self._table = np.full((1 << bits, 2), _EMPTY, dtype=np.uint64)
        self._slots, self._values = self._table[:, 0], self._table[:, 1]
        pending = np.arange(len(self.keys), dtype=np.int64)
        slot = self._home(self.keys)
        while pending.size:
            free = self._slots[slot] == _EMPTY
            # of several keys aiming at one free slot, the first takes it and the others probe on
            candidates, first = np.unique(slot[free], return_index=True)
            winners = pending[free][first]
            self._slots[candidates] = self.keys[winners]
            self._values[candidates] = (winners + first_column).astype(np.uint64)
            placed = np.zeros(len(pending), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            pending, slot = pending[~placed], (slot[~placed] + 1) & self._mask

    def table(self) -> tuple[NDArray[np.uint64], np.uint64]:
        """(table, shift) for `ml.kernels`: row i of the table is slot i's key and value."""
        return self._table, self._shift

    def lookup(self, queries: NDArray[np.uint64]) -> NDArray[np.int64]:
        from ml.kernels import lookup

        return np.asarray(lookup(self._table, self._shift, np.asarray(queries, dtype=np.uint64)))

    def _home(self, keys: NDArray[np.uint64]) -> NDArray[np.int64]:
        return ((keys * _GOLDEN) >> self._shift).astype(np.int64)


class TextFeatures:
    """The fitted vocabulary (n-gram keys of each block), IDF weights and column layout."""

    def __init__(self, config: FeatureConfig, keys: dict[str, NDArray[np.uint64]], idf: NDArray[np.float32]) -> None:
        if config.char_ngrams[1] > 3 or config.char_ngrams[0] < 1:
            raise ValueError("character n-grams must be 1 to 3 characters long")
        self.config = config
        self.keys = {block: np.asarray(keys.get(block, ()), dtype=np.uint64) for block in BLOCKS}
        self.idf = np.asarray(idf, dtype=np.float32)
        sizes = [len(self.keys[block]) for block in BLOCKS]
        self.offsets = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.n_features = int(sum(sizes))
        if len(self.idf) != self.n_features:
            raise ValueError(f"{len(self.idf)} IDF weights for {self.n_features} columns")
        self._tables = tuple(
            KeyIndex(self.keys[block], int(offset)).table() for block, offset in zip(BLOCKS, self.offsets, strict=True)
        )
        self._block_weight = np.array([1.0, 1.0, config.head_weight], dtype=np.float32)
        from ml.explain import STOPWORDS

        self._stop_keys = np.sort(np.array([word_key(word) for word in STOPWORDS], dtype=np.uint64))

    @classmethod
    def fit(cls, documents: Sequence[str], config: FeatureConfig) -> TextFeatures:
        from ml.kernels import ngrams

        empty = KeyIndex(np.empty(0, dtype=np.uint64)).table()
        pairs: dict[int, list[NDArray[np.uint64]]] = {b: [] for b in range(len(BLOCKS))}
        for start in range(0, len(documents), _CHUNK_ROWS):
            chunk = documents[start : start + _CHUNK_ROWS]
            block, key, _, row, *_ = ngrams(
                _code_points(_DOCUMENT_END.join(chunk).lower()),
                len(chunk),
                *config.char_ngrams,
                config.word_ngrams,
                config.head_chars,
                (empty, empty, empty),
                True,
                np.empty(0, dtype=np.uint64),
            )
            for b in range(len(BLOCKS)):
                mine = block == b
                pairs[b].append(_once_per_row(key[mine], row[mine]))
        kept, idf = {}, []
        for b, name in enumerate(BLOCKS):
            keys, counts = np.unique(np.concatenate(pairs[b]), return_counts=True)
            frequent = counts >= config.min_df
            kept[name] = keys[frequent]
            idf.append(np.log((1 + len(documents)) / (1 + counts[frequent])) + 1.0)
        return cls(config, kept, np.concatenate(idf).astype(np.float32))

    def transform(self, documents: Sequence[str]) -> tuple[csr_matrix, Occurrences]:
        """TF-IDF matrix (one row per document) and where each of its values came from."""
        parts = [self._transform_chunk(documents[s : s + _CHUNK_ROWS]) for s in range(0, len(documents), _CHUNK_ROWS)]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return self._transform_chunk([])
        return _stack(parts)

    def _transform_chunk(self, documents: Sequence[str]) -> tuple[csr_matrix, Occurrences]:
        from ml.kernels import ngrams, tfidf

        text = _DOCUMENT_END.join(documents)
        lowered = text.lower()
        if len(lowered) != len(text):  # a character whose lower case is longer: keep the case
            lowered = text
        rows = len(documents)
        _, _, column, row, token, pair, token_start, token_end, token_row, token_column, token_readable = ngrams(
            _code_points(lowered),
            rows,
            *self.config.char_ngrams,
            self.config.word_ngrams,
            self.config.head_chars,
            self._tables,
            False,
            self._stop_keys,
        )
        indptr, indices, data, entry, share = tfidf(column, row, rows, self.idf, self.offsets, self._block_weight)
        matrix = csr_matrix((data, indices, indptr), shape=(rows, self.n_features))
        return matrix, Occurrences(
            entry=entry,
            token=token,
            pair=pair,
            share=share,
            text=text,
            token_start=token_start,
            token_end=token_end,
            token_row=token_row,
            token_column=token_column,
            token_readable=token_readable,
        )

    def state(self) -> dict[str, Any]:
        """Arrays that `from_state` turns back into these features (saved with `numpy.savez`)."""
        return {"idf": self.idf, **{f"keys_{block}": self.keys[block] for block in BLOCKS}}

    @classmethod
    def from_state(cls, config: FeatureConfig, state: Any) -> TextFeatures:
        return cls(config, {block: state[f"keys_{block}"] for block in BLOCKS}, state["idf"])


def word_key(word: str) -> int:
    """The key `ml.kernels` gives a word: the 64-bit FNV-1a hash of its (lower-case) code points."""
    key = 0xCBF2_9CE4_8422_2325
    for char in word.lower():
        key = ((key ^ ord(char)) * 0x0000_0100_0000_01B3) & 0xFFFF_FFFF_FFFF_FFFF
    return key - 1 if key == 0xFFFF_FFFF_FFFF_FFFF else key


def _code_points(text: str) -> NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _once_per_row(keys: NDArray[np.uint64], rows: NDArray[np.int64]) -> NDArray[np.uint64]:
    """Each key once per document it occurs in."""
    if not len(keys):
        return keys
    order = np.lexsort((keys, rows))
    keys, rows = keys[order], rows[order]
    first = np.concatenate([[True], (keys[1:] != keys[:-1]) | (rows[1:] != rows[:-1])])
    return np.asarray(keys[first], dtype=np.uint64)


def _stack(parts: list[tuple[csr_matrix, Occurrences]]) -> tuple[csr_matrix, Occurrences]:
    """One matrix and one set of occurrences from consecutive chunks (their texts joined by a document end)."""
    matrices = [m for m, _ in parts]
    occurrences = [o for _, o in parts]
    entry_offset = np.cumsum([0, *[m.nnz for m in matrices[:-1]]])
    token_offset = np.cumsum([0, *[len(o.token_start) for o in occurrences[:-1]]])
    row_offset = np.cumsum([0, *[m.shape[0] for m in matrices[:-1]]])
    text_offset = np.cumsum([0, *[len(o.text) + 1 for o in occurrences[:-1]]])
    return vstack(matrices, format="csr"), Occurrences(
        entry=np.concatenate([o.entry + e for o, e in zip(occurrences, entry_offset, strict=True)]),
        token=np.concatenate(
            [np.where(o.token >= 0, o.token + t, -1) for o, t in zip(occurrences, token_offset, strict=True)]
        ),
        pair=np.concatenate([o.pair for o in occurrences]),
        share=np.concatenate([o.share for o in occurrences]),
        text=_DOCUMENT_END.join(o.text for o in occurrences),
        token_start=np.concatenate([o.token_start + x for o, x in zip(occurrences, text_offset, strict=True)]),
        token_end=np.concatenate([o.token_end + x for o, x in zip(occurrences, text_offset, strict=True)]),
        token_row=np.concatenate([o.token_row + r for o, r in zip(occurrences, row_offset, strict=True)]),
        token_column=np.concatenate([o.token_column for o in occurrences]),
        token_readable=np.concatenate([o.token_readable for o in occurrences]),
    )
