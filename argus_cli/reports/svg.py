"""Inline SVG charts for the HTML report, drawn by hand: stacked bars per day, lines over time.

Each chart has a fixed viewBox and is scaled by CSS (``width: 100%``), so a phone and a desktop
show the same picture; no script, no external resource. Every label goes through html.escape:
day names, disk paths and keys come from files a hand may have edited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 480, 170
LEFT, RIGHT, TOP, BOTTOM = 38, 8, 8, 20  # room for the y labels on the left, the days below
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
TICKS = 8  # day labels under a bar chart at most: more would run into each other on a phone
OTHER = "#8a8a8a"  # a key without a colour of its own (a severity a newer Argus writes)

Point = tuple[float, float]  # (x from 0 to 1 along the axis, value)


@dataclass(frozen=True)
class Bar:
    day: str
    parts: tuple[tuple[str, int], ...]  # (key, value), drawn from the bottom up

    @property
    def total(self) -> int:
        return sum(value for _, value in self.parts)


@dataclass(frozen=True)
class Line:
    name: str
    css: str  # the class a reader (or a test) finds it by: disk-trend, memory-trend, forecast
    color: str
    segments: tuple[tuple[Point, ...], ...]  # a gap in the readings breaks the line, never bridges it
    dashed: bool = False


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value``: a readable top of an axis."""
    step = 1.0
    while step * 10 <= value:
        step *= 10
    return next(n * step for n in (1, 2, 5, 10) if n * step >= value)


def _x(fraction: float) -> float:
    return round(LEFT + fraction * PLOT_W, 1)


def _y(value: float, top: float) -> float:
    return round(TOP + PLOT_H - min(max(value, 0.0), top) / top * PLOT_H, 1)


def _open(label: str, css: str) -> str:
    return (f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
            f'xmlns="http://www.w3.org/2000/svg" font-size="12" font-family="sans-serif">'
            f"<title>{escape(label)}</title>")


def _grid(top: float, unit: str) -> list[str]:
    """Three horizontal lines (0, half, top) and their labels."""
    out = []
    for value in (0.0, top / 2, top):
        y = _y(value, top)
        text = f"{value:g}{unit}" if value < 10_000 else f"{value / 1000:g}k{unit}" if value < 10**6 \
            else f"{value / 10**6:g}M{unit}"
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#ddd"/>'
                   f'<text x="{LEFT - 4}" y="{y + 4}" text-anchor="end" fill="#555">{escape(text)}</text>')
    return out


def _ticks(ticks: Sequence[tuple[float, str]]) -> list[str]:
    """Labels under the x axis; the first is anchored left and the last right, so none is cut off."""
    out = []
    for n, (fraction, text) in enumerate(ticks):
        anchor = "start" if n == 0 and fraction < 0.05 else "end" if fraction > 0.95 else "middle"
        out.append(f'<text x="{_x(fraction)}" y="{HEIGHT - 5}" text-anchor="{anchor}" fill="#555">'
                   f"{escape(text)}</text>")
    return out


def bar_chart(bars: Sequence[Bar], colors: Mapping[str, str], *, label: str, unit: str = "") -> str:
    """One stacked bar per day; a day at zero shows a grey tick on the axis, so it reads as zero."""
    top = nice_ceiling(max((bar.total for bar in bars), default=0) or 1)
    slot = 1 / max(1, len(bars))
    width = max(0.6, slot * PLOT_W * 0.8)
    out = [_open(label, "bars"), *_grid(top, unit)]
    for n, bar in enumerate(bars):
        out.append(_bar(bar, _x(n * slot + slot * 0.1), width, top, colors))
    # at most TICKS day labels, counted back from today so that today always has one
    every = -(-len(bars) // TICKS)
    out += _ticks([(n * slot + slot / 2, bars[n].day[5:]) for n in range(len(bars) - 1, -1, -every)][::-1])
    out.append("</svg>")
    return "".join(out)


def _bar(bar: Bar, x: float, width: float, top: float, colors: Mapping[str, str]) -> str:
    said = ", ".join(f"{value} {key}" for key, value in bar.parts if value) or "none"
    out = [f'<g class="bar" data-day="{escape(bar.day)}" data-total="{bar.total}">'
           f"<title>{escape(bar.day)}: {escape(said)}</title>"]
    if not bar.total:
        out.append(f'<rect class="zero" x="{x}" y="{TOP + PLOT_H - 1.5}" width="{width:.1f}" height="1.5" '
                   'fill="#999"/>')
    base = 0
    for key, value in bar.parts:
        if value:
            y0, y1 = _y(base, top), _y(base + value, top)
            out.append(f'<rect class="part" data-key="{escape(key)}" data-value="{value}" x="{x}" y="{y1}" '
                       f'width="{width:.1f}" height="{max(0.5, y0 - y1):.1f}" fill="{colors.get(key, OTHER)}"/>')
            base += value
    out.append("</g>")
    return "".join(out)


def line_chart(lines: Sequence[Line], *, label: str, top: float = 100.0, unit: str = "%",
               ticks: Sequence[tuple[float, str]] = (), now: float | None = None) -> str:
    """Lines over a time axis from 0 to 1; ``now`` marks where the readings end and a forecast begins."""
    out = [_open(label, "lines"), *_grid(top, unit)]
    if now is not None:
        out.append(f'<line class="now" x1="{_x(now)}" x2="{_x(now)}" y1="{TOP}" y2="{TOP + PLOT_H}" '
                   'stroke="#999" stroke-dasharray="2 3"/>')
    for line in lines:
        out.append(_path(line, top))
    out += _ticks(ticks)
    out.append("</svg>")
    return "".join(out)


def _path(line: Line, top: float) -> str:
    moves = []
    for segment in line.segments:
        # one reading alone is drawn as a dot: a zero-length stroke with round caps
        points = segment if len(segment) > 1 else (segment[0], segment[0])
        moves.append("M" + " L".join(f"{_x(x)} {_y(v, top)}" for x, v in points))
    dash = ' stroke-dasharray="5 4"' if line.dashed else ""
    return (f'<path class="{escape(line.css)}" data-name="{escape(line.name)}" d="{" ".join(moves)}" fill="none" '
            f'stroke="{line.color}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"{dash}>'
            f"<title>{escape(line.name)}</title></path>")
