from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from ml.artifacts import read_metadata
from ml.serving import ModelError, TriageModel, ensure_default_model, load_model
from ml.train import train_seed
from tests.ml.tiny_corpus import write_district, write_seed

TEXTS = [
    "我要投诉，回龙观的电梯问题，物业一直这样，找了好几次都推脱",
    "我的建议是，沙河镇的公交站牌问题，希望有关部门关注",
    "网格员巡查发现，天通苑的油烟问题，异味很重，现场情况十分危急",
    "请问一下，加班费和社保怎么算",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ml")
    out = root / "model"
    train_seed(
        seed_dir=write_seed(root / "seed"),
        district_dir=write_district(root / "district"),
        out=out,
        engine="rjieba",
        command="python -m ml train-seed",
    )
    return out


@pytest.fixture(scope="module")
def model(trained: Path) -> TriageModel:
    return load_model(trained)


@pytest.fixture
def artifact(trained: Path, tmp_path: Path) -> Path:
    """A copy to tamper with."""
    return Path(shutil.copytree(trained, tmp_path / "model"))


def test_predictions_come_one_per_text_within_their_ranges(model: TriageModel) -> None:
    predictions = model.predict(TEXTS)

    assert len(predictions) == len(TEXTS)
    for p in predictions:
        assert p.topic in model.topics
        assert 0.0 <= p.topic_confidence <= 1.0
        assert p.risk_level in {0, 1, 2, 3}
        assert 0.0 <= p.risk_confidence <= 1.0
        assert p.kind in {"suggestion", "complaint", "inquiry", "report", "help"}
        assert len(p.terms) <= 5
    assert model.predict([]) == []


def test_a_clear_item_gets_its_topic(model: TriageModel) -> None:
    topics = [p.topic for p in model.predict(TEXTS)]

    assert topics == ["城乡建设", "交通运输", "环境保护", "劳动和社会保障"]


def test_terms_are_words_of_the_text(model: TriageModel) -> None:
    for text, prediction in zip(TEXTS, model.predict(TEXTS), strict=True):
        assert prediction.terms
        assert all(term in text for term in prediction.terms)


def test_a_threat_of_self_harm_is_urgent_whatever_the_model_says(model: TriageModel) -> None:
    text = "我的建议是，龙跃苑的公交站牌问题，邻居说再不管他就跳楼"

    (prediction,) = model.predict([text])

    assert prediction.risk_level == 3
    assert prediction.terms[0] == "跳楼"


def test_a_negated_gas_leak_leaves_the_level_to_the_model(model: TriageModel) -> None:
    leak, no_leak = model.predict(["请问一下，楼道的供暖问题，燃气泄漏了", "请问一下，楼道的供暖问题，没有燃气泄漏"])
    _, probabilities = model.risk_probabilities(["请问一下，楼道的供暖问题，没有燃气泄漏"])

    assert leak.risk_level == 3
    assert no_leak.risk_level < 3 or probabilities[0, 3] >= 0.4
    assert "燃气泄漏" not in no_leak.terms


def test_needs_review_follows_the_stored_threshold(model: TriageModel) -> None:
    threshold = model.metadata.review_threshold
    for p in model.predict(TEXTS):
        assert p.needs_review == (min(p.topic_confidence, p.risk_confidence) < threshold)


def test_metadata_records_data_labels_libraries_and_heldout_figures(trained: Path) -> None:
    metadata = read_metadata(trained)

    assert metadata.version.startswith("seed-")
    assert metadata.version.endswith(metadata.data_sha256[:8])
    assert metadata.topics == ["城乡建设", "环境保护", "劳动和社会保障", "交通运输"]
    assert metadata.risk_levels == [0, 1, 2, 3]
    assert {"python", "scikit-learn", "numpy", "jieba"} <= metadata.libraries.keys()
    assert metadata.n_train["topic"] + metadata.n_heldout["topic"] == 96
    assert metadata.metrics["topic"].n == metadata.n_heldout["topic"]
    assert {"topic", "risk", "risk_model", "kind"} <= metadata.metrics.keys()


def test_loading_is_quick(trained: Path) -> None:
    started = time.perf_counter()
    load_model(trained)

    assert time.perf_counter() - started < 2.0


def test_a_segmenter_version_mismatch_is_refused_with_the_command_to_run(artifact: Path) -> None:
    path = artifact / "metadata.json"
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata["libraries"]["rjieba"] = "0.1.0"
    path.write_text(json.dumps(metadata), encoding="utf-8")

    with pytest.raises(ModelError, match=r"rjieba 0\.1\.0.*python -m ml train-seed"):
        load_model(artifact)


def test_a_changed_dictionary_is_refused(artifact: Path, tmp_path: Path) -> None:
    district = Path(read_metadata(artifact).district)
    changed = Path(shutil.copytree(district, tmp_path / "district"))
    with (changed / "userdict.txt").open("a", encoding="utf-8") as file:
        file.write("新增词 20 n\n")

    with pytest.raises(ModelError, match="dictionaries"):
        load_model(artifact, district=changed)


def test_a_corrupt_weights_file_is_refused(artifact: Path) -> None:
    (artifact / "heads.npz").write_bytes(b"not an archive")

    with pytest.raises(ModelError, match=r"cannot load model"):
        load_model(artifact)


def test_a_missing_artifact_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model"):
        load_model(tmp_path / "nothing")


def test_the_default_model_is_trained_once_and_again_when_the_seed_changes(tmp_path: Path) -> None:
    seed, district, out = write_seed(tmp_path / "seed"), write_district(tmp_path / "district"), tmp_path / "default"

    ensure_default_model(out, seed_dir=seed, district=district, engine="rjieba")
    first = read_metadata(out)
    ensure_default_model(out, seed_dir=seed, district=district, engine="rjieba")
    unchanged = read_metadata(out)
    (seed / "tiny.jsonl").write_text((seed / "tiny.jsonl").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    ensure_default_model(out, seed_dir=seed, district=district, engine="rjieba")

    assert unchanged.created_at == first.created_at
    assert read_metadata(out).seed_sha256 != first.seed_sha256
    assert load_model(out).version == read_metadata(out).version
