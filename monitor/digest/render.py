"""A brand's weekly digest as an email: subject, plain text, HTML and the chart images.

Sections are built once as blocks of plain-text cells (`sections`), then written out
twice, as text (`render_text`) and as HTML (`render_html`), so both always show the
same figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from monitor.digest.charts import daily_volume_png, net_sentiment_png
from monitor.digest.figures import WeekDigest
from monitor.digest.formatting import Format, one_line
from monitor.digest.render_html import as_html
from monitor.digest.render_text import as_text
from monitor.digest.sections import DAILY_CID, NET_CID, ThemeLike, digest_blocks, subject
from monitor.digest.weeks import parse_week, week_number


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """The email: a one-line subject, plain text, HTML, and PNGs keyed by Content-ID."""

    subject: str
    text: str
    html: str
    images: dict[str, bytes]


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
    f = Format(locale, digest.tz)
    brand = one_line(brand_name)
    blocks = digest_blocks(digest, f, themes, segments, praise)
    title = f.s["title"].format(brand=brand, week=week_number(digest.week))
    monday = parse_week(digest.week)
    period = f.s["period"].format(
        start=f.day(monday), end=f.day(monday + timedelta(days=6), year=True)
    )
    return RenderedDigest(
        subject=subject(digest, brand, f),
        text=as_text(title, period, blocks),
        html=as_html(title, period, blocks, locale),
        images={
            DAILY_CID: daily_volume_png(digest, locale),
            NET_CID: net_sentiment_png(digest, locale),
        },
    )
