"""Block Kit messages for alert events; every piece of post text is escaped here."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from monitor.events import AlertEvent, Example
from notifiers.render import clean, counts_line, resolution, sources_line, title, why

# Slack only turns <!channel>, <!here>, <@U…> into pings, and escaping `<` defeats those;
# a word joiner also keeps bare "@channel" inert if a workspace parses names.
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
SEVERITY_ICON = {"warning": ":warning:", "critical": ":rotating_light:"}


def escape(text: str) -> str:
    """Escape untrusted text for Slack mrkdwn: `&`, `<`, `>` and broadcast words."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", escaped)


def safe_link(url: str | None, label: str) -> str:
    """A `<url|label>` link if `url` is a plain http(s) URL, else the escaped label."""
    if url:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc and not re.search(r"[\s<>|]", url):
            return f"<{url.replace('&', '&amp;')}|{escape(label)}>"
    return escape(label)


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link names or channels inside post text.
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _example_line(example: Example) -> str:
    author = f"@{clean(example.author, 60)}" if example.author else "a post"
    link = safe_link(example.url, f"{author} on {example.source}")
    return f"> {escape(clean(example.text))}\n— {link}"


def fallback_text(event: AlertEvent) -> str:
    """The notification text (shown in push notifications and old clients)."""
    if event.kind == "resolved":
        return escape(f"Resolved: {title(event)}. {resolution(event)}")
    head = "Escalated" if event.kind == "escalated" else "Alert"
    return escape(f"{head}: {title(event)}. {why(event)}")


def alert_blocks(event: AlertEvent) -> list[dict[str, Any]]:
    """The root message of an incident: what, why, where, examples."""
    icon = SEVERITY_ICON.get(event.severity, "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(event)[:150]}},
        _mrkdwn(f"{icon} *Why it fired:* {escape(why(event))}"),
    ]
    if event.sources:
        blocks.append(_mrkdwn(f"*Sources:* {escape(sources_line(event))}"))
    if event.touchpoints:
        blocks.append(_mrkdwn(f"*Touchpoints:* {escape(counts_line(event.touchpoints))}"))
    for theme in event.themes:
        examples = "\n".join(_example_line(e) for e in theme.examples)
        head = f"*Theme: {escape(clean(theme.label, 80))}* ({theme.size} posts)"
        blocks.append(_mrkdwn(f"{head}\n{examples}"))
    if event.examples and not event.themes:
        lines = "\n".join(_example_line(e) for e in event.examples)
        blocks.append(_mrkdwn(f"*Example posts*\n{lines}"))
    context = f"Pulso · alert #{event.alert_id} · brand `{escape(event.brand)}`"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return blocks


def update_blocks(event: AlertEvent) -> list[dict[str, Any]]:
    """A thread reply for an escalation or a resolution."""
    if event.kind == "resolved":
        return [_mrkdwn(f":white_check_mark: *Resolved.* {escape(resolution(event))}")]
    return [_mrkdwn(f":arrow_up: *Escalated to {event.severity}.* {escape(why(event))}")]
