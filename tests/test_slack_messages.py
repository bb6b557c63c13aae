"""What a Slack alert says, for both rules, and that nothing in a post can ping or link."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from monitor.kernel.events import AlertEvent, Example, ThemeSummary
from notifiers.render import plain_text
from notifiers.slack_format import (
    MAX_BLOCKS,
    clip,
    escape,
    fallback_text,
    reply_blocks,
    root_blocks,
    with_status,
)
from tests.test_slack_lifecycle import START, Harness, harness, make_event

__all__ = ["harness"]

PINGS = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U024BE7LH>",
    "<#C0123ABCD|general>",
    "<!subteam^S0123ABC|@cx-team>",
    "<!date^1392734382^{date}|x>",
)
HOSTILE = " ".join(PINGS) + " @channel @here & <https://evil.example|click me>"


def hostile_event(kind: str = "opened") -> AlertEvent:
    """Every field that comes from posts carries the whole arsenal."""
    bad = Example(
        text=HOSTILE,
        url="https://x.com/a/status/1?<!channel>",
        source="x",
        author="<!here> <@U024BE7LH>",
        created_at=START.isoformat(),
    )
    sneaky_url = replace(bad, url="https://x.com/a/status/2?a=1&b=<@U1>|<!channel>")
    good_url = replace(bad, url="https://x.com/a/status/3?a=1&b=2")
    return make_event(
        kind,
        examples=(bad, sneaky_url, good_url),
        themes=(ThemeSummary(f"<!channel> {PINGS[5]}", 12, (bad, good_url)),),
    )


def everything(blocks: list[dict[str, Any]], text: str) -> str:
    return json.dumps(blocks, ensure_ascii=False) + "\n" + text


@pytest.mark.parametrize("kind", ["opened", "escalated", "updated", "resolved"])
def test_no_ping_or_link_from_a_post_survives(kind: str) -> None:
    event = hostile_event(kind)
    blocks = root_blocks(event) if kind == "opened" else reply_blocks(event)
    rendered = everything(blocks, fallback_text(event))
    for ping in PINGS:
        assert ping not in rendered
    assert re.search(r"@(channel|here)\b", rendered) is None
    # The only `<` left opens one of our own links to the post, with an escaped label.
    links = re.findall(r"<([^>]*)>", rendered)
    assert all(link.startswith("https://x.com/a/status/3?a=1&amp;b=2|") for link in links)
    assert "&lt;!channel&gt;" in rendered or kind == "resolved"


def test_the_hostile_post_reads_as_text_and_links_to_itself() -> None:
    event = hostile_event()
    blocks = root_blocks(event)
    theme = next(
        b["text"]["text"] for b in blocks if "*Theme:" in b.get("text", {}).get("text", "")
    )
    assert theme.startswith("*Theme: &lt;!channel&gt; &lt;!subteam^S0123ABC|@cx-team&gt;*")
    assert "— @&lt;!here&gt; &lt;@U024BE7LH&gt; on x" in theme  # unsafe URL: label only
    assert "<https://x.com/a/status/3?a=1&amp;b=2|@&lt;!here&gt; &lt;@U024BE7LH&gt; on x>" in theme


def test_the_header_is_plain_text_and_the_fallback_is_escaped() -> None:
    event = make_event(brand_name="ACME <!here>")
    # plain_text is shown as typed, never parsed for mentions; `text` is mrkdwn.
    header = {"type": "plain_text", "text": "ACME <!here>: negative spike (warning)"}
    assert root_blocks(event)[0] == {"type": "header", "text": header}
    assert fallback_text(event).startswith("Alert: ACME &lt;!here&gt;: negative spike")


def test_messages_turn_off_unfurling_and_name_linking(harness: Harness) -> None:
    harness.queue(hostile_event())
    harness.deliver()
    (message,) = harness.fake.messages
    body = message["body"]
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert body["link_names"] is False
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert all(b["text"]["verbatim"] is True for b in sections)


def test_long_posts_are_cut_at_a_word_and_blocks_stay_within_slack_limits() -> None:
    words = "the parcel never arrived & nobody answers " * 200
    long = Example(words, "https://x.com/a/status/9", "x", "a" * 500, START.isoformat())
    themes = tuple(ThemeSummary(f"theme {i} " + "&" * 400, 99, (long, long)) for i in range(80))
    event = make_event(brand_name="B" * 400, themes=themes, touchpoints={"t" * 5000: 3})

    blocks = root_blocks(event)
    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        texts = [block.get("text", {}).get("text", "")]
        texts += [e["text"] for e in block.get("elements", ())]
        assert all(len(t) <= 3000 for t in texts)
        assert all(not re.search(r"&[a-z]*…", t) for t in texts)  # no entity cut in half
    quote = next(line for line in blocks[4]["text"]["text"].split("\n") if line.startswith("> "))
    assert quote.endswith("…") and len(quote) < 400  # 280 characters, then escaped
    assert quote[:-1].endswith(("parcel", "never", "arrived", "&amp;", "nobody", "answers", "the"))
    many = with_status([{"type": "section"}] * 70, make_event("resolved"))
    assert len(many) == MAX_BLOCKS
    assert len(fallback_text(event)) <= 3000


def test_clip_never_splits_an_entity() -> None:
    escaped = escape("a & b & c")
    assert escaped == "a &amp; b &amp; c"
    assert clip(escaped, 6) == "a …"
    assert clip(escaped, 9) == "a &amp; …"
    assert clip(escaped, 100) == escaped


def test_a_volume_spike_explains_itself_in_mentions() -> None:
    event = make_event(rule="volume_spike", observed_total=320, expected_total=41.6)
    why = next(b["text"]["text"] for b in root_blocks(event) if "Why it fired" in str(b))
    assert "320 mentions in the last 15 min, of any sentiment, usually 42 at this time" in why
    assert "negative share 68% (usually 17%)" in why
    assert "negative mentions" not in why
    assert root_blocks(event)[0]["text"]["text"] == "ACME: volume spike (warning)"
    assert fallback_text(event).startswith("Alert: ACME: volume spike (warning). 320 mentions")


def test_status_lines_follow_the_incident() -> None:
    def status(event: AlertEvent) -> str:
        (block,) = [b for b in root_blocks(event) if b.get("block_id") == "pulso_status"]
        return str(block["elements"][0]["text"])

    assert status(make_event()) == "*🟠 Open · warning*"
    assert status(make_event(severity="critical")) == "*🔴 Open · critical*"
    resolved = make_event("resolved", resolved_at="2026-11-20T18:20:00+00:00")
    blocks = with_status(root_blocks(make_event()), resolved)
    assert blocks[1]["elements"][0]["text"] == "*✅ Resolved after 20 min*"
    assert [b.get("block_id") for b in blocks].count("pulso_status") == 1
    older = [b for b in root_blocks(make_event()) if b.get("block_id") != "pulso_status"]
    assert with_status(older, resolved)[1]["block_id"] == "pulso_status"  # inserted


def test_the_console_prints_a_new_theme() -> None:
    text = plain_text(make_event("updated"))
    assert text.startswith("NEW THEME ACME: negative spike (warning)")
    assert "Theme: refund · waiting (9 posts)" in text


def test_formatting_bidi_and_disguised_links_in_a_post_are_inert() -> None:
    post = Example(
        text="*FREE* _refund_ ~now~ `rm -rf` \u202egpj.exe\u202c zero\u200bwidth \u2066x\u2069",
        url="https://x.com@evil.example/login",  # goes to evil.example, looks like x.com
        source="x",
        author="*ceo*",
        created_at=START.isoformat(),
    )
    event = make_event(examples=(post,), themes=(ThemeSummary("_urgent_ *refund*", 3, (post,)),))
    rendered = everything(root_blocks(event), fallback_text(event))
    for mark in ("*FREE*", "_refund_", "~now~", "`rm -rf`", "_urgent_", "*refund*", "*ceo*"):
        assert mark not in rendered
    assert "\u2217FREE\u2217" in rendered and "\u02cbrm -rf\u02cb" in rendered  # still legible
    for hidden in ("\u202e", "\u202c", "\u200b", "\u2066", "\u2069"):
        assert hidden not in rendered + plain_text(event)  # the console's text too
    links = re.findall(r"<([^>|]*)\|", rendered)
    assert not [link for link in links if "evil.example" in link]
    assert "<https://x.com@" not in rendered
    # Our own formatting stays: the bold theme heading is Pulso's, not the post's.
    assert "*Theme: " in rendered


def test_the_digest_shows_posts_without_bidi_and_links_no_disguised_host() -> None:
    from monitor.digest.formatting import is_web_url, one_line

    assert one_line("fine \u202egpj.exe\u202c\r\nBcc: x@evil") == "fine gpj.exe Bcc: x@evil"
    assert is_web_url("https://x.com/a/status/1")
    assert not is_web_url("https://x.com@evil.example/login")
