"""The one place that says how a segmented document becomes features and a classifier: `build_pipeline`.

Every head (topic, risk, kind) is `Pipeline([("features", FeatureUnion), ("classifier", CalibratedClassifierCV)])`
over segmented documents (tokens joined by spaces, see `ml.segment`). The classifier is linear, so `ml.explain`
can read each feature's weight from it.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

MAX_CALIBRATION_FOLDS = 5
# documents arrive segmented: a token is whatever lies between spaces
BETWEEN_SPACES = r"\S+"


class FeatureConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    word_ngrams: tuple[int, int] = (1, 2)  # over jieba tokens
    char_ngrams: tuple[int, int] = (1, 3)  # over the text with spaces removed
    min_df: int = 2
    max_features: int | None = None  # per vectorizer
    sublinear_tf: bool = True
    classifier: Literal["linear_svc", "logistic_regression"] = "linear_svc"
    c: float = 0.5  # inverse regularisation strength
    class_weight: Literal["balanced"] | None = None
    calibration: Literal["temperature", "sigmoid", "isotonic"] = "temperature"


TOPIC_FEATURES = FeatureConfig()
RISK_FEATURES = FeatureConfig(class_weight="balanced")
KIND_FEATURES = FeatureConfig()


def joined_characters(document: str) -> str:
    """Preprocessor of the character vectorizer: character n-grams read the text, not the token boundaries."""
    return document.replace(" ", "").lower()


def build_features(config: FeatureConfig) -> FeatureUnion:
    common: dict[str, Any] = {
        "min_df": config.min_df,
        "max_features": config.max_features,
        "sublinear_tf": config.sublinear_tf,
        "dtype": np.float32,
    }
    words = TfidfVectorizer(token_pattern=BETWEEN_SPACES, ngram_range=config.word_ngrams, **common)
    chars = TfidfVectorizer(analyzer="char", preprocessor=joined_characters, ngram_range=config.char_ngrams, **common)
    return FeatureUnion([("words", words), ("chars", chars)])


def build_classifier(config: FeatureConfig, smallest_class: int) -> CalibratedClassifierCV:
    """Calibrated on out-of-fold scores; the linear model itself is then fit on all the training documents."""
    if smallest_class < 2:
        raise ValueError("every label needs at least 2 training examples to calibrate probabilities")
    linear: LinearSVC | LogisticRegression
    if config.classifier == "linear_svc":
        linear = LinearSVC(C=config.c, class_weight=config.class_weight, max_iter=10_000)
    else:
        linear = LogisticRegression(C=config.c, class_weight=config.class_weight, max_iter=5_000)
    folds = min(MAX_CALIBRATION_FOLDS, smallest_class)
    return CalibratedClassifierCV(linear, method=config.calibration, cv=folds, ensemble=False)


def build_pipeline(config: FeatureConfig, smallest_class: int) -> Pipeline:
    return Pipeline([("features", build_features(config)), ("classifier", build_classifier(config, smallest_class))])
