"""A digest as blocks of plain-text cells, written out once as text and once as HTML.

Building the sections once and writing them out twice means both parts of the email
always show the same figures; no cell holds markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Cell:
    """Plain text, optionally coloured, bold, or linked (only http(s) links are written)."""

    text: str
    color: str | None = None
    href: str | None = None
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Heading:
    """A section title."""

    text: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A line of cells; muted is greyer, for examples and notes."""

    cells: tuple[Cell, ...]
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """Headers and rows; the first column is a name, the others are figures."""

    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Image:
    """A chart attached by Content-ID, with its alternative text."""

    cid: str
    alt: str


Block = Heading | Paragraph | Table | Image
