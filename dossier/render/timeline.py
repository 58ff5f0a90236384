"""The timeline figure, drawn as SVG from the data: 1918–1921, a break, then 1991.

Time runs down a vertical axis in proportion; labels sit to its right, pushed down
only as far as needed so that none overlaps the one above, each tied to its date
by a thin leader. Treaties are set in bold; nothing relies on colour.
"""
from __future__ import annotations

import datetime as dt
from html import escape

from ..cite.syntax import each_work_once
from ..read.treaties import TreatyData
from .markdown import one_line

WIDTH = 400  # units are points: the figure prints at its natural size
AXIS_X = 40
DATE_X = AXIS_X + 44  # dates start here, after the leaders
LABEL_X = DATE_X + 62
LINE = 11.5  # vertical space one label needs
FONT = 8.5
MIN_YEAR = 60  # the least height of a year's band
TOP = 14


def _entries(data: TreatyData) -> list[tuple[dt.date, str, bool, str]]:
    entries = [(t.values["signed"], f"{t.values['name']} signed", True, str(t.values.get("sources", {}).get("signed", ""))) for t in data.treaties]
    entries += [(e.date, e.label, False, e.source) for e in data.events if e.figure]
    return sorted(entries, key=lambda e: e[0])


def _bands(years: list[int], entries) -> dict[int, tuple[float, float]]:
    """Each year a band of the axis, tall enough for its labels: year -> (top, height)."""
    bands, y = {}, TOP
    for year in years:
        count = sum(1 for e in entries if e[0].year == year)
        height = max(MIN_YEAR, count * LINE + LINE)
        bands[year] = (y, height)
        y += height
    return bands


def timeline_svg(data: TreatyData) -> str:
    entries = _entries(data)
    if not entries:
        return ""
    years = sorted({e[0].year for e in entries})
    early = [y for y in years if y <= years[0] + 10]
    early = list(range(early[0], early[-1] + 1))
    late = [y for y in years if y not in early]
    bands = _bands(early, entries)
    gap = 30
    if late:
        y = sum(bands[early[-1]]) + gap
        for year in late:
            count = sum(1 for e in entries if e[0].year == year)
            bands[year] = (y, count * LINE + LINE)
            y += count * LINE + LINE

    def y_of(day: dt.date) -> float:
        top, height = bands[day.year]
        start = dt.date(day.year, 1, 1)
        days = (dt.date(day.year + 1, 1, 1) - start).days
        return top + (day - start).days / days * height

    parts: list[str] = []
    stroke = 'stroke="black" stroke-width="1"'
    early_end = sum(bands[early[-1]])
    parts.append(f'<line x1="{AXIS_X}" y1="{TOP}" x2="{AXIS_X}" y2="{early_end:.1f}" {stroke}/>')
    if late:
        late_top, late_end = bands[late[0]][0], sum(bands[late[-1]])
        parts.append(f'<line x1="{AXIS_X}" y1="{early_end:.1f}" x2="{AXIS_X}" y2="{late_top:.1f}" stroke="black" stroke-width="1" stroke-dasharray="2 2.5"/>')
        parts.append(f'<line x1="{AXIS_X}" y1="{late_top:.1f}" x2="{AXIS_X}" y2="{late_end:.1f}" {stroke}/>')
    for year in early + late:
        top = bands[year][0]
        parts.append(f'<line x1="{AXIS_X - 5}" y1="{top:.1f}" x2="{AXIS_X}" y2="{top:.1f}" {stroke}/>')
        parts.append(f'<text x="{AXIS_X - 8}" y="{top + 3:.1f}" text-anchor="end" font-size="9" font-weight="bold">{year}</text>')
    positions = place_labels([y_of(e[0]) for e in entries], LINE, TOP)
    for (day, label, is_treaty, _), label_y in zip(entries, positions):
        y = y_of(day)
        marker = (f'<rect x="{AXIS_X - 3}" y="{y - 3:.1f}" width="6" height="6" fill="black"/>' if is_treaty
                  else f'<circle cx="{AXIS_X}" cy="{y:.1f}" r="2.3" fill="white" {stroke}/>')
        parts.append(f'<polyline points="{AXIS_X + 4},{y:.1f} {AXIS_X + 22},{y:.1f} {AXIS_X + 34},{label_y:.1f} {DATE_X - 3},{label_y:.1f}" fill="none" stroke="black" stroke-width="0.4"/>')
        parts.append(marker)
        weight = ' font-weight="bold"' if is_treaty else ""
        parts.append(f'<text x="{DATE_X}" y="{label_y + 3:.1f}" font-size="{FONT}"{weight}>{escape(_short_date(day))}</text>')
        parts.append(f'<text x="{LABEL_X}" y="{label_y + 3:.1f}" font-size="{FONT}"{weight}>{escape(label)}</text>')
    label_y = positions[-1]
    bottom = max(sum(bands[(late or early)[-1]]), label_y + LINE)
    legend_y = bottom + 12
    parts.append(f'<rect x="{AXIS_X - 3}" y="{legend_y - 3:.1f}" width="6" height="6" fill="black"/>'
                 f'<text x="{AXIS_X + 8}" y="{legend_y + 3:.1f}" font-size="8">treaty signed</text>'
                 f'<circle cx="{AXIS_X + 90}" cy="{legend_y:.1f}" r="2.3" fill="white" {stroke}/>'
                 f'<text x="{AXIS_X + 98}" y="{legend_y + 3:.1f}" font-size="8">other event</text>')
    height = legend_y + 8
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}pt" height="{height:.0f}pt" role="img" aria-label="Timeline, {years[0]}–{years[-1]}" '
        f'font-family="Charis SIL, serif">{"".join(parts)}</svg>'
    )
    sources = "; ".join(each_work_once(e[3] for e in entries))
    citation = f"[{sources}]" if sources else ""
    span = f"{early[0]}–{early[-1]}" + (f" and {', '.join(map(str, late))}" if late else "")
    return one_line(
        f'<figure class="timeline-figure">{svg}<figcaption>Timeline of the treaties and the events around them, '
        f"{span}. Each year is a band of the axis, tall enough for its events.{citation}</figcaption></figure>"
    )


def place_labels(targets: list[float], line: float, top: float) -> list[float]:
    """Label positions as near their targets as can be, at least ``line`` apart.

    Crowded labels form a cluster centred on the mean of its targets; clusters that
    then overlap merge, until none do (targets must be in ascending order).
    """
    clusters: list[list[float]] = []  # each: targets of its labels
    def start(cluster):
        return max(top, sum(cluster) / len(cluster) - (len(cluster) - 1) * line / 2)
    for target in targets:
        clusters.append([target])
        while len(clusters) > 1 and start(clusters[-2]) + len(clusters[-2]) * line > start(clusters[-1]):
            last = clusters.pop()
            clusters[-1].extend(last)
    positions = []
    for cluster in clusters:
        first = start(cluster)
        positions += [first + i * line for i in range(len(cluster))]
    return positions


MONTHS = ["Jan.", "Feb.", "Mar.", "Apr.", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."]  # Chicago


def _short_date(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
