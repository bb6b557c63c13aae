"""The themes of a window of complaints: labelled groups, and which of them are new.

Pure: the caller reads the window and stores which theme each mention fell in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.themes import MIN_ITEMS, OTHER_LABEL, ThemeInput, build_themes
from monitor.detection.events import example
from monitor.kernel.events import ThemeSummary
from monitor.settings import BrandSettings
from monitor.storage.mentions import StoredMention

THEMES = 3
NEW_THEME_MIN = 5
THEME_SEPARATOR = "·"


@dataclass(frozen=True, slots=True)
class WindowThemes:
    """The themes a window shows, and the theme of each mention (to remember with the alert)."""

    summaries: tuple[ThemeSummary, ...] = ()
    members: dict[int, str] = field(default_factory=dict)


def window_themes(window: Sequence[StoredMention], brand: BrandSettings) -> WindowThemes:
    """The window's complaints grouped into a few labelled themes (not "other").

    Reposts are left out: they repeat a complaint (it counts once) and are never shown.
    Every named theme's members are kept, also those of themes too small to be shown.
    """
    originals = [m for m in window if not m.is_repost]
    if len(originals) < MIN_ITEMS:
        return WindowThemes()
    items = [
        ThemeInput(
            id=str(m.id),
            text=m.text,
            label="negative",
            lang=m.lang,
            engagement=m.engagement,
            touchpoints=m.touchpoints,
            url=m.url,
        )
        for m in originals
    ]
    by_id = {str(m.id): m for m in originals}
    themes = build_themes(items, max_themes=4, examples=2, ignore_terms=brand.keywords)
    members = {
        int(member): theme.label
        for theme in themes
        if theme.label != OTHER_LABEL
        for member in theme.member_ids
    }
    summaries = tuple(
        ThemeSummary(
            label=theme.label,
            size=theme.size,
            examples=tuple(example(by_id[e.id]) for e in theme.examples),
        )
        for theme in themes[:THEMES]
        if theme.label != OTHER_LABEL
    )
    return WindowThemes(summaries, members)


def themes_of(window: Sequence[StoredMention], brand: BrandSettings) -> tuple[ThemeSummary, ...]:
    """The window's complaints grouped into a few labelled themes (not "other")."""
    return window_themes(window, brand).summaries


def fresh_themes(themes: Sequence[ThemeSummary], announced: Sequence[str]) -> list[ThemeSummary]:
    """The big enough themes that share no keyword with any theme already announced.

    Labels drift as the window moves ("parcel · lost" → "parcel · missing"); a new
    complaint does not overlap.
    """
    known = {word for label in announced for word in _words(label)}
    return [t for t in themes if t.size >= NEW_THEME_MIN and not _words(t.label) & known]


def _words(label: str) -> set[str]:
    return {word.strip().casefold() for word in label.split(THEME_SEPARATOR) if word.strip()}
