"""The triage model in memory: segment, compute the shared features once, score three heads, apply the risk
floor, explain. Every step works on the whole batch at once; `predict` is fastest with batches of a few hundred.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from ml.explain import Evidence, terms
from ml.features import Occurrences, TextFeatures
from ml.heads import LinearHead, softmax
from ml.kinds import stated_kind
from ml.lexicon import risk_floors
from ml.segment import Segmenter

if TYPE_CHECKING:
    from ml.artifacts import Metadata

HEADS = ("topic", "risk", "kind")
# mallopt(3): allocations below the first are taken from the heap, whose free top is given back above the second
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD, _TRIM_THRESHOLD = 32 << 20, 256 << 20


class Prediction(msgspec.Struct, frozen=True):
    topic: str
    topic_confidence: float  # calibrated probability of the chosen topic
    risk_level: int  # 0..3
    risk_confidence: float  # the model's calibrated probability of the chosen level
    kind: str  # suggestion | complaint | inquiry | report | help
    terms: tuple[str, ...]  # up to 5 words of the text that pushed topic and risk most, strongest first
    needs_review: bool  # topic or risk confidence below the model's review threshold


class Classified(msgspec.Struct, frozen=True):
    """A batch as `TriageModel.classify` leaves it: its features and each head's probabilities, one row per text."""

    matrix: csr_matrix
    occurrences: Occurrences
    topic: NDArray[np.float64]
    risk: NDArray[np.float64]
    kind: NDArray[np.float64]


def escalated_levels(probabilities: NDArray[np.float64], levels: Sequence[int], escalation: float) -> NDArray[np.int64]:
    """Per row, the highest level k with P(level >= k) >= escalation: in doubt between two levels, the higher one."""
    order = np.argsort(levels)[::-1]
    at_least = np.cumsum(probabilities[:, order], axis=1)
    reached = at_least >= escalation
    reached[:, -1] = True
    chosen: NDArray[np.int64] = np.asarray(levels, dtype=np.int64)[order][np.argmax(reached, axis=1)]
    return chosen


def decide_levels(
    probabilities: NDArray[np.float64], levels: Sequence[int], escalation: float, floors: Sequence[int]
) -> NDArray[np.int64]:
    """The service's rule: the escalated level of the model, raised to the lexicon's floor."""
    return np.maximum(escalated_levels(probabilities, levels, escalation), np.asarray(floors, dtype=np.int64))


def escalated_level(probabilities: NDArray[np.float64], levels: Sequence[int], escalation: float) -> int:
    return int(escalated_levels(probabilities[None, :], levels, escalation)[0])


def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep freed memory in the process rather than hand it back to the system.

    A batch of a few hundred texts allocates and frees tens of megabytes of scratch arrays; by default glibc returns
    them, and the next batch pays a page fault for every 4 KiB it touches again (about a tenth of the time of
    `predict`). With these settings the process keeps its peak, which is what a worker that classifies one batch
    after another needs anyway. Elsewhere (another C library, another system) nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


class TriageModel:
    """Predicts topic, risk level and kind of resident items. Thread-safe: nothing changes after loading."""

    def __init__(
        self, *, metadata: Metadata, segmenter: Segmenter, features: TextFeatures, heads: dict[str, LinearHead]
    ) -> None:
        self.metadata = metadata
        self.version = metadata.version
        self.topics = tuple(metadata.topics)
        self.segmenter = segmenter
        self.features = features
        self.heads = heads
        # the three heads' weights side by side: one pass over the features scores them all
        self._coef = np.hstack([heads[name].coef for name in HEADS])
        self._intercept = np.concatenate([heads[name].intercept for name in HEADS])
        self._splits = np.cumsum([len(heads[name].labels) for name in HEADS])[:-1]

    def warm_up(self) -> None:
        """Load the segmenter's dictionary and the compiled loops now rather than on the first prediction, and have
        the allocator keep the memory a batch frees for the next one."""
        keep_freed_memory()
        self.segmenter.warm_up()
        self.predict(["楼道的灯坏了"])

    def topic_probabilities(self, texts: Sequence[str]) -> tuple[tuple[str, ...], NDArray[np.float64]]:
        """(topic labels, probabilities with one row per text and one column per label)."""
        matrix, _ = self.features.transform(self.segmenter.documents(texts))
        return self.heads["topic"].labels, self.heads["topic"].probabilities(matrix)

    def risk_probabilities(self, texts: Sequence[str]) -> tuple[tuple[int, ...], NDArray[np.float64]]:
        """The risk model alone, before escalation and the lexicon floor: (levels, probabilities)."""
        matrix, _ = self.features.transform(self.segmenter.documents(texts))
        return self.heads["risk"].labels, self.heads["risk"].probabilities(matrix)

    def classify(self, texts: Sequence[str]) -> Classified:
        """Segment, featurise once and score the three heads: the model's own work, before the lexicon's risk floor,
        the kind an item states and the explaining terms that `predict` adds."""
        matrix, occurrences = self.features.transform(self.segmenter.documents(texts))
        scores = np.split(np.asarray(matrix @ self._coef) + self._intercept, self._splits, axis=1)
        topic_p, risk_p, kind_p = (
            softmax(part.astype(np.float64) / self.heads[name].temperature)
            for part, name in zip(scores, HEADS, strict=True)
        )
        return Classified(matrix=matrix, occurrences=occurrences, topic=topic_p, risk=risk_p, kind=kind_p)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        classified = self.classify(texts)
        matrix, occurrences = classified.matrix, classified.occurrences
        topic_p, risk_p, kind_p = classified.topic, classified.risk, classified.kind
        topic, risk, kind = (self.heads[name] for name in HEADS)
        rows = np.arange(len(texts))
        topic_index = topic_p.argmax(axis=1)
        topic_confidence = topic_p[rows, topic_index].round(4)
        levels = [int(level) for level in risk.labels]
        floors = risk_floors(texts)
        level = decide_levels(risk_p, levels, self.metadata.risk_escalation, [floor for floor, _ in floors])
        position = {lvl: i for i, lvl in enumerate(levels)}
        risk_index = np.array([position.get(int(lvl), -1) for lvl in level])
        risk_confidence = np.where(risk_index >= 0, risk_p[rows, np.maximum(risk_index, 0)], 0.0).round(4)
        kind_index = kind_p.argmax(axis=1)
        kinds = [stated_kind(text) or str(kind.labels[k]) for text, k in zip(texts, kind_index.tolist(), strict=True)]
        # the heads' weights side by side, as the scores just read them: fewer cache lines than each head's own
        evidence = [
            Evidence(self._coef, topic_index),
            Evidence(self._coef, np.where(level > 0, risk_index + self._splits[0], -1)),
        ]
        phrases = [found if floor == lvl and lvl > 0 else () for (floor, found), lvl in zip(floors, level, strict=True)]
        explained = terms(matrix, occurrences, evidence, phrases)
        threshold = self.metadata.review_threshold
        return [
            Prediction(
                topic=str(topic.labels[t]),
                topic_confidence=tc,
                risk_level=lvl,
                risk_confidence=rc,
                kind=k,
                terms=words,
                needs_review=tc < threshold or rc < threshold,
            )
            for t, tc, lvl, rc, k, words in zip(
                topic_index.tolist(),
                topic_confidence.tolist(),
                level.tolist(),
                risk_confidence.tolist(),
                kinds,
                explained,
                strict=True,
            )
        ]
