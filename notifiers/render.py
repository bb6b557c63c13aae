"""Turn alert events into words: plain text for consoles and notification fallbacks."""

from __future__ import annotations

import re
from datetime import datetime

from monitor.kernel.display import visible
from monitor.kernel.events import AlertEvent, Example

_SPACE = re.compile(r"\s+")

RULE_TITLES = {"negative_spike": "negative spike", "volume_spike": "volume spike"}
SOURCE_DOWN = "source_down:"


def clean(text: str, limit: int = 280) -> str:
    """Untrusted text on one line, without control, bidi or invisible characters, cut at
    `limit` characters."""
    flat = _SPACE.sub(" ", visible(text)).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + "…"


def hhmm(iso: str) -> str:
    """A timestamp as `HH:MM UTC`."""
    return datetime.fromisoformat(iso).strftime("%H:%M UTC")


def minutes_between(start: str, end: str) -> int:
    """Whole minutes from `start` to `end`."""
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return max(0, round(delta.total_seconds() / 60))


def duration(minutes: int) -> str:
    """`1 h 20 min` style durations."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def title(event: AlertEvent) -> str:
    """`Paquetto: negative spike (critical)`."""
    rule = RULE_TITLES.get(event.rule, event.rule)
    if event.rule.startswith(SOURCE_DOWN):
        rule = f"source down ({event.rule.removeprefix(SOURCE_DOWN)})"
    return f"{event.brand_name}: {rule} ({event.severity})"


def why(event: AlertEvent) -> str:
    """One sentence saying why the alert fired, in counts people can check."""
    if event.detail:
        return event.detail
    minutes = minutes_between(event.window_start, event.window_end)
    share = f"negative share {event.negative_share:.0%} (usually {event.usual_share:.0%})"
    since = f"since {hhmm(event.started_at)}"
    beyond = f" Beyond this brand's usual range: {event.calibration}." * bool(event.calibration)
    if event.rule == "volume_spike":
        return (
            f"{event.observed_total} mentions in the last {minutes} min, of any sentiment, "
            f"usually {event.expected_total:.0f} at this time of day; {share}; {since}.{beyond}"
        )
    if event.calibration:  # judged on the share: the negatives the usual share would give
        usual = f"{event.expected_negative:.0f} expected at the usual share"
    else:
        usual = f"usually {event.expected_negative:.0f} at this time of day"
    return (
        f"{event.observed_negative} negative mentions in the last {minutes} min, "
        f"{usual}; {share}; {event.observed_total} mentions in all; {since}.{beyond}"
    )


def lasted(event: AlertEvent) -> str:
    """How long a resolved incident lasted, e.g. `1 h 20 min`."""
    return duration(minutes_between(event.started_at, event.resolved_at or event.window_end))


def resolution(event: AlertEvent) -> str:
    """What the incident amounted to, once it is over."""
    end = event.resolved_at or event.window_end
    if event.rule.startswith(SOURCE_DOWN):
        return f"Collecting again since {hhmm(end)}. It was down for {lasted(event)}."
    return (
        f"Back to normal at {hhmm(end)}. Lasted {lasted(event)}; peak {event.peak_negative} "
        f"negative mentions per window; {event.total_negative} negative mentions in all."
    )


def status(event: AlertEvent) -> str:
    """The incident's state after `event`: `🔴 Open · critical` or `✅ Resolved after 20 min`."""
    if event.kind == "resolved":
        return f"✅ Resolved after {lasted(event)}"
    icon = "🔴" if event.severity == "critical" else "🟠"
    line = f"{icon} Open · {event.severity}"
    if event.kind == "escalated":
        line += f" · escalated at {hhmm(event.window_end)}"
    return line


def themes_line(event: AlertEvent) -> str:
    """`late delivery (12) · refund (5)`: the incident's current themes."""
    return " · ".join(f"{clean(t.label, 80)} ({t.size})" for t in event.themes)


def counts_line(counts: dict[str, int]) -> str:
    """`x 40 · bluesky 12`, largest first."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return " · ".join(f"{name} {count}" for name, count in ordered)


def sources_line(event: AlertEvent) -> str:
    """Where the window's negative mentions came from."""
    return counts_line(event.sources)


def example_line(example: Example) -> str:
    """`"text" (@author on x) url` on one line."""
    author = f"@{clean(example.author, 60)}" if example.author else "someone"
    link = f" {clean(example.url, 300)}" if example.url else ""
    return f'"{clean(example.text)}" ({author} on {example.source}){link}'


def plain_text(event: AlertEvent) -> str:
    """The whole alert as plain text (console output)."""
    if event.kind == "resolved":
        return f"RESOLVED {title(event)} — {resolution(event)}"
    if event.kind == "updated":
        fresh = f": {clean(', '.join(event.new_themes), 160)}" if event.new_themes else ""
        lines = [f"NEW THEME {title(event)}{fresh}"]
        for theme in event.themes:
            lines.append(f"  Theme: {clean(theme.label, 80)} ({theme.size} posts)")
            lines.extend(f"    - {example_line(e)}" for e in theme.examples)
        return "\n".join(lines)
    head = "ESCALATED" if event.kind == "escalated" else "ALERT"
    lines = [f"{head} {title(event)}", f"  Why: {why(event)}"]
    if event.sources:
        lines.append(f"  Sources: {sources_line(event)}")
    if event.touchpoints:
        lines.append(f"  Touchpoints: {counts_line(event.touchpoints)}")
    for theme in event.themes:
        lines.append(f"  Theme: {clean(theme.label, 80)} ({theme.size} posts)")
        lines.extend(f"    - {example_line(e)}" for e in theme.examples)
    if not event.themes:
        lines.extend(f"  - {example_line(e)}" for e in event.examples)
    return "\n".join(lines)
