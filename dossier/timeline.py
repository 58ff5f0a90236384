"""The timeline figure, drawn as SVG from the data: 1918–1921, a break, then 1991.

Time runs down a vertical axis in proportion; labels sit to its right, pushed down
only as far as needed so that none overlaps the one above, each tied to its date
by a thin leader. Treaties are set in bold; nothing relies on colour.
"""
from __future__ import annotations

import datetime as dt
from html import escape

from .data import TreatyData, format_date
from .render import one_line

WIDTH = 600
AXIS_X = 92
LABEL_X = 150
LINE = 13.5  # vertical space a label needs
SCALE = 0.34  # units per day
TOP = 24


def _entries(data: TreatyData) -> list[tuple[dt.date, str, bool, str]]:
    entries = [(t.values["signed"], f"{t.values['name']} signed", True, str(t.values.get("sources", {}).get("signed", ""))) for t in data.treaties]
    entries += [(e.date, e.label, False, e.source) for e in data.events]
    return sorted(entries, key=lambda e: e[0])


def timeline_svg(data: TreatyData) -> str:
    entries = _entries(data)
    if not entries:
        return ""
    early = [e for e in entries if e[0].year <= 1925]
    late = [e for e in entries if e[0].year > 1925]
    start = dt.date(min(e[0].year for e in early), 1, 1) if early else entries[0][0]
    end = dt.date(max(e[0].year for e in early) + 1, 1, 1) if early else start

    def y_of(day: dt.date) -> float:
        return TOP + (day - start).days * SCALE

    parts: list[str] = []
    axis_end = y_of(end)
    # Year ticks
    for year in range(start.year, end.year + 1):
        y = y_of(dt.date(year, 1, 1))
        parts.append(f'<line x1="{AXIS_X - 6}" y1="{y:.1f}" x2="{AXIS_X}" y2="{y:.1f}" stroke="black" stroke-width="0.8"/>')
        parts.append(f'<text x="{AXIS_X - 10}" y="{y + 3.5:.1f}" text-anchor="end" font-size="11" font-weight="bold">{year}</text>')
    labels_y = TOP - LINE
    placed = []
    for day, label, is_treaty, _ in early:
        y = y_of(day)
        labels_y = max(y, labels_y + LINE)
        placed.append((day, label, is_treaty, y, labels_y))
    bottom = max(axis_end, labels_y + LINE)
    parts.insert(0, f'<line x1="{AXIS_X}" y1="{TOP:.1f}" x2="{AXIS_X}" y2="{axis_end:.1f}" stroke="black" stroke-width="1.2"/>')
    if late:
        gap_top = bottom + 8
        parts.append(_axis_break(AXIS_X, axis_end, gap_top))
        year_y = gap_top + 18
        late_year = late[0][0].year
        parts.append(f'<text x="{AXIS_X - 10}" y="{year_y + 3.5:.1f}" text-anchor="end" font-size="11" font-weight="bold">{late_year}</text>')
        parts.append(f'<line x1="{AXIS_X}" y1="{gap_top + 8:.1f}" x2="{AXIS_X}" y2="{year_y + 22:.1f}" stroke="black" stroke-width="1.2"/>')
        labels_y = year_y - LINE
        for day, label, is_treaty, _ in late:
            y = year_y + (day - dt.date(late_year, 1, 1)).days * 0.04
            labels_y = max(y, labels_y + LINE)
            placed.append((day, label, is_treaty, y, labels_y))
        bottom = max(year_y + 22, labels_y + LINE)
    for day, label, is_treaty, y, label_y in placed:
        marker = (f'<rect x="{AXIS_X - 3.5}" y="{y - 3.5:.1f}" width="7" height="7" fill="black"/>' if is_treaty
                  else f'<circle cx="{AXIS_X}" cy="{y:.1f}" r="2.6" fill="white" stroke="black" stroke-width="1"/>')
        parts.append(f'<polyline points="{AXIS_X + 4},{y:.1f} {LABEL_X - 52},{y:.1f} {LABEL_X - 46},{label_y:.1f} {LABEL_X - 42},{label_y:.1f}" fill="none" stroke="black" stroke-width="0.4"/>')
        parts.append(marker)
        weight = ' font-weight="bold"' if is_treaty else ""
        parts.append(
            f'<text x="{LABEL_X - 40}" y="{label_y + 3.5:.1f}" font-size="9.5"{weight}>'
            f'<tspan>{escape(_short_date(day))}</tspan><tspan x="{LABEL_X + 18}">{escape(label)}</tspan></text>'
        )
    height = bottom + 10
    legend_y = height
    parts.append(f'<rect x="{AXIS_X - 3.5}" y="{legend_y - 3.5:.1f}" width="7" height="7" fill="black"/>'
                 f'<text x="{AXIS_X + 10}" y="{legend_y + 3.2:.1f}" font-size="9">treaty signed</text>'
                 f'<circle cx="{AXIS_X + 110}" cy="{legend_y:.1f}" r="2.6" fill="white" stroke="black" stroke-width="1"/>'
                 f'<text x="{AXIS_X + 118}" y="{legend_y + 3.2:.1f}" font-size="9">other event</text>')
    height += 12
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH * 0.25:.0f}mm" height="{height * 0.25:.0f}mm" role="img" aria-label="Timeline, {start.year}–{entries[-1][0].year}" '
        f'font-family="Charis SIL, serif">{"".join(parts)}</svg>'
    )
    sources = "; ".join(dict.fromkeys(e[3] for e in entries if e[3]))
    citation = f"[{sources}]" if sources else ""
    return one_line(
        f'<figure class="timeline-figure">{svg}<figcaption>Timeline of the treaties and the events around them, '
        f"{start.year}–{end.year - 1} and {late[0][0].year if late else ''}.{citation}</figcaption></figure>"
    )


def _short_date(day: dt.date) -> str:
    return format_date(day).replace(day.strftime("%B"), day.strftime("%b") + ("." if len(day.strftime("%B")) > 4 else ""))


def _axis_break(x: float, top: float, bottom: float) -> str:
    mid = (top + bottom) / 2
    return (f'<polyline points="{x},{top:.1f} {x},{mid - 6:.1f} {x - 5},{mid - 3:.1f} {x + 5},{mid + 1:.1f} {x},{mid + 4:.1f} {x},{bottom + 8:.1f}" '
            f'fill="none" stroke="black" stroke-width="1.2" stroke-dasharray="none"/>')
