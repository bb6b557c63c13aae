"""Everything a running Pulso holds: settings, database, scorer, sources, detectors, outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.engines import EngineOptions, build_scorer
from models.sentiment import Scorer
from models.touchpoints import TouchpointTagger, load_taxonomy
from monitor.delivery.outbox import Outbox
from monitor.detection.rules import SpikeRule, build_rules
from monitor.kernel.records import utcnow
from monitor.matching import BrandMatcher
from monitor.privacy import Pseudonymiser
from monitor.settings import BrandSettings, Settings
from monitor.storage.engine import make_engine, migrate, session_factory
from monitor.telemetry import TimedScorer
from notifiers import NOTIFIERS, Notifier, NotifierSettings
from sources import SOURCES, Source, SourceSettings

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The live objects of one Pulso process, built once from validated settings."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    scorer: Scorer
    sources: dict[tuple[str, str], Source[SourceSettings]]
    matchers: dict[str, BrandMatcher]
    detectors: dict[str, list[SpikeRule]]
    outbox: Outbox
    clock: Callable[[], datetime]
    tagger: TouchpointTagger | None = None
    privacy: Pseudonymiser = field(default_factory=Pseudonymiser)

    def brand(self, brand_id: str) -> BrandSettings:
        """A brand's settings by id."""
        return next(b for b in self.settings.brands if b.id == brand_id)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_runtime(
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    notifiers: Mapping[str, Notifier[NotifierSettings]] | None = None,
) -> Runtime:
    """Connect, migrate and build every component the settings ask for."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    if notifiers is None:
        notifiers = {
            name: NOTIFIERS[name](config) for name, config in settings.notifiers.enabled().items()
        }
    sentiment = settings.sentiment
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        scorer=TimedScorer(
            build_scorer(
                EngineOptions(
                    engine=sentiment.engine,
                    model=sentiment.model,
                    threads=sentiment.threads,
                    batch_size=sentiment.batch_size,
                    allow_download=sentiment.allow_download,
                    languages=settings.languages(),
                    negative_below=sentiment.negative_below,
                    positive_above=sentiment.positive_above,
                )
            )
        ),
        sources={
            (brand.id, name): SOURCES[name](config)
            for brand in settings.brands
            for name, config in brand.sources.enabled().items()
        },
        matchers={b.id: BrandMatcher(b.keywords, b.exclusions) for b in settings.brands},
        detectors={b.id: build_rules(b.detector) for b in settings.brands},
        outbox=Outbox(sessions=sessions, notifiers=notifiers, clock=clock),
        clock=clock,
        tagger=TouchpointTagger(load_taxonomy(settings.touchpoints))
        if settings.touchpoints
        else None,
        privacy=Pseudonymiser.from_settings(settings.privacy),
    )
