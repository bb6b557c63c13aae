"""The digest's blocks as an HTML email that mail clients show as meant.

One centred 600 px column of tables with inline styles only, because mail clients drop
<style> blocks and block remote images; the charts are attached by Content-ID and each
is followed by its figures as a table. Every cell goes through `html.escape` in one
place (`_cell_html`), and only http(s) URLs become links: nothing that comes from posts
or config can add markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from monitor.digest.blocks import Block, Cell, Heading, Image, Paragraph, Table
from monitor.digest.charts import HEIGHT_PX, WIDTH_PX
from monitor.digest.formatting import is_web_url

_FONT = "font-family:Helvetica,Arial,sans-serif;color:#222222;"
_CELL = "padding:4px 8px;border-bottom:1px solid #eeeeee;font-size:13px;"


def as_html(title: str, period: str, blocks: Sequence[Block], lang: str) -> str:
    """The HTML part of the email, a complete document in language `lang`."""
    e = html.escape
    body = [
        f'<tr><td style="{_FONT}padding:20px 24px 4px;font-size:20px;font-weight:bold;">'
        f"{e(title)}</td></tr>",
        f'<tr><td style="{_FONT}padding:0 24px 12px;font-size:13px;color:#666666;">'
        f"{e(period)}</td></tr>",
    ]
    body += [f'<tr><td style="{_FONT}padding:4px 24px;">{_block_html(b)}</td></tr>' for b in blocks]
    return (
        f'<!DOCTYPE html>\n<html lang="{e(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f4;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f4f4f4;"><tr><td align="center" style="padding:16px 0;">\n'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" '
        'style="width:600px;max-width:100%;background:#ffffff;">\n'
        + "\n".join(body)
        + '\n<tr><td style="padding:12px;"></td></tr>\n</table>\n</td></tr></table>\n'
        "</body>\n</html>\n"
    )


def _block_html(block: Block) -> str:
    e = html.escape
    if isinstance(block, Heading):
        return (
            '<h2 style="margin:16px 0 6px;font-size:16px;font-family:Helvetica,Arial,'
            f'sans-serif;color:#222222;">{e(block.text)}</h2>'
        )
    if isinstance(block, Paragraph):
        color = "#555555" if block.muted else "#222222"
        cells = " ".join(_cell_html(c) for c in block.cells)
        return f'<p style="margin:4px 0;font-size:13px;color:{color};">{cells}</p>'
    if isinstance(block, Image):
        return (
            f'<img src="cid:{e(block.cid)}" width="{WIDTH_PX}" height="{HEIGHT_PX}" '
            f'alt="{e(block.alt)}" style="display:block;width:100%;max-width:{WIDTH_PX}px;'
            'height:auto;border:0;">'
        )
    return _table_html(block)


def _table_html(table: Table) -> str:
    e = html.escape
    head = "".join(
        f'<th align="{"left" if k == 0 else "right"}" style="{_CELL}color:#666666;'
        f'font-weight:normal;">{e(h)}</th>'
        for k, h in enumerate(table.headers)
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td align="{"left" if k == 0 else "right"}" style="{_CELL}">{_cell_html(c)}</td>'
            for k, c in enumerate(row)
        )
        + "</tr>"
        for row in table.rows
    )
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;"><tr>{head}</tr>{rows}</table>'
    )


def _cell_html(cell: Cell) -> str:
    """The only place a cell becomes markup: escaped, and linked only to http(s) URLs."""
    text = html.escape(cell.text)
    if cell.bold:
        text = f"<strong>{text}</strong>"
    if cell.color:
        text = f'<span style="color:{cell.color};">{text}</span>'
    if cell.href and is_web_url(cell.href):
        text = f'<a href="{html.escape(cell.href)}" style="color:#1a5fb4;">{text}</a>'
    return text
