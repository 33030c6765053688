"""The loops over every character and n-gram of a batch, compiled by numba (cached on disk after the first run).

Input is a chunk of segmented documents as one array of code points: tokens separated by spaces (32), documents
by a 0. Keys:
- a word is the 64-bit FNV-1a hash of its code points; a word bigram mixes the hashes of its two words;
- a character n-gram (n <= 3) is its code points packed 21 bits each, which is exact.

`ngrams` finds every n-gram occurrence of the chunk (with its key when fitting a vocabulary, with its column when
transforming), `tfidf` turns the occurrences of each row into a TF-IDF row, `token_scores` and `rank_tokens` read
a head's evidence back as tokens. Importing this module compiles nothing: the first call does (or loads the
cached machine code).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

EMPTY = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
GOLDEN = np.uint64(0x9E37_79B9_7F4A_7C15)
FNV_OFFSET = np.uint64(0xCBF2_9CE4_8422_2325)
FNV_PRIME = np.uint64(0x0000_0100_0000_01B3)
CODE_BITS = np.uint64(21)
SPACE = 32
NEWLINE = 10
DOCUMENT_END = 0
WORDS, CHARS, HEAD = 0, 1, 2
_ONE = np.uint64(1)


@njit(cache=True, nogil=True, inline="always")
def _find(table: Any, shift: Any, key: Any) -> int:
    mask = np.uint64(len(table) - 1)
    slot = (key * GOLDEN) >> shift
    while True:
        held = table[slot, 0]
        if held == key:
            return int(table[slot, 1])
        if held == EMPTY:
            return -1
        slot = (slot + _ONE) & mask


@njit(cache=True, nogil=True)
def lookup(table: Any, shift: Any, keys: Any) -> Any:
    """The value of each key, -1 where it is not in the table (uint64 rows of key and value, C order)."""
    found = np.empty(len(keys), dtype=np.int64)
    for i in range(len(keys)):
        found[i] = _find(table, shift, keys[i])
    return found


@njit(cache=True, nogil=True, inline="always")
def _bigram(first: Any, second: Any) -> Any:
    key = ((first * GOLDEN) ^ (second + np.uint64(0x632B_E59B_D9B4_E019))) * FNV_PRIME
    return key if key != EMPTY else key - _ONE


@njit(cache=True, nogil=True)
def ngrams(
    code_points: Any,  # uint32
    n_rows: int,
    char_low: int,
    char_high: int,
    word_ngrams: int,
    head_chars: int,
    tables: Any,  # ((table, shift) per block, see `lookup`); ignored when fitting
    fitting: bool,
    stop_keys: Any,  # uint64, sorted: word keys of function words, which explain nothing
) -> Any:
    """Every n-gram occurrence, in row order.

    Returns (block, key, column, row, token, pair) per occurrence — when fitting, `column` is -1 and every
    occurrence is kept; when transforming, `key` is 0 and only occurrences with a column are kept — then
    (start, end, row, unigram column, readable) per token, `start`/`end` being positions in `code_points`;
    a readable token has two characters or more, a Chinese character or a letter, and is no function word.
    """
    n = len(code_points)
    n_orders = char_high - char_low + 1
    capacity = 2 * n + n_orders * (n + head_chars * n_rows) + 1
    # int32, and nothing written that is not read: a batch's scratch arrays are fresh memory, each page of which
    # costs a fault when first touched
    occ_block = np.empty(capacity, dtype=np.int8)
    occ_key = np.zeros(capacity if fitting else 1, dtype=np.uint64)
    occ_column = np.empty(capacity, dtype=np.int32)
    occ_row = np.empty(capacity, dtype=np.int32)
    occ_token = np.empty(capacity, dtype=np.int32)
    occ_pair = np.empty(capacity, dtype=np.bool_)
    token_start = np.empty(n + 1, dtype=np.int32)
    token_end = np.empty(n + 1, dtype=np.int32)
    token_row = np.empty(n + 1, dtype=np.int32)
    token_column = np.empty(n + 1, dtype=np.int32)
    token_readable = np.empty(n + 1, dtype=np.bool_)
    recent = np.zeros(2, dtype=np.uint64)  # the row's last two characters
    recent_token = np.zeros(2, dtype=np.int64)
    n_occ = 0
    n_tokens = 0
    row = 0
    i = 0
    while row < n_rows:
        previous_word = EMPTY  # hash of the row's previous token
        seen = 0  # characters of the row so far
        while i <= n and (i == n or code_points[i] != DOCUMENT_END):
            if i == n or code_points[i] == SPACE:
                i += 1
                continue
            start = i
            word = FNV_OFFSET
            lettered = False
            while i < n and code_points[i] != SPACE and code_points[i] != DOCUMENT_END:
                c = np.uint64(code_points[i])
                if (0x4E00 <= c <= 0x9FD5) or (97 <= c <= 122) or (65 <= c <= 90):
                    lettered = True
                word = (word ^ c) * FNV_PRIME
                # character n-grams ending here, in the words run together and in the opening
                for order in range(char_low, char_high + 1):
                    if order > seen + 1:
                        break
                    key = c
                    token_first = n_tokens
                    for back in range(1, order):
                        key = key | (recent[2 - back] << (CODE_BITS * np.uint64(back)))
                        token_first = recent_token[2 - back]
                    token = n_tokens if token_first == n_tokens else -1
                    for block in range(CHARS, HEAD + 1):
                        if block == HEAD and seen >= head_chars:
                            continue
                        if fitting:
                            column = -1
                        else:
                            table, shift = tables[block]
                            column = _find(table, shift, key)
                            if column < 0:
                                continue
                            occ_column[n_occ] = column
                        if fitting:
                            occ_key[n_occ] = key
                            occ_column[n_occ] = -1
                        occ_block[n_occ] = block
                        occ_row[n_occ] = row
                        occ_token[n_occ] = token
                        occ_pair[n_occ] = False
                        n_occ += 1
                recent[0], recent[1] = recent[1], c
                recent_token[0], recent_token[1] = recent_token[1], n_tokens
                seen += 1
                i += 1
            if word == EMPTY:
                word -= _ONE
            token_start[n_tokens] = start
            token_end[n_tokens] = i
            token_row[n_tokens] = row
            token_column[n_tokens] = -1
            token_readable[n_tokens] = False
            if lettered and i - start >= 2:
                found = np.searchsorted(stop_keys, word)
                token_readable[n_tokens] = found >= len(stop_keys) or stop_keys[found] != word
            keys = (word, _bigram(previous_word, word))
            for gram in range(min(word_ngrams, 2)):
                if gram == 1 and previous_word == EMPTY:
                    continue
                key = keys[gram]
                if fitting:
                    occ_key[n_occ] = key
                    occ_column[n_occ] = -1
                else:
                    table, shift = tables[WORDS]
                    column = _find(table, shift, key)
                    if gram == 0:
                        token_column[n_tokens] = column
                    if column < 0:
                        continue
                    occ_column[n_occ] = column
                occ_block[n_occ] = WORDS
                occ_row[n_occ] = row
                # a bigram is anchored on its first word
                occ_token[n_occ] = n_tokens if gram == 0 else n_tokens - 1
                occ_pair[n_occ] = gram == 1
                n_occ += 1
            previous_word = word
            n_tokens += 1
        i += 1  # past the document's end
        row += 1
    return (
        occ_block[:n_occ],
        occ_key[:n_occ] if fitting else occ_key,
        occ_column[:n_occ],
        occ_row[:n_occ],
        occ_token[:n_occ],
        occ_pair[:n_occ],
        token_start[:n_tokens],
        token_end[:n_tokens],
        token_row[:n_tokens],
        token_column[:n_tokens],
        token_readable[:n_tokens],
    )


@njit(cache=True, nogil=True)
def tfidf(
    occ_column: Any,  # int32, already offset to the block's columns, in row order
    occ_row: Any,
    n_rows: int,
    idf: Any,  # float32 per column
    offsets: Any,  # int64[3]: first column of each block
    block_weight: Any,  # float32[3]
) -> Any:
    """CSR arrays of the TF-IDF rows (sublinear TF, each block scaled to unit length, times its weight), the entry
    each occurrence went to, and each occurrence's share of its entry (1 / count)."""
    n_occ = len(occ_column)
    count = np.zeros(len(idf), dtype=np.int32)
    entry_of = np.empty(len(idf), dtype=np.int32)
    indices = np.empty(n_occ, dtype=np.int32)
    data = np.empty(n_occ, dtype=np.float32)
    occ_entry = np.empty(n_occ, dtype=np.int32)
    share = np.empty(n_occ, dtype=np.float32)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    norms = np.zeros(3, dtype=np.float64)
    scale = np.zeros(3, dtype=np.float64)
    n_entries = 0
    o = 0
    for row in range(n_rows):
        first_occ = o
        first_entry = n_entries
        while o < n_occ and occ_row[o] == row:
            column = occ_column[o]
            if count[column] == 0:
                entry_of[column] = n_entries
                indices[n_entries] = column
                n_entries += 1
            count[column] += 1
            occ_entry[o] = entry_of[column]
            o += 1
        norms[:] = 0.0
        for e in range(first_entry, n_entries):
            column = indices[e]
            seen = count[column]
            # most n-grams occur once in a row, and 1 + log(1) is 1
            value = idf[column] if seen == 1 else (1.0 + np.log(np.float64(seen))) * idf[column]
            data[e] = value
            norms[_block_of(column, offsets)] += value * value
        for u in range(first_occ, o):
            share[u] = 1.0 / count[occ_column[u]]
        for block in range(3):
            scale[block] = block_weight[block] / np.sqrt(norms[block]) if norms[block] > 0 else 0.0
        for e in range(first_entry, n_entries):
            column = indices[e]
            data[e] = data[e] * scale[_block_of(column, offsets)]
            count[column] = 0
        indptr[row + 1] = n_entries
    return indptr, indices[:n_entries], data[:n_entries], occ_entry, share


