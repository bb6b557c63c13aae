"""A brand's weekly digest as an email: subject, plain text, HTML and the chart images.

Sections are built once as blocks (headings, paragraphs, tables, images) of plain-text
cells, then written out twice, as text and as HTML, so both always show the same
figures. Every cell goes through `html.escape` in one place (`_cell_html`), and only
http(s) URLs become links: nothing that comes from posts or config can add markup.
The HTML is one centred 600 px column of tables with inline styles only, because mail
clients drop <style> blocks and block remote images; the charts are attached by
Content-ID and each is followed by its figures as a table.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.digest.charts import HEIGHT_PX, WIDTH_PX, daily_volume_png, net_sentiment_png
from monitor.digest.data import Mover, WeekDigest, parse_week

DAILY_CID, NET_CID = "daily-volume", "net-sentiment"
EXAMPLE_CHARS = 280
WORSE, BETTER, FLAT = "#b03a2e", "#2e7d32", "#777777"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

_EN = {
    "weekdays": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "months": "January February March April May June July August September October "
    "November December",
    "date": "{weekday} {day} {month}",
    "with_year": "{date} {year}",
    "subject": "{brand} — week {week}: {mentions}, net sentiment {net}",
    "subject_empty": "{brand} — week {week}: no mentions",
    "mention": "mention",
    "mentions_unit": "mentions",
    "title": "{brand}: weekly digest, week {week}",
    "period": "{start} – {end}",  # noqa: RUF001 (typographic dash)
    "no_mentions": "There were no mentions this week.",
    "headline": "This week",
    "figure": "Figure",
    "this_week": "This week",
    "last_week": "Last week",
    "change": "Change",
    "mentions": "Mentions",
    "authors": "Unique authors",
    "negative": "Negative",
    "neutral": "Neutral",
    "positive": "Positive",
    "net": "Net sentiment (−100 to 100, NPS-like)",  # noqa: RUF001
    "alerts": "Alerts fired",
    "daily": "Mentions per day",
    "daily_alt": "Chart: mentions per day by sentiment; the figures follow as a table.",
    "day": "Day",
    "total": "Total",
    "trend": "Net sentiment, last 8 weeks",
    "trend_alt": "Chart: net sentiment per week; the figures follow as a table.",
    "week": "Week",
    "by_source": "By source",
    "by_touchpoint": "By touchpoint",
    "source": "Source",
    "touchpoint": "Touchpoint",
    "negative_share": "Negative share",
    "incidents": "Incidents",
    "no_incidents": "No alerts fired this week.",
    "rule": "Rule",
    "started": "Started",
    "duration": "Duration",
    "peak": "Peak negative",
    "status": "Status",
    "resolved": "resolved",
    "open": "open",
    "voices": "Voices",
    "author": "Author",
    "reach": "Reach",
    "themes": "Top complaints",
    "praise": "What people praised",
    "promoters": "Promoters",
    "growing": "Growing",
    "at_risk": "At risk",
    "detractors": "Detractors",
    "theme_size": "{label} — {size}",
    "segments": "Author segments",
    "segment": "Segment",
    "authors_unit": "Authors",
    "share": "Share",
    "points": "pp",
}
_ES = {
    "weekdays": "lunes martes miércoles jueves viernes sábado domingo",
    "months": "enero febrero marzo abril mayo junio julio agosto septiembre octubre "
    "noviembre diciembre",
    "date": "{weekday} {day} de {month}",
    "with_year": "{date} de {year}",
    "subject": "{brand} — semana {week}: {mentions}, sentimiento neto {net}",
    "subject_empty": "{brand} — semana {week}: sin menciones",
    "mention": "mención",
    "mentions_unit": "menciones",
    "title": "{brand}: resumen semanal, semana {week}",
    "period": "{start} – {end}",  # noqa: RUF001 (typographic dash)
    "no_mentions": "No hubo menciones esta semana.",
    "headline": "Esta semana",
    "figure": "Indicador",
    "this_week": "Esta semana",
    "last_week": "Semana anterior",
    "change": "Cambio",
    "mentions": "Menciones",
    "authors": "Autores únicos",
    "negative": "Negativas",
    "neutral": "Neutras",
    "positive": "Positivas",
    "net": "Sentimiento neto (−100 a 100, tipo NPS)",  # noqa: RUF001
    "alerts": "Alertas disparadas",
    "daily": "Menciones por día",
    "daily_alt": "Gráfico: menciones por día y sentimiento; las cifras siguen en una tabla.",
    "day": "Día",
    "total": "Total",
    "trend": "Sentimiento neto, últimas 8 semanas",
    "trend_alt": "Gráfico: sentimiento neto por semana; las cifras siguen en una tabla.",
    "week": "Semana",
    "by_source": "Por fuente",
    "by_touchpoint": "Por punto de contacto",
    "source": "Fuente",
    "touchpoint": "Punto de contacto",
    "negative_share": "Cuota negativa",
    "incidents": "Incidencias",
    "no_incidents": "No se disparó ninguna alerta esta semana.",
    "rule": "Regla",
    "started": "Inicio",
    "duration": "Duración",
    "peak": "Pico negativo",
    "status": "Estado",
    "resolved": "resuelta",
    "open": "abierta",
    "voices": "Voces",
    "author": "Autor",
    "reach": "Alcance",
    "themes": "Principales quejas",
    "praise": "Lo que se elogió",
    "promoters": "Promotores",
    "growing": "En crecimiento",
    "at_risk": "En riesgo",
    "detractors": "Detractores",
    "theme_size": "{label} — {size}",
    "segments": "Segmentos de autores",
    "segment": "Segmento",
    "authors_unit": "Autores",
    "share": "Cuota",
    "points": "p. p.",
}
STRINGS = {"en": _EN, "es": _ES}


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


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """The email: a one-line subject, plain text, HTML, and PNGs keyed by Content-ID."""

    subject: str
    text: str
    html: str
    images: dict[str, bytes]


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    color: str | None = None
    href: str | None = None
    bold: bool = False


@dataclass(frozen=True, slots=True)
class _Heading:
    text: str


@dataclass(frozen=True, slots=True)
class _Paragraph:
    cells: tuple[_Cell, ...]
    muted: bool = False


@dataclass(frozen=True, slots=True)
class _Table:
    headers: tuple[str, ...]
    rows: list[tuple[_Cell, ...]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Image:
    cid: str
    alt: str


_Block = _Heading | _Paragraph | _Table | _Image


def render_digest(
    digest: WeekDigest,
    brand_name: str,
    locale: str = "en",
    themes: Sequence[ThemeLike] | None = None,
    segments: Mapping[str, int | tuple[int, int]] | None = None,
    praise: Sequence[ThemeLike] | None = None,
) -> RenderedDigest:
    """The digest email of one brand's week in `locale` ("en" or "es").

    `themes` are the complaint themes and `praise` the praise themes, shown in that
    order. `segments` maps a shown name to a count, or to (this week, last week) to
    show the movement too.
    """
    if locale not in STRINGS:
        raise ValueError(f"locale {locale!r} is not one of {sorted(STRINGS)}")
    f = _Format(locale, ZoneInfo(digest.tz))
    brand = _one_line(brand_name)
    blocks: list[_Block] = [*_headline(digest, f), *_charts(digest, f), *_movers(digest, f)]
    blocks += [*_incidents(digest, f), *_voices(digest, f)]
    if themes is not None:
        blocks += _themes(themes, f)
    if praise is not None:
        blocks += _themes(praise, f, "praise")
    if segments is not None:
        blocks += _segments(segments, f)
    title = f.s["title"].format(brand=brand, week=_week_number(digest.week))
    monday = parse_week(digest.week)
    period = f.s["period"].format(
        start=f.day(monday), end=f.day(monday + timedelta(days=6), year=True)
    )
    return RenderedDigest(
        subject=_subject(digest, brand, f),
        text=_text(title, period, blocks),
        html=_html(title, period, blocks, locale),
        images={
            DAILY_CID: daily_volume_png(digest, locale),
            NET_CID: net_sentiment_png(digest, locale),
        },
    )


class _Format:
    """Numbers, dates and signs in one locale, without the process's system locale."""

    def __init__(self, locale: str, zone: ZoneInfo) -> None:
        self.locale, self.zone, self.s = locale, zone, STRINGS[locale]

    def count(self, n: int) -> str:
        digits = f"{abs(n):,}".replace(",", "." if self.locale == "es" else ",")
        return f"-{digits}" if n < 0 else digits

    def decimal(self, x: float) -> str:
        text = f"{abs(x):,.1f}"
        if self.locale == "es":
            text = text.translate(str.maketrans(",.", ".,"))
        return f"-{text}" if round(x, 1) < 0 else text

    def percent(self, share: float | None) -> str:
        if share is None:
            return "—"
        return self.decimal(share * 100) + (" %" if self.locale == "es" else "%")

    def signed(self, n: int) -> str:
        return f"+{self.count(n)}" if n > 0 else self.count(n)

    def day(self, day: date, year: bool = False) -> str:
        text = self.s["date"].format(
            weekday=self.s["weekdays"].split()[day.weekday()],
            day=day.day,
            month=self.s["months"].split()[day.month - 1],
        )
        return self.s["with_year"].format(date=text, year=day.year) if year else text

    def moment(self, at: datetime) -> str:
        local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(self.zone)
        return f"{self.day(local.date())}, {local:%H:%M}"

    def duration(self, minutes: int | None) -> str:
        if minutes is None:
            return "—"
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if hours else f"{rest} min"

    def arrow(self, change: float, text: str, higher_is_worse: bool | None) -> _Cell:
        """▲/▼ and the size of a change, red when it got worse and green when better."""
        if abs(change) < 1e-9:
            return _Cell(f"= {text}", FLAT)
        color = (
            FLAT
            if higher_is_worse is None
            else (WORSE if (change > 0) == higher_is_worse else BETTER)
        )
        return _Cell(f"{'▲' if change > 0 else '▼'} {text.lstrip('+-')}", color)


