"""Duplicate grouping on the evaluation stream: pairwise precision and recall, and matching latency.

    .venv/bin/python -m bench.duplicates_eval [--stream tests/data/duplicate_stream.jsonl] [--tune]
        [--resolve-places ml/district/changping/gazetteer.csv] [--keep-place-names] [--no-latency]
    .venv/bin/python -m bench.duplicates_eval --overlay tests/data/duplicate_stream*.jsonl --no-latency

The stream is replayed in time order through `best_match`, the case store kept in memory: a report joins the case
it matches, else opens a new one; a case stays open for 7 days after its last report. Where a stream says who sent
each report (`reporter`, streams 18 on), the cases of the sender's other reports go to the matcher as the tracker's
OWN_CASES finds them (`own_cases`, `cases.follow_up`). Each report is signed with its own street and locality cut
from the text, as `signature` asks; the places are the stream's labels (with their levels from the district's
gazetteer), or with `--resolve-places` what the gazetteer resolver reads in the text.
Pairwise: every pair of reports put in one case is a predicted pair, every pair of one cluster a true pair.

`--overlay` lays several streams over one another, each moved to begin when the first does (ids and clusters kept
apart): a busy district, where one street's open cases are many and several of them are about the same kind of
problem at the same estates (the writers drew on one gazetteer).

Three replays: the tuning half (even cluster ids and singletons of even id), the held-out half (the rest), the
whole stream. `--tune` first searches the threshold and place factors on the tuning half and replays with the best.

Suggestions while an operator types: how often the right open case is among `rank_suggestions`' five, from half
the text and from all of it.

Latency: `best_match` and `rank_suggestions` against 500 open cases built from the stream's texts, and
`signature` on one report, p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import msgspec

from suggestions.hotspots import cases
from suggestions.hotspots.cases import (
    MEMBER_TRIES,
    CaseCandidate,
    Report,
    Weights,
    best_match,
    cases_to_absorb,
    choose_case,
    member_floor,
    merge_signature,
    needs_a_member,
    rank_suggestions,
    resembles_a_member,
    says_follow_up,
)
from suggestions.hotspots.places import Gazetteer
from suggestions.hotspots.similarity import Signature, signature, similarity
from suggestions.hotspots.tracker import (
    ANCHOR_FLOOR,
    CASE_LIFETIME,
    OWN_CASES_MAX,
    QUIET_CASES_READ,
    RESIDENT_REPORTS,
)

ROOT = Path(__file__).resolve().parent.parent
GAZETTEER = ROOT / "ml" / "district" / "changping" / "gazetteer.csv"  # the streams' district
T = TypeVar("T")
WINDOW = timedelta(days=7)


class StreamReport(msgspec.Struct, frozen=True):
    id: int
    cluster: int | None
    at: datetime
    channel: str
    street: str
    locality: str
    topic: str
    text: str
    locality_level: str = ""  # not in the files: `with_levels` or `resolved` fill it in
    reporter: str | None = None  # who sent it, where the stream says (streams 18 on): a resident's phone


def load(path: Path) -> list[StreamReport]:
    decoder = msgspec.json.Decoder(StreamReport)
    return sorted((decoder.decode(line) for line in path.read_bytes().splitlines() if line.strip()), key=_when)


def _when(report: StreamReport) -> tuple[datetime, int]:
    return report.at, report.id


def resolved(stream: Sequence[StreamReport], gazetteer_path: Path) -> list[StreamReport]:
    gazetteer = Gazetteer.load(gazetteer_path)
    placed = []
    for report in stream:
        place = gazetteer.resolve(report.text)
        placed.append(
            msgspec.structs.replace(
                report,
                street=place.street or "",
                locality=place.locality or "",
                locality_level=place.locality_level or "",
            )
        )
    return placed


def with_levels(stream: Sequence[StreamReport], gazetteer_path: Path) -> list[StreamReport]:
    """The stream with each labelled locality's level, as the gazetteer lists it."""
    gazetteer = Gazetteer.load(gazetteer_path)
    return [
        msgspec.structs.replace(report, locality_level=gazetteer.level_of(report.locality) or "") for report in stream
    ]


def overlaid(streams: Sequence[Sequence[StreamReport]]) -> list[StreamReport]:
    """The streams as one, each moved in time to begin when the first begins; ids, clusters and reporters kept apart
    per stream."""
    start = min(r.at for r in streams[0])
    merged = []
    for number, stream in enumerate(streams, start=1):
        shift = min(r.at for r in stream) - start
        offset = number * 10_000
        merged += [
            msgspec.structs.replace(
                r,
                id=offset + r.id,
                cluster=None if r.cluster is None else offset + r.cluster,
                at=r.at - shift,
                reporter=None if r.reporter is None else f"{number}:{r.reporter}",
            )
            for r in stream
        ]
    return sorted(merged, key=_when)


