"""The timeline figure, drawn as SVG from the data: 1918–1921, a break, then 1991.

Time runs down a vertical axis, in proportion within each year's band; labels sit to
its right, pushed down only as far as needed so that none overlaps the one above, each
tied to its date by a thin leader. Treaties are black squares and set in bold, other
events white circles; nothing relies on colour.

No two shapes touch, whatever the dates: a marker that would touch one already drawn
steps sideways, off the axis, into the first free column to its right (events on one
day sit side by side). A leader starts from its own marker and crosses no other one:
where a marker sits in its way, it steps above (or below) it in the white between the
columns. ``dodge`` and ``route_leaders`` do this; ``tests/test_timeline_geometry.py``
checks the drawn boxes.
"""
from __future__ import annotations

import datetime as dt
import math
from html import escape

from ..cite.syntax import each_work_once
from ..read.treaties import TreatyData
from .markdown import one_line

WIDTH = 370  # units are points: the figure prints at its natural size (wider only if markers crowd)
AXIS_X = 40
LINE = 11.5  # vertical space one label needs
FONT = 8.5
DATE_WIDTH = 68  # room for the widest date, "30 Sept. 1920" in bold, and some white after it
MIN_YEAR = 60  # the least height of a year's band
TOP = 14
BREAK = 30  # the dashed stretch of axis between the early years and a late one
MARKER = 3.0  # half a marker's box: the square is 6 wide; the circle (r 2.3, stroke 1) fits inside
MARKER_GAP = 1.5  # the least white between two markers, one above the other
COLUMN = 2 * MARKER + 2  # from one column of markers to the next, when they step sideways
CLEAR = 1.0  # the least white between a leader and a marker it passes
LEADER_GAP = 1.2  # between two leaders running side by side
RADIUS = 2.3
EPS = 1e-6  # what counts as touching, against rounding
STEM = 22  # leaders run level this far past the axis (or past the last column) before they bend


def _entries(data: TreatyData) -> list[tuple[dt.date, str, bool, str]]:
    entries = [(t.values["signed"], f"{t.values['name']} signed", True, str(t.values.get("sources", {}).get("signed", ""))) for t in data.treaties]
    entries += [(e.date, e.label, False, e.source) for e in data.events if e.figure]
    return sorted(entries, key=lambda e: e[0])


def _description(entries, years: list[int]) -> str:
    """What the timeline shows, in words: its alternative text for a screen reader (the SVG's
    title, which the tagged PDF carries as the figure's /Alt)."""
    events = "; ".join(f"{date.day} {date:%B} {date.year}, {label}" for date, label, _, _ in entries)
    return f"Timeline, {years[0]}–{years[-1]}: {events}."


def _bands(years: list[int], entries, top: float) -> dict[int, tuple[float, float]]:
    """Each year a band of the axis, tall enough for its labels: year -> (top, height)."""
    bands, y = {}, top
    for year in years:
        count = sum(1 for e in entries if e[0].year == year)
        height = max(MIN_YEAR, count * LINE + LINE)
        bands[year] = (y, height)
        y += height
    return bands


def _layout(entries, early: list[int], late: list[int], top: float):
    """Where everything goes when the axis starts at ``top``: the bands, and for each entry its
    marker's height and column and its leader's level."""
    bands = _bands(early, entries, top)
    if late:
        y = sum(bands[early[-1]]) + BREAK
        for year in late:
            count = sum(1 for e in entries if e[0].year == year)
            bands[year] = (y, count * LINE + LINE)
            y += count * LINE + LINE

    def y_of(day: dt.date) -> float:
        top, height = bands[day.year]
        start = dt.date(day.year, 1, 1)
        days = (dt.date(day.year + 1, 1, 1) - start).days
        return top + (day - start).days / days * height

    ys = [round(y_of(e[0]), 1) for e in entries]  # as written in the SVG, so the checks hold there
    columns = dodge(ys)
    xs = [AXIS_X + c * COLUMN for c in columns]
    return bands, ys, columns, xs, route_leaders(ys, xs)


