from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.bursts_eval import BASELINE_DAYS, burst_flagged_at, district_rates, false_hotspots, fitted_prior
from suggestions.hotspots.bursts import (
    DEFAULT_PRIOR,
    MAX_PRIOR_DAYS,
    DayCount,
    DistrictPrior,
    RiskPoint,
    burst,
    district_prior,
    escalation,
    weekly_profile,
)
from suggestions.hotspots.views import explain

TODAY = date(2026, 3, 20)


def history(daily: list[int], *, last: date = TODAY) -> list[DayCount]:
    """Daily counts ending on `last`, oldest first."""
    first = last - timedelta(days=len(daily) - 1)
    return [DayCount(first + timedelta(days=n), count) for n, count in enumerate(daily) if count]


def trickle(days: int, rng: np.random.Generator, rate: float) -> list[int]:
    return [int(count) for count in rng.poisson(rate, size=days)]


def test_a_quiet_month_then_ten_problems_in_three_days_is_a_hotspot() -> None:
    rng = np.random.default_rng(1)
    verdict = burst(history([*trickle(28, rng, 0.3), 3, 4, 3]), TODAY)
    assert verdict.hot
    assert verdict.observed == 10
    assert verdict.expected == pytest.approx(0.9, abs=0.6)
    assert (verdict.window_days, verdict.baseline_days) == (3, 28)
    assert verdict.score < 1e-4


def test_problems_set_aside_are_judged_without_and_the_baseline_stays() -> None:
    """One grid worker's patrol set aside (`tracker._check_burst`): the rest of the window is judged alone, against
    the same expectation."""
    rng = np.random.default_rng(1)
    counts = history([*trickle(28, rng, 0.3), 3, 4, 3])
    whole, rest = burst(counts, TODAY), burst(counts, TODAY, set_aside=8)
    assert (whole.observed, rest.observed) == (10, 2)
    assert rest.expected == whole.expected
    assert (whole.hot, rest.hot) == (True, False)


def test_a_busy_series_with_its_usual_load_is_not_a_hotspot() -> None:
    # A district where some series carry 3 a day against a mean of 0.5 fits a weak prior (see district_prior).
    verdict = burst(history([3] * 28 + [4, 3, 3]), TODAY, prior=DistrictPrior(rate=0.5, days=1.5))
    assert not verdict.hot
    assert verdict.expected == pytest.approx(9.0, rel=0.05)
    assert verdict.score > 0.1


def test_a_silent_series_needs_a_handful_of_problems_not_one_or_two() -> None:
    silent = [0] * 28
    assert not burst(history([*silent, 0, 2, 2]), TODAY).hot
    assert burst(history([*silent, 1, 2, 2]), TODAY).hot


def test_a_burst_does_not_raise_its_own_bar() -> None:
    verdict = burst(history([0] * 28 + [5, 5, 5]), TODAY)
    assert verdict.hot
    assert verdict.expected < 1.0


def test_a_burst_that_began_yesterday_evening_is_whole_in_the_morning() -> None:
    # Problems from 3 days ago still lie within the last 72 hours until today is over.
    counts = history([0] * 28 + [6, 2, 1, 1])
    morning = burst(counts, TODAY, now_fraction=0.25)
    assert morning.hot
    assert morning.observed == 10
    end_of_day = burst(counts, TODAY, now_fraction=1.0)
    assert not end_of_day.hot
    assert end_of_day.observed == 4


def test_the_expectation_grows_with_the_part_of_today_gone_by() -> None:
    counts = history([1] * 28 + [1, 1, 1, 0])
    early = burst(counts, TODAY, now_fraction=0.1)
    late = burst(counts, TODAY, now_fraction=0.9)
    assert early.expected < late.expected
    assert late.expected == pytest.approx(early.expected * 3.9 / 3.1)


def test_a_new_district_uses_the_district_prior_instead_of_its_empty_baseline() -> None:
    started = TODAY - timedelta(days=2)
    prior = DistrictPrior(rate=0.3, days=7.0)
    quiet = burst(history([1, 0, 1]), TODAY, now_fraction=0.5, history_start=started, prior=prior)
    assert not quiet.hot
    assert quiet.baseline_days == 0
    assert quiet.expected == pytest.approx(0.3 * 2.5)
    bursting = burst(history([3, 4, 3]), TODAY, now_fraction=0.5, history_start=started, prior=prior)
    assert bursting.hot


