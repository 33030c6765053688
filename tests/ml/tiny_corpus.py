"""A small generated corpus and district for training models in tests (seconds, not minutes)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

TOPIC_WORDS = {
    "城乡建设": ["物业", "电梯", "供暖", "楼道照明", "违建", "小区大门", "地下车库"],
    "环境保护": ["噪音", "油烟", "垃圾分类", "扬尘", "异味", "污水", "烧烤烟雾"],
    "劳动和社会保障": ["工资", "社保", "劳动合同", "工伤", "退休金", "加班费", "失业金"],
    "交通运输": ["公交", "地铁", "红绿灯", "路面坑洼", "共享单车", "公交站牌", "斑马线"],
}
RISK_WORDS = {
    0: ["希望有关部门关注", "建议尽快改进", "想咨询一下办法", "麻烦帮忙看看"],
    1: ["和对方争执了好几回", "找了好几次都推脱", "对方态度蛮横", "心里很窝火"],
    2: ["大家准备联名去区里", "几十户业主联名", "很多人打算一起维权", "邻里之间冲突越来越大"],
    3: ["现场情况十分危急", "有人当场情绪失控要出事", "人已经站在楼顶边上", "现场浓烟滚滚非常危险"],
}
KIND_WORDS = {
    "suggestion": "我的建议是",
    "complaint": "我要投诉",
    "inquiry": "请问一下",
    "report": "网格员巡查发现",
    "help": "求助",
}
PLACES = ["回龙观", "天通苑", "沙河镇", "霍营街道", "南口镇"]


def items(per_topic: int = 24, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    kinds = list(KIND_WORDS)
    out = []
    for topic, words in TOPIC_WORDS.items():
        for n in range(per_topic):
            level = n % 4
            kind = kinds[n % len(kinds)]
            text = (
                f"{KIND_WORDS[kind]}，{rng.choice(PLACES)}的{rng.choice(words)}问题，"
                f"{rng.choice(words)}一直这样，{rng.choice(RISK_WORDS[level])}，第{n}次说明。"
            )
            out.append({"channel": "web", "kind": kind, "place": "", "text": text, "topic": topic, "risk_level": level})
    return out


def write_seed(directory: Path, per_topic: int = 24) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(item, ensure_ascii=False) for item in items(per_topic)]
    (directory / "tiny.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def write_district(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "userdict.txt").write_text("楼道照明 50 n\n烧烤烟雾 30 n\n", encoding="utf-8")
    (directory / "gazetteer.csv").write_text(
        "name,level,parent,aliases\n回龙观街道,街道,昌平区,回龙观\n天通苑北街道,街道,昌平区,天通苑北|天北\n",
        encoding="utf-8",
    )
    (directory / "topics.csv").write_text(
        "name,covers\n" + "".join(f"{topic},\n" for topic in TOPIC_WORDS), encoding="utf-8"
    )
    return directory


def write_csv(path: Path, per_topic: int = 24) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["title", "detail", "label", "split"])
        for n, item in enumerate(items(per_topic, seed=11)):
            text = str(item["text"])
            writer.writerow([text[:8], text[8:], item["topic"], "test" if n % 5 == 0 else "train"])
    return path