def _subject(digest: WeekDigest, brand: str, f: _Format) -> str:
    now, week = digest.headline.current, _week_number(digest.week)
    if now.mentions == 0:
        return f.s["subject_empty"].format(brand=brand, week=week)
    unit = f.s["mention"] if now.mentions == 1 else f.s["mentions_unit"]
    return f.s["subject"].format(
        brand=brand,
        week=week,
        mentions=f"{f.count(now.mentions)} {unit}",
        net=f.signed(now.net_sentiment),
    )


def _headline(digest: WeekDigest, f: _Format) -> list[_Block]:
    now, before, change = digest.headline.current, digest.headline.previous, digest.headline.change
    blocks: list[_Block] = [_Heading(f.s["headline"])]
    if now.mentions == 0:
        blocks.append(_Paragraph((_Cell(f.s["no_mentions"], bold=True),)))
    table = _Table((f.s["figure"], f.s["this_week"], f.s["last_week"], f.s["change"]))
    for key, attr, worse in (
        ("mentions", "mentions", None),
        ("authors", "unique_authors", None),
        ("alerts", "alerts_fired", True),
    ):
        a, b, c = getattr(now, attr), getattr(before, attr), getattr(change, attr)
        table.rows.append(
            (
                _Cell(f.s[key]),
                _Cell(f.count(a), bold=True),
                _Cell(f.count(b)),
                f.arrow(c, f.count(c), worse),
            )
        )
    for key, attr, worse in (
        ("negative", "negative_share", True),
        ("neutral", "neutral_share", None),
        ("positive", "positive_share", False),
    ):
        a, b, c = getattr(now, attr), getattr(before, attr), getattr(change, attr)
        points = f"{f.decimal(c * 100)} {f.s['points']}"
        table.rows.append(
            (
                _Cell(f.s[key]),
                _Cell(f.percent(a), bold=True),
                _Cell(f.percent(b)),
                f.arrow(c, points, worse),
            )
        )
    net = (
        _Cell(f.signed(now.net_sentiment) if now.mentions else "—", bold=True),
        _Cell(f.signed(before.net_sentiment) if before.mentions else "—"),
    )
    both = now.mentions and before.mentions
    moved = (
        f.arrow(change.net_sentiment, f.count(change.net_sentiment), False) if both else _Cell("—")
    )
    table.rows.append((_Cell(f.s["net"]), *net, moved))
    return [*blocks, table]