@njit(cache=True, nogil=True, inline="always")
def _block_of(column: Any, offsets: Any) -> int:
    if column >= offsets[2]:
        return 2
    if column >= offsets[1]:
        return 1
    return 0


@njit(cache=True, nogil=True)
def token_scores(
    indptr: Any,
    indices: Any,
    data: Any,
    occ_entry: Any,
    occ_token: Any,
    occ_pair: Any,
    share: Any,
    coefs: Any,  # tuple of float32 (columns, labels), one per head
    chosen: Any,  # int64 (heads, rows): the label each head explains in each row, -1 for none
    n_tokens: int,
) -> Any:
    """Per token, its share of the row's positive evidence for the chosen label, summed over the heads."""
    n_rows = len(indptr) - 1
    entry_value = np.zeros(len(data), dtype=np.float64)
    head_value = np.empty(len(data), dtype=np.float64)
    for r in range(n_rows):
        first, last = indptr[r], indptr[r + 1]
        for h in range(len(coefs)):
            label = chosen[h, r]
            if label < 0:
                continue
            coef = coefs[h]
            total = 0.0
            for e in range(first, last):
                value = max(data[e] * coef[indices[e], label], 0.0)
                head_value[e] = value
                total += value
            if total > 0:
                inverse = 1.0 / total
                for e in range(first, last):
                    entry_value[e] += head_value[e] * inverse
    scores = np.zeros(n_tokens, dtype=np.float64)
    for o in range(len(occ_entry)):
        token = occ_token[o]
        if token < 0:
            continue
        value = entry_value[occ_entry[o]] * share[o]
        if value <= 0:
            continue
        if occ_pair[o]:
            scores[token] += value / 2
            scores[token + 1] += value / 2
        else:
            scores[token] += value
    return scores


