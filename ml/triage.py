"""The triage model in memory: segment, score the three heads, apply the risk floor, explain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
from numpy.typing import NDArray
from sklearn.pipeline import Pipeline

from ml.explain import WordReader, linear_coefficients, strongest
from ml.lexicon import risk_floor
from ml.segment import Segmenter, normalise

if TYPE_CHECKING:
    from ml.artifacts import Metadata


class Prediction(msgspec.Struct, frozen=True):
    topic: str
    topic_confidence: float  # calibrated probability of the chosen topic
    risk_level: int  # 0..3
    risk_confidence: float  # the model's calibrated probability of the chosen level
    kind: str  # suggestion | complaint | inquiry | report | help
    terms: tuple[str, ...]  # up to 5 words of the text that pushed topic and risk most, strongest first
    needs_review: bool  # topic or risk confidence below the model's review threshold


class Head:
    """One fitted pipeline (topic, risk or kind) and the words behind its choices."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.features = pipeline.named_steps["features"]
        self.classifier = pipeline.named_steps["classifier"]
        self.labels: tuple[Any, ...] = tuple(self.classifier.classes_.tolist())
        self.words = WordReader(self.features, linear_coefficients(self.classifier))

    def score(self, documents: Sequence[str]) -> tuple[Any, NDArray[np.float64]]:
        """(feature matrix, probabilities with one column per label)."""
        matrix = self.features.transform(documents)
        return matrix, np.asarray(self.classifier.predict_proba(matrix), dtype=np.float64)


def escalated_level(probabilities: NDArray[np.float64], levels: Sequence[int], escalation: float) -> int:
    """The highest level k with P(level >= k) >= escalation: in doubt between two levels, the higher one."""
    order = np.argsort(levels)
    at_least = 0.0
    for i in order[::-1]:
        at_least += float(probabilities[i])
        if at_least >= escalation:
            return int(levels[i])
    return int(levels[order[0]])


class TriageModel:
    """Predicts topic, risk level and kind of resident items. Thread-safe: nothing changes after loading."""

    def __init__(self, *, metadata: Metadata, segmenter: Segmenter, heads: dict[str, Pipeline]) -> None:
        self.metadata = metadata
        self.version = metadata.version
        self.topics = tuple(metadata.topics)
        self.segmenter = segmenter
        self.heads = heads
        self._topic = Head(heads["topic"])
        self._risk = Head(heads["risk"])
        self._kind = Head(heads["kind"])

    def warm_up(self) -> None:
        """Load the segmenter's dictionary now rather than on the first prediction."""
        self.segmenter.warm_up()

    def topic_probabilities(self, texts: Sequence[str]) -> tuple[tuple[str, ...], NDArray[np.float64]]:
        """(topic labels, probabilities with one row per text and one column per label)."""
        _, probabilities = self._topic.score(self.segmenter.documents(texts))
        return self._topic.labels, probabilities

    def risk_probabilities(self, texts: Sequence[str]) -> tuple[tuple[int, ...], NDArray[np.float64]]:
        """The risk model alone, before escalation and the lexicon floor: (levels, probabilities)."""
        _, probabilities = self._risk.score(self.segmenter.documents(texts))
        return tuple(int(level) for level in self._risk.labels), probabilities

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        normalised = [normalise(text) for text in texts]
        documents = self.segmenter.documents(normalised)
        topic_matrix, topic_p = self._topic.score(documents)
        risk_matrix, risk_p = self._risk.score(documents)
        _, kind_p = self._kind.score(documents)
        threshold = self.metadata.review_threshold
        levels = [int(level) for level in self._risk.labels]
        predictions = []
        for i, text in enumerate(normalised):
            topic_index = int(np.argmax(topic_p[i]))
            level = escalated_level(risk_p[i], levels, self.metadata.risk_escalation)
            floor, phrases = risk_floor(text)
            level = max(level, floor)
            risk_index = levels.index(level) if level in levels else None
            topic_confidence = round(float(topic_p[i, topic_index]), 4)
            risk_confidence = round(float(risk_p[i, risk_index]), 4) if risk_index is not None else 0.0
            tokens = documents[i].split(" ")
            evidence = [self._topic.words.scores(topic_matrix, i, topic_index, tokens)]
            if level > 0 and risk_index is not None:
                evidence.append(self._risk.words.scores(risk_matrix, i, risk_index, tokens))
            predictions.append(
                Prediction(
                    topic=str(self._topic.labels[topic_index]),
                    topic_confidence=topic_confidence,
                    risk_level=level,
                    risk_confidence=risk_confidence,
                    kind=str(self._kind.labels[int(np.argmax(kind_p[i]))]),
                    terms=strongest(phrases if floor == level and level > 0 else (), evidence),
                    needs_review=topic_confidence < threshold or risk_confidence < threshold,
                )
            )
        return predictions
