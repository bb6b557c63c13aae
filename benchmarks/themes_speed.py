"""How fast and how good themes are: 5,000 and 10,000 demo mentions, the labelled fixture.

Run from the repository root: `.venv/bin/python benchmarks/themes_speed.py`.

The demo file holds about 4,300 mentions; past that, mentions are reused with a small
varying tail (" again", " order 48213", an emoji...) so that they are new texts, not
copies that would be folded together for free.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.themes import ThemeInput, build_themes  # noqa: E402
from models.touchpoints import TouchpointTagger, load_taxonomy  # noqa: E402
from tests.test_themes import (  # noqa: E402
    BRAND_TERMS,
    adjusted_rand,
    assignment,
    co_grouping,
    load_labelled,
    purity,
)

DEMO = ROOT / "sources" / "data" / "demo_mentions.jsonl"
TAILS = ("", " again", " smh", " 😤", " (day {n})", " order {n}", " update: still nothing")


def demo_mentions(count: int, tagger: TouchpointTagger) -> list[ThemeInput]:
    """`count` demo mentions as theme inputs, reused with a varying tail past the file's end."""
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(7)
    items = []
    for n in range(count):
        row = rows[n % len(rows)]
        text = row["text"]
        if n >= len(rows):
            text += rng.choice(TAILS).format(n=rng.randint(100, 99_999))
        engagement = row["likes"] + row["reposts"]
        items.append(
            ThemeInput(f"m{n}", text, "negative", row["lang"], engagement, tagger.tag(text))
        )
    return items


def main() -> None:
    """Print timings and quality figures."""
    print(f"cpu_count: {os.cpu_count()}")
    tagger = TouchpointTagger(load_taxonomy(ROOT / "config" / "touchpoints.yaml"))
    texts = [json.loads(line)["text"] for line in DEMO.read_text(encoding="utf-8").splitlines()]
    texts = (texts * (100_000 // len(texts) + 1))[:100_000]
    started = time.perf_counter()
    tagger.tag_many(texts)
    print(f"touchpoint tagging: 100000 texts in {time.perf_counter() - started:.2f} s")
    for count in (5_000, 10_000):
        items = demo_mentions(count, tagger)
        started = time.perf_counter()
        themes = build_themes(items, ignore_terms=BRAND_TERMS)
        elapsed = time.perf_counter() - started
        print(f"{count} mentions: {elapsed:.2f} s, {len(themes)} themes")
        for theme in themes:
            print(f"    {theme.size:5d}  {theme.label}")
    items, kind = load_labelled()
    started = time.perf_counter()
    themes = build_themes(items, ignore_terms=BRAND_TERMS)
    elapsed = time.perf_counter() - started
    share, coverage = purity(themes, kind)
    lang = {i.id: i.lang or "" for i in items}
    print(f"labelled fixture ({len(items)} posts, {elapsed * 1000:.0f} ms):")
    print(f"    purity {share:.3f} (coverage {coverage:.3f})")
    print(f"    adjusted Rand index {adjusted_rand(kind, assignment(themes)):.3f}")
    print(f"    EN/ES co-grouping {co_grouping(themes, kind, lang):.3f}")
    for theme in themes:
        print(f"    {theme.size:5d}  {theme.label}  {theme.languages}")


if __name__ == "__main__":
    main()
