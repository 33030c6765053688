"""The risk development set: real messages labelled by the rubric to train and tune risk on, kept apart from the
evaluation set in `ml/eval/`.

`select_risk_dev` picks the messages (deterministically, from the public corpora in a data folder); the labels are
committed in `ml/dev/risk_dev_labels.csv` as keys and levels only. `dev_rows` joins them back to their text for
`train-seed --extra`.
"""

from __future__ import annotations

import csv
import random
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from ml.evaluation import RISK_SOURCES, RiskLabel, labelled_texts, read_risk_labels

DEV_SEED = 2027
MESSAGES = "tipdm2020c_messages"
STREAM = "tipdm2020c_hotspot_stream"

# Words that make a message worth reading for risk: disputes, groups, escalation and harm. A hit only chooses a
# message; its level is read from the text.
_RISK_WORDS = (
    "跳楼 自杀 轻生 寻死 喝农药 上吊 活不下去 同归于尽 拼命 拿刀 持刀 砍人 杀人 打死 砍死 放火 报复 扬言 威胁 "
    "堵路 围堵 堵门 拦路 聚集 聚众 静坐 游行 示威 群体 上访 信访 横幅 媒体 曝光 集体 多名 联名 全体业主 村民 "
    "讨薪 拖欠工资 欠薪 工资 拆迁 强拆 征地 征收 补偿 打人 殴打 打架 冲突 纠纷 维权 矛盾 "
    "泄漏 泄露 漏气 燃气 着火 起火 火灾 爆炸 坍塌 倒塌 裂缝 被困 失联 危险 隐患 安全 "
    "诈骗 集资 传销 跑路 退款 欺诈 污染 饮用水 电梯 消防通道 噪音 扰民"
)
RISK_WORDS = tuple(_RISK_WORDS.split())


class DevMessage(msgspec.Struct, frozen=True):
    source: str
    key: str
    sample: str  # random | keyword
    title: str
    detail: str


def _read(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def _signature(title: str, detail: str) -> tuple[str, str]:
    """Two ways a re-post shows itself: the same title, or the same opening of the detail."""
    squash = re.compile(r"\s+")
    return squash.sub("", title), squash.sub("", detail)[:40]


def select_risk_dev(data_dir: Path, exclude: Path, n_random: int = 300, n_keyword: int = 300) -> list[DevMessage]:
    """`random`: a uniform sample of the messages file's `train` split. `keyword`: a sample of the other messages
    (train split and hotspot stream) holding a word of `RISK_WORDS`. Messages of the evaluation set, messages
    repeating one of them (same title or same opening) and repeats within the pool are left out."""
    evaluation = {(label.source, label.key) for label in read_risk_labels(exclude)}
    messages = _read(data_dir / RISK_SOURCES[MESSAGES][0])
    stream = _read(data_dir / RISK_SOURCES[STREAM][0])
    message_ids = {row["msg_id"] for row in messages}

    candidates: list[tuple[str, str, dict[str, str]]] = [
        (MESSAGES, row["row"], row) for row in messages if row["split"] == "train"
    ] + [(STREAM, row["msg_id"], row) for row in stream if row["msg_id"] not in message_ids]
    taken: set[str] = set()
    for row in messages:
        if (MESSAGES, row["row"]) in evaluation or row["split"] == "test":
            taken.update(_signature(row["title"], row["detail"]))
    for row in stream:
        if (STREAM, row["msg_id"]) in evaluation:
            taken.update(_signature(row["title"], row["detail"]))

    pool: list[tuple[str, str, dict[str, str]]] = []
    for source, key, row in candidates:
        signature = _signature(row["title"], row["detail"])
        if (source, key) in evaluation or any(part in taken for part in signature if part):
            continue
        taken.update(signature)
        pool.append((source, key, row))

    rng = random.Random(DEV_SEED)
    in_train = [item for item in pool if item[0] == MESSAGES]
    chosen = rng.sample(in_train, n_random)
    chosen_keys = {(source, key) for source, key, _ in chosen}
    risky = [
        item
        for item in pool
        if (item[0], item[1]) not in chosen_keys
        and any(word in item[2]["title"] + item[2]["detail"] for word in RISK_WORDS)
    ]
    keyword = rng.sample(risky, n_keyword)
    return [
        DevMessage(source=source, key=key, sample=sample, title=row["title"], detail=row["detail"])
        for sample, part in (("random", chosen), ("keyword", keyword))
        for source, key, row in part
    ]


def dev_rows(labels: Path, data_dir: Path) -> list[tuple[RiskLabel, str]]:
    """Each labelled development message with its title and detail, read from the corpora in `data_dir`."""
    rows = read_risk_labels(labels)
    return list(zip(rows, labelled_texts(rows, data_dir), strict=True))


def write_keys(messages: Sequence[DevMessage], out: Path) -> None:
    with out.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["source", "key", "sample"])
        writer.writerows([m.source, m.key, m.sample] for m in messages)
