"""The negative-spike rule on synthetic bucket counts."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.detection import Counts, NegativeSpikeRule
from monitor.settings import DetectorSettings

NOW = datetime(2026, 11, 20, 18, 2, tzinfo=UTC)
BUCKET = 300
LAST = int(NOW.timestamp()) // BUCKET
PER_DAY = 86_400 // BUCKET


def history(days: int = 7, total: int = 6, negative: int = 1) -> Counts:
    """`days` of flat chatter before the current window."""
    first = LAST - days * PER_DAY - 3
    return {i: (total, negative) for i in range(first, LAST - 2)}


def with_window(counts: Counts, total: int, negative: int) -> Counts:
    """Put `total`/`negative` into each of the last three buckets."""
    return {**counts, **{LAST - k: (total, negative) for k in range(3)}}


RULE = NegativeSpikeRule(DetectorSettings())


def test_quiet_day_does_not_fire() -> None:
    finding = RULE.evaluate(with_window(history(), 6, 1), NOW)
    assert not finding.firing
    assert finding.expected_negative == 3


def test_negative_burst_fires_with_the_numbers() -> None:
    finding = RULE.evaluate(with_window(history(), 20, 15), NOW)
    assert finding.firing and finding.severity == "critical"
    assert (finding.observed_negative, finding.observed_total) == (45, 60)
    assert finding.expected_negative == 3
    assert round(finding.usual_share, 3) == round(1 / 6, 3)
    assert finding.window_start == datetime(2026, 11, 20, 17, 50, tzinfo=UTC)


def test_moderate_burst_is_a_warning() -> None:
    finding = RULE.evaluate(with_window(history(), 8, 5), NOW)
    assert finding.firing and finding.severity == "warning"


def test_happy_volume_spike_does_not_fire() -> None:
    # Ten times the volume, the usual share of negatives: a campaign, not a crisis.
    finding = RULE.evaluate(with_window(history(), 60, 10), NOW)
    assert not finding.firing
    assert "share" in finding.reason


def test_small_counts_never_fire() -> None:
    finding = RULE.evaluate(with_window(history(total=1, negative=0), 3, 3), NOW)
    assert not finding.firing
    assert "min_count" in finding.reason


def test_earlier_spikes_do_not_poison_the_baseline() -> None:
    counts = history()
    # Yesterday at this time there was an incident too.
    for k in range(3):
        counts[LAST - PER_DAY - k] = (20, 15)
    finding = RULE.evaluate(with_window(counts, 20, 15), NOW)
    assert finding.firing
    assert finding.expected_negative == 3


def test_cold_start_needs_a_large_absolute_burst() -> None:
    young: Counts = {LAST - 20: (5, 1)}
    assert not RULE.evaluate(with_window(young, 5, 5), NOW).firing
    finding = RULE.evaluate(with_window(young, 12, 10), NOW)
    assert finding.firing and finding.reason.startswith("cold start")


def test_days_before_collection_began_are_not_counted_as_zero() -> None:
    # Two days of history only: the baseline has two days, not five zeros.
    finding = RULE.evaluate(with_window(history(days=2), 6, 1), NOW)
    assert not finding.firing
    assert finding.expected_negative == 3
