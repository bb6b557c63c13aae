"""The volume rule's own noise model and its alert budget: thresholds, CUSUM, live = backtest."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from monitor.detection.backtest import backtest_report
from monitor.detection.calibration import (
    CUSUM_CAP,
    CUSUM_DRIFT,
    Scores,
    season_lags,
    seasonal_z,
    sliding_min,
    threshold,
    with_cusum,
)
from monitor.detection.replay import replay
from monitor.detection.rules import SpikeRule
from monitor.detection.series import Series
from monitor.detection.share_noise import share_scores
from monitor.settings import DetectorSettings

BUCKET = 300
PER_DAY = 86_400 // BUCKET
CLI = (sys.executable, "-m", "monitor.cli")
START = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()) // BUCKET  # a Monday, 00:00


def heavy_tailed(days: int, seed: int, level: float = 20.0) -> np.ndarray:
    """Mentions per bucket as real ones come: a daily rhythm, gamma-Poisson noise, and
    now and then a news hour (a log-normal multiplier), no labelled burst."""
    rng = np.random.default_rng(seed)
    n = days * PER_DAY
    hour = (np.arange(n) % PER_DAY) / PER_DAY * 24
    rhythm = level * (1.2 + np.sin((hour - 9) / 24 * 2 * np.pi))
    mean = rhythm * rng.gamma(4.0, 1 / 4.0, size=n)
    news = np.repeat(rng.random(n // 12) < 0.01, 12)[:n]
    mean = mean * np.where(news, rng.lognormal(0.7, 0.4, size=n), 1.0)
    return rng.poisson(mean).astype(np.int64)


def volume_rule(**detector: object) -> SpikeRule:
    return SpikeRule("volume_spike", DetectorSettings.model_validate(detector))


def series_of(total: np.ndarray) -> Series:
    return Series(START, BUCKET, total, np.zeros_like(total))


def test_threshold_is_the_budgeted_daily_peak() -> None:
    peaks = np.arange(1.0, 29.0)  # 28 days: 1..28
    # 0.5 a week for two tests: 0.25 a week each, 1 day in 4 weeks may pass: the 2nd largest.
    assert threshold(peaks, 0.5, "z").fire == 27.0
    assert threshold(peaks, 2.0, "z").fire == 24.0  # 4 days may pass: the 5th largest
    assert threshold(peaks, 0.5, "z").basis == "budget"
    assert threshold(np.full(28, 0.5), 0.5, "z").fire == 3.0  # the floor
    assert threshold(np.full(28, 0.5), 0.5, "cusum").fire == 6.0


def test_young_brands_say_so_and_use_conservative_thresholds() -> None:
    young = threshold(np.array([1.0, np.nan, 2.0]), 0.5, "z")
    assert (young.basis, young.fire) == ("young", 8.0)
    assert "new brand" in young.describe(0.5)
    so_far = threshold(np.array([3.5, 4.0, 9.0, 2.0]), 0.5, "z")
    assert (so_far.basis, so_far.fire, so_far.days) == ("so far", 9.0, 4)
    assert "full calibration after 14" in so_far.describe(0.5)
    assert "0.5 alerts/week on 28 days" in threshold(np.ones(28), 0.5, "z").describe(0.5)


def brute_cusum(z: np.ndarray, span: int) -> np.ndarray:
    steps = np.minimum(np.nan_to_num(z), CUSUM_CAP) - CUSUM_DRIFT
    out = np.zeros(len(z))
    for t in range(span - 1, len(z)):
        out[t] = max(0.0, max(steps[s : t + 1].sum() for s in range(t - span + 1, t + 1)))
    return out


def test_cusum_is_the_strongest_stretch_within_its_span() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(0, 1.5, 200)
    z[50:60] += 3  # a ramp
    z[120] = np.nan  # a bucket without history counts as nothing
    p = np.arange(200)
    got = with_cusum(Scores(z, np.zeros(200), p, np.zeros(200)), p, 24)
    assert got.cusum == pytest.approx(brute_cusum(z, 24))
    t = 59
    assert got.cusum[t] > 0
    since = int(got.since[t])
    assert np.sum(np.minimum(z[since : t + 1], CUSUM_CAP) - CUSUM_DRIFT) == pytest.approx(
        got.cusum[t]
    )


def test_the_sums_alone_are_the_same_cusum() -> None:
    rng = np.random.default_rng(4)
    for n, span in ((200, 24), (600, 288), (24, 24), (23, 24)):
        z = rng.normal(0, 2, n)
        p = np.arange(n)
        scores = Scores(z, np.zeros(n), p, np.zeros(n))
        full, fast = with_cusum(scores, p, span), with_cusum(scores, p, span, stretches=False)
        assert np.array_equal(full.cusum, fast.cusum)
        if n >= span:
            assert fast.cusum == pytest.approx(brute_cusum(z, span))


def test_sliding_min_is_each_runs_minimum() -> None:
    rng = np.random.default_rng(5)
    for n, width in ((1, 1), (7, 3), (288, 288), (289, 288), (1000, 37)):
        values = rng.normal(size=n)
        expected = [values[i : i + width].min() for i in range(n - width + 1)]
        assert np.array_equal(sliding_min(values, width), expected)


def test_seasonal_z_of_a_run_is_the_z_of_each_position_alone() -> None:
    # A run of positions reads the past by shifted slices, one position by gathering;
    # both must see the same history (NaN before the first data, a partial last bucket).
    total = heavy_tailed(10, seed=6)
    first = PER_DAY // 2
    run = np.arange(PER_DAY * 2, PER_DAY * 10)
    fraction = np.ones(len(run))
    fraction[-1] = 0.4
    together = seasonal_z(total, run, first, BUCKET, fraction)
    for k in (0, 1, 500, len(run) - 1):
        alone = seasonal_z(total, run[k : k + 1], first, BUCKET, fraction[k])
        assert together.z[k] == alone.z[0] or (np.isnan(together.z[k]) and np.isnan(alone.z[0]))
        assert together.expected[k] == alone.expected[0]
    assert int(season_lags(BUCKET).max()) > PER_DAY * 7  # the run reaches before `first`
    assert np.isnan(seasonal_z(total, np.arange(10, 20), first, BUCKET).z).all()


def test_live_ticks_judge_exactly_as_the_backtest() -> None:
    total = heavy_tailed(33, seed=11)
    total[-200:-190] += 120  # a burst in the last day
    series = series_of(total)
    rule = volume_rule()
    positions = np.arange(len(series) - 288, len(series))
    windows = rule.assess(series, positions)
    live = volume_rule()  # a fresh memo: nothing shared with the backtest's
    for row, position in enumerate(positions.tolist()):
        end = series.time(position) + timedelta(seconds=BUCKET)
        backtest = rule.pick(series, windows, row, position, end)
        assert live.finding(series, end) == backtest


def test_a_big_burst_fires_at_once_and_a_slow_ramp_by_its_evidence() -> None:
    quiet = heavy_tailed(30, seed=5)
    # A burst of ten times the usual: the first bucket of it opens the incident.
    burst = quiet.copy()
    at = len(burst) - PER_DAY // 2
    burst[at : at + 6] = burst[at : at + 6] * 10 + 50
    opened = [r.incident for r in replay(volume_rule(), series_of(burst), DetectorSettings())]
    first = [i for i in opened if i.opened_at and i.opened_at > series_of(burst).time(at - 1)]
    assert first and first[0].opened_at == series_of(burst).time(at + 1)
    # A ramp: +60 % for three hours, no bucket of it unusual alone: the CUSUM hears it.
    ramp = quiet.copy()
    ramp[at : at + 36] = np.round(ramp[at : at + 36] * 1.6 + 6)
    rule = volume_rule()
    windows = rule.assess(series_of(ramp), np.arange(at, at + 36))
    z_test, cusum_test = windows[-2], windows[-1]
    assert not z_test.firing.any()
    assert cusum_test.firing.any()
    found = rule.pick(series_of(ramp), windows, int(np.argmax(cusum_test.firing)), at, at_end(at))
    assert "building up" in found.reason and "threshold" in found.reason


def at_end(position: int) -> datetime:
    return series_of(np.zeros(1, dtype=np.int64)).time(position + 1)


def rows_of(total: np.ndarray) -> list[tuple[datetime, int, None]]:
    return [(series_of(total).time(i), int(v), None) for i, v in enumerate(total)]


def test_ordinary_weeks_stay_within_the_budget_and_a_bigger_budget_sends_more() -> None:
    # Ten weeks of heavy-tailed chatter with news hours and no incident at all.
    alerts = {}
    for budget in (0.5, 3.0):
        counts = []
        for seed in range(4):
            rows = rows_of(heavy_tailed(70, seed=100 + seed))
            report = backtest_report(rows, "volume", DetectorSettings(alert_budget=budget))
            calibrated = [a for a in report.alerts if a.fired_at > rows[0][0] + timedelta(days=14)]
            counts.append(len(calibrated) / 8)  # per week, after the two weeks of calibration
        alerts[budget] = float(np.mean(counts))
    assert alerts[0.5] <= 1.0
    assert alerts[3.0] > alerts[0.5]


def test_the_fixed_z_windows_come_back_when_z_warning_is_set() -> None:
    fixed = volume_rule(volume_spike={"z_warning": 6.0})
    assert fixed.judge is None and fixed.params.z_levels() == (6.0, 12.0)
    assert volume_rule().judge is not None
    assert volume_rule(alert_budget=2).budget == 2.0
    assert volume_rule(volume_spike={"alert_budget": 1.5}).budget == 1.5


def test_budget_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="z_critical needs z_warning"):
        DetectorSettings.model_validate({"volume_spike": {"z_critical": 9}})
    with pytest.raises(ValidationError):
        DetectorSettings.model_validate({"alert_budget": 0})


def test_the_live_tick_reuses_the_days_already_calibrated() -> None:
    total = heavy_tailed(40, seed=2)
    negative = with_negatives(total, seed=3)
    for rule in (volume_rule(), negative_rule()):
        judge = rule.judge
        assert judge is not None
        series = Series(START, BUCKET, total, negative)
        end = series.time(len(series) - 1) + timedelta(seconds=BUCKET)
        first = rule.finding(series, end)
        peaks, dispersion = len(judge.memo), len(judge.dispersion)
        assert peaks >= 28
        assert rule.finding(series, end) == first
        assert (len(judge.memo), len(judge.dispersion)) == (peaks, dispersion)  # all reused
        # The next tick's series starts one bucket later, as the daemon loads it: only
        # today is computed again, and the finding is the one a fresh rule would give.
        later = Series(START + 1, BUCKET, total[1:], negative[1:])
        assert rule.finding(later, end) == first
        assert len(judge.memo) == peaks
        assert len(judge.dispersion) <= dispersion + 1
        fresh = negative_rule() if rule.metric == "negative" else volume_rule()
        assert fresh.finding(later, end) == first


def test_backtest_cli_reports_thresholds_and_another_budget(tmp_path: Path) -> None:
    total = heavy_tailed(30, seed=7)
    csv = tmp_path / "counts.csv"
    lines = ["timestamp,total"]
    lines += [f"{t.isoformat()},{v}" for t, v, _ in rows_of(total)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = {}
    for budget in ("0.5", "5"):
        done = subprocess.run(
            [*CLI, "backtest", "--counts", str(csv), "--metric", "volume", "--budget", budget],
            capture_output=True,
            text=True,
            check=True,
        )
        outputs[budget] = done
        assert "thresholds at the end: z >= " in done.stderr
        assert f"calibrated to {budget} alerts/week on 28 days" in done.stderr
    assert len(outputs["5"].stdout.splitlines()) > len(outputs["0.5"].stdout.splitlines())
    bad = subprocess.run(
        [*CLI, "backtest", "--counts", str(csv), "--budget", "-1"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "--budget must be above 0" in bad.stderr


def with_negatives(total: np.ndarray, seed: int, share: float = 0.2) -> np.ndarray:
    """Negatives of each bucket: a share that wanders from bucket to bucket (beta)."""
    rng = np.random.default_rng(seed)
    shares = rng.beta(share * 40, (1 - share) * 40, size=len(total))
    return rng.binomial(total, shares).astype(np.int64)


def negative_rule(**rule: object) -> SpikeRule:
    return SpikeRule("negative_spike", DetectorSettings.model_validate({"negative_spike": rule}))


def fired_in(rule: SpikeRule, series: Series, start: int, stop: int) -> bool:
    return any(
        r.incident.opened_at is not None
        and series.time(start) < r.incident.opened_at <= series.time(stop) + timedelta(minutes=30)
        for r in replay(rule, series, rule.settings)
    )


def test_negative_rule_hears_complaints_not_news() -> None:
    total = heavy_tailed(32, seed=21, level=30)
    negative = with_negatives(total, seed=22)
    at = len(total) - PER_DAY // 3
    # News: eight times the mentions for two hours, with the usual share of negatives.
    news_total, news_negative = total.copy(), negative.copy()
    news_total[at : at + 24] *= 8
    news_negative[at : at + 24] = with_negatives(news_total[at : at + 24], seed=23)
    news = Series(START, BUCKET, news_total, news_negative)
    assert not fired_in(negative_rule(), news, at, at + 24)
    # Complaints: the negatives of that hour doubled and more, the rest as usual.
    burst_total, burst_negative = total.copy(), negative.copy()
    extra = 2 * burst_negative[at : at + 12] + 3
    burst_total[at : at + 12] += extra
    burst_negative[at : at + 12] += extra
    burst = Series(START, BUCKET, burst_total, burst_negative)
    assert fired_in(negative_rule(), burst, at, at + 12)
    # share_margin counts: asking for a share 60 points above usual silences it.
    assert not fired_in(negative_rule(share_margin=0.6), burst, at, at + 12)


def test_robust_thresholds_are_not_lifted_by_frequent_incidents() -> None:
    rng = np.random.default_rng(4)
    clean = rng.gumbel(4.0, 0.6, size=28)
    busy = clean.copy()
    busy[::3] = 15.0  # an incident every third day
    plain, robust = threshold(busy, 0.5, "z"), threshold(busy, 0.5, "z", robust=True)
    assert plain.fire == 15.0  # the empirical peak lands on the incidents' height
    assert robust.fire < 10.0
    assert abs(robust.fire - threshold(clean, 0.5, "z", robust=True).fire) < 2.5


def test_share_scores_follow_the_brands_own_dispersion() -> None:
    total = heavy_tailed(10, seed=31, level=40)
    binomial = np.random.default_rng(32).binomial(total, 0.2)
    wandering = with_negatives(total, seed=33)  # beta-binomial, rho about 1/41
    p = np.arange(len(total) - PER_DAY, len(total))
    quiet = share_scores(total, binomial, p, 0, BUCKET, START)
    wide = share_scores(total, wandering, p, 0, BUCKET, START)
    # Each bucket's score has spread near 1 on its own data: the wandering share is not news.
    assert quiet.steps is not None and wide.steps is not None
    assert 0.8 < np.std(quiet.steps) < 1.25
    assert 0.8 < np.std(wide.steps) < 1.35
    # The window test pools 15 minutes or the hour, whichever stands out more.
    assert wide.width is not None and set(np.unique(wide.width)) == {3, 12}
    # Buckets without mentions add no evidence: a silent night does not drain a ramp.
    scores = share_scores(total, binomial, p, 0, BUCKET, START)
    silent = np.zeros(len(p), dtype=bool)
    steps = with_cusum(scores, p, 24, silent)
    assert np.all(steps.cusum == 0)


def test_the_alert_says_how_its_threshold_was_set() -> None:
    from monitor.kernel.events import AlertEvent
    from notifiers.render import why

    base = {
        "kind": "opened", "alert_id": 1, "brand": "acme", "brand_name": "ACME",
        "rule": "negative_spike", "severity": "warning",
        "started_at": "2026-01-05T10:00:00+00:00", "window_start": "2026-01-05T10:00:00+00:00",
        "window_end": "2026-01-05T10:15:00+00:00", "observed_negative": 31,
        "expected_negative": 12.0, "observed_total": 40, "expected_total": 40.0,
        "negative_share": 0.78, "usual_share": 0.3, "z": 9.0,
    }  # fmt: skip
    old = AlertEvent.from_dict(base)  # a payload queued before calibration existed
    assert old.calibration == "" and "usually 12 at this time of day" in why(old)
    note = threshold(np.ones(28), 0.5, "z").describe(0.5)
    event = AlertEvent.from_dict({**base, "calibration": note})
    text = why(event)
    assert "31 negative mentions in the last 15 min, 12 expected at the usual share" in text
    assert text.endswith(
        "Beyond this brand's usual range: threshold calibrated to 0.5 alerts/week on 28 days."
    )
    # The finding that fires carries it to the event.
    total = heavy_tailed(33, seed=8)
    total[-3:] += 400
    series = series_of(total)
    found = volume_rule().finding(series, series.time(len(series) - 1) + timedelta(minutes=5))
    assert found.firing and found.calibration.startswith("threshold calibrated to 0.5")
