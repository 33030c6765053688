"""`python -m ml`: train-seed, cv-risk, train, evaluate, evaluate-risk, evaluate-kind, promote, drift, label-risk,
select-risk-dev, predict.

Results go to stdout as JSON; errors to stderr.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from ml.artifacts import ModelError, load_model
from ml.corpus import CorpusError, read_csv
from ml.dictionary import default_district_dir, load_district
from ml.metrics import report
from ml.segment import DEFAULT_ENGINE, ENGINES
from ml.serving import default_model_dir, promoted_model_dir, serving_model_dir, train_seed_command
from ml.tables import open_table
from ml.triage import TriageModel

PREDICT_BATCH = 256
T = TypeVar("T")


class PredictRequest(msgspec.Struct, frozen=True):
    id: str | int
    text: str


class PredictResult(msgspec.Struct, frozen=True):
    id: str | int
    topic: str
    topic_confidence: float
    risk_level: int
    risk_confidence: float
    model_version: str


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(arguments)
    # One without the other would quietly read every row: the training rows scored as held out, or kept as labels.
    if "split" in vars(args) and (args.split is None) != (args.split_col is None):
        parser.error("--split and --split-col go together")
    if "key_col" in vars(args) and (args.exclude or args.exclude_keys_in) and not args.key_col:
        parser.error("--exclude and --exclude-keys-in need --key-col, the column they are matched against")
    args.command_line = shlex.join(["python", "-m", "ml", *arguments])
    if sys.stdout is None:
        print("error: stdout is closed; the results would be lost", file=sys.stderr)
        return 1
    try:
        return int(args.run(args))
    except BrokenPipeError:
        _discard_stdout()
        print("error: stdout was closed before every result was written", file=sys.stderr)
        return 1
    except (ModelError, CorpusError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _discard_stdout() -> None:
    """After the reader went away (`| head -1`): what is still buffered goes nowhere instead of raising again when
    the interpreter flushes it on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _train_seed(args: argparse.Namespace) -> int:
    from ml.train import train_seed

    command = train_seed_command(args.out, args.seed_dir, args.district, args.engine)
    command += "".join(f" --extra {shlex.quote(str(path))}" for path in args.extra)
    if args.risk_dev:
        if not args.data_dir:
            raise ValueError("--risk-dev needs --data-dir, the folder holding the labelled messages' corpora")
        command += f" --risk-dev {shlex.quote(str(args.risk_dev))} --data-dir {shlex.quote(str(args.data_dir))}"
        command += "".join(f" --risk-history {shlex.quote(str(path))}" for path in args.risk_history)
    metadata = train_seed(
        seed_dir=args.seed_dir,
        district_dir=args.district,
        out=args.out,
        engine=args.engine,
        command=command,
        extra=args.extra,
        risk_dev=args.risk_dev,
        data_dir=args.data_dir,
        risk_history=args.risk_history,
    )
    _print_json(
        {
            "version": metadata.version,
            "out": str(args.out),
            "train_seconds": metadata.train_seconds,
            "n_train": metadata.n_train,
            "n_heldout": metadata.n_heldout,
            "review_threshold": metadata.review_threshold,
            "metrics": metadata.metrics,
        }
    )
    return 0


def _cv_risk(args: argparse.Namespace) -> int:
    from ml.heads import HeadConfig
    from ml.risk import DEV_TRAINING, RiskTraining, cross_validate_dev, dev_escalation

    training = RiskTraining(
        real_weight=DEV_TRAINING.real_weight if args.real_weight is None else args.real_weight,
        history_weight=DEV_TRAINING.history_weight if args.history_weight is None else args.history_weight,
        with_seed=not args.real_only,
        head=HeadConfig(
            c=DEV_TRAINING.head.c if args.c is None else args.c,
            class_weight=None if args.unbalanced else "balanced",
        ),
    )
    figures = cross_validate_dev(
        labels=args.risk_dev,
        data_dir=args.data_dir,
        seed_dir=args.seed_dir,
        district_dir=args.district,
        engine=args.engine,
        training=training,
        history=args.risk_history,
        repeats=args.repeats,
    )
    default = dev_escalation(bool(args.risk_history))
    _print_json({"training": training, "default_escalation": default, "figures": figures})
    return 0


