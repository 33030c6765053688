"""Training: the seed model (optionally with a district's own data), and a CSV topic model.

- `train_seed`: all three heads from the seed corpus, plus any extra CSV files (imported history with topic labels,
  staff corrections with topic and/or risk labels). Figures are measured on the seed's held-out slice (~20 % per
  topic, see `ml.corpus.split_heldout`), which stays out of the model.
- `train_csv`: the topic head from a CSV's training rows, risk and kind from the seed corpus. Topic figures are
  out of fold (5-fold, the same folds that calibrate the head), and on the CSV's `test` rows when it has a split.

The heads share one vocabulary, fit on every training text of every head. The review threshold is the confidence
below which the least confident ~15 % of held-out (or out-of-fold) items fall.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from ml.artifacts import Metadata, check_writable, district_reference, library_versions, write_artifact
from ml.corpus import (
    KINDS,
    RISK_LEVELS,
    CorpusError,
    ExtraItem,
    LabelledText,
    SeedItem,
    file_sha256,
    read_csv,
    read_extra,
    read_seed,
    seed_sha256,
    split_heldout,
)
from ml.dictionary import District, load_district
from ml.features import FeatureConfig, TextFeatures
from ml.heads import HeadConfig, LinearHead, fit_head
from ml.metrics import Report, report
from ml.risk import DEV_TRAINING, RiskTraining, dev_escalation, history_rows
from ml.segment import DEFAULT_ENGINE, Segmenter
from ml.triage import HEADS, Prediction, TriageModel, escalated_levels

REVIEW_SHARE = 0.15
RISK_ESCALATION = 0.4
# chosen by 5-fold cross-validation on the training split of a public corpus of 7,129 labelled citizen messages
FEATURES = FeatureConfig(head_chars=30)
HEAD_CONFIGS = {
    "topic": HeadConfig(c=0.5, class_weight="balanced"),
    "risk": HeadConfig(c=0.5, class_weight="balanced"),
    "kind": HeadConfig(c=0.5),
}
# a district's own labelled history is larger than the seed corpus: there the blend of the SVM with an NB-SVM and
# complement naive Bayes scores macro-F1 0.920 out of fold against 0.9175 for the SVM alone (`bench.topic_cv`), and
# 0.913 against 0.908 on the public corpus's test rows
CSV_HEAD_CONFIGS = {**HEAD_CONFIGS, "topic": HeadConfig(c=0.5, class_weight="balanced", blend=(1.0, 1.0, 0.5))}


def train_seed(
    *,
    seed_dir: Path,
    district_dir: Path,
    out: Path,
    engine: str = DEFAULT_ENGINE,
    command: str,
    extra: Sequence[Path] = (),
    risk_dev: Path | None = None,
    data_dir: Path | None = None,
    risk_history: Sequence[Path] = (),
) -> Metadata:
    """The seed model; with `extra` files, a district model trained on the seed corpus and those files too.

    With `risk_dev` (risk labels of real messages, `ml/dev/risk_dev_labels.csv`, whose texts are read from
    `data_dir`), the risk head also learns from those messages, weighted above the seed's, and the escalation
    threshold is the one cross-validation chose for such a head (`ml.risk`). `risk_history` files (rows whose level
    the lexicon's rules set, `label-risk`) join the risk head too, weighted below the seed's."""
    started = time.perf_counter()
    check_writable(out)
    district = load_district(district_dir)
    segmenter = Segmenter(district.entries, engine)
    items = read_seed(seed_dir, district.topics)
    training, heldout = split_heldout(items, text=lambda i: i.text, stratum=lambda i: i.topic)
    extras = [row for path in extra for row in read_extra(path, district.topics)]
    real = _real_risk_rows(risk_dev, data_dir)
    if risk_history and not real:
        raise ValueError("rule-labelled risk history (--risk-history) joins a risk head trained with --risk-dev")
    history = history_rows(risk_history, district.topics)
    texts = (
        [i.text for i in training]
        + [e.text for e in extras]
        + [text for text, _ in history]
        + [text for text, _ in real]
    )
    documents = segmenter.documents(texts)
    features = TextFeatures.fit(documents, FEATURES)
    matrix, _ = features.transform(documents)
    seed_rows = np.arange(len(training))
    labelled: dict[str, tuple[NDArray[np.int64], list[Any]]] = {
        "topic": _with_extras(seed_rows, [i.topic for i in training], extras, "topic"),
        "risk": _with_extras(seed_rows, [i.risk_level for i in training], extras, "risk_level"),
        "kind": _with_extras(seed_rows, [i.kind for i in training], extras, "kind"),
    }
    weights: dict[str, list[float] | None] = dict.fromkeys(HEADS)
    head_configs = HEAD_CONFIGS
    if real:
        # history and real rows are the last documents, and join the risk head only, weighted
        rows, labels = labelled["risk"]
        added = np.arange(len(texts) - len(history) - len(real), len(texts))
        labelled["risk"] = (np.concatenate([rows, added]), labels + [level for _, level in [*history, *real]])
        weights["risk"] = (
            [1.0] * len(rows) + [DEV_TRAINING.history_weight] * len(history) + [DEV_TRAINING.real_weight] * len(real)
        )
        head_configs = {**HEAD_CONFIGS, "risk": DEV_TRAINING.head}
    heads = {
        name: fit_head(matrix[rows], labels, head_configs[name], weights=weights[name])[0]
        for name, (rows, labels) in labelled.items()
    }
    hashes = {
        path.name: file_sha256(path) for path in [*extra, *([risk_dev] if risk_dev and real else []), *risk_history]
    }
    seed_hash = seed_sha256(seed_dir)
    data_hash = _combined_sha256(seed_hash, hashes) if hashes else seed_hash
    draft = _metadata(
        source="district" if hashes else "seed",
        command=command,
        data_sha256=data_hash,
        seed_sha256=seed_hash,
        n_train={name: len(rows) for name, (rows, _) in labelled.items()},
        n_heldout={name: len(heldout) for name in HEADS},
        topics=[t for t in district.topics if t in set(heads["topic"].labels)],
        heads=heads,
        district=district,
        engine=engine,
        extra_data=hashes,
        head_configs=head_configs,
        risk_escalation=dev_escalation(bool(history)) if real else RISK_ESCALATION,
        risk_training=(DEV_TRAINING if history else _without_history(DEV_TRAINING)) if real else None,
    )
    model = TriageModel(metadata=draft, segmenter=segmenter, features=features, heads=heads)
    predictions = model.predict([i.text for i in heldout])
    _, topic_p = model.topic_probabilities([i.text for i in heldout])
    metrics = {
        "topic": report(
            [i.topic for i in heldout],
            [p.topic for p in predictions],
            labels=draft.topics,
            confidence=topic_p.max(axis=1),
        ),
        **seed_reports(model, heldout, predictions),
    }
    metadata = _replace(
        draft,
        review_threshold=_review_threshold([min(p.topic_confidence, p.risk_confidence) for p in predictions]),
        metrics=metrics,
        train_seconds=round(time.perf_counter() - started, 1),
    )
    write_artifact(out, metadata, features, heads)
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
    check_writable(out)
    district = load_district(district_dir)
    segmenter = Segmenter(district.entries, engine)
    rows = read_csv(
        data, text_cols=text_cols, label_col=label_col, split_col=split_col, split="train" if split_col else None
    )
    check_topics(data, rows, split_col)
    items = read_seed(seed_dir, district.topics)
    training, heldout = split_heldout(items, text=lambda i: i.text, stratum=lambda i: i.topic)
    features, csv_rows, seed_rows = csv_features(segmenter, rows, training)
    topic, out_of_fold = fit_head(csv_rows, [r.label for r in rows], CSV_HEAD_CONFIGS["topic"])
    heads = {
        "topic": topic,
        "risk": fit_head(seed_rows, [i.risk_level for i in training], HEAD_CONFIGS["risk"])[0],
        "kind": fit_head(seed_rows, [i.kind for i in training], HEAD_CONFIGS["kind"])[0],
    }
    labels = sorted(str(label) for label in topic.labels)
    topics = [t for t in district.topics if t in labels] + [t for t in labels if t not in district.topics]
    draft = _metadata(
        source="csv",
        command=command,
        data_sha256=file_sha256(data),
        seed_sha256=seed_sha256(seed_dir),
        n_train={"topic": len(rows), "risk": len(training), "kind": len(training)},
        n_heldout={"topic": len(rows), "risk": len(heldout), "kind": len(heldout)},
        topics=topics,
        heads=heads,
        district=district,
        engine=engine,
        head_configs=CSV_HEAD_CONFIGS,
    )
    model = TriageModel(metadata=draft, segmenter=segmenter, features=features, heads=heads)
    predicted = [str(topic.labels[i]) for i in out_of_fold.argmax(axis=1)]
    confidence = out_of_fold.max(axis=1)
    metrics = {
        "topic": report([r.label for r in rows], predicted, labels=topics, confidence=confidence),
        **seed_reports(model, heldout, model.predict([i.text for i in heldout])),
    }
    if split_col:
        tests = read_csv(data, text_cols=text_cols, label_col=label_col, split_col=split_col, split="test")
        if tests:
            metrics["topic_test"] = topic_report(model, tests)
    metadata = _replace(
        draft,
        review_threshold=_review_threshold(confidence.tolist()),
        metrics=metrics,
        train_seconds=round(time.perf_counter() - started, 1),
    )
    write_artifact(out, metadata, features, heads)
    return metadata


def check_topics(data: Path, rows: Sequence[LabelledText], split_col: str | None) -> None:
    """A topic head learns at least two topics, each from at least two rows (one to learn from, one to calibrate
    on); the error names the file and the topics short of rows."""
    counts = Counter(row.label for row in rows)
    if not counts:
        which = f", and `train` in {split_col}" if split_col else ""
        raise CorpusError(f"{data}: no training rows (rows with both text and a label{which})")
    if len(counts) < 2:
        raise CorpusError(f"{data}: the training rows need at least 2 topics, they hold only {next(iter(counts))!r}")
    few = sorted(label for label, n in counts.items() if n < 2)
    if few:
        named = ", ".join(repr(label) for label in few)
        raise CorpusError(f"{data}: every topic needs at least 2 training rows; {named} only has 1")


def csv_features(
    segmenter: Segmenter, rows: Sequence[LabelledText], training: Sequence[SeedItem]
) -> tuple[TextFeatures, csr_matrix, csr_matrix]:
    """The vocabulary of a CSV model, fit on the CSV's training rows and the seed corpus's training items, and the
    matrix of each (the topic head learns from the first, risk and kind from the second)."""
    documents = segmenter.documents([r.text for r in rows] + [i.text for i in training])
    features = TextFeatures.fit(documents, FEATURES)
    matrix, _ = features.transform(documents)
    return features, matrix[: len(rows)], matrix[len(rows) :]


def topic_report(model: TriageModel, rows: Sequence[LabelledText]) -> Report:
    labels, probabilities = model.topic_probabilities([r.text for r in rows])
    predicted = [str(labels[i]) for i in probabilities.argmax(axis=1)]
    return report([r.label for r in rows], predicted, labels=model.topics, confidence=probabilities.max(axis=1))


def seed_reports(
    model: TriageModel, heldout: Sequence[SeedItem], predictions: Sequence[Prediction]
) -> dict[str, Report]:
    """Risk as the service sets it (model, escalation and lexicon floor), risk from the model alone, and kind."""
    levels, risk_p = model.risk_probabilities([i.text for i in heldout])
    level_names = [str(level) for level in RISK_LEVELS]
    model_only = [str(levels[int(np.argmax(row))]) for row in risk_p]
    escalated = [str(level) for level in escalated_levels(risk_p, levels, model.metadata.risk_escalation)]
    truth = [str(i.risk_level) for i in heldout]
    return {
        "risk": report(truth, [str(p.risk_level) for p in predictions], labels=level_names),
        "risk_model": report(truth, model_only, labels=level_names, confidence=risk_p.max(axis=1)),
        "risk_escalated": report(truth, escalated, labels=level_names),
        "kind": report([i.kind for i in heldout], [p.kind for p in predictions], labels=KINDS),
    }


def _without_history(training: RiskTraining) -> RiskTraining:
    import msgspec

    return msgspec.structs.replace(training, history_weight=0.0)


def _real_risk_rows(labels: Path | None, data_dir: Path | None) -> list[tuple[str, int]]:
    """(text, risk level) of the labelled real messages, read from their corpora in `data_dir`."""
    if labels is None:
        return []
    if data_dir is None:
        raise ValueError("risk labels of real messages need the folder of their corpora (--data-dir)")
    from ml.devset import dev_rows

    return [(text, label.risk_level) for label, text in dev_rows(labels, data_dir)]


def _with_extras(
    seed_rows: NDArray[np.int64], seed_labels: list[Any], extras: Sequence[ExtraItem], field: str
) -> tuple[NDArray[np.int64], list[Any]]:
    """Rows of the training matrix (seed first, then extras) that carry this label, and their labels."""
    offset = len(seed_rows)
    chosen = [(offset + n, getattr(e, field)) for n, e in enumerate(extras) if getattr(e, field) is not None]
    rows = np.concatenate([seed_rows, np.array([r for r, _ in chosen], dtype=np.int64)])
    return rows, seed_labels + [label for _, label in chosen]


def _combined_sha256(seed_hash: str, files: dict[str, str]) -> str:
    digest = hashlib.sha256(seed_hash.encode())
    for name in sorted(files):
        digest.update(f"\0{name}\0{files[name]}".encode())
    return digest.hexdigest()


def _review_threshold(confidences: Sequence[float]) -> float:
    if not confidences:
        return 0.0
    return round(float(np.quantile(confidences, REVIEW_SHARE)), 4)


def _replace(metadata: Metadata, **changes: Any) -> Metadata:
    import msgspec

    return msgspec.structs.replace(metadata, **changes)


def _metadata(
    *,
    source: Literal["seed", "csv", "district"],
    command: str,
    data_sha256: str,
    seed_sha256: str,
    n_train: dict[str, int],
    n_heldout: dict[str, int],
    topics: list[str],
    heads: dict[str, LinearHead],
    district: District,
    engine: str,
    extra_data: dict[str, str] | None = None,
    head_configs: dict[str, HeadConfig] = HEAD_CONFIGS,
    risk_escalation: float = RISK_ESCALATION,
    risk_training: RiskTraining | None = None,
) -> Metadata:
    now = datetime.now(UTC)
    return Metadata(
        version=f"{source}-{now:%Y%m%d}-{data_sha256[:8]}",
        created_at=now.isoformat(timespec="seconds"),
        source=source,
        command=command,
        data_sha256=data_sha256,
        seed_sha256=seed_sha256,
        n_train=n_train,
        n_heldout=n_heldout,
        topics=topics,
        risk_levels=sorted(int(level) for level in heads["risk"].labels),
        kinds=[k for k in KINDS if k in set(heads["kind"].labels)],
        review_threshold=0.0,
        risk_escalation=risk_escalation,
        libraries=library_versions(),
        segmenter=engine,
        district=district_reference(Path(district.path)),
        district_sha256=district.sha256,
        features=FEATURES,
        heads=head_configs,
        metrics={},
        train_seconds=0.0,
        extra_data=extra_data or {},
        risk_training=risk_training,
    )
