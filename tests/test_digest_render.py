"""Weekly digest email: figures, locales, charts, escaping, and an empty week."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from PIL import Image

from models.themes import Theme, ThemeInput
from monitor.digest.charts import daily_volume_png, net_sentiment_png
from monitor.digest.figures import (
    DayCounts,
    Headline,
    Incident,
    Mover,
    Voice,
    WeekDigest,
    WeekFigures,
    WeekNet,
)
from monitor.digest.render import render_digest

EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr"}


def _figures(neg: int, neu: int, pos: int, authors: int, alerts: int) -> WeekFigures:
    total = neg + neu + pos
    share = (lambda n: n / total) if total else (lambda n: 0.0)
    net = round((share(pos) - share(neg)) * 100) if total else 0
    return WeekFigures(
        total, authors, neg, neu, pos, share(neg), share(neu), share(pos), net, alerts
    )


def _change(a: WeekFigures, b: WeekFigures) -> WeekFigures:
    return WeekFigures(
        **{k: getattr(a, k) - getattr(b, k) for k in WeekFigures.__dataclass_fields__}
    )


def _digest(
    daily: list[tuple[int, int, int]],
    previous: tuple[int, int, int] = (300, 400, 500),
    **overrides: object,
) -> WeekDigest:
    monday = date(2026, 11, 16)
    neg, neu, pos = (sum(d[i] for d in daily) for i in range(3))
    now = _figures(neg, neu, pos, authors=987, alerts=2)
    before = _figures(previous[0], previous[1], previous[2], authors=900, alerts=1)
    weeks = [WeekNet(f"2026-W{40 + k}", 10, 20 - k) for k in range(6)]
    weeks[2] = WeekNet("2026-W42", 0, None)
    weeks += [WeekNet("2026-W46", before.mentions, before.net_sentiment)]
    weeks += [WeekNet("2026-W47", now.mentions, now.net_sentiment if now.mentions else None)]
    values: dict[str, object] = dict(
        brand="paquetto",
        week="2026-W47",
        tz="Europe/Madrid",
        start=datetime(2026, 11, 15, 23, tzinfo=UTC),
        end=datetime(2026, 11, 22, 23, tzinfo=UTC),
        headline=Headline(now, before, _change(now, before)),
        daily=tuple(DayCounts(monday + timedelta(days=k), *d) for k, d in enumerate(daily)),
        net_sentiment_weeks=tuple(weeks),
        by_source=(
            Mover("reddit", 600, 0.5, 0.25, 0.25),
            Mover("x", 634, 0.2, 0.3, -0.1),
            Mover("rss", 0, None, 0.1, None),
        ),
        by_touchpoint=(Mover("delivery", 800, 0.4, 0.275, 0.125),),
        incidents=(
            Incident(
                "volume_spike",
                "critical",
                datetime(2026, 11, 17, 9, 0, tzinfo=UTC),
                datetime(2026, 11, 17, 10, 30, tzinfo=UTC),
                90,
                1234,
            ),
            Incident(
                "negative_share", "warning", datetime(2026, 11, 21, 8, tzinfo=UTC), None, None, 7
            ),
        ),
        voices=(Voice("x", "ana", "Ana Ruiz", 12500, 3, 12500, 4, 3, 0, 1),),
    )
    values.update(overrides)
    return WeekDigest(**values)  # type: ignore[arg-type]


DAILY = [(100, 50, 20), (30, 40, 50), (0, 0, 0), (10, 10, 10), (44, 100, 200), (1, 2, 3), (0, 0, 0)]


@pytest.fixture(scope="module")
def digest() -> WeekDigest:
    """1,234 mentions this week: 185 negative, 202 neutral, 283 positive... see DAILY."""
    return _digest(DAILY)


class _Checker(HTMLParser):
    """Records tags, attributes and text; fails on a close tag that does not match."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(markup: str) -> _Checker:
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    assert checker.stack == [], f"unclosed: {checker.stack}"
    return checker


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_figures_in_html_and_text_match_the_digest(digest: WeekDigest) -> None:
    mail = render_digest(digest, "Paquetto")
    assert digest.headline.current.mentions == 670
    assert mail.subject == "Paquetto — week 47: 670 mentions, net sentiment +15"
    page = _parse(mail.html)
    visible = " ".join(" ".join(page.text).split())
    for shown in (visible, mail.text):
        assert "Monday 16 November – Sunday 22 November 2026" in shown  # noqa: RUF001
        assert "670" in shown and "1,200" in shown  # this week and last
        assert "27.6%" in shown  # 185 / 670 negative
        assert "+15" in shown and "+17" in shown  # net sentiment now and before
        assert "▼ 2" in shown  # net sentiment moved from +17 to +15
        assert "▲ 25.0 pp" in shown and "▼ 10.0 pp" in shown
        assert "Tuesday 17 November, 10:00" in shown  # 09:00 UTC in Madrid
        assert "1 h 30 min" in shown and "1,234" in shown
        assert "resolved" in shown and "open" in shown
        assert "Ana Ruiz (@ana)" in shown and "12,500" in shown
        assert "Themes" not in shown and "Author segments" not in shown
    # Worst movers first: reddit's negative share rose, x's fell, rss has no change.
    assert visible.index("reddit") < visible.index("rss") < visible.index("delivery")
    assert visible.index("reddit") < visible.index("x 634")


