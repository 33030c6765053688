"""Burst hotspot rule on synthetic streams: false hotspots per week of background, and at which item a burst is seen.

    .venv/bin/python -m bench.bursts_eval [--weeks 52] [--series 330] [--bursts 1000] [--seed 7]

Background: each street × topic series (330 = 22 streets × 15 topics) receives distinct problems as a Poisson
process at its own rate. Rates are drawn uniformly from 0–1 a day; two more districts stress the rule: every series
at 1 a day (the top of that range), and a skewed district (log-normal rates, mean 0.5 a day, a few series at 2–4 a
day). A last district has the rates of the first but a working week: weekdays 1.2 times the average day,
weekends 0.5 (real hotline and patrol streams thin out at weekends), judged with and without the weekly profile.
The district-wide prior is fitted, as the service would, from a month of every series' counts. The rule is
evaluated the way the service meets it: after every new problem, at the time of day it arrives, and at every
midnight, when the oldest day leaves the window; in between the verdict can only cool down. A false hotspot is a
series turning hot on background alone.

Bursts: 10, 12 and 20 extra problems spread uniformly over 72 hours from a random moment, on top of a series'
background after a month of history. The figure is the burst item at which the series first turns hot; items
after the last burst item are counted on, so a burst of 10 first flagged at the next background problem scores 11.
The same for a district with no history at all, where the prior fitted from its first day stands for the baseline.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, timedelta

import numpy as np

from suggestions.hotspots.bursts import MIN_OBSERVED, DayCount, DistrictPrior, burst, district_prior, weekly_profile

FIRST_DAY = date(2025, 1, 1)
BURST_SIZES = (10, 12, 20)
BURST_DAYS = 3.0
WINDOW_DAYS = 3
BASELINE_DAYS = 28
WARM_UP_DAYS = WINDOW_DAYS + BASELINE_DAYS + 1  # a full baseline behind the first evaluation that counts
RATE_BANDS = (0.25, 0.5, 0.75, 1.0, float("inf"))
WORKING_WEEK = (1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5)  # Monday first


def arrivals(
    rng: np.random.Generator, rate: float, start: float, end: float, week: Sequence[float] | None = None
) -> np.ndarray:
    """Times (in days) of a Poisson process at `rate` a day over [start, end), scaled by weekday if `week` is given."""
    peak = max(week) if week else 1.0
    count = rng.poisson(rate * peak * (end - start))
    times = np.sort(rng.uniform(start, end, size=count))
    if not week:
        return times
    # Thinning: keep each arrival with the weight of its weekday against the busiest one.
    weekday = np.array([(FIRST_DAY + timedelta(days=int(t))).weekday() for t in times], dtype=np.int64)
    keep = rng.uniform(0.0, 1.0, size=count) < np.asarray(week)[weekday] / peak
    return times[keep]


def fitted_prior(rng: np.random.Generator, rates: np.ndarray, days: float) -> DistrictPrior:
    """The prior the service would fit from every series' count over the last `days` days."""
    return district_prior([int(total) for total in rng.poisson(rates * days)], days)


def evaluations(times: np.ndarray, days: int) -> Iterator[tuple[int, float, int | None]]:
    """(day, fraction of the day, index of the problem that just arrived) at every midnight (no problem) and after
    every arrival, in time order."""
    arrived = 0
    for day in range(days):
        yield day, 0.0, None
        while arrived < len(times) and times[arrived] < day + 1:
            arrived += 1
            yield day, float(times[arrived - 1] - day), arrived - 1


