"""The words that pushed a head towards the label it chose: coefficient × feature value, read back as words.

Every n-gram occurrence knows the token it lies in (see `ml.features.Occurrences`): a word unigram its word, the
two words of a bigram half of it each, a character n-gram the word that contains it (one spanning two words explains
neither and is dropped). A token's score is the share of the row's positive evidence its occurrences carry;
the same word met twice adds up. Tokens of one character, without a Chinese character or a letter, or in
`STOPWORDS` explain nothing. The loops run compiled (`ml.kernels`); Python only reads the few best candidates of
each row to skip overlaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from ml.features import Occurrences

TERMS = 5
# the best tokens of a row that are read as candidate terms; function words and overlaps are skipped among them
CANDIDATES = 16

# words every kind of item uses: true of the text, but they explain nothing about its topic or risk
_STOPWORDS = (
    "我们 你们 他们 她们 自己 这个 那个 这些 那些 这里 那里 这样 那样 什么 怎么 为什么 因为 所以 但是 可是 而且 "
    "还是 或者 如果 就是 已经 现在 目前 一直 还有 没有 不是 可以 能够 需要 希望 要求 请求 诉求 反映 来电 来电人 "
    "市民 居民 情况 问题 相关 有关 部门 进行 表示 称 一个 一些 非常 特别 多次 以上 以下 目前 及时 尽快 帮助 处理 "
    "解决 谢谢 感谢 您好 你好 领导"
)
STOPWORDS = frozenset(_STOPWORDS.split())


class Evidence(msgspec.Struct, frozen=True):
    """One head's side of the explanation: its weights and the label chosen for each row (-1: explain nothing)."""

    coef: NDArray[np.float32]  # (features, labels)
    chosen: NDArray[np.int64]  # (rows,)


def token_scores(matrix: csr_matrix, occurrences: Occurrences, evidence: Sequence[Evidence]) -> NDArray[np.float64]:
    """Per token of the batch: its share of the positive evidence of its row, summed over the heads."""
    from ml.kernels import token_scores as scores

    return np.asarray(
        scores(
            matrix.indptr,
            matrix.indices,
            matrix.data,
            occurrences.entry,
            occurrences.token,
            occurrences.pair,
            occurrences.share,
            tuple(head.coef for head in evidence),
            np.array([head.chosen for head in evidence], dtype=np.int64).reshape(len(evidence), -1),
            len(occurrences.token_start),
        )
    )


def terms(
    matrix: csr_matrix,
    occurrences: Occurrences,
    evidence: Sequence[Evidence],
    first: Sequence[Sequence[str]],
    *,
    limit: int = TERMS,
) -> list[tuple[str, ...]]:
    """Per row: `first` (e.g. lexicon phrases), then its words with the largest scores, without repeats or overlaps."""
    from ml.kernels import rank_tokens

    rows = matrix.shape[0]
    if not len(occurrences.token_start):
        return [tuple(first[r][:limit]) for r in range(rows)]
    scores = token_scores(matrix, occurrences, evidence)
    ranked = rank_tokens(
        scores, occurrences.token_row, occurrences.token_column, occurrences.token_readable, rows, CANDIDATES
    )
    found = ranked >= 0
    # where the candidates lie in the text, -1 past the last one of a row
    starts = np.where(found, occurrences.token_start[ranked], -1).tolist()
    ends = np.where(found, occurrences.token_end[ranked], -1).tolist()
    text = occurrences.text
    out = []
    for r in range(rows):
        chosen = list(first[r][:limit])
        for start, end in zip(starts[r], ends[r], strict=True):
            if start < 0 or len(chosen) == limit:
                break
            word = text[start:end]
            for other in chosen:
                if word in other or other in word:
                    break
            else:
                chosen.append(word)
        out.append(tuple(chosen))
    return out
