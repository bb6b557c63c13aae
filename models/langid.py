"""Offline language identification (lingua), limited to the languages a deployment expects."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from models.lazy import Lazy
from models.normalize import PLACEHOLDERS, encodable

logger = logging.getLogger(__name__)

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


class LanguageIdentifier:
    """Detects the language of each text among `languages` (ISO 639-1); None when unsure.

    Restricting lingua to the expected languages makes it both faster and more accurate
    on short posts; a post in another language gets the closest one, or None.
    """

    def __init__(self, languages: Sequence[str] = ("en", "es"), min_distance: float = 0.05) -> None:
        self.languages = tuple(dict.fromkeys(code.lower() for code in languages))
        self.min_distance = min_distance
        self._detector: Lazy[Any] = Lazy(self._build)

    def _build(self) -> Any:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        codes = [IsoCode639_1.from_str(code) for code in self.languages]
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
        return builder.with_minimum_relative_distance(self.min_distance).build()

    def __call__(self, texts: Sequence[str]) -> list[str | None]:
        """One ISO 639-1 code (or None) per text, in order; any str is accepted."""
        texts = [encodable(t) for t in texts]
        if len(self.languages) == 1:
            return [self.languages[0] if _LETTER.search(t) else None for t in texts]
        cleaned = [PLACEHOLDERS.sub(" ", t) for t in texts]
        found: list[str | None] = [None] * len(texts)
        todo = [i for i, text in enumerate(cleaned) if _LETTER.search(text)]
        if not todo:
            return found
        detector = self._detector.get()
        results = detector.detect_languages_in_parallel_of([cleaned[i] for i in todo])
        for i, language in zip(todo, results, strict=True):
            if language is not None:
                found[i] = language.iso_code_639_1.name.lower()
        return found
