"""What a rule concludes: per window at every judged position (`Window`), and for one
brand at one moment (`Finding`), with the reasons it can give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.detection.series import Array
from monitor.kernel.events import Severity


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule concluded for one brand at one moment, with the numbers behind it."""

    rule: str
    firing: bool
    elevated: bool
    severity: Severity | None
    window_start: datetime
    window_end: datetime
    observed: float
    expected: float
    observed_negative: int
    observed_total: int
    expected_negative: float
    expected_total: float
    negative_share: float
    usual_share: float
    z: float
    reason: str
    calibration: str = ""  # how the threshold it judged by was set; "" for a fixed z


@dataclass(frozen=True, slots=True)
class Window:
    """One window's judgement at every evaluated position (numpy arrays)."""

    buckets: int
    observed: Array
    expected: Array
    expected_total: Array
    expected_negative: Array
    z: Array
    firing: Array
    elevated: Array
    critical: Array
    reason: Array  # small ints, see REASONS
    total: Array
    negative: Array
    usual_share: Array
    # Calibrated tests: where each position's window starts (its width varies), the
    # threshold it was judged against and how that threshold was set.
    start: Array | None = None
    threshold: Array | None = None
    note: tuple[str, ...] = ()
    active: Array | None = None  # where this window speaks (others judge elsewhere)
    test: str = "window"  # "window", or a calibrated test: "z" or "cusum"


REASONS = (
    "within the usual range",
    "too few mentions in the window",
    "not enough above the usual count",
    "negative share not significantly above usual",
    "too little history to judge",
    "cold start: absolute threshold",
    "unusually high against the baseline",
    "far above the usual level for this time of day",
    "building up: evidence accumulated above the usual level",
)