def test_daily_table_and_trend_follow_the_charts(digest: WeekDigest) -> None:
    text = render_digest(digest, "Paquetto").text
    line = next(row for row in text.splitlines() if row.startswith("Friday 20 November"))
    assert line.split()[-4:] == ["44", "100", "200", "344"]
    week42 = next(row for row in text.splitlines() if row.startswith("2026-W42"))
    assert week42.split()[1:] == ["0", "—"]


def test_spanish_dates_and_numbers(digest: WeekDigest) -> None:
    mail = render_digest(digest, "Paquetto", locale="es")
    assert mail.subject == "Paquetto — semana 47: 670 menciones, sentimiento neto +15"
    assert "lunes 16 de noviembre – domingo 22 de noviembre de 2026" in mail.text  # noqa: RUF001
    assert "1.200" in mail.text and "27,6 %" in mail.text
    assert "▲ 25,0 p. p." in mail.text
    assert "martes 17 de noviembre, 10:00" in mail.text
    assert "12.500" in mail.text and "resuelta" in mail.text and "abierta" in mail.text
    assert 'lang="es"' in mail.html and "Menciones por día" in mail.html
    big = _digest([(1000, 234, 0)] + [(0, 0, 0)] * 6)
    assert render_digest(big, "P", locale="es").subject.endswith(
        "1.234 menciones, sentimiento neto -81"
    )
    assert render_digest(big, "P").subject.endswith("1,234 mentions, net sentiment -81")


def test_charts_are_png_and_referenced_by_cid(digest: WeekDigest) -> None:
    mail = render_digest(digest, "Paquetto")
    assert set(mail.images) == {"daily-volume", "net-sentiment"}
    for data in mail.images.values():
        assert _png_size(data) == (600, 240)
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    sources = [a.get("src") for tag, a in _parse(mail.html).tags if tag == "img"]
    assert sources == ["cid:daily-volume", "cid:net-sentiment"]
    images = [a for tag, a in _parse(mail.html).tags if tag == "img"]
    assert all(a.get("alt") for a in images)


def test_charts_are_deterministic(digest: WeekDigest) -> None:
    assert daily_volume_png(digest, "es") == daily_volume_png(digest, "es")
    assert net_sentiment_png(digest) == net_sentiment_png(digest)
    assert b"Software" not in daily_volume_png(digest) and b"tIME" not in daily_volume_png(digest)


def test_html_is_self_contained(digest: WeekDigest) -> None:
    themes = [_theme("delivery · late", "https://example.com/p/1")]
    markup = render_digest(digest, "Paquetto", themes=themes, segments={"new": 3}).html
    page = _parse(markup)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "style", "link", "iframe", "object", "form"}
    for _, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs)
        assert not (attrs.get("src") or "cid:").startswith(("http", "//"))