@njit(cache=True, nogil=True)
def rank_tokens(scores: Any, token_row: Any, token_column: Any, readable: Any, n_rows: int, per_row: int) -> Any:
    """Per row, up to `per_row` readable token indices with the highest scores, best first, one per word (the same
    known word met twice in a row adds up); -1 pads."""
    out = np.full((n_rows, per_row), -1, dtype=np.int64)
    best = np.zeros(per_row, dtype=np.float64)
    summed = np.zeros(len(scores), dtype=np.float64)
    n_tokens = len(scores)
    # the row's first scored occurrence of each known word
    holder_of = np.full(max(token_column.max() + 1, 1) if n_tokens else 1, -1, dtype=np.int32)
    t = 0
    while t < n_tokens:
        row = token_row[t]
        first = t
        while t < n_tokens and token_row[t] == row:
            t += 1
        # add repeats of a known word into its first occurrence
        for u in range(first, t):
            if scores[u] <= 0 or not readable[u]:
                continue
            holder = u
            column = token_column[u]
            if column >= 0:
                if holder_of[column] >= 0:
                    holder = holder_of[column]
                else:
                    holder_of[column] = u
            summed[holder] += scores[u]
        for u in range(first, t):
            if token_column[u] >= 0:
                holder_of[token_column[u]] = -1
        filled = 0
        for u in range(first, t):
            score = summed[u]
            if score <= 0:
                continue
            if filled < per_row:
                filled += 1
            elif score <= best[filled - 1]:
                continue
            k = filled - 1
            while k > 0 and best[k - 1] < score:
                best[k] = best[k - 1]
                out[row, k] = out[row, k - 1]
                k -= 1
            best[k] = score
            out[row, k] = u
    return out


@njit(cache=True, nogil=True)
def word_runs(code_points: Any, is_word: Any) -> Any:
    """The words of a cut's tokens joined by single spaces (`ml.segment._word_documents`): word characters kept,
    every run of other characters after a word one space, newlines (between texts) kept, no space before a newline
    or at the end. Returns the code points and their count; the count is -1 where a code point lies past `is_word`
    (a character outside the basic plane), which the caller reads another way."""
    n = len(code_points)
    out = np.empty(n, dtype=np.uint32)
    k = 0
    after_word = False
    for i in range(n):
        point = code_points[i]
        if point >= len(is_word):
            return out, -1
        if point == NEWLINE:
            if k > 0 and out[k - 1] == SPACE:
                k -= 1
            out[k] = point
            k += 1
            after_word = False
        elif is_word[point]:
            out[k] = point
            k += 1
            after_word = True
        elif after_word:
            out[k] = SPACE
            k += 1
            after_word = False
    if k > 0 and out[k - 1] == SPACE:
        k -= 1
    return out, k


@njit(cache=True, nogil=True)
def clause_starts(code_points: Any, ends: Any) -> Any:
    """Per position, where its clause and its sentence start; `ends` maps a code point to what it ends (0 nothing,
    1 a clause, 2 a sentence and its clause; code points past the table end nothing)."""
    n = len(code_points)
    clause = np.empty(n, dtype=np.int32)
    sentence = np.empty(n, dtype=np.int32)
    clause_start = sentence_start = 0
    for i in range(n):
        clause[i] = clause_start
        sentence[i] = sentence_start
        point = code_points[i]
        ended = ends[point] if point < len(ends) else 0
        if ended > 0:
            clause_start = i + 1
            if ended == 2:
                sentence_start = i + 1
    return clause, sentence
