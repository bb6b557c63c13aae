"""The weekly digest's two charts as PNG bytes, drawn with matplotlib's Agg canvas.

No pyplot: each chart is a `Figure` on its own `FigureCanvasAgg`, so nothing global is
touched and a daemon thread can draw while another does. The PNGs carry no software
or date metadata, so the same digest always gives the same bytes.
"""

from __future__ import annotations

import io
import math

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from monitor.digest.figures import WeekDigest
from monitor.digest.strings import strings_for

WIDTH_PX, HEIGHT_PX, DPI = 600, 240, 100
NEGATIVE, NEUTRAL, POSITIVE = "#c0504d", "#a5a5a5", "#6b9e5a"
LINE, GRID, INK = "#4a6fa5", "#e3e3e3", "#444444"


def daily_volume_png(digest: WeekDigest, locale: str = "en") -> bytes:
    """Stacked bars of the week's mentions per local day: negative, neutral, positive."""
    s = strings_for(locale)
    figure, axes = _canvas()
    x = list(range(len(digest.daily)))
    negative = [d.negative for d in digest.daily]
    neutral = [d.neutral for d in digest.daily]
    positive = [d.positive for d in digest.daily]
    on_neutral = [n + m for n, m in zip(negative, neutral, strict=True)]
    axes.bar(x, negative, color=NEGATIVE, label=s["negative"], width=0.65)
    axes.bar(x, neutral, bottom=negative, color=NEUTRAL, label=s["neutral"], width=0.65)
    axes.bar(x, positive, bottom=on_neutral, color=POSITIVE, label=s["positive"], width=0.65)
    top = max([n + p for n, p in zip(on_neutral, positive, strict=True)] + [0])
    # An empty week still gets a sensible axis rather than a degenerate 0..0 range.
    axes.set_ylim(0, max(top, 1) * 1.05)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    days = s["weekdays_short"].split()
    axes.set_xticks(x, [f"{days[d.day.weekday()]} {d.day.day}" for d in digest.daily])
    axes.set_title(s["daily"], loc="left", fontsize=9, color=INK)
    # Above the plot, beside the title, so it never covers a tall bar.
    axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize=7, frameon=False)
    return _png(figure)


def net_sentiment_png(digest: WeekDigest, locale: str = "en") -> bytes:
    """A line of net sentiment (-100..100) over the trend weeks, broken where a week is empty."""
    s = strings_for(locale)
    figure, axes = _canvas()
    weeks = digest.net_sentiment_weeks
    x = list(range(len(weeks)))
    # NaN breaks the line, so a week without mentions shows as a gap, not as zero.
    y = [math.nan if w.net_sentiment is None else float(w.net_sentiment) for w in weeks]
    axes.axhline(0, color="#999999", linewidth=0.8)
    axes.plot(x, y, color=LINE, linewidth=2, marker="o", markersize=4)
    axes.set_ylim(-105, 105)
    axes.set_yticks([-100, -50, 0, 50, 100])
    labels = [s["week_short"].format(n=w.week.rsplit("W", 1)[-1].lstrip("0")) for w in weeks]
    axes.set_xticks(x, labels)
    if x:
        axes.set_xlim(-0.5, len(x) - 0.5)
    axes.set_title(s["trend"], loc="left", fontsize=9, color=INK)
    return _png(figure)


def _canvas() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color("#bbbbbb")
    axes.tick_params(labelsize=8, colors=INK, length=0)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    figure.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.13)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
