"""The fixed-z spike rules (a `z_warning` set) on synthetic bucket counts: baseline, gates,
windows, cold start. The default, budget-calibrated rules: test_calibration.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from monitor.detection.rules import SpikeRule
from monitor.detection.series import Counts, Series
from monitor.settings import DetectorSettings

NOW = datetime(2026, 11, 20, 18, 5, tzinfo=UTC)  # the end of a bucket: a whole window
BUCKET = 300
LAST = int(NOW.timestamp()) // BUCKET - 1
PER_DAY = 86_400 // BUCKET
SETTINGS = DetectorSettings.model_validate(
    {"negative_spike": {"z_warning": 4.0, "z_critical": 8.0}}
)
NEGATIVE = SpikeRule("negative_spike", SETTINGS)
VOLUME = SpikeRule("volume_spike", SETTINGS)
# The fixed-z windows (hour-of-week baseline) that a z_warning override brings back.
FIXED_VOLUME = SpikeRule(
    "volume_spike",
    DetectorSettings.model_validate({"volume_spike": {"z_warning": 6.0, "min_count": 30}}),
)


def history(days: float = 7, total: int = 6, negative: int = 1, jitter: bool = True) -> Counts:
    """`days` of steady chatter before the current window (a little day-to-day wobble)."""
    first = LAST - int(days * PER_DAY) - 12
    counts: Counts = {}
    for i in range(first, LAST - 2):
        wobble = (i // PER_DAY) % 3 - 1 if jitter else 0
        counts[i] = (total + wobble, negative)
    return counts


def with_window(counts: Counts, total: int, negative: int, buckets: int = 3) -> Counts:
    """Put `total`/`negative` into each of the last `buckets` buckets."""
    return {**counts, **{LAST - k: (total, negative) for k in range(buckets)}}


def judge(rule: SpikeRule, counts: Counts, now: datetime = NOW) -> object:
    first = LAST - int(rule.lookback().total_seconds()) // BUCKET
    series = Series.from_counts(counts, first, LAST, BUCKET)
    return rule.finding(series, now - timedelta(microseconds=1))


def test_quiet_day_does_not_fire() -> None:
    finding = judge(NEGATIVE, with_window(history(), 6, 1))
    assert not finding.firing and not finding.elevated
    assert finding.expected_negative == pytest.approx(3, abs=0.01)


def test_negative_burst_fires_with_the_numbers() -> None:
    finding = judge(NEGATIVE, with_window(history(), 20, 15))
    assert finding.firing and finding.severity == "critical"
    assert (finding.observed_negative, finding.observed_total) == (45, 60)
    assert finding.expected_negative == pytest.approx(3, abs=0.01)
    assert finding.usual_share == pytest.approx(1 / 6, abs=0.02)
    assert finding.window_start == datetime(2026, 11, 20, 17, 50, tzinfo=UTC)
    assert "15-min window" in finding.reason


def test_moderate_burst_is_a_warning() -> None:
    finding = judge(NEGATIVE, with_window(history(), 8, 4))
    assert finding.firing and finding.severity == "warning"


def test_happy_volume_spike_does_not_fire_the_negative_rule_but_the_volume_rule() -> None:
    # Ten times the volume with the usual share of negatives: a campaign, not a crisis.
    counts = with_window(history(), 60, 10)
    negative = judge(NEGATIVE, counts)
    assert not negative.firing
    assert "share" in negative.reason
    volume = judge(VOLUME, counts)
    assert volume.firing and volume.observed == pytest.approx(60, abs=0.01)  # the last bucket
    assert "far above the usual level for this time of day" in volume.reason


def test_small_counts_never_fire() -> None:
    finding = judge(NEGATIVE, with_window(history(total=1, negative=0), 1, 1))
    assert not finding.firing
    assert "too few" in finding.reason


def test_earlier_spikes_do_not_poison_the_baseline() -> None:
    counts = history()
    for k in range(3):  # yesterday at this time there was an incident too
        counts[LAST - PER_DAY - k] = (20, 15)
    finding = judge(NEGATIVE, with_window(counts, 20, 15))
    assert finding.firing
    assert finding.expected_negative == pytest.approx(3, abs=0.01)


def test_a_slow_burst_is_caught_by_the_long_window() -> None:
    # One extra negative per bucket for an hour: too few for 15 minutes, clear in 60.
    counts = with_window(history(total=4, negative=0, jitter=False), 5, 1, buckets=12)
    finding = judge(NEGATIVE, counts)
    assert finding.firing
    assert "60-min window" in finding.reason
    assert finding.window_start == NOW - timedelta(hours=1)


def test_cold_start_uses_absolute_thresholds_only() -> None:
    young = history(days=0.5, total=2, negative=0, jitter=False)
    assert not judge(NEGATIVE, with_window(young, 5, 5)).firing  # 15 < 25 negatives
    finding = judge(NEGATIVE, with_window(young, 12, 10))
    assert finding.firing and finding.reason.startswith("cold start")


def test_nothing_fires_without_enough_history_to_judge() -> None:
    newborn: Counts = {LAST - 5: (3, 0)}
    finding = judge(NEGATIVE, with_window(newborn, 30, 30))
    assert not finding.firing
    assert "too little history" in finding.reason


def test_days_before_collection_began_are_not_counted_as_zero() -> None:
    # Two and a half days of history: the baseline has those days, not five more zeros.
    finding = judge(NEGATIVE, with_window(history(days=2.5), 6, 1))
    assert not finding.firing
    assert finding.expected_negative == pytest.approx(3, abs=0.01)


def test_share_drifting_up_over_the_last_day_is_not_a_burst() -> None:
    counts = history(total=20, negative=2)
    for i in range(LAST - PER_DAY, LAST - 2):  # the last day ran at 40% negative
        counts[i] = (20, 8)
    finding = judge(NEGATIVE, with_window(counts, 20, 8))
    assert not finding.firing


def test_hour_of_week_baseline_once_there_are_four_weeks() -> None:
    # Every Friday at this hour is busy; the weekdays between are quiet.
    counts = history(days=30, total=4, negative=1, jitter=False)
    for week in range(1, 5):
        for k in range(12):
            counts[LAST - week * 7 * PER_DAY - k] = (40, 10)
    busy_friday = judge(FIXED_VOLUME, with_window(counts, 40, 10, buckets=12))
    assert not busy_friday.firing
    assert busy_friday.expected_total > 300  # the daily baseline would say 48
    young = {i: c for i, c in counts.items() if i > LAST - 20 * PER_DAY}
    assert judge(FIXED_VOLUME, with_window(young, 40, 10, buckets=12)).firing


def test_a_partial_bucket_is_compared_with_the_same_part_of_earlier_days() -> None:
    # Three minutes into a bucket, 3 mentions is on pace with the usual 5 per bucket.
    counts = history(total=5, negative=1, jitter=False)
    counts.update({LAST - 1: (5, 1), LAST: (5, 1), LAST + 1: (3, 1)})
    first = LAST + 1 - int(VOLUME.lookback().total_seconds()) // BUCKET
    series = Series.from_counts(counts, first, LAST + 1, BUCKET)
    short = FIXED_VOLUME.assess(series, np.array([LAST + 1 - first]), fraction=0.6)[0]
    assert short.buckets == 3
    assert short.observed[0] == pytest.approx(13)  # 5 + 5 + the 3 so far
    assert short.expected[0] == pytest.approx(13)  # 5 + 5 + 0.6 x 5
    assert not short.firing[0]
    # The calibrated rule's bucket test does the same: 3 so far against 0.6 x 5.
    bucket = VOLUME.assess(series, np.array([LAST + 1 - first]), fraction=0.6)[0]
    assert (bucket.test, bucket.observed[0], bucket.expected[0]) == ("z", 3, pytest.approx(3))
    assert not bucket.firing[0] and bucket.z[0] == pytest.approx(0)


def test_rule_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="z_critical"):
        DetectorSettings.model_validate({"negative_spike": {"z_warning": 5, "z_critical": 4}})
    with pytest.raises(ValueError, match="multiple of bucket_minutes"):
        DetectorSettings.model_validate({"windows_minutes": [15, 62]})