def is_hot(
    daily: np.ndarray,
    day: int,
    fraction: float,
    prior: DistrictPrior,
    new_district: bool = False,
    week: Sequence[float] | None = None,
) -> bool:
    # The window is at most the last WINDOW_DAYS + 1 calendar days; with fewer problems in them than the rule's
    # minimum it cannot be hot, and skipping those evaluations keeps the year-long sweep to a minute.
    if daily[max(0, day - WINDOW_DAYS) : day + 1].sum() < MIN_OBSERVED:
        return False
    first = max(0, day - WINDOW_DAYS - BASELINE_DAYS)
    counts = [DayCount(FIRST_DAY + timedelta(days=d), int(daily[d])) for d in range(first, day + 1) if daily[d]]
    verdict = burst(
        counts,
        FIRST_DAY + timedelta(days=day),
        now_fraction=fraction,
        window_days=WINDOW_DAYS,
        baseline_days=BASELINE_DAYS,
        history_start=FIRST_DAY if new_district else None,
        prior=prior,
        weekly_profile=week,
    )
    return verdict.hot


def false_hotspots(
    rng: np.random.Generator,
    rates: Sequence[float],
    weeks: int,
    prior: DistrictPrior,
    *,
    week: Sequence[float] | None = None,
    profile: Sequence[float] | None = None,
) -> list[int]:
    """How many times each background-only series turns hot during `weeks` after a month of history.

    `week` shapes the stream by weekday, `profile` is what the rule is told about it.
    """
    days = WARM_UP_DAYS + 7 * weeks
    onsets = []
    for rate in rates:
        times = arrivals(rng, rate, 0.0, days, week)
        daily = np.zeros(days, dtype=np.int64)
        hot = False
        series_onsets = 0
        for day, fraction, arrival in evaluations(times, days):
            if arrival is not None:
                daily[day] += 1
            now_hot = is_hot(daily, day, fraction, prior, week=profile)
            if now_hot and not hot and day >= WARM_UP_DAYS:
                series_onsets += 1
            hot = now_hot
        onsets.append(series_onsets)
    return onsets


def burst_flagged_at(
    rng: np.random.Generator,
    rate: float,
    size: int,
    prior: DistrictPrior,
    *,
    new_district: bool = False,
    week: Sequence[float] | None = None,
    profile: Sequence[float] | None = None,
) -> int | None:
    """The item of a burst of `size` at which the series first turns hot; None if the burst leaves the window unseen.

    0 means background alone had the series hot when the burst began (a coincidence the caller counts apart).
    `week` shapes the background by weekday, `profile` is what the rule is told about it.
    """
    start = (0 if new_district else WARM_UP_DAYS) + rng.uniform(0.0, 1.0)
    burst_times = np.sort(start + rng.uniform(0.0, BURST_DAYS, size=size))
    days = int(start + BURST_DAYS) + WINDOW_DAYS + 1
    background = arrivals(rng, rate, 0.0, days, week)
    times = np.concatenate([background, burst_times])
    order = np.argsort(times, kind="stable")
    is_burst = order >= len(background)
    daily = np.zeros(days, dtype=np.int64)
    seen = 0
    after = 0
    for day, fraction, arrival in evaluations(times[order], days):
        if arrival is not None:
            daily[day] += 1
            if is_burst[arrival]:
                seen += 1
            elif seen == size:
                after += 1
        if day + fraction >= start and is_hot(daily, day, fraction, prior, new_district, profile):
            return seen + after
    return None


def summary(flagged: Sequence[int | None]) -> dict[str, object]:
    timely = [item for item in flagged if item]
    trials = max(1, len(flagged))
    return {
        "trials": len(flagged),
        "by_10th": round(sum(item <= 10 for item in timely) / trials, 4),
        "by_11th": round(sum(item <= 11 for item in timely) / trials, 4),
        "missed": sum(item is None for item in flagged),
        "hot_before_burst": sum(item == 0 for item in flagged),
        "flagged_at_item": dict(sorted(Counter(timely).items())),
    }


def band(rate: float) -> str:
    upper = next(edge for edge in RATE_BANDS if rate < edge)
    lower = max((edge for edge in RATE_BANDS if edge <= rate), default=0.0)
    return f"{lower:g}-{upper:g}"


