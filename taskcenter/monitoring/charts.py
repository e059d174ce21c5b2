"""Server-side SVG charts: stacked bars and lines, drawn with no script and no CDN.

Each chart is one inline `<svg>` sized for a laptop screen (it scales with its box),
with gridlines, a few time labels, a legend, and a `<title>` per data point so a hover
shows its value.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from taskcenter.monitoring.series import Series

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 58
# Colour-blind-safe palette (Okabe-Ito), then grey for "other".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
OTHER = "#999999"
FAILURE = "#D00000"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _label(t: datetime, span: float) -> str:
    return t.strftime("%H:%M") if span <= 86400 else t.strftime("%m-%d %H:%M")


def _fmt(v: float) -> str:
    return f"{v:.3g}" if v < 1000 else f"{v:,.0f}"


def _frame(series: Series, top: float, unit: str, title: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="tc-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = TOP + plot_h * (1 - i / 4)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{escape(_fmt(top * i / 4))}{escape(unit)}</text>"
        )
    n = len(series.starts)
    if n:
        span = (series.starts[-1] - series.starts[0]).total_seconds()
        every = max(1, math.ceil(n / 6))
        for i in range(0, n, every):
            x = _x(i, n)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" fill="#555">'
                f"{escape(_label(series.starts[i], span))}</text>"
            )
    return parts


def _x(i: int, n: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + plot_w * (i + 0.5) / max(n, 1)


def _y(v: float, top: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h * (1 - v / top)


def _legend(names: list[tuple[str, str]]) -> list[str]:
    parts, x, y = [], LEFT, HEIGHT - 22
    for name, colour in names:
        short = name if len(name) <= 28 else "…" + name[-27:]
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y}" fill="#333">{escape(short)}</text>'
        )
        x += 24 + 6.2 * len(short)
        if x > WIDTH - 140:
            x, y = LEFT, y + 14
    return parts


def _colour(i: int, name: str) -> str:
    return OTHER if name == "other" else PALETTE[i % len(PALETTE)]


def stacked_bars(series: Series, *, title: str, overlay: Series | None = None) -> SafeString:
    """Draw one bar per bucket, stacked by series line; `overlay` as a red line on top."""
    n = len(series.starts)
    totals = [sum((line[i] or 0) for line in series.lines.values()) for i in range(n)]
    top = _nice_max(max(totals, default=0))
    parts = _frame(series, top, "", title)
    bar_w = max(2.0, (WIDTH - LEFT - RIGHT) / max(n, 1) * 0.7)
    base = [0.0] * n
    legend = []
    for k, (name, values) in enumerate(series.lines.items()):
        colour = _colour(k, name)
        legend.append((name, colour))
        for i, v in enumerate(values):
            if not v:
                continue
            y0, y1 = _y(base[i], top), _y(base[i] + v, top)
            parts.append(
                f'<rect class="tc-point" data-value="{v:g}" x="{_x(i, n) - bar_w / 2:.1f}" '
                f'y="{y1:.1f}" width="{bar_w:.1f}" height="{max(0.5, y0 - y1):.1f}" '
                f'fill="{colour}"><title>{escape(name)}: {v:g}</title></rect>'
            )
            base[i] += v
    if overlay:
        for name, values in overlay.lines.items():
            parts.extend(_polyline(values, top, FAILURE, name))
            legend.append((name, FAILURE))
    parts.extend(_legend(legend))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)


def _polyline(values: list[float | None], top: float, colour: str, name: str) -> list[str]:
    n = len(values)
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return []
    path = " ".join(f"{_x(i, n):.1f},{_y(v, top):.1f}" for i, v in points)
    parts = [f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>']
    parts.extend(
        f'<circle class="tc-point" data-value="{v:g}" cx="{_x(i, n):.1f}" cy="{_y(v, top):.1f}" '
        f'r="2.5" fill="{colour}"><title>{escape(name)}: {v:g}</title></circle>'
        for i, v in points
    )
    return parts


def lines(series: Series, *, title: str, unit: str = "") -> SafeString:
    """Draw each series line as a polyline with a dot per bucket that has a value."""
    peak = max((v for vs in series.lines.values() for v in vs if v is not None), default=0)
    top = _nice_max(peak)
    parts = _frame(series, top, unit, title)
    legend = []
    for k, (name, values) in enumerate(series.lines.items()):
        colour = _colour(k, name)
        legend.append((name, colour))
        parts.extend(_polyline(values, top, colour, name))
    parts.extend(_legend(legend))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)
