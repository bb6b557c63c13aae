"""Untrusted text made safe to show: no control characters, nothing that reorders or hides.

A post can carry bidirectional overrides (U+202E turns "gpj.exe" into "exe.jpg" on screen),
isolates, zero-width spaces and other invisible format characters. Shown as they are in a
Slack alert, an e-mail or a console, they make a post read other than it is, or hide a
word from a reader while a filter still sees it. The joiners emoji and some scripts need
(U+200C, U+200D) are kept.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls (a character class's inside: the one
# definition, also for the boundary's normalisation).
CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
# The controls; bidi marks, embeddings, overrides and isolates; zero width space, word
# joiner and invisible operators; BOM; Mongolian vowel separator.
HIDDEN = re.compile(
    f"[{CONTROLS}\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def visible(text: str, replacement: str = " ") -> str:
    """`text` with every hidden or direction-changing character replaced."""
    return HIDDEN.sub(replacement, text)
