from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from ml.explain import Evidence, terms
from ml.features import FeatureConfig, KeyIndex, TextFeatures
from ml.heads import HeadConfig, fit_head, softmax
from tests.ml.tiny_corpus import items

DOCUMENTS = [
    "小区 电梯 坏 了 物业 不管",
    "电梯 故障 物业 推脱",
    "",
    "公交 站牌 太 远 建议 增设 公交",
    "ABC 公司 拖欠 工资 工资",
    "a",
]


def _reference(documents: list[str], min_df: int) -> np.ndarray:
    """The same features built by scikit-learn's vectorizers."""
    words = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), min_df=min_df, sublinear_tf=True)
    chars = TfidfVectorizer(
        analyzer="char",
        preprocessor=lambda d: d.replace(" ", "").lower(),
        ngram_range=(1, 3),
        min_df=min_df,
        sublinear_tf=True,
    )
    blocks = [v.fit_transform(documents).toarray() for v in (words, chars)]
    return np.hstack(blocks)


@pytest.mark.parametrize("min_df", [1, 2])
def test_features_are_scikit_learns_tfidf_of_words_and_characters(min_df: int) -> None:
    features = TextFeatures.fit(DOCUMENTS, FeatureConfig(min_df=min_df))
    matrix, _ = features.transform(DOCUMENTS)
    reference = _reference(DOCUMENTS, min_df)

    assert matrix.shape == (len(DOCUMENTS), reference.shape[1])
    # columns are in another order: compare what the documents look like to each other
    assert np.allclose((matrix @ matrix.T).toarray(), reference @ reference.T, atol=1e-5)


def test_a_batch_gives_each_document_the_row_it_gets_alone() -> None:
    features = TextFeatures.fit(DOCUMENTS, FeatureConfig(min_df=1, head_chars=4))
    together, _ = features.transform(DOCUMENTS * 3)

    for i, document in enumerate(DOCUMENTS):
        alone, _ = features.transform([document])
        assert np.allclose(together[i].toarray(), alone.toarray())
        assert np.allclose(together[i + 2 * len(DOCUMENTS)].toarray(), alone.toarray())


def test_unknown_words_and_characters_are_left_out() -> None:
    features = TextFeatures.fit(DOCUMENTS, FeatureConfig(min_df=1))
    matrix, _ = features.transform(["龘 齉"])

    assert matrix.nnz == 0


def test_features_survive_saving() -> None:
    features = TextFeatures.fit(DOCUMENTS, FeatureConfig(min_df=1, head_chars=4))
    again = TextFeatures.from_state(features.config, features.state())

    assert np.allclose(features.transform(DOCUMENTS)[0].toarray(), again.transform(DOCUMENTS)[0].toarray())


def test_key_index_finds_every_key_and_no_other() -> None:
    keys = np.unique(np.random.default_rng(0).integers(0, 2**63, 5000, dtype=np.uint64))
    index = KeyIndex(keys, first_column=10)
    others = keys + np.uint64(1)

    assert (index.lookup(keys) == np.arange(len(keys)) + 10).all()
    assert (index.lookup(others[~np.isin(others, keys)]) == -1).all()


def test_a_head_gives_calibrated_probabilities_and_out_of_fold_ones() -> None:
    corpus = items(per_topic=12)
    documents = [" ".join(str(item["text"])) for item in corpus]
    features = TextFeatures.fit(documents, FeatureConfig())
    matrix, _ = features.transform(documents)

    head, out_of_fold = fit_head(matrix, [str(item["topic"]) for item in corpus], HeadConfig())

    probabilities = head.probabilities(matrix)
    assert probabilities.shape == out_of_fold.shape == (len(corpus), 4)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert head.temperature > 0
    assert np.allclose(softmax(np.array([[0.0, 0.0]])), 0.5)


def test_terms_are_the_words_that_carry_the_chosen_labels_evidence() -> None:
    documents = ["电梯 坏 了 物业 不管", "公交 站牌 太 远"]
    features = TextFeatures.fit(documents, FeatureConfig(min_df=1))
    matrix, occurrences = features.transform(documents)
    coef = np.zeros((features.n_features, 2), dtype=np.float32)
    elevator, _ = features.transform(["电梯"])
    coef[elevator.indices, 0] = 1.0
    bus, _ = features.transform(["站牌"])
    coef[bus.indices, 1] = 1.0

    explained = terms(matrix, occurrences, [Evidence(coef, np.array([0, 1]))], [(), ("公交",)])

    assert explained[0][0] == "电梯"
    assert explained[1][:2] == ("公交", "站牌")


def test_a_blended_head_is_one_linear_head_that_learns_the_topics() -> None:
    """SVM, NB-SVM and complement naive Bayes fold into one weight matrix: serving is the same product."""
    corpus = items(per_topic=12)
    documents = [" ".join(str(item["text"])) for item in corpus]
    topics = [str(item["topic"]) for item in corpus]
    matrix, _ = TextFeatures.fit(documents, FeatureConfig()).transform(documents)

    head, out_of_fold = fit_head(matrix, topics, HeadConfig(class_weight="balanced", blend=(1.0, 1.0, 0.5)))

    predicted = [head.labels[i] for i in head.probabilities(matrix).argmax(axis=1)]
    held_out = [head.labels[i] for i in out_of_fold.argmax(axis=1)]
    assert predicted == topics
    assert sum(p == t for p, t in zip(held_out, topics, strict=True)) >= 0.8 * len(topics)
    assert np.allclose(out_of_fold.sum(axis=1), 1.0)
