"""Burst and escalation rules for hotspots: is a street × topic seeing far more distinct problems than usual, and
is the risk of a case or area climbing.

Both read only what the database already keeps (daily counts of distinct problems per street × topic; the risk
level and time of each report) and answer with the numbers behind the verdict, so staff see why something is hot.

The burst rule is a one-sided test of the recent window count against the series' own baseline. The baseline rate
is uncertain (a month of a quiet series holds a handful of cases), so the window count is compared with its
posterior predictive distribution, not with a Poisson of the point estimate: a Gamma prior centred on the
district-wide rate per series, updated with the baseline days, gives a negative binomial. The prior keeps a quiet
series' rate above zero and stands in for the baseline entirely where a district has no history yet. Days are
weighed by a weekly profile where one is given, since hotline calls and grid patrols thin out at weekends.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

import msgspec
import numpy as np
from scipy import stats

# Calibrated with bench/bursts_eval.py: 330 series (22 streets × 15 topics) at 0–1 distinct problems a day turn
# hot on background alone about once in two weeks, all of them together; 1e-4 halves that and flags fewer bursts of
# 10 by their 11th item on busy series, 5e-4 doubles it.
MAX_P_VALUE = 2e-4
# A burst is something staff can act on as a cluster; below this many problems in the window it is not one, however
# unlikely the count is for a series that is almost always silent.
MIN_OBSERVED = 5
# Distinct problems per street × topic per day, district-wide, when nothing better is known: the middle of the
# 0–1 a day range of a district of some 22 streets.
DEFAULT_PRIOR_RATE = 0.5
# How many days of a series' own history the district-wide prior is worth when the spread of rates between series is
# not known yet: rates spread uniformly over 0–1 a day fit a Gamma worth 6 days.
DEFAULT_PRIOR_DAYS = 7.0
# Fitted prior weights are kept within these: below a day the prior says nothing; above the baseline it would
# outweigh a series' own month.
MIN_PRIOR_DAYS = 1.0
MAX_PRIOR_DAYS = 28.0
# The spread of rates between series cannot be told from Poisson noise with fewer days than this.
MIN_FIT_DAYS = 7.0
# Escalation needs a trend, which needs at least this many reports.
MIN_ESCALATION_POINTS = 3


class DistrictPrior(msgspec.Struct, frozen=True):
    """A Gamma prior for one street × topic's daily rate of distinct problems, from the district's series."""

    rate: float  # mean distinct problems per street × topic per day
    days: float  # how many days of a series' own history the prior is worth


DEFAULT_PRIOR = DistrictPrior(rate=DEFAULT_PRIOR_RATE, days=DEFAULT_PRIOR_DAYS)


class DayCount(msgspec.Struct, frozen=True):
    day: date
    count: int  # distinct problems (cases) opened that day


class BurstVerdict(msgspec.Struct, frozen=True):
    hot: bool
    observed: int  # distinct problems in the window
    expected: float  # what the baseline (and prior) predict for the window
    window_days: int  # the window covers the last window_days × 24 hours
    baseline_days: int  # days of the series' own history behind `expected`; 0 for a district with no history yet
    score: float  # P(window count ≥ observed | baseline): the smaller, the less ordinary


class Escalation(msgspec.Struct, frozen=True):
    rising: bool
    first_level: int  # typical risk level of the earliest reports
    last_level: int  # typical risk level of the latest reports
    slope_per_day: float  # robust (Theil–Sen) trend of the risk level, levels per day
    span_days: float  # from the first report to the last


class RiskPoint(msgspec.Struct, frozen=True):
    at: datetime
    risk_level: int


def burst(
    counts: Sequence[DayCount],
    today: date,
    *,
    now_fraction: float = 1.0,
    window_days: int = 3,
    baseline_days: int = 28,
    history_start: date | None = None,
    prior: DistrictPrior = DEFAULT_PRIOR,
    weekly_profile: Sequence[float] | None = None,
    max_p_value: float = MAX_P_VALUE,
    min_observed: int = MIN_OBSERVED,
    set_aside: int = 0,
) -> BurstVerdict:
    """Whether a street × topic is a burst hotspot now, from its daily counts of distinct problems.

    `now_fraction` is how much of `today` has passed (0–1): the clock, or better the share of a day's problems that
    has usually arrived by this hour, since few come in at night. The window holds every day that touches the last
    `window_days` × 24 hours: before the day is over that includes the day `window_days` ago, whose problems may lie
    inside the last 72 hours, so a burst that began yesterday evening is not cut in two at midnight. The expectation
    counts each full day by its weight (1 without a weekly profile) and today by its weight times the fraction
    elapsed. The baseline is the `baseline_days` before the
    window, never overlapping it, so a burst does not raise its own bar. `history_start` is the first day the
    district's counts exist: days before it are unknown, not zero (a new district has no baseline, only the prior).
    `prior` comes from `district_prior` over the district's series. `weekly_profile` (from `weekly_profile`) says
    how busy each weekday is: without it, a window of three weekdays after a baseline with weekends in it looks busy.
    `set_aside`: problems of the window left out of its count (one sender's, to ask whether the rest are a burst).
    """
    if not 0.0 <= now_fraction <= 1.0:
        raise ValueError(f"now_fraction must lie in [0, 1], not {now_fraction}")
    if window_days < 1 or baseline_days < 0:
        raise ValueError("window_days must be at least 1 and baseline_days not negative")
    if prior.rate <= 0.0 or prior.days <= 0.0:
        raise ValueError("the district-wide prior needs a positive rate and weight")
    weight = _day_weights(weekly_profile)

    whole_day = now_fraction >= 1.0
    window_start = today - timedelta(days=window_days - 1 if whole_day else window_days)
    baseline_start = window_start - timedelta(days=baseline_days)
    if history_start is not None:
        baseline_start = max(baseline_start, history_start)
    known_since = window_start if history_start is None else max(window_start, history_start)

    observed = -set_aside
    baseline_count = 0
    for entry in counts:
        if known_since <= entry.day <= today:
            observed += entry.count
        elif baseline_start <= entry.day < window_start:
            baseline_count += entry.count

    # Exposures in average days: a Tuesday may be worth 1.2 of them, a Sunday 0.5.
    past_days = max(0, (today - known_since).days)
    exposure = sum(weight(known_since + timedelta(days=n)) for n in range(past_days))
    if known_since <= today:
        exposure += weight(today) * now_fraction
    history_days = max(0, (window_start - baseline_start).days)
    history_exposure = sum(weight(baseline_start + timedelta(days=n)) for n in range(history_days))

    # Gamma(shape, rate) posterior for the rate per average day; the window count is then negative binomial.
    shape = prior.rate * prior.days + baseline_count
    rate = prior.days + history_exposure
    expected = shape / rate * exposure
    score = float(stats.nbinom.sf(observed - 1, shape, rate / (rate + exposure))) if observed > 0 else 1.0
    return BurstVerdict(
        hot=observed >= min_observed and score <= max_p_value,
        observed=observed,
        expected=expected,
        window_days=window_days,
        baseline_days=history_days,
        score=score,
    )


def weekly_profile(counts_by_weekday: Sequence[int]) -> tuple[float, ...]:
    """How busy each weekday is against the average day (Monday first), from the district's distinct problems per
    weekday over whole weeks. Hotline calls and grid patrols thin out at weekends."""
    if len(counts_by_weekday) != 7:
        raise ValueError("one count per weekday, Monday first")
    total = sum(counts_by_weekday)
    if total <= 0:
        return (1.0,) * 7
    # Half a problem added to each weekday keeps a weekday that saw none from counting as impossible.
    smoothed = [count + 0.5 for count in counts_by_weekday]
    return tuple(7.0 * count / sum(smoothed) for count in smoothed)


def _day_weights(profile: Sequence[float] | None) -> Callable[[date], float]:
    if profile is None:
        return lambda day: 1.0
    if len(profile) != 7 or min(profile) <= 0.0:
        raise ValueError("a weekly profile has seven positive weights, Monday first")
    mean = statistics.fmean(profile)
    normalised = [value / mean for value in profile]
    return lambda day: normalised[day.weekday()]


def district_prior(series_totals: Sequence[int], days: float) -> DistrictPrior:
    """The district-wide prior, fitted by moments to every street × topic's count over the same `days` days.

    `series_totals` has one entry per series, zeros included. A series' total over d days varies by Poisson noise
    (mean × d) plus the spread of true rates between series (variance × d²); what exceeds the noise is the spread.
    A Gamma with that mean and variance is worth mean / variance days: a district whose series are much alike gets
    a strong prior, one where a few streets carry most problems a weak one, so busy series are not pulled down
    towards the district mean and made to look bursty.
    """
    if not series_totals or days <= 0.0:
        return DEFAULT_PRIOR
    mean_total = statistics.fmean(series_totals)
    if mean_total <= 0.0:
        return DEFAULT_PRIOR
    rate = mean_total / days
    if days < MIN_FIT_DAYS or len(series_totals) < 2:
        return DistrictPrior(rate=rate, days=DEFAULT_PRIOR_DAYS)
    spread = (statistics.variance(series_totals) - mean_total) / days**2
    weight = rate / spread if spread > 0.0 else MAX_PRIOR_DAYS
    return DistrictPrior(rate=rate, days=min(MAX_PRIOR_DAYS, max(MIN_PRIOR_DAYS, weight)))


def escalation(points: Sequence[RiskPoint]) -> Escalation:
    """Whether the later reports of a case or area carry clearly higher risk than the earlier ones.

    The reports are split into thirds by time and the upper median level of the first third is compared with that
    of the last third. A whole level up counts as rising (1 → 2 → 3, or a run of complaints whose latest reports
    speak of threats); one stray high report in the middle, or levels that flip between two values, do not. The
    upper median because the risk rubric prefers the higher level when in doubt: half of the latest reports at a
    level is enough.
    """
    ordered = sorted(points, key=lambda point: point.at)
    if not ordered:
        return Escalation(rising=False, first_level=0, last_level=0, slope_per_day=0.0, span_days=0.0)
    span_days = (ordered[-1].at - ordered[0].at).total_seconds() / 86400.0
    tail = max(1, -(-len(ordered) // 3))
    first_level = statistics.median_high([point.risk_level for point in ordered[:tail]])
    last_level = statistics.median_high([point.risk_level for point in ordered[-tail:]])
    return Escalation(
        rising=len(ordered) >= MIN_ESCALATION_POINTS and last_level > first_level,
        first_level=first_level,
        last_level=last_level,
        slope_per_day=_trend_per_day(ordered),
        span_days=span_days,
    )


def _trend_per_day(ordered: Sequence[RiskPoint]) -> float:
    days = [(point.at - ordered[0].at).total_seconds() / 86400.0 for point in ordered]
    # Theil–Sen needs two distinct times; reports all at one moment have no trend to speak of.
    if len(ordered) < 2 or days[-1] <= 0.0:
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):  # the slope's confidence interval is not used
        return float(stats.theilslopes([point.risk_level for point in ordered], days).slope)