def test_a_new_district_with_a_burst_is_flagged_by_its_eleventh_item() -> None:
    # A trickle district: with no history, where rates spread over 0–1 a day, a quiet series cannot be told from a
    # busy one and bursts of 10 are seen later (bench/bursts_eval.py reports how much).
    rng = np.random.default_rng(11)
    rates = rng.uniform(0.0, 0.3, size=330)
    prior = fitted_prior(rng, rates, 1.0)
    flagged = [burst_flagged_at(rng, float(rate), 10, prior, new_district=True) for rate in rates[:40]]
    assert all(item is not None and 0 < item <= 11 for item in flagged), flagged


def test_days_before_the_district_started_are_unknown_not_zero() -> None:
    counts = history([0] * 5 + [1, 1, 2])
    started = TODAY - timedelta(days=7)
    verdict = burst(counts, TODAY, history_start=started, prior=DistrictPrior(rate=1.0, days=7.0))
    assert verdict.baseline_days == 5
    # 5 silent days of its own against a week-strong prior of 1 a day: well above zero.
    assert verdict.expected == pytest.approx(3 * 7.0 / 12.0)


def test_background_alone_gives_at_most_one_false_hotspot_a_week() -> None:
    rng = np.random.default_rng(2026)
    rates = district_rates(rng, "uniform_0_to_1", 330)
    weeks = 16
    onsets = false_hotspots(rng, [float(rate) for rate in rates], weeks, fitted_prior(rng, rates, BASELINE_DAYS))
    assert sum(onsets) / weeks <= 1.0


@pytest.mark.parametrize("size", [10, 12, 20])
def test_a_burst_on_a_trickle_is_flagged_by_its_eleventh_item(size: int) -> None:
    rng = np.random.default_rng(size)
    rates = district_rates(rng, "uniform_0_to_1", 330)
    prior = fitted_prior(rng, rates, BASELINE_DAYS)
    flagged = [burst_flagged_at(rng, float(rate), size, prior) for rate in rates[:60]]
    on_a_trickle = [item for rate, item in zip(rates[:60], flagged, strict=True) if rate <= 0.5]
    assert all(item is not None and 0 < item <= 11 for item in on_a_trickle), on_a_trickle
    # Near 1 a day a burst of 10 can hide in a window that already expects 3–4: most, not all, by the 11th.
    assert sum(item is not None and 0 < item <= 11 for item in flagged) >= 0.85 * len(flagged)


@given(
    baseline=st.lists(st.integers(0, 4), min_size=28, max_size=28),
    window=st.lists(st.integers(0, 6), min_size=3, max_size=3),
    fraction=st.floats(0.0, 1.0),
)
def test_one_more_problem_today_never_cools_a_series(baseline: list[int], window: list[int], fraction: float) -> None:
    before = burst(history([*baseline, *window]), TODAY, now_fraction=fraction)
    after = burst(history([*baseline, *window[:-1], window[-1] + 1]), TODAY, now_fraction=fraction)
    assert after.observed == before.observed + 1
    assert after.score <= before.score
    assert after.hot or not before.hot


@given(baseline=st.lists(st.integers(0, 4), min_size=28, max_size=28), busier=st.integers(0, 27))
def test_a_busier_baseline_never_heats_a_series(baseline: list[int], busier: int) -> None:
    window = [3, 3, 3]
    before = burst(history([*baseline, *window]), TODAY)
    baseline[busier] += 1
    after = burst(history([*baseline, *window]), TODAY)
    assert after.expected > before.expected
    assert after.score >= before.score


WORKING_WEEK = (1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5)


@pytest.mark.parametrize(
    ("today", "window_weight"),
    [
        (date(2026, 3, 20), 1.2),  # Wednesday to Friday
        (date(2026, 3, 23), (0.5 + 0.5 + 1.2) / 3),  # Saturday to Monday
    ],
)
def test_told_the_working_week_a_window_expects_what_its_weekdays_bring(today: date, window_weight: float) -> None:
    # Four whole weeks of baseline hold every weekday four times, so only the window's weekdays change the answer.
    counts = history([2] * 28 + [3, 3, 3], last=today)
    unaware = burst(counts, today)
    told = burst(counts, today, weekly_profile=WORKING_WEEK)
    assert told.expected == pytest.approx(window_weight * unaware.expected)


