"""Block Kit messages for alert events; every piece of post text is escaped here.

Slack's limits are kept by construction: a header holds at most 150 characters, a
section at most 3,000, a message at most 50 blocks; long posts are cut at a word.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from monitor.kernel.events import AlertEvent, Example, ThemeSummary
from notifiers.render import (
    clean,
    counts_line,
    resolution,
    sources_line,
    status,
    themes_line,
    title,
    why,
)

HEADER_MAX = 150
SECTION_MAX = 3000
TEXT_MAX = 3000
MAX_BLOCKS = 50
MAX_THEMES = 5
EXAMPLES_PER_THEME = 2
STATUS_BLOCK = "pulso_status"
METADATA_TYPE = "pulso_alert"

# Slack only turns <!channel>, <!here>, <@U…> into pings, and escaping `<` defeats those;
# a word joiner also keeps bare "@channel" inert if a workspace parses names.
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_OPEN_ENTITY = re.compile(r"&[a-z]*$")
_UNSAFE_URL = re.compile(r"[\s<>|\x00-\x1f\x7f]")
SEVERITY_ICON = {"warning": ":warning:", "critical": ":rotating_light:"}
# Look-alikes for mrkdwn's formatting marks (Slack has no escape for them).
_MARKS = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})

Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape untrusted text for Slack mrkdwn: `&`, `<`, `>` and broadcast words."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", escaped)


def clip(escaped: str, limit: int) -> str:
    """Cut already-escaped text to `limit` characters without splitting an `&…;` entity."""
    if len(escaped) <= limit:
        return escaped
    return _OPEN_ENTITY.sub("", escaped[: limit - 1]) + "…"


def inert(text: str) -> str:
    """Escape a post's text (or its author, or a theme named from posts) and defuse Slack's
    formatting marks in it: *bold*, _italic_, ~strike~ and `code` are shown, not applied."""
    return escape(text).translate(_MARKS)


def safe_link(url: str | None, label: str) -> str:
    """A `<url|label>` link if `url` is a plain http(s) URL, else the escaped label.

    A URL with a user part (`https://x.com@evil.example/`) is not linked: it would go to
    the host after the `@` under a label that names the platform.
    """
    if url:
        parts = urlsplit(url)
        target = url.replace("&", "&amp;")
        plain = parts.scheme in ("http", "https") and parts.hostname and "@" not in parts.netloc
        if plain and len(target) <= 1000 and not _UNSAFE_URL.search(url):
            return f"<{target}|{inert(label)}>"
    return inert(label)


def metadata(key: str, event: AlertEvent) -> dict[str, Any]:
    """Message metadata that lets a later try recognise this delivery."""
    payload = {"key": key, "alert_id": event.alert_id, "kind": event.kind}
    return {"event_type": METADATA_TYPE, "event_payload": payload}


def metadata_key(message: dict[str, Any]) -> str | None:
    """The delivery key in a message's Pulso metadata, if it has any."""
    found = message.get("metadata")
    if not isinstance(found, dict) or found.get("event_type") != METADATA_TYPE:
        return None
    payload = found.get("event_payload")
    key = payload.get("key") if isinstance(payload, dict) else None
    return key if isinstance(key, str) else None


def fallback_text(event: AlertEvent) -> str:
    """The notification text (shown in push notifications, search and old clients)."""
    if event.kind == "resolved":
        text = f"Resolved: {title(event)}. {resolution(event)}"
    elif event.kind == "updated":
        fresh = ", ".join(event.new_themes) or themes_line(event)
        text = f"New complaint theme: {fresh} ({title(event)}). Themes now: {themes_line(event)}"
    else:
        head = "Escalated" if event.kind == "escalated" else "Alert"
        text = f"{head}: {title(event)}. {why(event)}"
    return clip(escape(text), TEXT_MAX)


def root_blocks(event: AlertEvent) -> list[Block]:
    """The incident's own message: status, why it fired, where, themes and examples."""
    icon = SEVERITY_ICON.get(event.severity, "")
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": clean(title(event), HEADER_MAX)}},
        status_block(event),
        _section(f"{icon} *Why it fired:* {escape(why(event))}"),
    ]
    where = []
    if event.sources:
        where.append(f"*Sources:* {escape(sources_line(event))}")
    if event.touchpoints:
        where.append(f"*Touchpoints:* {escape(counts_line(event.touchpoints))}")
    if where:
        blocks.append(_section("\n".join(where)))
    blocks += [_theme_section(theme) for theme in event.themes[:MAX_THEMES]]
    if event.examples and not event.themes:
        blocks.append(_fit("*Example posts*", [_example_line(e) for e in event.examples]))
    context = f"Pulso · alert #{event.alert_id} · brand `{escape(event.brand)}`"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return _limit(blocks)


def status_block(event: AlertEvent) -> Block:
    """The root's status line, which later events replace in place."""
    return {
        "type": "context",
        "block_id": STATUS_BLOCK,
        "elements": [{"type": "mrkdwn", "text": f"*{escape(status(event))}*"}],
    }


def with_status(blocks: list[Block], event: AlertEvent) -> list[Block]:
    """The root's current blocks (as Slack returns them) with the status line of `event`."""
    line = status_block(event)
    updated = [line if block.get("block_id") == STATUS_BLOCK else block for block in blocks]
    if line not in updated:
        updated.insert(1 if updated and updated[0].get("type") == "header" else 0, line)
    return _limit(updated)


def reply_blocks(event: AlertEvent) -> list[Block]:
    """A thread reply: an escalation, a new complaint theme or the resolution."""
    if event.kind == "resolved":
        return [_section(f":white_check_mark: *Resolved.* {escape(resolution(event))}")]
    if event.kind == "updated":
        fresh = escape(", ".join(event.new_themes)) if event.new_themes else ""
        label = f" _{fresh}_" if fresh else ""
        head = _section(f":new: *New complaint theme in this incident:*{label}. Themes now:")
        return _limit([head, *(_theme_section(t) for t in event.themes[:MAX_THEMES])])
    text = f":arrow_up: *Escalated to {event.severity}.* {escape(why(event))}"
    if event.themes:
        text += f"\n*Themes:* {escape(themes_line(event))}"
    return [_section(text)]


def _section(text: str) -> Block:
    # verbatim: Slack must not auto-link names or channels inside post text.
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, SECTION_MAX), "verbatim": True},
    }


def _fit(head: str, lines: list[str]) -> Block:
    """A section of `head` and as many whole `lines` as fit (a link is never cut)."""
    text = head
    for line in lines:
        if len(text) + 1 + len(line) > SECTION_MAX:
            break
        text += "\n" + line
    return _section(text)


def _theme_section(theme: ThemeSummary) -> Block:
    head = f"*Theme: {clip(inert(clean(theme.label, 80)), 200)}* ({theme.size} posts)"
    examples = theme.examples[:EXAMPLES_PER_THEME]
    return _fit(head, [_example_line(e) for e in examples])


def _example_line(example: Example) -> str:
    author = f"@{clean(example.author, 60)}" if example.author else "a post"
    link = safe_link(example.url, f"{author} on {clean(example.source, 30)}")
    return f"> {clip(inert(clean(example.text)), 1000)}\n— {link}"


def _limit(blocks: list[Block]) -> list[Block]:
    """At most 50 blocks; the closing context block is kept."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], blocks[-1]]
