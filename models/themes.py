"""Themes: group posts so a person sees what they are about at a glance.

`build_themes(items)` returns a few labelled groups ("delivered · never arrived ·
doorstep"), largest first, with their sentiment, touchpoint and language mix and 2-3
example posts; what fits nowhere is an honest final "other".

How, in short (numpy only, no downloads, deterministic and independent of input order):

1. Texts are normalised, accent-folded and lightly stemmed (English and Spanish), with
   stopwords and the caller's `ignore_terms` (brand names, handles) left out. A small
   bilingual lexicon of customer-service concepts makes "refund" and "reembolso" one
   token, and negation makes "never arrived" and "no ha llegado" one too; word pairs,
   emoji and the posts' touchpoints are tokens as well. Weights are TF-IDF with a
   damped IDF (short texts share few words; the shared ones matter).
2. Reposts and copies (same words, whatever handles, links, emoji or hashtags) are one
   text: they count in a theme's size but not in whether a theme exists.
3. Distinct texts are grouped by average linkage (nearest-neighbour chain) down to a
   fair similarity, then groups merge while members across are about half as alike as
   members within, or more (fragments of one story join; "parcel missing" and "rude
   courier" stay apart). Past 1,000 distinct texts an even sample is grouped and the
   rest join the nearest group. Groups with fewer than 3 different texts are no theme.
4. Labels are the words most over-represented in a group, written as its main language
   writes them.

`models.theme_words` turns texts into tokens (step 1), `models.theme_clustering` groups
them (step 3); this module folds copies together, names the groups and picks examples.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.theme_clustering import MIN_COHESION, Floats, cluster, vectorise
from models.theme_words import (
    STOPWORDS,
    TOUCHPOINT_PREFIX,
    TOUCHPOINT_WEIGHT,
    Analyser,
    Doc,
    is_repost,
    is_shown,
)
from models.touchpoints import fold

__all__ = ["MIN_ITEMS", "OTHER_LABEL", "Theme", "ThemeInput", "build_themes"]

OTHER_LABEL = "other"
MIN_ITEMS = 5  # below this, one theme at most: there is nothing to compare
_MIN_FIT = 0.25  # a text this far from its group's centre goes to "other" instead
_MIN_DOCS = 3  # distinct texts a theme needs (so one viral post cannot be a theme)
_KEYWORDS = 8
_LABEL_SHARE = 0.15  # a label word is in at least this share of the theme's texts


@dataclass(frozen=True, slots=True)
class ThemeInput:
    """One post to group: its text, sentiment label, language and journey touchpoints."""

    id: str
    text: str
    label: str
    lang: str | None
    engagement: int = 0
    touchpoints: tuple[str, ...] = ()
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Theme:
    """A group of posts about one thing, described for a person in a hurry.

    `label` is 2-3 keywords joined by " · " (or "other" for the leftovers); the counts
    (`sentiment`, `touchpoints`, `languages`) include reposts and run largest first;
    `member_ids` are sorted; `examples` are distinct texts, never two copies of one.
    """

    label: str
    keywords: tuple[str, ...]
    size: int
    sentiment: dict[str, int]
    touchpoints: dict[str, int]
    member_ids: tuple[str, ...]
    examples: tuple[ThemeInput, ...]
    languages: dict[str, int]


# ---------------------------------------------------------------------------------------
# Themes: grouping distinct texts, then describing each group
# ---------------------------------------------------------------------------------------


def build_themes(
    items: Sequence[ThemeInput],
    *,
    max_themes: int = 8,
    examples: int = 3,
    ignore_terms: Sequence[str] = (),
) -> list[Theme]:
    """Group posts into at most `max_themes` themes, largest first, "other" (if any) last.

    `max_themes` counts "other"; `examples` is how many posts each theme shows;
    `ignore_terms` (brand names, handles, hashtags; each word of a phrase) neither label
    nor group anything. Fewer than `MIN_ITEMS` distinct texts make one theme. An "other"
    holding a single post is left out.
    """
    if not items or max_themes < 1:
        return []
    docs = _distinct(items, Analyser(ignore_terms))
    describe = _Describer(items, docs, examples)
    if len(docs) < MIN_ITEMS:
        return [describe.theme(list(range(len(docs))), None, named=True)]
    rows, kept = vectorise(docs)
    groups: dict[int, list[int]] = {}
    fits = np.zeros(len(docs), dtype=np.float32)
    clustered = cluster(rows) if rows.count >= MIN_ITEMS else None
    if clustered is not None:
        labels, fit, cohesion = clustered
        fits[kept] = fit
        for number, label, score in zip(kept.tolist(), labels.tolist(), fit.tolist(), strict=True):
            if score >= _MIN_FIT and cohesion[label] >= MIN_COHESION:
                groups.setdefault(label, []).append(number)
    return _arrange(describe, groups, fits, max_themes)


def _distinct(items: Sequence[ThemeInput], analyser: Analyser) -> list[Doc]:
    """One doc per distinct text (reposts and copies folded in), in a fixed order."""
    by_text: dict[str, Doc] = {}
    groups: dict[str, list[int]] = {}
    for number, item in enumerate(items):
        doc = by_text.get(item.text)
        if doc is None:
            doc = by_text[item.text] = analyser.document(item.text)
        groups.setdefault(doc.signature, []).append(number)
    docs = []
    for signature in sorted(groups):
        members = sorted(groups[signature], key=lambda n: _rank(items[n]))
        first = by_text[items[members[0]].text]
        weights = dict(first.weights)
        for number in members:
            weights.update(
                (TOUCHPOINT_PREFIX + tp, TOUCHPOINT_WEIGHT) for tp in items[number].touchpoints
            )
        docs.append(Doc(signature, weights, first.surfaces, members))
    return docs


def _rank(item: ThemeInput) -> tuple[bool, int, str]:
    """Which copy of a text stands for it: an original, the most engaged, then by id."""
    return (is_repost(item.text), -item.engagement, item.id)


def _arrange(
    describe: _Describer, groups: dict[int, list[int]], fits: Floats, max_themes: int
) -> list[Theme]:
    """Named themes by size, then the leftovers as "other" (dropped if a single post)."""
    size = describe.size
    floor = max(_MIN_DOCS, math.ceil(0.005 * len(describe.docs)))
    ranked = sorted(
        (g for g in groups.values() if describe.variety(g) >= floor),
        key=lambda g: (-size(g), -len(g), describe.docs[g[0]].signature),
    )
    named = ranked[:max_themes]
    placed = {n for g in named for n in g}
    rest = [n for n in range(len(describe.docs)) if n not in placed]
    if size(rest) >= 2 and len(named) == max_themes:
        rest.extend(named.pop())
    themes = [describe.theme(g, fits, named=True) for g in named]
    if size(rest) >= 2 or (rest and not themes):
        themes.append(describe.theme(sorted(rest), fits, named=False))
    return themes


class _Describer:
    """Describes a group of distinct texts as a Theme: label, keywords, mix, examples."""

    def __init__(self, items: Sequence[ThemeInput], docs: list[Doc], examples: int) -> None:
        self.items, self.docs, self.examples = items, docs, examples
        self.df = Counter(token for doc in docs for token in doc.weights)

    def size(self, group: Iterable[int]) -> int:
        """Posts in a group of docs, copies included."""
        return sum(len(self.docs[n].members) for n in group)

    def variety(self, group: list[int]) -> int:
        """Texts in a group that differ in their words (copypasta variants count once)."""
        return len(
            {
                frozenset(t for t in self.docs[n].weights if " " not in t and is_shown(t))
                for n in group
            }
        )

    def theme(self, group: list[int], fits: Floats | None, *, named: bool) -> Theme:
        """The Theme for `group` (doc numbers); "other" when not `named` or wordless."""
        members = [m for n in group for m in self.docs[n].members]
        languages = _count(self.items[m].lang or "unknown" for m in members)
        keywords, label = self._keywords(group, named, next(iter(languages)))
        return Theme(
            label=label if named and label else OTHER_LABEL,
            keywords=tuple(keywords),
            size=len(members),
            sentiment=_count(self.items[m].label for m in members),
            touchpoints=_count(tp for m in members for tp in self.items[m].touchpoints),
            member_ids=tuple(sorted(self.items[m].id for m in members)),
            examples=self._examples(group, fits),
            languages=languages,
        )

    def _keywords(self, group: list[int], lift: bool, lang: str) -> tuple[list[str], str]:
        """Keywords (frequent in the group, and with `lift` rarer outside) and a label.

        The label takes the best 2-3 keywords as the group's main language writes them.
        """
        inside = Counter(t for n in group for t in self.docs[n].weights if is_shown(t))
        size, total = len(group), len(self.docs)
        scored = []
        for token, count in inside.items():
            p = count / size
            q = (self.df[token] - count + 1) / (total - size + 2)
            score = p * math.log(p / q) if lift else p
            if count >= 2 and score > 0:
                scored.append((-score, token))
        keywords: list[str] = []
        label: list[str] = []
        used: set[str] = set()
        for score, token in sorted(scored):
            surface, native = self._surface(group, token, lang)
            words = {w for w in fold(surface).split() if w not in STOPWORDS}
            if words & used:
                continue
            used |= words
            keywords.append(surface)
            strong = len(label) < 2 or -score >= 0.3 * -scored[0][0]
            if native and len(label) < 3 and strong and inside[token] >= _LABEL_SHARE * size:
                label.append(surface)
            if len(keywords) == _KEYWORDS:
                break
        return keywords, " · ".join(label if len(label) >= 2 else keywords[:3])

    def _surface(self, group: list[int], token: str, lang: str) -> tuple[str, bool]:
        """How the group most often wrote `token`, in `lang` if it did; and whether so."""
        docs = [self.docs[n] for n in group if token in self.docs[n].surfaces]
        native = [d for d in docs if (self.items[d.members[0]].lang or "unknown") == lang]
        ways = Counter(d.surfaces[token] for d in native or docs)
        return min(ways.items(), key=lambda way: (-way[1], way[0]))[0], bool(native)

    def _examples(self, group: list[int], fits: Floats | None) -> tuple[ThemeInput, ...]:
        """Central, engaging posts of the group, each saying something different.

        When a second language makes up a fifth of the group or more, it gets an example.
        """

        def score(n: int) -> float:
            fit = float(fits[n]) if fits is not None else 1.0
            return fit * (1.0 + 0.1 * math.log1p(max(self._first(n).engagement, 0)))

        order = sorted(group, key=lambda n: (-score(n), self.docs[n].signature))
        picked: list[int] = []
        for n in order:
            if len(picked) < self.examples and self._new(n, picked):
                picked.append(n)
        spoken = Counter(self._first(n).lang for n in group)
        wanted = {lang for lang, count in spoken.items() if count >= 0.2 * len(group)}
        missing = wanted - {self._first(n).lang for n in picked}
        if len(picked) >= 2 and missing:
            swap = next((n for n in order if self._first(n).lang in missing), None)
            if swap is not None and self._new(swap, picked[:-1]):
                picked[-1] = swap
        return tuple(self._first(n) for n in picked)

    def _first(self, n: int) -> ThemeInput:
        return self.items[self.docs[n].members[0]]

    def _new(self, n: int, picked: list[int]) -> bool:
        return all(_overlap(self.docs[n], self.docs[p]) < 0.6 for p in picked)


def _overlap(a: Doc, b: Doc) -> float:
    left, right = set(a.weights), set(b.weights)
    return len(left & right) / max(len(left | right), 1)


def _count(values: Iterable[str]) -> dict[str, int]:
    counts = Counter(values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