def tuning_half(report: StreamReport) -> bool:
    return (report.cluster if report.cluster is not None else report.id) % 2 == 0


# (report, the open cases it is compared with, whether a case may be joined: the new report resembles its first
# report, the open cases of the sender's other reports) → (the case to join, the eligible matches):
# `cases.choose_case`, the tracker's order of work. As in the tracker, a report with no street is compared with the
# open cases of its topic only (a report with a street meets every open case, and `match_factor` rules out those of
# other streets).
Matcher = Callable[
    [Report, Sequence[CaseCandidate], Callable[[int], bool], Sequence[CaseCandidate], Sequence[CaseCandidate]],
    tuple[cases.Match | None, list[cases.Match]],
]


def replay(stream: Sequence[StreamReport], signatures: dict[int, Signature], matcher: Matcher) -> dict[int, int]:
    """Report id → case id, the cases built as the service builds them: join the best case, then absorb the other
    open cases the report shows to be the same problem."""
    open_cases: dict[int, CaseCandidate] = {}
    assigned: dict[int, int] = {}
    texts = {item.id: item.text for item in stream}
    anchors: dict[int, Signature] = {}  # each case's first report, which a new report must resemble too
    every_case: dict[int, CaseCandidate] = {}  # open or gone quiet: a resident's own case stays theirs longer
    opened: dict[int, datetime] = {}
    sent: dict[str, list[StreamReport]] = {}  # each reporter's reports so far
    for item in stream:
        report = Report(
            signature=signatures[item.id],
            street=item.street or None,
            locality=item.locality or None,
            topic=item.topic,
            at=item.at,
            locality_level=item.locality_level or None,
            says_follow_up=says_follow_up(item.text),
            says_unresolved=cases.says_unresolved(item.text),
        )
        # As the tracker's CANDIDATE_CASES: a case whose last report is the window or more before is quiet.
        for case_id in [c.id for c in open_cases.values() if item.at - c.last_activity >= WINDOW]:
            del open_cases[case_id]
        # As the tracker's CANDIDATE_CASES: a case takes reports for CASE_LIFETIME after it opened.
        compared = [
            c
            for c in open_cases.values()
            if (report.street or c.topic == report.topic) and opened[c.id] > item.at - CASE_LIFETIME
        ]

        def like_first(case_id: int, new: Signature = report.signature) -> bool:
            return similarity(new, anchors[case_id]) >= ANCHOR_FLOOR

        # As the tracker's `_place` and `_may_take`: a long letter joins (or absorbs) a case of several reports, mostly
        # long, only if it resembles one of them; a resident's own case is exempt. The tracker reads the latest 50.
        own = own_cases(item, sent, assigned, every_case, opened)
        excluded: set[int] = set()

        def allowed(case_id: int, new: Signature = report.signature, excluded: set[int] = excluded) -> bool:
            return case_id not in excluded and like_first(case_id, new)

        def may_take(case_id: int, item: StreamReport = item, own: list[CaseCandidate] = own) -> bool:
            if any(case.id == case_id for case in own) or not needs_a_member(item.text, every_case[case_id].size):
                return True
            members = [report_id for report_id, assigned_case in assigned.items() if assigned_case == case_id]
            floor = member_floor([texts[report_id] for report_id in members])
            return resembles_a_member(
                signatures[item.id], (signatures[report_id] for report_id in members), floor=floor
            )

        # As the tracker's QUIET_CASES: for a report that says its problem is still there, the cases of its street,
        # topic and locality gone quiet past the window, opened within a case's lifetime, the latest few.
        names = cases.same_place_names(item.locality) if item.locality else []
        quiet = sorted(
            (
                c
                for c in every_case.values()
                if report.says_unresolved
                and c.id not in open_cases
                and c.street == item.street != ""
                and c.topic == item.topic
                and c.locality in names
                and c.last_activity <= item.at - WINDOW
                and opened[c.id] > item.at - CASE_LIFETIME
            ),
            key=lambda c: (c.last_activity, c.id),
            reverse=True,
        )[:QUIET_CASES_READ]
        for _ in range(MEMBER_TRIES):
            match, matches = matcher(report, compared, allowed, own, quiet)
            if match is None or may_take(match.case_id):
                break
            excluded.add(match.case_id)
            match = None
        if match is None:
            case = CaseCandidate(
                id=item.id,
                street=report.street,
                locality=report.locality,
                topic=report.topic,
                last_activity=item.at,
                signature=merge_signature(report.signature, report.signature, 0),
                size=1,
                locality_level=report.locality_level,
            )
            anchors[case.id] = report.signature
        else:
            old = every_case[match.case_id]
            case = msgspec.structs.replace(
                old,
                # A case filed at street level learns its estate from the first member that names one.
                street=old.street or report.street,
                locality=old.locality or report.locality,
                locality_level=old.locality_level if old.locality else report.locality_level,
                last_activity=max(old.last_activity, item.at),
                signature=merge_signature(old.signature, report.signature, old.size),
                size=old.size + 1,
            )
            for absorbed in cases_to_absorb(case, matches if report.street else [], open_cases):
                if not may_take(absorbed):
                    continue
                other = open_cases.pop(absorbed)
                for member, case_id in assigned.items():
                    if case_id == absorbed:
                        assigned[member] = case.id
                case = msgspec.structs.replace(
                    case,
                    last_activity=max(case.last_activity, other.last_activity),
                    signature=merge_signature(case.signature, other.signature, case.size),
                    size=case.size + other.size,
                )
                del every_case[absorbed]
                opened[case.id] = min(opened.get(case.id, item.at), opened[absorbed])
        open_cases[case.id] = case
        every_case[case.id] = case
        opened.setdefault(case.id, item.at)
        assigned[item.id] = case.id
        if item.reporter is not None and item.channel != "grid":
            sent.setdefault(item.reporter, []).append(item)
    return assigned


