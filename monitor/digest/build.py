"""Put a brand's weekly digest together: figures from SQL, complaint themes, rendering."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from monitor.detection.themes import themes_of
from monitor.digest.data import week_digest
from monitor.digest.render import RenderedDigest, render_digest
from monitor.digest.segments import author_segments, positives_between
from monitor.digest.strings import strings_for
from monitor.digest.weeks import week_label
from monitor.settings import BrandSettings
from monitor.storage.mentions import negatives_between

SAMPLE = 3000  # the week's most engaging complaints (or praise) are enough to name its themes


def last_week(tz: str, now: datetime) -> str:
    """The last complete ISO week in time zone `tz`, as "2026-W47"."""
    return week_label(now.astimezone(ZoneInfo(tz)).date() - timedelta(days=7))


def own_accounts(brand: BrandSettings) -> tuple[str, ...]:
    """Names the brand's own accounts carry: its keywords that are one word of 4+ letters."""
    names = (k.strip().lstrip("@#") for k in brand.keywords)
    return tuple(dict.fromkeys(n for n in names if len(n) >= 4 and " " not in n))


def build_digest(
    session: Session, brand: BrandSettings, week: str, tz: str, locale: str
) -> RenderedDigest:
    """The rendered digest of `brand` for `week`: figures, charts, complaint and praise
    themes, and author segments with their movement since the week before."""
    labels = strings_for(locale)
    digest = week_digest(session, brand.id, week, tz, own_accounts(brand))
    complaints = negatives_between(session, brand.id, digest.start, digest.end, limit=SAMPLE)
    themes = list(themes_of(complaints, brand))
    praised = positives_between(session, brand.id, digest.start, digest.end, limit=SAMPLE)
    praise = list(themes_of(praised, brand))
    counts = author_segments(session, brand.id, digest.start, digest.end)
    segments = {labels[name]: pair for name, pair in counts.items() if any(pair)}
    return render_digest(
        digest,
        brand.name,
        locale,
        themes=themes or None,
        segments=segments or None,
        praise=praise or None,
    )


def preview_html(rendered: RenderedDigest) -> str:
    """The digest's HTML with its inline images embedded, for a browser."""
    html = rendered.html
    for cid, png in rendered.images.items():
        data = base64.b64encode(png).decode("ascii")
        html = html.replace(f'src="cid:{cid}"', f'src="data:image/png;base64,{data}"')
    return html