def test_the_weekly_profile_is_read_from_the_district_counts_per_weekday() -> None:
    profile = weekly_profile([1200] * 5 + [500, 500])
    assert profile == pytest.approx(WORKING_WEEK, rel=0.01)
    assert sum(profile) == pytest.approx(7.0)
    assert weekly_profile([0] * 7) == (1.0,) * 7
    with pytest.raises(ValueError, match="weekday"):
        weekly_profile([1, 2, 3])


def test_nonsense_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="now_fraction"):
        burst([], TODAY, now_fraction=1.5)
    with pytest.raises(ValueError, match="prior"):
        burst([], TODAY, prior=DistrictPrior(rate=0.0, days=7.0))
    with pytest.raises(ValueError, match="weekly profile"):
        burst([], TODAY, weekly_profile=[1.0, 1.0])


def test_a_district_of_alike_series_gets_a_strong_prior_and_a_skewed_one_a_weak_one() -> None:
    rng = np.random.default_rng(5)
    alike = district_prior([int(total) for total in rng.poisson(0.5 * 28, size=330)], 28)
    assert alike.rate == pytest.approx(0.5, rel=0.05)
    assert alike.days == MAX_PRIOR_DAYS
    skewed_rates = rng.lognormal(np.log(0.5) - 0.5, 1.0, size=330)
    skewed = district_prior([int(total) for total in rng.poisson(skewed_rates * 28)], 28)
    assert skewed.days < 3.0
    spread = district_prior([int(total) for total in rng.poisson(rng.uniform(0, 1, 330) * 28)], 28)
    assert 4.0 < spread.days < 9.0


def test_a_district_too_new_to_tell_its_spread_keeps_the_default_weight() -> None:
    assert district_prior([0, 1, 2, 1], 2) == DistrictPrior(rate=0.5, days=DEFAULT_PRIOR.days)
    assert district_prior([], 28) == DEFAULT_PRIOR
    assert district_prior([0, 0, 0], 28) == DEFAULT_PRIOR


def reports(*levels: int, hours_apart: float = 12.0) -> list[RiskPoint]:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    return [RiskPoint(start + timedelta(hours=n * hours_apart), level) for n, level in enumerate(levels)]


def test_complaints_then_threats_then_a_blocked_road_is_rising() -> None:
    result = escalation(reports(1, 2, 3))
    assert result.rising
    assert (result.first_level, result.last_level) == (1, 3)
    assert result.slope_per_day == pytest.approx(2.0)
    assert result.span_days == pytest.approx(1.0)


def test_a_run_of_complaints_whose_latest_reports_speak_of_threats_is_rising() -> None:
    assert escalation(reports(1, 1, 1, 1, 1, 1, 2, 2, 3)).rising
    assert escalation(reports(1, 1, 1, 1, 2, 3)).rising


@pytest.mark.parametrize(
    "levels",
    [
        (1, 1, 1, 1, 1, 1),  # steady
        (1, 2, 1, 2, 1, 2),  # the classifier wavering between two levels
        (1, 1, 1, 3, 1, 1, 1),  # one stray report in the middle
        (3, 2, 2, 1, 1),  # calming down
        (1, 3),  # too few reports for a trend
    ],
)
def test_no_clear_rise_is_not_rising(levels: tuple[int, ...]) -> None:
    assert not escalation(reports(*levels)).rising


def test_reports_are_taken_in_time_order_whatever_order_they_come_in() -> None:
    points = reports(0, 1, 2, 2, 3)
    assert escalation(list(reversed(points))) == escalation(points)


def test_reports_all_at_one_moment_have_no_slope() -> None:
    result = escalation(reports(1, 2, 3, hours_apart=0.0))
    assert result.slope_per_day == 0.0
    assert result.span_days == 0.0


def test_a_bursts_explanation_says_how_far_above_the_norm_in_words_staff_read() -> None:
    """Staff read "p=1.9e-06" as nothing: the explanation says the norm for as many days and the count, in words; the
    number stays in `why` for those who want it."""
    why = {"problems": 12, "expected": 1.83, "window_days": 3, "baseline_days": 28, "p_value": 1.9e-06}
    said = explain("burst", "城北街道", "环境保护", why)
    assert "p=" not in said
    assert "e-0" not in said
    assert "远高于平常：平常 3 天约 2 个，这 3 天 12 个" in said, said
    assert "平常数据前 28 天" in said
    first_days = explain("burst", "城北街道", "环境保护", {**why, "baseline_days": 0, "expected": 0.4})
    assert "平常 3 天不到 1 个" in first_days, first_days
    assert "按全区估计" in first_days, first_days
