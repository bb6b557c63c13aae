"""The digest's sections as blocks: headline, charts, movers, incidents, voices, themes.

Each section reads the week's figures and says them in one locale through `Format`;
the text and HTML writers then show the same blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from monitor.digest.blocks import Block, Cell, Heading, Image, Paragraph, Table
from monitor.digest.figures import Headline, WeekDigest, WeekFigures, worst_first
from monitor.digest.formatting import BETTER, WORSE, Format, clip, is_web_url
from monitor.digest.weeks import week_number

DAILY_CID, NET_CID = "daily-volume", "net-sentiment"


class ThemeExample(Protocol):
    """A post shown under a theme (models.themes.ThemeInput fits)."""

    @property
    def text(self) -> str: ...
    @property
    def url(self) -> str | None: ...


class ThemeLike(Protocol):
    """A theme to show: its label, its size and a few example posts (models.themes.Theme)."""

    @property
    def label(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def examples(self) -> Sequence[ThemeExample]: ...


def digest_blocks(
    digest: WeekDigest,
    f: Format,
    themes: Sequence[ThemeLike] | None,
    segments: Mapping[str, int | tuple[int, int]] | None,
    praise: Sequence[ThemeLike] | None,
) -> list[Block]:
    """Every section in the order the email shows them; None leaves a section out."""
    blocks: list[Block] = [*_headline(digest, f), *_charts(digest, f), *_movers(digest, f)]
    blocks += [*_incidents(digest, f), *_voices(digest, f)]
    if themes is not None:
        blocks += _themes(themes, f)
    if praise is not None:
        blocks += _themes(praise, f, "praise")
    if segments is not None:
        blocks += _segments(segments, f)
    return blocks


def subject(digest: WeekDigest, brand: str, f: Format) -> str:
    """The subject line: the brand, the week, its mentions and net sentiment."""
    now, week = digest.headline.current, week_number(digest.week)
    if now.mentions == 0:
        return f.s["subject_empty"].format(brand=brand, week=week)
    unit = f.s["mention"] if now.mentions == 1 else f.s["mentions_unit"]
    return f.s["subject"].format(
        brand=brand,
        week=week,
        mentions=f"{f.count(now.mentions)} {unit}",
        net=f.signed(now.net_sentiment),
    )


# (label, WeekFigures field, whether a rise is worse: None when it is neither)
_FIGURES = (
    ("mentions", "mentions", None),
    ("authors", "unique_authors", None),
    ("alerts", "alerts_fired", True),
    ("negative", "negative_share", True),
    ("neutral", "neutral_share", None),
    ("positive", "positive_share", False),
)


def _headline(digest: WeekDigest, f: Format) -> list[Block]:
    h = digest.headline
    blocks: list[Block] = [Heading(f.s["headline"])]
    if h.current.mentions == 0:
        blocks.append(Paragraph((Cell(f.s["no_mentions"], bold=True),)))
    table = Table((f.s["figure"], f.s["this_week"], f.s["last_week"], f.s["change"]))
    table.rows.extend(_figure_rows(h, f))
    table.rows.append(_net_row(h, f))
    return [*blocks, table]


def _figure_rows(h: Headline, f: Format) -> list[tuple[Cell, ...]]:
    rows: list[tuple[Cell, ...]] = []
    for key, attr, worse in _FIGURES:
        a, b, c = getattr(h.current, attr), getattr(h.previous, attr), getattr(h.change, attr)
        if attr.endswith("_share"):
            now, before = f.percent(a), f.percent(b)
            moved = f"{f.decimal(c * 100)} {f.s['points']}"
        else:
            now, before, moved = f.count(a), f.count(b), f.count(c)
        rows.append((Cell(f.s[key]), Cell(now, bold=True), Cell(before), f.arrow(c, moved, worse)))
    return rows


def _net_row(h: Headline, f: Format) -> tuple[Cell, ...]:
    # A week without mentions has no net sentiment, so there is no change to show either.
    both = h.current.mentions and h.previous.mentions
    moved = (
        f.arrow(h.change.net_sentiment, f.count(h.change.net_sentiment), False)
        if both
        else Cell("—")
    )
    return (
        Cell(f.s["net"]),
        Cell(_net_or_dash(h.current, f), bold=True),
        Cell(_net_or_dash(h.previous, f)),
        moved,
    )


def _net_or_dash(week: WeekFigures, f: Format) -> str:
    return f.signed(week.net_sentiment) if week.mentions else "—"


def _charts(digest: WeekDigest, f: Format) -> list[Block]:
    daily = Table((f.s["day"], f.s["negative"], f.s["neutral"], f.s["positive"], f.s["total"]))
    for d in digest.daily:
        counts = (d.negative, d.neutral, d.positive, d.negative + d.neutral + d.positive)
        daily.rows.append((Cell(f.day(d.day)), *(Cell(f.count(n)) for n in counts)))
    trend = Table((f.s["week"], f.s["mentions"], f.s["net"]))
    for w in digest.net_sentiment_weeks:
        net = "—" if w.net_sentiment is None else f.signed(w.net_sentiment)
        trend.rows.append((Cell(w.week), Cell(f.count(w.mentions)), Cell(net)))
    return [
        Heading(f.s["daily"]),
        Image(DAILY_CID, f.s["daily_alt"]),
        daily,
        Heading(f.s["trend"]),
        Image(NET_CID, f.s["trend_alt"]),
        trend,
    ]


def _movers(digest: WeekDigest, f: Format) -> list[Block]:
    blocks: list[Block] = []
    for title, column, movers in (
        ("by_source", "source", digest.by_source),
        ("by_touchpoint", "touchpoint", digest.by_touchpoint),
    ):
        if not movers:
            continue
        table = Table((f.s[column], f.s["mentions"], f.s["negative_share"], f.s["change"]))
        for m in sorted(movers, key=worst_first):
            change = (
                Cell("—")
                if m.change is None
                else f.arrow(m.change, f"{f.decimal(m.change * 100)} {f.s['points']}", True)
            )
            table.rows.append(
                (
                    Cell(m.name),
                    Cell(f.count(m.mentions)),
                    Cell(f.percent(m.negative_share)),
                    change,
                )
            )
        blocks += [Heading(f.s[title]), table]
    return blocks


def _incidents(digest: WeekDigest, f: Format) -> list[Block]:
    if not digest.incidents:
        return [Heading(f.s["incidents"]), Paragraph((Cell(f.s["no_incidents"]),), muted=True)]
    table = Table((f.s["rule"], f.s["started"], f.s["duration"], f.s["peak"], f.s["status"]))
    for i in digest.incidents:
        status = Cell(f.s["resolved"], BETTER) if i.resolved_at else Cell(f.s["open"], WORSE)
        table.rows.append(
            (
                Cell(f"{i.rule} ({f.s['historical']})" if i.historical else i.rule, bold=True),
                Cell(f.moment(i.started_at)),
                Cell(f.duration(i.duration_minutes)),
                Cell(f.count(i.peak_negative)),
                status,
            )
        )
    return [Heading(f.s["incidents"]), table]


def _voices(digest: WeekDigest, f: Format) -> list[Block]:
    if not digest.voices:
        return []
    table = Table(
        (
            f.s["author"],
            f.s["source"],
            f.s["reach"],
            f.s["mentions"],
            f.s["negative"],
            f.s["positive"],
        )
    )
    for v in digest.voices:
        who = f"{v.name} (@{v.handle})" if v.name and v.name != v.handle else f"@{v.handle}"
        numbers = (v.reach, v.mentions, v.negative, v.positive)
        table.rows.append(
            (Cell(who, bold=True), Cell(v.source), *(Cell(f.count(n)) for n in numbers))
        )
    return [Heading(f.s["voices"]), table]


def _themes(themes: Sequence[ThemeLike], f: Format, title: str = "themes") -> list[Block]:
    blocks: list[Block] = [Heading(f.s[title])]
    for theme in themes:
        size = f"{f.count(theme.size)} {f.s['mentions_unit']}"
        label = f.s["theme_size"].format(label=theme.label, size=size)
        blocks.append(Paragraph((Cell(label, bold=True),)))
        for example in theme.examples:
            text = clip(example.text)
            url = example.url if example.url and is_web_url(example.url) else None
            blocks.append(Paragraph((Cell(f"“{text}”", href=url),), muted=True))
    return blocks


def _segments(segments: Mapping[str, int | tuple[int, int]], f: Format) -> list[Block]:
    pairs = {
        name: value if isinstance(value, tuple) else (value, None)
        for name, value in segments.items()
    }
    total = sum(now for now, _ in pairs.values())
    table = Table((f.s["segment"], f.s["authors_unit"], f.s["share"]))
    for name, (now, before) in sorted(pairs.items(), key=lambda item: (-item[1][0], item[0])):
        share = now / total if total else None
        shown = f.count(now)
        if before is not None:
            moved = f.arrow(now - before, f.count(now - before), None)
            shown = f"{shown} ({moved.text})"
        table.rows.append((Cell(name), Cell(shown), Cell(f.percent(share))))
    return [Heading(f.s["segments"]), table]