def _charts(digest: WeekDigest, f: _Format) -> list[_Block]:
    daily = _Table((f.s["day"], f.s["negative"], f.s["neutral"], f.s["positive"], f.s["total"]))
    for d in digest.daily:
        counts = (d.negative, d.neutral, d.positive, d.negative + d.neutral + d.positive)
        daily.rows.append((_Cell(f.day(d.day)), *(_Cell(f.count(n)) for n in counts)))
    trend = _Table((f.s["week"], f.s["mentions"], f.s["net"]))
    for w in digest.net_sentiment_weeks:
        net = "—" if w.net_sentiment is None else f.signed(w.net_sentiment)
        trend.rows.append((_Cell(w.week), _Cell(f.count(w.mentions)), _Cell(net)))
    return [
        _Heading(f.s["daily"]),
        _Image(DAILY_CID, f.s["daily_alt"]),
        daily,
        _Heading(f.s["trend"]),
        _Image(NET_CID, f.s["trend_alt"]),
        trend,
    ]


def _movers(digest: WeekDigest, f: _Format) -> list[_Block]:
    blocks: list[_Block] = []
    for title, column, movers in (
        ("by_source", "source", digest.by_source),
        ("by_touchpoint", "touchpoint", digest.by_touchpoint),
    ):
        if not movers:
            continue
        table = _Table((f.s[column], f.s["mentions"], f.s["negative_share"], f.s["change"]))
        for m in sorted(movers, key=_worst_first):
            change = (
                _Cell("—")
                if m.change is None
                else f.arrow(m.change, f"{f.decimal(m.change * 100)} {f.s['points']}", True)
            )
            table.rows.append(
                (
                    _Cell(m.name),
                    _Cell(f.count(m.mentions)),
                    _Cell(f.percent(m.negative_share)),
                    change,
                )
            )
        blocks += [_Heading(f.s[title]), table]
    return blocks


