"""One rule over a whole bucket series, bucket by bucket, through the incident state machine.

The one stepping loop: `pulso backtest` and the history of stored counts both use it.
Each bucket is judged as the daemon would judge it at the bucket's end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from monitor.detection.incidents import Incident, step
from monitor.detection.rules import SpikeRule
from monitor.detection.series import Series
from monitor.detection.verdicts import Finding
from monitor.settings import DetectorSettings

Silenced = Callable[[datetime], bool]


@dataclass(frozen=True, slots=True)
class Replayed:
    """An incident the replay opened: as it ended (or stood at the end) and when it fired."""

    incident: Incident
    opening: Finding  # the finding of the bucket that opened it
    escalated_at: datetime | None


def _never(_: datetime) -> bool:
    return False


def replay(
    rule: SpikeRule,
    series: Series,
    settings: DetectorSettings,
    silenced: Silenced = _never,
    first: int = 0,
) -> list[Replayed]:
    """Every incident `rule` opens judging the buckets of `series` from position `first` on."""
    positions = np.arange(first, len(series))
    windows = rule.assess(series, positions)
    hot = np.zeros(len(positions), dtype=bool)
    for window in windows:
        hot |= window.firing | window.elevated
    step_time = timedelta(seconds=rule.bucket)
    incident: Incident | None = None
    opening: Finding | None = None
    escalated: datetime | None = None
    found: list[Replayed] = []
    for row, position in enumerate(positions):
        if incident is None and not hot[row]:
            continue
        now = series.time(int(position)) + step_time
        finding = rule.pick(series, windows, row, int(position), now)
        incident, changes = step(incident, finding, now, settings, silenced(now))
        if "opened" in changes:
            opening, escalated = finding, None
        if "escalated" in changes:
            escalated = now
        if "resolved" in changes and incident is not None and opening is not None:
            found.append(Replayed(incident, opening, escalated))
            incident = None
    if incident is not None and incident.status == "firing" and opening is not None:
        found.append(Replayed(incident, opening, escalated))
    return found
