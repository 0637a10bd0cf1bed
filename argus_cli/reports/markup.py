"""HTML building blocks of the report page (reports/html.py): escaping, tables, legends, sections.

Every string that reaches the page goes through ``e`` (html.escape with quotes) unless it is
``Safe``, HTML this package built.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from argus_cli.model import iso_z
from argus_cli.reports.svg import Bar
from argus_cli.reports.trends import DAY

OTHER = "other (the rest)"  # the rows or columns a table folds together


class Safe(str):
    """HTML this module built: a table cell that must not be escaped again."""


def e(value: object) -> str:
    return escape(str(value), quote=True)


CARDS = 4  # columns from which a table becomes one card per row on a phone (see the page's CSS)


def _cell(value: object, label: str | None) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    text = value if isinstance(value, Safe) else e(value)
    css = " zero" if numeric and not value else ""
    named = f' data-label="{e(label)}"' if label is not None else ""
    return f'<td class="n{css}"{named}>{text}</td>' if numeric else f"<td{named}>{text}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], ident: str) -> str:
    """Numbers align right; every other cell is escaped unless it is Safe. A wide table carries
    each cell's heading, so a phone can show a row as a card: "heading: value", zeros left out."""
    cards = len(headers) >= CARDS
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v, h if cards and n else None)
                                    for n, (h, v) in enumerate(zip(headers, row, strict=True))) + "</tr>"
                   for row in rows)
    css = ' class="cards"' if cards else ""
    return (f'<div class="scroll"><table id="{e(ident)}"{css}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def legend(colors: Mapping[str, str], shown: Iterable[str] | None = None) -> str:
    keys = list(colors) if shown is None else [k for k in colors if k in set(shown)]
    items = "".join(f'<li><span class="swatch" style="background:{colors[k]}"></span>{e(k)}</li>' for k in keys)
    return f'<ul class="legend">{items}</ul>'


def empty(text: str) -> str:
    return f'<p class="empty">{e(text)}</p>'


def when(epoch: float) -> str:
    return iso_z(epoch).replace("T", " ").replace("Z", " UTC")


def span(seconds: float) -> str:
    minutes, hours = int(seconds // 60), int(seconds // 3600)
    if seconds < 3600:
        return f"{max(minutes, 0)} min"
    if hours < 48:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{seconds / DAY:.1f} days"


def section(ident: str, title: str, window: str, *body: str) -> str:
    return f'<section id="{ident}"><h2>{e(title)}</h2><p class="window">{e(window)}</p>{"".join(body)}</section>'


def bars_of(days: Sequence[str], counts: Mapping[str, Mapping[str, int]], order: Iterable[str]) -> list[Bar]:
    """One bar per day of the window, its parts in ``order`` then any other key, zero days too."""
    known = list(order)
    out = []
    for day in days:
        got = counts.get(day, {})
        keys = known + sorted(k for k in got if k not in known)
        out.append(Bar(day, tuple((k, got.get(k, 0)) for k in keys)))
    return out


def counted(counter: Counter[tuple[str, str]], most: int = 12) -> tuple[list[str], list[list[object]]]:
    """A (row, column) counter as table columns and rows, both sorted by their totals; past the
    ``most`` biggest rows or columns the rest are summed as ``other`` (a hand-edited file with a
    thousand action types must not make a page of a million cells)."""
    rows = Counter[str]()
    cols = Counter[str]()
    for (row, col), n in counter.items():
        rows[row] += n
        cols[col] += n
    kept_rows = {r for r, _ in rows.most_common(most)} if len(rows) > most else set(rows)
    kept_cols = {c for c, _ in cols.most_common(most)} if len(cols) > most else set(cols)
    folded = Counter[tuple[str, str]]()
    for (row, col), n in counter.items():
        folded[row if row in kept_rows else OTHER, col if col in kept_cols else OTHER] += n
    rows, cols = Counter[str](), Counter[str]()
    for (row, col), n in folded.items():
        rows[row] += n
        cols[col] += n
    columns = [c for c, _ in cols.most_common()]
    return columns, [[row, *(folded.get((row, c), 0) for c in columns), total] for row, total in rows.most_common()]
