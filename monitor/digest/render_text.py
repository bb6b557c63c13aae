"""The digest's blocks as plain text: underlined headings and aligned tables."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.digest.blocks import Block, Cell, Heading, Paragraph, Table


def as_text(title: str, period: str, blocks: Sequence[Block]) -> str:
    """The plain-text part of the email; images are left out, their tables stay."""
    lines = [title, period]
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["", block.text, "-" * len(block.text)]
        elif isinstance(block, Paragraph):
            lines.append(" ".join(_cell_text(c) for c in block.cells))
        elif isinstance(block, Table):
            lines += _text_table(block)
    return "\n".join(lines).rstrip() + "\n"


def _cell_text(cell: Cell) -> str:
    return f"{cell.text} <{cell.href}>" if cell.href else cell.text


def _text_table(table: Table) -> list[str]:
    rows = [list(table.headers)] + [[_cell_text(c) for c in row] for row in table.rows]
    widths = [max(len(row[k]) for row in rows) for k in range(len(table.headers))]
    out = []
    for row in rows:
        first, *rest = row
        cells = [first.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    return out
