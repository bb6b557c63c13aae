"""Alert events: what the detector concluded, in the shape notifiers render."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EventKind = Literal["opened", "escalated", "updated", "resolved"]
Severity = Literal["warning", "critical"]


@dataclass(frozen=True, slots=True)
class Example:
    """A representative post (untrusted text: notifiers must escape it)."""

    text: str
    url: str | None
    source: str
    author: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class ThemeSummary:
    """A group of similar complaints: a keyword label, how many, and a post or two."""

    label: str
    size: int
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One change in an incident's life, queued in the outbox for every notifier."""

    kind: EventKind
    alert_id: int
    brand: str
    brand_name: str
    rule: str
    severity: Severity
    started_at: str
    window_start: str
    window_end: str
    observed_negative: int
    expected_negative: float
    observed_total: int
    expected_total: float
    negative_share: float
    usual_share: float
    z: float
    examples: tuple[Example, ...] = ()
    sources: dict[str, int] = field(default_factory=dict)
    touchpoints: dict[str, int] = field(default_factory=dict)
    themes: tuple[ThemeSummary, ...] = ()
    peak_negative: int = 0
    total_negative: int = 0
    resolved_at: str | None = None
    sequence: int = 0
    new_themes: tuple[str, ...] = ()  # `updated`: the labels that just appeared
    detail: str = ""  # rules without counts (source_down:<source>) say why in words
    calibration: str = ""  # how the crossed threshold was set; "" for a fixed z

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the outbox payload)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertEvent:
        """Rebuild an event from its outbox payload."""
        values = dict(data)
        values["examples"] = tuple(Example(**e) for e in values.get("examples", ()))
        values["themes"] = tuple(
            ThemeSummary(
                label=t["label"],
                size=t["size"],
                examples=tuple(Example(**e) for e in t.get("examples", ())),
            )
            for t in values.get("themes", ())
        )
        values["new_themes"] = tuple(values.get("new_themes", ()))
        return cls(**values)
