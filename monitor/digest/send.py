"""Send the weekly digests: queued once per brand and week after the configured local time,
then mailed through the digests outbox (retried, never lost, never sent twice)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from monitor.delivery.digests import DigestReport, deliver_digests, queue_digest
from monitor.digest.build import build_digest, last_week
from monitor.runtime import Runtime
from monitor.settings import BrandSettings, DigestSettings
from monitor.storage.schema import DigestRow
from notifiers import build_message, send_message

logger = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def digest_key(settings: DigestSettings) -> str:
    """Who gets it and in which language: a new audience gets its own copy."""
    audience = f"{settings.locale}|{','.join(sorted(settings.recipients))}"
    return hashlib.sha256(audience.encode("utf-8")).hexdigest()[:16]


def due(settings: DigestSettings, now: datetime) -> bool:
    """Whether this week's sending time (day and time, local) has come."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=DAYS.index(settings.day))
    hour, minute = (int(part) for part in settings.time.split(":"))
    send_at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=local.tzinfo)
    return local >= send_at


def send_due_digests(
    rt: Runtime, week: str | None = None, force: bool = False, only: str | None = None
) -> DigestReport:
    """Queue last week's digest of each brand once it is due (or `week`, `force`), mail them.

    `only` limits the queueing to one brand."""
    settings = rt.settings.digest
    if settings is None or not settings.enabled:
        return DigestReport()
    now = rt.clock()
    brands = [
        b
        for b in rt.settings.brands
        if (not settings.brands or b.id in settings.brands) and only in (None, b.id)
    ]
    if force or due(settings, now):
        week = week or last_week(settings.timezone, now)
        with rt.sessions.begin() as session:
            for brand in brands:
                if queue_digest(
                    session,
                    brand.id,
                    week,
                    digest_key(settings),
                    now,
                    locale=settings.locale,
                    recipients=settings.recipients,
                ):
                    logger.info("digest of %s for %s queued", brand.id, week)
    by_id = {b.id: b for b in rt.settings.brands}

    def build(row: DigestRow) -> EmailMessage:
        return _message(rt, settings, by_id[row.brand], row)

    def send(message: EmailMessage) -> object:
        return send_message(settings.smtp, message)

    return deliver_digests(rt.sessions, build, send, now)


def _message(
    rt: Runtime, settings: DigestSettings, brand: BrandSettings, row: DigestRow
) -> EmailMessage:
    with rt.sessions() as session:
        rendered = build_digest(session, brand, row.week, settings.timezone, row.locale)
    return build_message(
        rendered.subject,
        rendered.text,
        rendered.html,
        rendered.images,
        settings.smtp.sender,
        list(row.recipients),
    )