def own_cases(
    item: StreamReport,
    sent: dict[str, list[StreamReport]],
    assigned: dict[int, int],
    every_case: dict[int, CaseCandidate],
    opened: dict[int, datetime],
) -> list[CaseCandidate]:
    """The cases of the sender's other reports, as the tracker's OWN_CASES finds them: within a case's lifetime of this
    one, the case opened within it, the latest few; none for a phone on more open cases than a resident has."""
    if item.reporter is None or item.channel == "grid":
        return []
    ids = {
        assigned[other.id]
        for other in sent.get(item.reporter, [])[-RESIDENT_REPORTS:]
        if abs(other.at - item.at) < CASE_LIFETIME and assigned.get(other.id) in every_case
    }
    own = sorted(
        (every_case[i] for i in ids if opened[i] > item.at - CASE_LIFETIME),
        key=lambda case: case.last_activity,
        reverse=True,
    )[: OWN_CASES_MAX + 1]
    return [] if len(own) > OWN_CASES_MAX else own


def pairwise(stream: Sequence[StreamReport], assigned: dict[int, int]) -> dict[str, float | int]:
    true_pairs = predicted = hits = 0
    for a, b in itertools.combinations(stream, 2):
        same_cluster = a.cluster is not None and a.cluster == b.cluster
        same_case = assigned[a.id] == assigned[b.id]
        true_pairs += same_cluster
        predicted += same_case
        hits += same_cluster and same_case
    precision = hits / predicted if predicted else 1.0
    recall = hits / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "reports": len(stream),
        "clusters": len({r.cluster for r in stream if r.cluster is not None}),
        "true_pairs": true_pairs,
        "predicted_pairs": predicted,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def evaluate(stream: Sequence[StreamReport], signatures: dict[int, Signature], matcher: Matcher) -> dict[str, object]:
    halves = {
        "tuning": [r for r in stream if tuning_half(r)],
        "held_out": [r for r in stream if not tuning_half(r)],
        "all": list(stream),
    }
    return {name: pairwise(part, replay(part, signatures, matcher)) for name, part in halves.items()}


class Setting(msgspec.Struct, frozen=True):
    threshold: float = cases.THRESHOLD
    weights: Weights = cases.WEIGHTS


def tune(stream: Sequence[StreamReport], signatures: dict[int, Signature]) -> Setting:
    """Grid search on the tuning half: the best F1 with precision at least 0.9.

    Ties go to the higher threshold and the milder factors (closer to 1): the least the data asks for."""
    part = [r for r in stream if tuning_half(r)]
    best: tuple[tuple[float, ...], Setting] | None = None
    for threshold, other_locality, street_only, topic_disagrees in itertools.product(
        [x / 100 for x in range(14, 36)], [0.2, 0.3, 0.4, 0.5, 0.6], [0.7, 0.8, 0.9, 1.0], [0.6, 0.7, 0.85, 1.0]
    ):
        weights = msgspec.structs.replace(
            cases.WEIGHTS, other_locality=other_locality, street_only=street_only, topic_disagrees=topic_disagrees
        )
        setting = Setting(threshold=threshold, weights=weights)
        scores = pairwise(part, replay(part, signatures, matcher_with(setting)))
        if float(scores["precision"]) < 0.9:
            continue
        key = (float(scores["f1"]), threshold, other_locality, street_only, topic_disagrees)
        if best is None or key > best[0]:
            best = (key, setting)
    if best is None:
        raise SystemExit("no setting reaches precision 0.9 on the tuning half")
    return best[1]


