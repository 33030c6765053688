"""Speed of the triage model on one core, stage by stage, in one run.

    .venv/bin/python -m bench.ml_speed [--model DIR] [--items 20000] [--batch 512] [--length 200] [--engine rjieba]

Texts are seed items cycled and cut to `--length` characters. Prints JSON: the time `load_model` takes, the time
`warm_up` then takes (segmenter dictionary, compiled loops read from their cache), then items/s on batches of
`--batch` for segmentation alone, features, the three heads' probabilities, the risk lexicon, terms, `classify`
(`model.classify`: segment, features and the three heads, what `predict` runs first: the goal's "segment +
features + predict") and the whole
`model.predict` (which adds the risk lexicon's floor, the kind an item states and the terms that explain it), by
the wall clock and per second of the process's CPU time (the same on an idle machine; on a shared one, the second
leaves out the time other processes held the core); then plain jieba and plain rjieba, one item per call, as
yardsticks of the machine (`predict_per_reference`; the goal's shares hold for `--length 200`), and the same shares
again with `predict` (and `classify`) and each yardstick timed in turn, eight batches at a time
(`predict_per_reference_interleaved`, `classify_per_reference_interleaved`), which a busy neighbour moves less.
Threads of numerical libraries are limited to one before numpy loads.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench._texts import seed_texts  # noqa: E402


def rate(texts: Sequence[Any], batch: int, stage: Callable[[Sequence[Any]], object]) -> tuple[float, float]:
    """Items per second of `stage` over `texts` in batches, by the wall clock and by the process's CPU time (best
    of two passes each: the machine is shared, and CPU time leaves out the time other processes had the core)."""
    wall = cpu = 0.0
    for _ in range(2):
        started, started_cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), batch):
            stage(texts[i : i + batch])
        wall = max(wall, len(texts) / (time.perf_counter() - started))
        cpu = max(cpu, len(texts) / max(time.process_time() - started_cpu, 1e-9))
    return wall, cpu


# The goal (10,000 items/s on one core) was set on a machine where plain jieba segmented 1,150 items/s and rjieba
# 36 times as many (about 41,000). Machines here differ by half as much again, and not by the same factor for Python
# and for compiled code, so the run also measures both yardsticks: each engine's own dictionary, precise mode, one
# 200-character item per call. Their ratios to `predict` compare across machines where absolute rates do not.
GOAL = 10_000
REFERENCE_RATES = {"jieba_reference": 1_150, "rjieba_reference": 1_150 * 36}
ROUND_BATCHES = 8
REFERENCE_ITEMS = {"jieba_reference": 2_000, "rjieba_reference": 20_000}


def jieba_reference() -> Callable[[Sequence[str]], object]:
    import logging

    import jieba

    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()

    def segment(batch: Sequence[str]) -> None:
        for text in batch:
            list(tokenizer.cut(text))

    return segment


def rjieba_reference() -> Callable[[Sequence[str]], object]:
    import rjieba

    tokenizer = rjieba.Jieba()

    def segment(batch: Sequence[str]) -> None:
        for text in batch:
            tokenizer.cut(text, True)

    return segment


def interleaved(
    texts: Sequence[str],
    batch: int,
    stage: Callable[[Sequence[str]], object],
    references: dict[str, Callable[[Sequence[str]], object]],
) -> dict[str, float]:
    """`stage`'s rate as a share of each reference's, all timed in turn, `ROUND_BATCHES` batches at a time (CPU
    time): a neighbour that slows the machine for a while slows both sides of the ratio alike, and each side's first
    items, which find the caches full of the other's data, are a small part of its round. The jieba yardstick reads
    an eighth of each round, being some 25 times slower."""
    spent = dict.fromkeys(["stage", *references], 0.0)
    items = dict.fromkeys(spent, 0)
    for i in range(0, len(texts), batch * ROUND_BATCHES):
        part = texts[i : i + batch * ROUND_BATCHES]
        for name, call in (("stage", stage), *references.items()):
            share = part[: max(1, len(part) // 8)] if name == "jieba_reference" else part
            started = time.process_time()
            for j in range(0, len(share), batch):
                call(share[j : j + batch])
            spent[name] += time.process_time() - started
            items[name] += len(share)
    rates = {name: items[name] / max(spent[name], 1e-9) for name in spent}
    return {name: round(rates["stage"] / rates[name], 3) for name in references}


def main() -> None:
    from ml.explain import Evidence, terms
    from ml.lexicon import risk_floors
    from ml.serving import load_model, serving_model_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="artifact folder (default: the serving model)")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--engine", choices=("jieba", "rjieba"), help="segmenter (default: the model's own)")
    args = parser.parse_args()

    directory = args.model or serving_model_dir()
    started = time.perf_counter()
    model = load_model(directory, engine=args.engine)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    model.warm_up()
    warm_up_seconds = time.perf_counter() - started
    texts = seed_texts(args.items, args.length)
    model.predict(texts[: args.batch])

    documents = model.segmenter.documents(texts)
    transformed = [model.features.transform(documents[i : i + args.batch]) for i in range(0, len(texts), args.batch)]
    topic, risk = model.heads["topic"], model.heads["risk"]

    def heads(batch: Sequence[Any]) -> None:
        for matrix, _ in batch:
            for head in model.heads.values():
                head.probabilities(matrix)

    def explain(batch: Sequence[Any]) -> None:
        for matrix, occurrences in batch:
            rows = matrix.shape[0]
            chosen = (topic.scores(matrix).argmax(axis=1), risk.scores(matrix).argmax(axis=1))
            evidence = [Evidence(topic.coef, chosen[0]), Evidence(risk.coef, chosen[1])]
            terms(matrix, occurrences, evidence, [()] * rows)

    def classify(batch: Sequence[str]) -> None:
        model.classify(batch)

    per_batch = len(transformed) / len(texts)
    yardsticks = {"jieba_reference": jieba_reference(), "rjieba_reference": rjieba_reference()}
    rates = {
        "segment": rate(texts, args.batch, model.segmenter.documents),
        "features": rate(documents, args.batch, model.features.transform),
        # these two run over precomputed batches: one list entry is a whole batch
        "heads": tuple(r / per_batch for r in rate(transformed, 1, heads)),
        "lexicon": rate(texts, args.batch, risk_floors),
        "terms": tuple(r / per_batch for r in rate(transformed, 1, explain)),
        "classify": rate(texts, args.batch, classify),
        "predict": rate(texts, args.batch, model.predict),
        **{name: rate(texts[: REFERENCE_ITEMS[name]], 1, call) for name, call in yardsticks.items()},
    }
    shares = interleaved(texts, args.batch, model.predict, yardsticks)
    classify_shares = interleaved(texts, args.batch, classify, yardsticks)
    result = {
        "model": model.version,
        "engine": model.segmenter.engine,
        "items": len(texts),
        "length": args.length,
        "batch": args.batch,
        "load_seconds": round(load_seconds, 3),
        "warm_up_seconds": round(warm_up_seconds, 3),
        "items_per_second": {stage: round(wall) for stage, (wall, _) in rates.items()},
        "items_per_cpu_second": {stage: round(cpu) for stage, (_, cpu) in rates.items()},
        # predict's rate as a share of each yardstick's, here and in the goal
        "predict_per_reference": {
            name: {"here": round(rates["predict"][1] / rates[name][1], 3), "goal": round(GOAL / goal_rate, 3)}
            for name, goal_rate in REFERENCE_RATES.items()
        },
        # the same shares with `predict` and each yardstick timed in turn, a few batches at a time (`interleaved`)
        "predict_per_reference_interleaved": {
            name: {"here": shares[name], "goal": round(GOAL / goal_rate, 3)}
            for name, goal_rate in REFERENCE_RATES.items()
        },
        # the same for `classify`: segment, features and the heads without the lexicon, kinds and terms
        "classify_per_reference_interleaved": {
            name: {"here": classify_shares[name], "goal": round(GOAL / goal_rate, 3)}
            for name, goal_rate in REFERENCE_RATES.items()
        },
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