def detection(
    rng: np.random.Generator,
    trials: int,
    rates: np.ndarray,
    prior: DistrictPrior,
    *,
    new_district: bool = False,
    week: Sequence[float] | None = None,
    profile: Sequence[float] | None = None,
) -> dict[str, object]:
    """Where bursts of each size are first flagged, on series whose background rate is drawn from `rates`."""
    report: dict[str, object] = {}
    for size in BURST_SIZES:
        trial_rates = [float(rate) for rate in rng.choice(rates, size=trials)]
        flagged = [
            burst_flagged_at(rng, rate, size, prior, new_district=new_district, week=week, profile=profile)
            for rate in trial_rates
        ]
        by_band: dict[str, list[int | None]] = {}
        for rate, item in zip(trial_rates, flagged, strict=True):
            by_band.setdefault(band(rate), []).append(item)
        report[str(size)] = summary(flagged) | {
            "by_11th_by_background_rate": {
                name: summary(items)["by_11th"] for name, items in sorted(by_band.items()) if len(set(rates)) > 1
            }
        }
    return report


def district_rates(rng: np.random.Generator, district: str, series: int) -> np.ndarray:
    if district == "uniform_0_to_1":
        return rng.uniform(0.0, 1.0, size=series)
    if district == "all_at_1":
        return np.ones(series)
    # Log-normal with sigma 1 and mean 0.5: most series quiet, a few streets × topics at 2–4 a day.
    return rng.lognormal(np.log(0.5) - 0.5, 1.0, size=series)


def false_hotspot_report(rng: np.random.Generator, series: int, weeks: int) -> dict[str, object]:
    report: dict[str, object] = {}
    for district in ("uniform_0_to_1", "all_at_1", "skewed"):
        rates = district_rates(rng, district, series)
        prior = fitted_prior(rng, rates, BASELINE_DAYS)
        onsets = false_hotspots(rng, [float(rate) for rate in rates], weeks, prior)
        by_band = Counter(band(float(rate)) for rate, count in zip(rates, onsets, strict=True) for _ in range(count))
        report[district] = {
            "per_week": round(sum(onsets) / weeks, 3),
            "total": sum(onsets),
            "prior": {"rate": round(prior.rate, 3), "days": round(prior.days, 1)},
            "max_rate": round(float(rates.max()), 2),
            "total_by_background_rate": dict(sorted(by_band.items())),
        }
    rates = district_rates(rng, "uniform_0_to_1", series)
    prior = fitted_prior(rng, rates, BASELINE_DAYS)
    for name, profile in (("working_week_rule_unaware", None), ("working_week_rule_told", fitted_week(rng, rates))):
        stream = [float(rate) for rate in rates]
        onsets = false_hotspots(rng, stream, weeks, prior, week=WORKING_WEEK, profile=profile)
        report[name] = {"per_week": round(sum(onsets) / weeks, 3), "total": sum(onsets)}
    return report


def fitted_week(rng: np.random.Generator, rates: np.ndarray) -> tuple[float, ...]:
    """The weekly profile the service would fit from eight weeks of the whole district's problems per weekday."""
    return weekly_profile([int(rng.poisson(8 * share * rates.sum())) for share in WORKING_WEEK])


def detection_report(rng: np.random.Generator, series: int, trials: int) -> dict[str, object]:
    rates = district_rates(rng, "uniform_0_to_1", series)
    prior = fitted_prior(rng, rates, BASELINE_DAYS)
    ones = district_rates(rng, "all_at_1", series)
    return {
        "background_0_to_1": detection(rng, trials, rates, prior),
        "background_at_1": detection(rng, trials, ones, fitted_prior(rng, ones, BASELINE_DAYS)),
        "working_week_rule_told": detection(
            rng, trials, rates, prior, week=WORKING_WEEK, profile=fitted_week(rng, rates)
        ),
        # A district's first day tells its mean rate, not yet how its series differ.
        "new_district_0_to_1": detection(rng, trials, rates, fitted_prior(rng, rates, 1.0), new_district=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--series", type=int, default=330)
    parser.add_argument("--bursts", type=int, default=1000, help="trials per burst size and background")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    report = {
        "series": args.series,
        "weeks": args.weeks,
        "false_hotspots": false_hotspot_report(rng, args.series, args.weeks),
        "bursts": detection_report(rng, args.series, args.bursts),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