def matcher_with(setting: Setting) -> Matcher:
    def match(
        report: Report,
        compared: Sequence[CaseCandidate],
        eligible: Callable[[int], bool],
        own: Sequence[CaseCandidate] = (),
        quiet: Sequence[CaseCandidate] = (),
    ) -> tuple[cases.Match | None, list[cases.Match]]:
        return choose_case(
            report,
            compared,
            eligible,
            window=WINDOW,
            threshold=setting.threshold,
            weights=setting.weights,
            own=own,
            quiet=quiet,
        )

    return match


def suggestions(stream: Sequence[StreamReport], *, typed: float, limit: int = 5) -> dict[str, float | int]:
    """How often an operator sees the right open case among the suggestions, the cases being the true clusters.

    `typed`: the share of the text typed so far; the place is taken as known (operators ask for it first)."""
    open_cases: dict[int, CaseCandidate] = {}
    asked = shown = 0
    for item in stream:
        key = item.cluster if item.cluster is not None else -item.id
        partial = item.text[: max(1, round(len(item.text) * typed))]
        sig = signature(partial, places=(item.street, item.locality))
        live = [c for c in open_cases.values() if item.at - c.last_activity <= WINDOW]
        if key in open_cases and open_cases[key] in live:
            asked += 1
            ranked = rank_suggestions(sig, item.street or None, item.locality or None, live, limit)
            shown += any(m.case_id == key for m in ranked)
        full = signature(item.text, places=(item.street, item.locality))
        old = open_cases.get(key)
        open_cases[key] = CaseCandidate(
            id=key,
            street=item.street or None,
            locality=(old.locality if old else None) or item.locality or None,
            topic=item.topic,
            last_activity=item.at,
            signature=merge_signature(old.signature if old else full, full, old.size if old else 0),
            size=old.size + 1 if old else 1,
        )
    return {"typed": typed, "reports_with_open_case": asked, f"right_case_in_top_{limit}": round(shown / asked, 4)}


def latency(
    stream: Sequence[StreamReport], signatures: dict[int, Signature], *, open_cases: int = 500
) -> dict[str, object]:
    # 500 cases of 1-4 members each, built from the stream's texts, all in one street: the worst case for the
    # lead's query, which fetches the open cases of the report's street.
    now = stream[-1].at
    candidates = []
    for n in range(open_cases):
        members = [signatures[stream[(n * 7 + k * 13) % len(stream)].id] for k in range(1 + n % 4)]
        sig = members[0]
        for size, member in enumerate(members[1:], start=1):
            sig = merge_signature(sig, member, size)
        like = stream[n % len(stream)]
        candidates.append(
            CaseCandidate(
                id=n,
                street="城北街道",
                locality=like.locality or None,
                topic=like.topic,
                last_activity=now - timedelta(hours=n % 150),
                signature=sig,
                size=len(members),
            )
        )
    queries = [
        Report(signature=signatures[r.id], street="城北街道", locality=r.locality or None, topic=r.topic, at=now)
        for r in stream
    ]
    return {
        "open_cases": open_cases,
        "best_match_ms": _timed(lambda q: best_match(q, candidates), queries),
        "rank_suggestions_ms": _timed(
            lambda q: rank_suggestions(q.signature, q.street, q.locality, candidates), queries
        ),
        "signature_ms": _timed(lambda r: signature(r.text, places=(r.street, r.locality)), stream),
    }


def _timed(call: Callable[[T], object], inputs: Iterable[T], rounds: int = 3) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        for value in inputs:
            start = time.perf_counter()
            call(value)
            samples.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(samples, n=100)
    return {"p50": round(cuts[49], 3), "p95": round(cuts[94], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", type=Path, default=ROOT / "tests" / "data" / "duplicate_stream.jsonl")
    parser.add_argument("--overlay", type=Path, nargs="+", help="lay these streams over one another, as one")
    parser.add_argument("--tune", action="store_true", help="search the threshold and place factors first")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument(
        "--resolve-places",
        type=Path,
        metavar="GAZETTEER",
        help="place each report from its text with this gazetteer, as the service does, instead of the stream's labels",
    )
    parser.add_argument(
        "--keep-place-names", action="store_true", help="sign the texts whole, as a caller that passes no places would"
    )
    args = parser.parse_args()

    stream = overlaid([load(path) for path in args.overlay]) if args.overlay else load(args.stream)
    stream = resolved(stream, args.resolve_places) if args.resolve_places else with_levels(stream, GAZETTEER)
    signatures = {
        r.id: signature(r.text, places=() if args.keep_place_names else (r.street, r.locality)) for r in stream
    }
    setting = tune(stream, signatures) if args.tune else Setting()
    result: dict[str, object] = {
        "setting": msgspec.to_builtins(setting),
        **evaluate(stream, signatures, matcher_with(setting)),
    }
    result["suggestions"] = [suggestions(stream, typed=share) for share in (0.5, 1.0)]
    if not args.no_latency:
        result["latency"] = latency(stream, signatures)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