def timeline_svg(data: TreatyData) -> str:
    entries = _entries(data)
    if not entries:
        return ""
    years = sorted({e[0].year for e in entries})
    early = [y for y in years if y <= years[0] + 10]
    early = list(range(early[0], early[-1] + 1))
    late = [y for y in years if y not in early]
    top = TOP
    bands, ys, columns, xs, levels = _layout(entries, early, late, top)
    if min(levels) < TOP - 8:  # leaders stepping above the first of a crowd: room for them at the top
        top += math.ceil(TOP - 8 - min(levels))
        bands, ys, columns, xs, levels = _layout(entries, early, late, top)
    stem_x = AXIS_X + max(STEM, max(columns) * COLUMN + MARKER + 6)
    date_x = stem_x + 22
    label_x = date_x + DATE_WIDTH
    width = WIDTH + (stem_x - AXIS_X - STEM)

    parts: list[str] = []
    stroke = 'stroke="black" stroke-width="1"'
    early_end = sum(bands[early[-1]])
    parts.append(f'<line x1="{AXIS_X}" y1="{top}" x2="{AXIS_X}" y2="{early_end:.1f}" {stroke}/>')
    if late:
        late_top, late_end = bands[late[0]][0], sum(bands[late[-1]])
        parts.append(f'<line x1="{AXIS_X}" y1="{early_end:.1f}" x2="{AXIS_X}" y2="{late_top:.1f}" stroke="black" stroke-width="1" stroke-dasharray="2 2.5"/>')
        parts.append(f'<line x1="{AXIS_X}" y1="{late_top:.1f}" x2="{AXIS_X}" y2="{late_end:.1f}" {stroke}/>')
    for year in early + late:
        band_top = bands[year][0]
        parts.append(f'<line x1="{AXIS_X - 5}" y1="{band_top:.1f}" x2="{AXIS_X}" y2="{band_top:.1f}" {stroke}/>')
        parts.append(f'<text x="{AXIS_X - 8}" y="{band_top + 3:.1f}" text-anchor="end" font-size="9" font-weight="bold">{year}</text>')
    positions = place_labels(ys, LINE, top)
    markers, texts = [], []
    for (day, label, is_treaty, _), x, y, level, label_y in zip(entries, xs, ys, levels, positions):
        points = _leader(x, y, level, MARKER if is_treaty else RADIUS) + [(stem_x, level), (stem_x + 12, label_y), (date_x - 3, label_y)]
        parts.append(f'<polyline points="{" ".join(f"{px:g},{py:.1f}" for px, py in points)}" '
                     f'fill="none" stroke="black" stroke-width="0.4"/>')
        markers.append(f'<rect x="{x - 3:g}" y="{y - 3:.1f}" width="6" height="6" fill="black"/>' if is_treaty
                       else f'<circle cx="{x:g}" cy="{y:.1f}" r="{RADIUS}" fill="white" {stroke}/>')
        weight = ' font-weight="bold"' if is_treaty else ""
        texts.append(f'<text x="{date_x}" y="{label_y + 3:.1f}" font-size="{FONT}"{weight}>{escape(_short_date(day))}</text>')
        texts.append(f'<text x="{label_x}" y="{label_y + 3:.1f}" font-size="{FONT}"{weight}>{escape(label)}</text>')
    parts += markers + texts  # markers over the leaders, each of which starts inside its own
    label_y = positions[-1]
    bottom = max(sum(bands[(late or early)[-1]]), label_y + LINE, max(levels) + 4)
    legend_y = bottom + 12
    parts.append(f'<rect x="{AXIS_X - 3}" y="{legend_y - 3:.1f}" width="6" height="6" fill="black"/>'
                 f'<text x="{AXIS_X + 8}" y="{legend_y + 3:.1f}" font-size="8">treaty signed</text>'
                 f'<circle cx="{AXIS_X + 90}" cy="{legend_y:.1f}" r="{RADIUS}" fill="white" {stroke}/>'
                 f'<text x="{AXIS_X + 98}" y="{legend_y + 3:.1f}" font-size="8">other event</text>')
    height = legend_y + 8
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {width:g} {height:.0f}" '
        f'width="{width:g}pt" height="{height:.0f}pt" role="img" aria-label="Timeline, {years[0]}–{years[-1]}" '
        f'font-family="Charis SIL, serif"><title>{escape(_description(entries, years))}</title>{"".join(parts)}</svg>'
    )
    sources = "; ".join(each_work_once(e[3] for e in entries))
    citation = f"[{sources}]" if sources else ""
    span = f"{early[0]}–{early[-1]}" + (f" and {', '.join(map(str, late))}" if late else "")
    return one_line(
        f'<figure class="timeline-figure">{svg}<figcaption>Timeline of the treaties and the events around them, '
        f"{span}. Each year is a band of the axis, tall enough for its events.{citation}</figcaption></figure>"
    )


def dodge(ys: list[float]) -> list[int]:
    """The column of each marker: 0 on the axis, 1, 2, … stepping to its right.

    Each marker (``ys`` ascending) takes the first column where it clears the marker
    above it by ``MARKER_GAP``; markers of one day sit side by side.
    """
    lowest: list[float] = []  # the last (lowest) marker of each column so far
    columns = []
    for y in ys:
        column = next((c for c, above in enumerate(lowest) if y - above >= 2 * MARKER + MARKER_GAP), len(lowest))
        if column == len(lowest):
            lowest.append(y)
        lowest[column] = y
        columns.append(column)
    return columns


def route_leaders(ys: list[float], xs: list[float]) -> list[float]:
    """The height at which each marker's leader runs past the markers to its right.

    A leader runs level from its marker unless a marker further right is in its way
    (closer than ``CLEAR``) or another leader runs too close (``LEADER_GAP``); then it
    steps above them if they come later (their labels are lower), below if earlier, so
    that leaders keep the order of their labels and do not cross at the bend. Leaders are
    settled from the last: those of a day's markers nest, the first one highest.
    """
    levels: list[float | None] = [None] * len(ys)
    for i in reversed(range(len(ys))):
        level, upward = ys[i], None
        while True:
            # obstacles in the way at this height: (index, top, bottom)
            obstacles = [(j, ys[j] - MARKER - CLEAR, ys[j] + MARKER + CLEAR) for j in range(len(ys))
                         if xs[j] > xs[i] and abs(level - ys[j]) < MARKER + CLEAR - EPS]
            obstacles += [(j, other - LEADER_GAP, other + LEADER_GAP) for j, other in enumerate(levels)
                          if other is not None and abs(level - other) < LEADER_GAP - EPS]
            if not obstacles:
                break
            if upward is None:
                later = [j > i for j, _, _ in obstacles]
                up = min(top for _, top, _ in obstacles)
                down = max(bottom for _, _, bottom in obstacles)
                upward = all(later) or (any(later) and ys[i] - up <= down - ys[i])
            level = min(top for _, top, _ in obstacles) if upward else max(bottom for _, _, bottom in obstacles)
        levels[i] = level
    return levels


def _leader(x: float, y: float, level: float, half: float) -> list[tuple[float, float]]:
    """The start of a leader, from the middle of its marker (which covers it) to its level."""
    if abs(level - y) <= half:
        return [(x, level)]  # out through the marker's side
    gutter = x + COLUMN / 2  # the white between this column and the next
    return [(x, y), (gutter, y), (gutter, level)]


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