def _worst_first(m: Mover) -> tuple[bool, float, int, str]:
    return (m.change is None, -(m.change or 0.0), -m.mentions, m.name)


def _incidents(digest: WeekDigest, f: _Format) -> list[_Block]:
    if not digest.incidents:
        return [_Heading(f.s["incidents"]), _Paragraph((_Cell(f.s["no_incidents"]),), muted=True)]
    table = _Table((f.s["rule"], f.s["started"], f.s["duration"], f.s["peak"], f.s["status"]))
    for i in digest.incidents:
        status = _Cell(f.s["resolved"], BETTER) if i.resolved_at else _Cell(f.s["open"], WORSE)
        table.rows.append(
            (
                _Cell(i.rule, bold=True),
                _Cell(f.moment(i.started_at)),
                _Cell(f.duration(i.duration_minutes)),
                _Cell(f.count(i.peak_negative)),
                status,
            )
        )
    return [_Heading(f.s["incidents"]), table]


def _voices(digest: WeekDigest, f: _Format) -> list[_Block]:
    if not digest.voices:
        return []
    table = _Table(
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
            (_Cell(who, bold=True), _Cell(v.source), *(_Cell(f.count(n)) for n in numbers))
        )
    return [_Heading(f.s["voices"]), table]


def _themes(themes: Sequence[ThemeLike], f: _Format, title: str = "themes") -> list[_Block]:
    blocks: list[_Block] = [_Heading(f.s[title])]
    for theme in themes:
        size = f"{f.count(theme.size)} {f.s['mentions_unit']}"
        label = f.s["theme_size"].format(label=theme.label, size=size)
        blocks.append(_Paragraph((_Cell(label, bold=True),)))
        for example in theme.examples:
            text = _clip(example.text)
            url = example.url if example.url and _is_web_url(example.url) else None
            blocks.append(_Paragraph((_Cell(f"“{text}”", href=url),), muted=True))
    return blocks


def _segments(segments: Mapping[str, int | tuple[int, int]], f: _Format) -> list[_Block]:
    pairs = {
        name: value if isinstance(value, tuple) else (value, None)
        for name, value in segments.items()
    }
    total = sum(now for now, _ in pairs.values())
    table = _Table((f.s["segment"], f.s["authors_unit"], f.s["share"]))
    for name, (now, before) in sorted(pairs.items(), key=lambda item: (-item[1][0], item[0])):
        share = now / total if total else None
        shown = f.count(now)
        if before is not None:
            moved = f.arrow(now - before, f.count(now - before), None)
            shown = f"{shown} ({moved.text})"
        table.rows.append((_Cell(name), _Cell(shown), _Cell(f.percent(share))))
    return [_Heading(f.s["segments"]), table]


def _week_number(week: str) -> int:
    return parse_week(week).isocalendar()[1]