def _theme(label: str, url: str | None, text: str = "Late again") -> Theme:
    example = ThemeInput("1", text, "negative", "en", url=url)
    return Theme(label, (), 42, {}, {}, ("1",), (example,), {})


def test_themes_and_segments_render_when_given(digest: WeekDigest) -> None:
    themes = [_theme("delivery · late", "https://example.com/p/1?a=1&b=2")]
    mail = render_digest(digest, "Paquetto", themes=themes, segments={"new": 3, "loyal": 9})
    links = [a["href"] for tag, a in _parse(mail.html).tags if tag == "a"]
    assert links == ["https://example.com/p/1?a=1&b=2"]
    assert "delivery · late — 42 mentions" in mail.text
    assert "“Late again” <https://example.com/p/1?a=1&b=2>" in mail.text
    assert mail.text.index("loyal") < mail.text.index("new")
    assert "75.0%" in mail.text and "25.0%" in mail.text


def test_data_cannot_inject_markup(digest: WeekDigest) -> None:
    evil = _digest(
        DAILY,
        voices=(Voice("x", EVIL, EVIL, 10, 0, 10, 1, 1, 0, 0),),
        by_source=(Mover(EVIL, 1, 1.0, 0.0, 1.0),),
        incidents=(Incident(EVIL, "warning", datetime(2026, 11, 17, tzinfo=UTC), None, None, 1),),
    )
    themes = [
        _theme(EVIL, "javascript:alert(3)", text=EVIL),
        _theme("ok", 'https://example.com/"><script>x</script>', text="quoted"),
        _theme("data", "data:text/html,<script>alert(4)</script>"),
        _theme("spaced", " javascript:alert(5)"),
    ]
    brand = "Paq<script>alert(0)</script>\r\nBcc: victim@example.com"
    mail = render_digest(evil, brand, themes=themes, segments={EVIL: 1})
    page = _parse(mail.html)
    assert {tag for tag, _ in page.tags} <= {
        "html", "head", "meta", "title", "body", "table", "tr", "td", "th", "h2", "p",
        "img", "strong", "span", "a",
    }  # fmt: skip
    for tag, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    hrefs = [a.get("href") for tag, a in page.tags if tag == "a"]
    assert hrefs == ['https://example.com/"><script>x</script>']
    assert "<script>" not in mail.html and "<img src=x" not in mail.html
    assert "javascript:" not in "".join(str(a.get("href")) for _, a in page.tags)
    assert EVIL in " ".join(page.text)  # shown, as text
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert mail.subject.startswith("Paq<script>alert(0)</script> Bcc: victim@example.com — week 47")
    assert "javascript:alert(3)" not in mail.text


def test_empty_week_renders_and_says_so() -> None:
    empty = _digest(
        [(0, 0, 0)] * 7,
        previous=(0, 0, 0),
        net_sentiment_weeks=tuple(WeekNet(f"2026-W{40 + k}", 0, None) for k in range(8)),
        by_source=(),
        by_touchpoint=(),
        incidents=(),
        voices=(),
    )
    for locale, said in (("en", "There were no mentions this week."), ("es", "No hubo menciones")):
        mail = render_digest(empty, "Paquetto", locale=locale)
        assert said in mail.text and said in mail.html
        _parse(mail.html)
        for data in mail.images.values():
            assert _png_size(data) == (600, 240)
    assert render_digest(empty, "Paquetto").subject == "Paquetto — week 47: no mentions"
    assert "No alerts fired this week." in render_digest(empty, "Paquetto").text


def test_unknown_locale_is_refused(digest: WeekDigest) -> None:
    with pytest.raises(ValueError, match="locale"):
        render_digest(digest, "Paquetto", locale="fr")


@dataclass(frozen=True)
class _PlainTheme:
    label: str
    size: int
    examples: tuple[ThemeInput, ...]


def test_any_object_with_label_size_examples_is_a_theme(digest: WeekDigest) -> None:
    theme = _PlainTheme("billing", 3, (ThemeInput("1", "charged twice", "negative", "en"),))
    text = render_digest(digest, "Paquetto", themes=[theme]).text
    assert "billing — 3 mentions" in text and "“charged twice”" in text
