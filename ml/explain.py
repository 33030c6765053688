"""The words that pushed a linear head towards the label it chose: coefficient × feature value, read back as words.

Word features name their words directly (a bigram shares its weight between its two words). A character n-gram
is credited to the words of the text that contain it, and dropped when it only spans a word boundary.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import FeatureUnion

# the strongest features of one text that are read back; the rest change nothing in the top five words
TOP_FEATURES = 40

_READABLE = re.compile(r"[\u4e00-\u9fd5a-zA-Z]")
# words every kind of item uses: true of the text, but they explain nothing about its topic or risk
_STOPWORDS = (
    "我们 你们 他们 她们 自己 这个 那个 这些 那些 这里 那里 这样 那样 什么 怎么 为什么 因为 所以 但是 可是 而且 "
    "还是 或者 如果 就是 已经 现在 目前 一直 还有 没有 不是 可以 能够 需要 希望 要求 请求 诉求 反映 来电 来电人 "
    "市民 居民 情况 问题 相关 有关 部门 进行 表示 称 一个 一些 非常 特别 多次 以上 以下 目前 及时 尽快 帮助 处理 "
    "解决 谢谢 感谢 您好 你好 领导"
)
STOPWORDS = frozenset(_STOPWORDS.split())


def readable(token: str) -> bool:
    return len(token) >= 2 and bool(_READABLE.search(token)) and token not in STOPWORDS


def linear_coefficients(classifier: CalibratedClassifierCV) -> NDArray[np.float64]:
    """One row of feature weights per class, in `classifier.classes_` order."""
    coef = np.mean([c.estimator.coef_ for c in classifier.calibrated_classifiers_], axis=0)
    if coef.shape[0] == 1:  # binary: the single row scores the second class
        coef = np.vstack([-coef[0], coef[0]])
    return np.asarray(coef, dtype=np.float64)


class WordReader:
    """Reads a head's feature columns back as words of the text."""

    def __init__(self, features: FeatureUnion, coefficients: NDArray[np.float64]) -> None:
        self._features = features
        self._coefficients = coefficients
        self._names: NDArray[np.str_] | None = None
        self._is_char: NDArray[np.bool_] | None = None

    def scores(self, matrix: csr_matrix, row: int, class_index: int, tokens: Sequence[str]) -> dict[str, float]:
        """Share of the class's positive evidence each readable token of the text carries (sums to at most 1)."""
        names, is_char = self._columns()
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        columns, values = matrix.indices[start:end], matrix.data[start:end]
        contribution = values * self._coefficients[class_index, columns]
        positive = contribution > 0
        columns, contribution = columns[positive], contribution[positive]
        total = float(contribution.sum())
        words = {token.lower(): token for token in tokens if readable(token)}
        scores: dict[str, float] = defaultdict(float)
        if total <= 0 or not words:
            return scores
        for j in np.argsort(-contribution)[:TOP_FEATURES]:
            name = str(names[columns[j]])
            if is_char[columns[j]]:
                holders = [word for lowered, word in words.items() if name in lowered]
            else:
                holders = [words[part] for part in name.split(" ") if part in words]
            for word in holders:
                scores[word] += float(contribution[j]) / total / len(holders)
        return scores

    def _columns(self) -> tuple[NDArray[np.str_], NDArray[np.bool_]]:
        if self._names is None or self._is_char is None:
            names, is_char = [], []
            for _, vectorizer in self._features.transformer_list:
                if hasattr(vectorizer, "get_feature_names_out"):
                    block = vectorizer.get_feature_names_out()
                else:  # a hashing vectorizer has no names: its columns explain nothing
                    block = np.array([""] * vectorizer.n_features)
                names.append(np.asarray(block, dtype=str))
                is_char.append(np.full(len(block), getattr(vectorizer, "analyzer", "") in ("char", "char_wb")))
            self._names, self._is_char = np.concatenate(names), np.concatenate(is_char)
        return self._names, self._is_char


def strongest(first: Sequence[str], score_sets: Sequence[dict[str, float]], *, limit: int = 5) -> tuple[str, ...]:
    """`first` (e.g. lexicon phrases), then the words with the largest summed share, without repeats or overlaps."""
    total: dict[str, float] = defaultdict(float)
    for scores in score_sets:
        for word, share in scores.items():
            total[word] += share
    ranked = sorted(total, key=lambda word: -total[word])
    chosen: list[str] = []
    for word in [*first, *ranked]:
        if len(chosen) == limit:
            break
        if not any(word in other or other in word for other in chosen):
            chosen.append(word)
    return tuple(chosen)