def _one_line(text: str) -> str:
    """Control characters (CR, LF) out: a subject must not be able to add mail headers."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _clip(text: str) -> str:
    text = _one_line(text)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1].rstrip() + "…"


def _is_web_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no whitespace or control characters."""
    if url != url.strip() or _CONTROL.search(url) or " " in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


# ---------------------------------------------------------------------------------------
# Writing the blocks out
# ---------------------------------------------------------------------------------------


def _text(title: str, period: str, blocks: Sequence[_Block]) -> str:
    lines = [title, period]
    for block in blocks:
        if isinstance(block, _Heading):
            lines += ["", block.text, "-" * len(block.text)]
        elif isinstance(block, _Paragraph):
            lines.append(" ".join(_cell_text(c) for c in block.cells))
        elif isinstance(block, _Table):
            lines += _text_table(block)
    return "\n".join(lines).rstrip() + "\n"


def _cell_text(cell: _Cell) -> str:
    return f"{cell.text} <{cell.href}>" if cell.href else cell.text


def _text_table(table: _Table) -> list[str]:
    rows = [list(table.headers)] + [[_cell_text(c) for c in row] for row in table.rows]
    widths = [max(len(row[k]) for row in rows) for k in range(len(table.headers))]
    out = []
    for row in rows:
        first, *rest = row
        cells = [first.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    return out


_FONT = "font-family:Helvetica,Arial,sans-serif;color:#222222;"
_CELL = "padding:4px 8px;border-bottom:1px solid #eeeeee;font-size:13px;"


def _html(title: str, period: str, blocks: Sequence[_Block], lang: str) -> str:
    e = html.escape
    body = [
        f'<tr><td style="{_FONT}padding:20px 24px 4px;font-size:20px;font-weight:bold;">'
        f"{e(title)}</td></tr>",
        f'<tr><td style="{_FONT}padding:0 24px 12px;font-size:13px;color:#666666;">'
        f"{e(period)}</td></tr>",
    ]
    body += [f'<tr><td style="{_FONT}padding:4px 24px;">{_block_html(b)}</td></tr>' for b in blocks]
    return (
        f'<!DOCTYPE html>\n<html lang="{e(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f4;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f4f4f4;"><tr><td align="center" style="padding:16px 0;">\n'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" '
        'style="width:600px;max-width:100%;background:#ffffff;">\n'
        + "\n".join(body)
        + '\n<tr><td style="padding:12px;"></td></tr>\n</table>\n</td></tr></table>\n'
        "</body>\n</html>\n"
    )


def _block_html(block: _Block) -> str:
    e = html.escape
    if isinstance(block, _Heading):
        return (
            '<h2 style="margin:16px 0 6px;font-size:16px;font-family:Helvetica,Arial,'
            f'sans-serif;color:#222222;">{e(block.text)}</h2>'
        )
    if isinstance(block, _Paragraph):
        color = "#555555" if block.muted else "#222222"
        cells = " ".join(_cell_html(c) for c in block.cells)
        return f'<p style="margin:4px 0;font-size:13px;color:{color};">{cells}</p>'
    if isinstance(block, _Image):
        return (
            f'<img src="cid:{e(block.cid)}" width="{WIDTH_PX}" height="{HEIGHT_PX}" '
            f'alt="{e(block.alt)}" style="display:block;width:100%;max-width:{WIDTH_PX}px;'
            'height:auto;border:0;">'
        )
    head = "".join(
        f'<th align="{"left" if k == 0 else "right"}" style="{_CELL}color:#666666;'
        f'font-weight:normal;">{e(h)}</th>'
        for k, h in enumerate(block.headers)
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td align="{"left" if k == 0 else "right"}" style="{_CELL}">{_cell_html(c)}</td>'
            for k, c in enumerate(row)
        )
        + "</tr>"
        for row in block.rows
    )
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;"><tr>{head}</tr>{rows}</table>'
    )


def _cell_html(cell: _Cell) -> str:
    """The only place a cell becomes markup: escaped, and linked only to http(s) URLs."""
    text = html.escape(cell.text)
    if cell.bold:
        text = f"<strong>{text}</strong>"
    if cell.color:
        text = f'<span style="color:{cell.color};">{text}</span>'
    if cell.href and _is_web_url(cell.href):
        text = f'<a href="{html.escape(cell.href)}" style="color:#1a5fb4;">{text}</a>'
    return text
