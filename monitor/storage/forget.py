"""`pulso forget-author`: erase everything an author posted (a privacy erasure request).

Their mentions go with every link, tag and theme, and so do their posts set aside in the
quarantine; the example posts that incidents and alert messages keep of them are taken
out (the counts stay as they were).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TextIO
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, delete, false, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.privacy import Pseudonymiser, handle_forms, normalise_handle
from monitor.settings import Settings
from monitor.storage.retention import BATCH, delete_mentions
from monitor.storage.schema import AlertRow, MentionRow, OutboxRow, QuarantineRow
from sources import SOURCES

logger = logging.getLogger(__name__)


@dataclass
class ForgetReport:
    """What an erasure removed, per kind of row."""

    mentions: int = 0
    mention_brands: int = 0
    mention_touchpoints: int = 0
    mention_themes: int = 0
    alerts: int = 0  # incidents whose details lost example posts
    outbox: int = 0  # alert messages whose payload lost example posts
    examples: int = 0  # example posts removed from both
    quarantine: int = 0  # set-aside mentions (pulso quarantine) of theirs

    def lines(self) -> list[str]:
        """One `kind: count` line per kind."""
        labels = {
            "alerts": "alerts scrubbed",
            "outbox": "outbox payloads scrubbed",
            "examples": "example posts removed",
        }
        return [f"{labels.get(f.name, f.name)}: {getattr(self, f.name)}" for f in fields(self)]


@dataclass(frozen=True)
class Author:
    """The author to forget: a raw handle, maybe one platform, and the pseudonym key."""

    handle: str
    source: str | None = None
    pseudonymiser: Pseudonymiser = field(default_factory=Pseudonymiser)

    def condition(self, sources: set[str]) -> ColumnElement[bool]:
        """Which mentions rows are theirs (raw handle or, on `sources`, its pseudonym)."""
        bare = normalise_handle(self.handle).lower()
        found: ColumnElement[bool] = func.lower(MentionRow.author_handle).in_([bare, "@" + bare])
        if self.pseudonymiser.enabled:
            aliases = [self.pseudonymiser.pseudonym(s, self.handle) for s in sorted(sources)]
            found = or_(found, MentionRow.author_handle.in_(aliases))
        if self.source is not None:
            found = found & (MentionRow.source == self.source)
        return found if bare else false()

    def wrote(self, example: Mapping[str, Any]) -> bool:
        """Whether an example post (as events store it) is theirs."""
        source = example.get("source")
        if self.source is not None and source != self.source:
            return False
        author = example.get("author")
        if isinstance(author, str) and author:
            if normalise_handle(author) == normalise_handle(self.handle):
                return True
            if self.pseudonymiser.enabled and isinstance(source, str):
                return author == self.pseudonymiser.pseudonym(source, self.handle)
            return False
        url = example.get("url")
        if isinstance(url, str):  # no author recorded: the post's address may still name them
            segments = {s.casefold() for s in urlsplit(url).path.split("/")}
            return bool(segments & handle_forms(self.handle))
        return False


def scrub_examples(value: Any, wrote: Callable[[Mapping[str, Any]], bool]) -> tuple[Any, int]:
    """`value` (event or details JSON) without the `examples` entries `wrote` picks; and how
    many were removed. Everything else, counts included, stays."""
    if isinstance(value, list):
        items = [scrub_examples(item, wrote) for item in value]
        return [item for item, _ in items], sum(n for _, n in items)
    if not isinstance(value, dict):
        return value, 0
    out: dict[str, Any] = {}
    removed = 0
    for key, item in value.items():
        if key == "examples" and isinstance(item, list):
            kept = [e for e in item if not (isinstance(e, dict) and wrote(e))]
            removed += len(item) - len(kept)
            item = kept
        item, nested = scrub_examples(item, wrote)
        out[key] = item
        removed += nested
    return out, removed


def count_mentions(session: Session, author: Author) -> int:
    """How many stored mentions are the author's."""
    condition = author.condition(_sources(session))
    query = select(func.count()).select_from(MentionRow).where(condition)
    return int(session.scalar(query) or 0)


def forget_author(sessions: sessionmaker[Session], author: Author) -> ForgetReport:
    """Erase the author's mentions and example posts, in one transaction."""
    report = ForgetReport()
    with sessions.begin() as session:
        condition = author.condition(_sources(session))
        ids = list(session.scalars(select(MentionRow.id).where(condition).order_by(MentionRow.id)))
        for start in range(0, len(ids), BATCH):
            for table, count in delete_mentions(session, ids[start : start + BATCH]).items():
                setattr(report, table, getattr(report, table) + count)
        for id_, details in session.execute(select(AlertRow.id, AlertRow.details)).all():
            scrubbed, removed = scrub_examples(details, author.wrote)
            if removed:
                session.execute(update(AlertRow).where(AlertRow.id == id_).values(details=scrubbed))
                report.alerts += 1
                report.examples += removed
        report.quarantine = _forget_quarantined(session, author)
        # Delivered messages too: their payloads are kept (for retention days) in this database.
        for id_, payload in session.execute(select(OutboxRow.id, OutboxRow.payload)).all():
            scrubbed, removed = scrub_examples(payload, author.wrote)
            if removed:
                scrub = update(OutboxRow).where(OutboxRow.id == id_).values(payload=scrubbed)
                session.execute(scrub)
                report.outbox += 1
                report.examples += removed
    logger.info(
        "forgot an author%s: %d mentions, %d example posts",
        f" on {author.source}" if author.source else "",
        report.mentions,
        report.examples,
    )
    return report


def _forget_quarantined(session: Session, author: Author) -> int:
    """Delete the author's mentions from the quarantine (their payload is the mention)."""
    theirs = []
    for id_, payload in session.execute(select(QuarantineRow.id, QuarantineRow.payload)).all():
        try:
            data = json.loads(payload)
        except ValueError:
            continue
        if isinstance(data, dict):
            post = {"source": data.get("source"), "author": data.get("author_handle")}
            post["url"] = data.get("url")
            if author.wrote(post):
                theirs.append(id_)
    if theirs:
        session.execute(delete(QuarantineRow).where(QuarantineRow.id.in_(theirs)))
    return len(theirs)


def _sources(session: Session) -> set[str]:
    stored = set(session.scalars(select(MentionRow.source).distinct()))
    return stored | set(SOURCES)


def run_forget_author(
    settings: Settings,
    handle: str,
    source: str | None,
    assume_yes: bool,
    out: TextIO | None = None,
    ask: Callable[[str], str] | None = None,
) -> int:
    """The command: count, confirm unless `assume_yes`, erase, print the counts."""
    from monitor.storage.engine import make_engine, migrate, session_factory

    out, ask = out or sys.stdout, ask or input  # looked up now: tests replace them
    if not normalise_handle(handle):
        sys.stderr.write("pulso forget-author: give the author's handle, e.g. @alice\n")
        return 2
    author = Author(handle, source, Pseudonymiser.from_settings(settings.privacy))
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        if not assume_yes:
            with sessions() as session:
                found = count_mentions(session, author)
            where = f" on {source}" if source else ""
            try:
                answer = ask(
                    f"erase {found} mentions by {handle}{where}, and their examples? [y/N] "
                )
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                out.write("nothing erased\n")
                return 1
        report = forget_author(sessions, author)
    finally:
        engine.dispose()
    out.write(f"erased author {handle}{f' on {source}' if source else ''}\n")
    out.writelines(line + "\n" for line in report.lines())
    return 0