def _train(args: argparse.Namespace) -> int:
    from ml.train import train_csv

    metadata = train_csv(
        data=args.data,
        text_cols=args.text_cols,
        label_col=args.label_col,
        split_col=args.split_col,
        out=args.out,
        seed_dir=args.seed_dir,
        district_dir=args.district,
        engine=args.engine,
        command=args.command_line,
    )
    foreign = [t for t in metadata.topics if t not in load_district(args.district).topics]
    if foreign:
        # Kept: a district may train on labels of its own. But a typo is a topic of its own too, and corrections staff
        # make under it cannot go back into `train-seed --extra`.
        print(
            f"warning: {args.data}: labels not among the district's topics: {', '.join(foreign)} "
            "(a typo, or a topic to add to the district's topics.csv)",
            file=sys.stderr,
        )
    _print_json(
        {
            "version": metadata.version,
            "out": str(args.out),
            "train_seconds": metadata.train_seconds,
            "n_train": metadata.n_train,
            "review_threshold": metadata.review_threshold,
            "metrics": metadata.metrics,
        }
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    rows = read_csv(
        args.data, text_cols=args.text_cols, label_col=args.label_col, split_col=args.split_col, split=args.split
    )
    if not rows:
        raise ValueError(f"{args.data}: no rows to evaluate")
    labels, probabilities = model.topic_probabilities([r.text for r in rows])
    predicted = [str(labels[i]) for i in probabilities.argmax(axis=1)]
    result = report([r.label for r in rows], predicted, labels=model.topics, confidence=probabilities.max(axis=1))
    _print_json({"model_version": model.version, **msgspec.to_builtins(result)})
    return 0


def _evaluate_risk(args: argparse.Namespace) -> int:
    from ml.evaluation import evaluate_risk, read_risk_labels

    model = load_model(args.model or serving_model_dir())
    _print_json(evaluate_risk(model, read_risk_labels(args.labels), args.data_dir))
    return 0


def _evaluate_kind(args: argparse.Namespace) -> int:
    from ml.evaluation import evaluate_kind

    model = load_model(args.model or serving_model_dir())
    _print_json({"model_version": model.version, **msgspec.to_builtins(evaluate_kind(model, args.data))})
    return 0


def _promote(args: argparse.Namespace) -> int:
    from ml.promote import promote, serving_lock

    with serving_lock(args.serving):
        current = _current_model(args.serving)
        decision = promote(args.model, args.serving, seed_dir=args.seed_dir, current=current, tolerance=args.tolerance)
    _print_json({**msgspec.to_builtins(decision), "serving": str(args.serving)})
    if not decision.promoted:
        print(f"error: model {decision.candidate} not promoted, {decision.reason}", file=sys.stderr)
    return 0 if decision.promoted else 1


def _current_model(serving: Path) -> TriageModel | None:
    """The model a candidate must not fall below: the serving one, else the default seed model (None if not built).
    A serving model that no longer loads (a dictionary changed, a file was damaged) is one the service cannot use
    either, so the candidate is held to what the service falls back on."""
    for directory in (serving, default_model_dir()):
        if not (directory / "metadata.json").is_file():
            continue
        try:
            return load_model(directory)
        except ModelError as exc:
            if directory != serving:
                raise
            print(f"warning: {exc}; comparing with the default model instead", file=sys.stderr)
    return None


def _drift(args: argparse.Namespace) -> int:
    from ml.drift import monthly, read_classifications

    with args.data.open("rb") as file:
        months = monthly(read_classifications(file, str(args.data)))
    _print_json(months)
    return 0


def _label_risk(args: argparse.Namespace) -> int:
    from ml.corpus import write_rule_labelled

    exclude: set[str] = set()
    for path in args.exclude:
        exclude |= _evaluation_keys(path, args.data.stem)
    for path, column in args.exclude_keys_in:
        exclude |= _column_values(path, column)
    written = write_rule_labelled(
        args.data,
        args.out,
        text_cols=args.text_cols,
        topic_col=args.topic_col,
        split_col=args.split_col,
        split=args.split,
        key_col=args.key_col,
        exclude=exclude,
    )
    _print_json({"out": str(args.out), "rows": written, "excluded_keys": len(exclude)})
    return 0


def _evaluation_keys(path: Path, source: str) -> set[str]:
    """The keys an evaluation set (`source,key,...`) holds for messages of `source` (a data file's name); a set
    without a source column names messages of one file only."""
    with open_table(path) as table:
        [key] = table.require(["key"])
        return {row[key] for _, row in table.rows() if row.get("source", source) == source}


def _column_values(path: Path, column: str) -> set[str]:
    with open_table(path) as table:
        [key] = table.require([column])
        return {row[key] for _, row in table.rows()}


def _predict(args: argparse.Namespace) -> int:
    """One result line per good input line; a bad line is reported on stderr by number and skipped."""
    model = load_model(args.model or serving_model_dir())
    decoder = msgspec.json.Decoder(PredictRequest)
    encoder = msgspec.json.Encoder()
    bad = 0
    for batch in _batches(_numbered(sys.stdin.buffer), PREDICT_BATCH):
        requests = []
        for number, line in batch:
            try:
                requests.append(decoder.decode(line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line))
            except (msgspec.DecodeError, UnicodeDecodeError) as exc:
                bad += 1
                print(f"error: stdin line {number}: {exc}", file=sys.stderr)
        if not requests:
            continue
        for request, prediction in zip(requests, model.predict([r.text for r in requests]), strict=True):
            result = PredictResult(
                id=request.id,
                topic=prediction.topic,
                topic_confidence=prediction.topic_confidence,
                risk_level=prediction.risk_level,
                risk_confidence=prediction.risk_confidence,
                model_version=model.version,
            )
            sys.stdout.write(encoder.encode(result).decode() + "\n")
        sys.stdout.flush()
    if bad:
        print(f"error: {bad} bad input line(s) skipped", file=sys.stderr)
    return 1 if bad else 0


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    return ((number, line) for number, line in enumerate(lines, start=1) if line.strip())


def _batches(lines: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n")


def _select_risk_dev(args: argparse.Namespace) -> int:
    from ml.devset import select_risk_dev, write_keys

    messages = select_risk_dev(args.data_dir, args.exclude)
    write_keys(messages, args.out)
    _print_json({"out": str(args.out), "messages": len(messages)})
    return 0


def _file_column(value: str) -> tuple[Path, str]:
    path, sep, column = value.rpartition(":")
    if not sep or not path or not column:
        raise argparse.ArgumentTypeError(f"expected CSV:COLUMN, not {value!r}")
    return Path(path), column


def _weight(value: str) -> float:
    """A weight or a tolerance: a number, 0 or more."""
    number = _number(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, not {value!r}")
    return number


def _positive(value: str) -> float:
    number = _number(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, not {value!r}")
    return number


def _number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {value!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected a finite number, not {value!r}")
    return number


def _count(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number, 1 or more, not {value!r}")
    return int(value)


def _columns(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _parser() -> argparse.ArgumentParser:
    from ml.corpus import default_seed_dir

    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")

    def training_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--seed-dir", type=Path, default=default_seed_dir(), help="seed corpus (*.jsonl)")
        command.add_argument("--district", type=Path, default=default_district_dir(), help="district folder")
        command.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE, help="segmenter")

    seed = commands.add_parser(
        "train-seed", help="train the default model from the seed corpus (and a district's own data: --extra)"
    )
    training_options(seed)
    seed.add_argument("--out", type=Path, default=default_model_dir())
    seed.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        help="CSV of more training rows (text or title,detail; topic or label; risk_level; kind), repeatable",
    )
    seed.add_argument(
        "--risk-dev",
        type=Path,
        help="risk labels of real messages (ml/dev/risk_dev_labels.csv): the risk head learns from them too",
    )
    seed.add_argument("--data-dir", type=Path, help="folder holding the corpora of the --risk-dev messages")
    seed.add_argument(
        "--risk-history",
        type=Path,
        action="append",
        default=[],
        help="with --risk-dev: CSV of history rows whose risk level the lexicon's rules set (label-risk), repeatable",
    )
    seed.set_defaults(run=_train_seed)

    cv = commands.add_parser(
        "cv-risk", help="cross-validate the risk head trained with real messages on the development set"
    )
    training_options(cv)
    cv.add_argument("--risk-dev", type=Path, required=True, help="ml/dev/risk_dev_labels.csv")
    cv.add_argument("--data-dir", type=Path, required=True, help="folder holding the labelled messages' corpora")
    cv.add_argument("--risk-history", type=Path, action="append", default=[], help="rule-labelled history CSV")
    cv.add_argument("--real-weight", type=_weight, help="weight of a real row (a seed row weighs 1)")
    cv.add_argument("--history-weight", type=_weight, help="weight of a rule-labelled history row")
    cv.add_argument("--c", type=_positive, help="inverse regularisation of the SVM")
    cv.add_argument("--unbalanced", action="store_true", help="no class balancing")
    cv.add_argument("--real-only", action="store_true", help="train the risk head on the real rows alone")
    cv.add_argument("--repeats", type=_count, default=3, help="fold assignments to average over")
    cv.set_defaults(run=_cv_risk)

    train = commands.add_parser("train", help="train a topic model on a CSV (risk and kind from the seed corpus)")
    train.add_argument("--data", type=Path, required=True)
    train.add_argument("--text-cols", type=_columns, required=True, help="comma-separated, joined in this order")
    train.add_argument("--label-col", required=True)
    train.add_argument("--split-col", help="train on rows whose value here is `train`")
    train.add_argument("--out", type=Path, required=True)
    training_options(train)
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="topic metrics of a model on a CSV")
    evaluate.add_argument("--model", type=Path, required=True)
    evaluate.add_argument("--data", type=Path, required=True)
    evaluate.add_argument("--text-cols", type=_columns, required=True)
    evaluate.add_argument("--label-col", required=True)
    evaluate.add_argument("--split-col")
    evaluate.add_argument("--split", help="evaluate rows whose --split-col value is this")
    evaluate.set_defaults(run=_evaluate)

    risk = commands.add_parser("evaluate-risk", help="risk figures on the labelled real messages")
    risk.add_argument("--labels", type=Path, required=True, help="ml/eval/risk_labels.csv")
    risk.add_argument("--data-dir", type=Path, required=True, help="folder holding the labelled messages' corpora")
    risk.add_argument("--model", type=Path, help="artifact folder (default: the serving model)")
    risk.set_defaults(run=_evaluate_risk)

    kind = commands.add_parser("evaluate-kind", help="kind figures on a CSV with a kind column")
    kind.add_argument("--data", type=Path, required=True)
    kind.add_argument("--model", type=Path, help="artifact folder (default: the serving model)")
    kind.set_defaults(run=_evaluate_kind)

    promote = commands.add_parser("promote", help="make a model the serving one if it is no worse on held-out data")
    promote.add_argument("--model", type=Path, required=True)
    promote.add_argument("--serving", type=Path, default=promoted_model_dir())
    promote.add_argument("--seed-dir", type=Path, default=default_seed_dir())
    promote.add_argument("--tolerance", type=_weight, default=0.0, help="a figure may drop this much")
    promote.set_defaults(run=_promote)

    drift = commands.add_parser("drift", help="monthly topic and risk distributions of exported classifications")
    drift.add_argument("--data", type=Path, required=True, help='JSONL {"at", "topic", "risk_level", ...}')
    drift.set_defaults(run=_drift)

    label = commands.add_parser(
        "label-risk", help="extra training rows for train-seed: risk levels derived by the lexicon's rules"
    )
    label.add_argument("--data", type=Path, required=True)
    label.add_argument("--text-cols", type=_columns, required=True)
    label.add_argument("--topic-col", help="copied as the topic label")
    label.add_argument("--split-col")
    label.add_argument("--split", help="only rows whose --split-col value is this")
    label.add_argument("--key-col", help="column naming a row, matched against --exclude")
    label.add_argument(
        "--exclude",
        type=Path,
        action="append",
        default=[],
        help="CSV with source,key of rows to leave out (an evaluation or development set), repeatable",
    )
    label.add_argument(
        "--exclude-keys-in",
        type=_file_column,
        action="append",
        default=[],
        metavar="CSV:COLUMN",
        help="also leave out rows whose key is a value of COLUMN in CSV (messages another corpus holds), repeatable",
    )
    label.add_argument("--out", type=Path, required=True)
    label.set_defaults(run=_label_risk)

    dev = commands.add_parser(
        "select-risk-dev", help="the messages of the risk development set (keys only), kept apart from --exclude"
    )
    dev.add_argument("--data-dir", type=Path, required=True, help="folder holding the public corpora")
    dev.add_argument("--exclude", type=Path, required=True, help="ml/eval/risk_labels.csv")
    dev.add_argument("--out", type=Path, required=True, help="CSV source,key,sample")
    dev.set_defaults(run=_select_risk_dev)

    predict = commands.add_parser("predict", help='JSONL {"id", "text"} on stdin to JSONL predictions on stdout')
    predict.add_argument("--model", type=Path, help="artifact folder (default: the serving model)")
    predict.set_defaults(run=_predict)
    return parser
