"""Training: the seed model (all three heads from the seed corpus) and a CSV topic model (risk and kind from seed).

Figures are measured on data the heads never saw: for the seed corpus a held-out slice of ~20 % per topic (see
`ml.corpus.split_heldout`), which stays out of the final model too. The review threshold is the confidence below
which the least confident ~15 % of held-out items fall.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from sklearn.pipeline import Pipeline

from ml.artifacts import Metadata, district_reference, library_versions, write_artifact
from ml.corpus import KINDS, RISK_LEVELS, SeedItem, file_sha256, read_csv, read_seed, seed_sha256, split_heldout
from ml.dictionary import District, load_district
from ml.features import KIND_FEATURES, RISK_FEATURES, TOPIC_FEATURES, FeatureConfig, build_pipeline
from ml.metrics import Report, report
from ml.segment import DEFAULT_ENGINE, Segmenter
from ml.triage import Prediction, TriageModel, escalated_level

REVIEW_SHARE = 0.15
RISK_ESCALATION = 0.4
# a CSV topic model sets its review threshold on this share of its training rows before it is refit on all of them
CSV_REVIEW_FRACTION = 0.1


class _SeedHeads(msgspec.Struct):
    training: list[SeedItem]
    heldout: list[SeedItem]
    risk: Pipeline
    kind: Pipeline


def train_seed(
    *, seed_dir: Path, district_dir: Path, out: Path, engine: str = DEFAULT_ENGINE, command: str
) -> Metadata:
    started = time.perf_counter()
    district = load_district(district_dir)
    segmenter = Segmenter(district.entries, engine)
    seed = _fit_seed_heads(seed_dir, district, segmenter)
    topic = fit_head(
        segmenter.documents([i.text for i in seed.training]), [i.topic for i in seed.training], TOPIC_FEATURES
    )
    heads = {"topic": topic, "risk": seed.risk, "kind": seed.kind}
    seed_hash = seed_sha256(seed_dir)
    draft = _metadata(
        source="seed",
        command=command,
        data_sha256=seed_hash,
        seed_sha256=seed_hash,
        n_train=len(seed.training),
        n_topic_train=len(seed.training),
        n_heldout=len(seed.heldout),
        n_topic_heldout=len(seed.heldout),
        topics=[t for t in district.topics if t in set(topic.classes_.tolist())],
        heads=heads,
        district=district,
        engine=engine,
    )
    model = TriageModel(metadata=draft, segmenter=segmenter, heads=heads)
    heldout = seed.heldout
    predictions = model.predict([i.text for i in heldout])
    confidences = [min(p.topic_confidence, p.risk_confidence) for p in predictions]
    _, topic_p = model.topic_probabilities([i.text for i in heldout])
    metrics = {
        "topic": report(
            [i.topic for i in heldout],
            [p.topic for p in predictions],
            labels=draft.topics,
            confidence=topic_p.max(axis=1),
        ),
        **_seed_reports(model, heldout, predictions),
    }
    metadata = msgspec.structs.replace(
        draft,
        review_threshold=_review_threshold(confidences),
        metrics=metrics,
        train_seconds=round(time.perf_counter() - started, 1),
    )
    write_artifact(out, metadata, heads)
    return metadata


def train_csv(
    *,
    data: Path,
    text_cols: Sequence[str],
    label_col: str,
    split_col: str | None,
    out: Path,
    seed_dir: Path,
    district_dir: Path,
    engine: str = DEFAULT_ENGINE,
    command: str,
) -> Metadata:
    started = time.perf_counter()
    district = load_district(district_dir)
    segmenter = Segmenter(district.entries, engine)
    rows = read_csv(
        data, text_cols=text_cols, label_col=label_col, split_col=split_col, split="train" if split_col else None
    )
    if not rows:
        raise ValueError(f"{data}: no training rows")
    seed = _fit_seed_heads(seed_dir, district, segmenter)
    fitting, review = split_heldout(
        rows, text=lambda r: r.text, stratum=lambda r: r.label, fraction=CSV_REVIEW_FRACTION
    )
    documents = {id(row): doc for row, doc in zip(rows, segmenter.documents([r.text for r in rows]), strict=True)}
    trial = fit_head([documents[id(r)] for r in fitting], [r.label for r in fitting], TOPIC_FEATURES)
    labels = sorted(set(trial.classes_.tolist()))
    topics = [t for t in district.topics if t in labels] + [t for t in labels if t not in district.topics]
    heads = {"topic": trial, "risk": seed.risk, "kind": seed.kind}
    draft = _metadata(
        source="csv",
        command=command,
        data_sha256=file_sha256(data),
        seed_sha256=seed_sha256(seed_dir),
        n_train=len(seed.training),
        n_topic_train=len(rows),
        n_heldout=len(seed.heldout),
        n_topic_heldout=len(review),
        topics=topics,
        heads=heads,
        district=district,
        engine=engine,
    )
    trial_model = TriageModel(metadata=draft, segmenter=segmenter, heads=heads)
    predictions = trial_model.predict([r.text for r in review])
    _, topic_p = trial_model.topic_probabilities([r.text for r in review])
    topic_report = report(
        [r.label for r in review], [p.topic for p in predictions], labels=topics, confidence=topic_p.max(axis=1)
    )
    threshold = _review_threshold([min(p.topic_confidence, p.risk_confidence) for p in predictions])
    heads["topic"] = fit_head([documents[id(r)] for r in rows], [r.label for r in rows], TOPIC_FEATURES)
    model = TriageModel(metadata=draft, segmenter=segmenter, heads=heads)
    seed_predictions = model.predict([i.text for i in seed.heldout])
    metadata = msgspec.structs.replace(
        draft,
        review_threshold=threshold,
        metrics={"topic": topic_report, **_seed_reports(model, seed.heldout, seed_predictions)},
        train_seconds=round(time.perf_counter() - started, 1),
    )
    write_artifact(out, metadata, heads)
    return metadata


def fit_head(documents: Sequence[str], labels: Sequence[Any], config: FeatureConfig) -> Pipeline:
    pipeline = build_pipeline(config, smallest_class=min(Counter(labels).values()))
    pipeline.fit(list(documents), list(labels))
    return pipeline


def _fit_seed_heads(seed_dir: Path, district: District, segmenter: Segmenter) -> _SeedHeads:
    items = read_seed(seed_dir, district.topics)
    training, heldout = split_heldout(items, text=lambda i: i.text, stratum=lambda i: i.topic)
    documents = segmenter.documents([i.text for i in training])
    return _SeedHeads(
        training=training,
        heldout=heldout,
        risk=fit_head(documents, [i.risk_level for i in training], RISK_FEATURES),
        kind=fit_head(documents, [i.kind for i in training], KIND_FEATURES),
    )


def _seed_reports(
    model: TriageModel, heldout: Sequence[SeedItem], predictions: Sequence[Prediction]
) -> dict[str, Report]:
    """Risk as the service sets it (model, escalation and lexicon floor), risk from the model alone, and kind."""
    levels, risk_p = model.risk_probabilities([i.text for i in heldout])
    level_names = [str(level) for level in RISK_LEVELS]
    model_only = [str(levels[int(np.argmax(row))]) for row in risk_p]
    escalated = [str(escalated_level(row, levels, model.metadata.risk_escalation)) for row in risk_p]
    truth = [str(i.risk_level) for i in heldout]
    return {
        "risk": report(truth, [str(p.risk_level) for p in predictions], labels=level_names),
        "risk_model": report(truth, model_only, labels=level_names, confidence=risk_p.max(axis=1)),
        "risk_escalated": report(truth, escalated, labels=level_names),
        "kind": report([i.kind for i in heldout], [p.kind for p in predictions], labels=KINDS),
    }


def _review_threshold(confidences: Sequence[float]) -> float:
    if not confidences:
        return 0.0
    return round(float(np.quantile(confidences, REVIEW_SHARE)), 4)


def _metadata(
    *,
    source: str,
    command: str,
    data_sha256: str,
    seed_sha256: str,
    n_train: int,
    n_topic_train: int,
    n_heldout: int,
    n_topic_heldout: int,
    topics: list[str],
    heads: dict[str, Pipeline],
    district: District,
    engine: str,
) -> Metadata:
    now = datetime.now(UTC)
    return Metadata(
        version=f"{source}-{now:%Y%m%d}-{data_sha256[:8]}",
        created_at=now.isoformat(timespec="seconds"),
        source="seed" if source == "seed" else "csv",
        command=command,
        data_sha256=data_sha256,
        seed_sha256=seed_sha256,
        n_train={"topic": n_topic_train, "risk": n_train, "kind": n_train},
        n_heldout={"topic": n_topic_heldout, "risk": n_heldout, "kind": n_heldout},
        topics=topics,
        risk_levels=sorted(heads["risk"].classes_.tolist()),
        kinds=[k for k in KINDS if k in set(heads["kind"].classes_.tolist())],
        review_threshold=0.0,
        risk_escalation=RISK_ESCALATION,
        libraries=library_versions(),
        segmenter=engine,
        district=district_reference(Path(district.path)),
        district_sha256=district.sha256,
        features={"topic": TOPIC_FEATURES, "risk": RISK_FEATURES, "kind": KIND_FEATURES},
        metrics={},
        train_seconds=0.0,
    )
