"""The timeline figure's geometry: no two shapes overlap, whatever the dates.

The SVG is parsed and every marker (rect, circle) and every text given a box: a
marker's from its size and stroke, a text's from its character count times a width
per character at its font size (checked below to be at least the real width in the
figure's font) and from its font size. No two markers may meet, no two texts, no text
and a marker; each leader starts in its own marker and passes through no other box.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dossier.problems import errors_in
from dossier.read.treaties import Event, Treaty, TreatyData, load
from dossier.render.timeline import MONTHS, timeline_svg

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"
CHAR_WIDTH = 0.6  # of the font size, per character: wider than Charis SIL's digits (0.587 in bold)
ABOVE, BELOW = 1.0, 0.3  # of the font size, a text's extent above and below its baseline

DATE = re.compile(r"(\d+) (%s) (\d{4})" % "|".join(map(re.escape, MONTHS)))
Box = tuple[float, float, float, float]  # left, top, right, bottom


# -- reading the SVG -------------------------------------------------------------


def parse(figure: str) -> ET.Element:
    match = re.search(r"<svg\b.*</svg>", figure)
    assert match, "the figure holds one SVG"
    return ET.fromstring(match.group(0))


def number(element: ET.Element, name: str, default: float = 0.0) -> float:
    return float(element.get(name, default))


def marker_box(element: ET.Element) -> Box:
    half_stroke = number(element, "stroke-width", 1.0) / 2 if element.get("stroke") not in (None, "none") else 0.0
    if element.tag == SVG + "rect":
        x, y = number(element, "x"), number(element, "y")
        w, h = number(element, "width"), number(element, "height")
        return x - half_stroke, y - half_stroke, x + w + half_stroke, y + h + half_stroke
    cx, cy, r = number(element, "cx"), number(element, "cy"), number(element, "r") + half_stroke
    return cx - r, cy - r, cx + r, cy + r


def text_box(element: ET.Element) -> Box:
    size = number(element, "font-size")
    width = len(element.text or "") * CHAR_WIDTH * size
    x, baseline = number(element, "x"), number(element, "y")
    left = {"end": x - width, "middle": x - width / 2}.get(element.get("text-anchor", "start"), x)
    return left, baseline - ABOVE * size, left + width, baseline + BELOW * size


def leaders(svg: ET.Element) -> list[list[tuple[float, float]]]:
    return [[tuple(map(float, p.split(","))) for p in line.get("points").split()] for line in svg.iter(SVG + "polyline")]


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def crosses(start, end, box: Box) -> bool:
    """Whether the segment start–end passes through the inside of box (Liang–Barsky)."""
    (x0, y0), (x1, y1) = start, end
    low, high = 0.0, 1.0
    for p, q in ((x0 - x1, x0 - box[0]), (x1 - x0, box[2] - x0), (y0 - y1, y0 - box[1]), (y1 - y0, box[3] - y0)):
        if p == 0:
            if q <= 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low >= high:
            return False
    return True


def inside(point, box: Box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


# -- the check --------------------------------------------------------------------


def check_geometry(data: TreatyData) -> ET.Element:
    figure = timeline_svg(data)
    assert "\n" not in figure and figure.startswith('<figure class="timeline-figure">')
    svg = parse(figure)
    markers = [marker_box(e) for e in svg.iter() if e.tag in (SVG + "rect", SVG + "circle")]
    texts = [(e.text, text_box(e)) for e in svg.iter(SVG + "text")]
    expected = len(data.treaties) + sum(e.figure for e in data.events)
    assert len(markers) == expected + 2  # and the legend's two
    assert {"treaty signed", "other event"} <= {t for t, _ in texts}

    for a, b in itertools.combinations(markers, 2):
        assert not overlap(a, b), f"markers {a} and {b} overlap"
    for (ta, a), (tb, b) in itertools.combinations(texts, 2):
        assert not overlap(a, b), f"texts {ta!r} {a} and {tb!r} {b} overlap"
    for (t, a), b in itertools.product(texts, markers):
        assert not overlap(a, b), f"text {t!r} {a} and marker {b} overlap"

    _, _, width, height = map(float, svg.get("viewBox").split())
    for box in markers + [box for t, box in texts if DATE.fullmatch(t) or t.isdigit()]:  # labels may run on to the right
        assert 0 <= box[0] and 0 <= box[1] and box[2] <= width and box[3] <= height, f"{box} outside the figure"
    # Each leader starts in its own marker (the n-th leader, the n-th marker) and passes
    # through no other marker and no text.
    lines = leaders(svg)
    assert len(lines) == expected
    for n, points in enumerate(lines):
        assert inside(points[0], markers[n]), f"leader {n} does not start in its marker"
        assert all(0 <= x <= width and 0 <= y <= height for x, y in points), f"leader {n} leaves the figure"
        for start, end in zip(points, points[1:]):
            for m, box in enumerate(markers):
                assert m == n or not crosses(start, end, box), f"leader {n} crosses marker {m} {box}"
            for t, box in texts:
                assert not crosses(start, end, box), f"leader {n} crosses the text {t!r}"
    return svg


def check_time_in_proportion(svg: ET.Element) -> None:
    """Markers keep the order of their dates and, within a year, the spacing of them."""
    ys = [number(e, "cy") if e.tag == SVG + "circle" else number(e, "y") + 3 for e in svg.iter()
          if e.tag in (SVG + "rect", SVG + "circle")][:-2]
    days = [dt.date(int(m[3]), MONTHS.index(m[2]) + 1, int(m[1]))
            for e in svg.iter(SVG + "text") if (m := DATE.fullmatch(e.text or ""))]
    assert len(days) == len(ys)
    assert all(b >= a - 0.05 for a, b in zip(ys, ys[1:])), "markers out of the order of their dates"
    for year, group in itertools.groupby(zip(days, ys), key=lambda d: d[0].year):
        group = list(group)
        (first, y0), (last, y1) = group[0], group[-1]
        if (last - first).days < 20:
            continue
        scale = (y1 - y0) / (last - first).days
        for day, y in group:
            assert y == pytest.approx(y0 + (day - first).days * scale, abs=0.2)


# -- the data -------------------------------------------------------------------


def treaty(day: dt.date, name: str = "Treaty of Somewhere") -> Treaty:
    return Treaty({"name": name, "signed": day, "sources": {"signed": "@web"}}, {})


def event(day: dt.date, label: str = "An event") -> Event:
    return Event(day, label, "@web", 1)


def data_of(treaty_days=(), event_days=()) -> TreatyData:
    return TreatyData(tuple(treaty(d, f"Treaty {i}") for i, d in enumerate(treaty_days)),
                      tuple(sorted((event(d, f"Event number {i}") for i, d in enumerate(event_days)), key=lambda e: e.date)))


D = dt.date
ADVERSARIAL = {
    "one event": data_of(event_days=[D(1920, 5, 1)]),
    "one treaty": data_of(treaty_days=[D(1920, 5, 1)]),
    "a treaty and an event on one day": data_of([D(1920, 7, 12)], [D(1920, 7, 12)]),
    "many events on one day": data_of([D(1920, 7, 12)] * 3, [D(1920, 7, 12)] * 9),
    "consecutive days": data_of([D(1920, 8, 11), D(1920, 8, 14)], [D(1920, 8, 1) + dt.timedelta(i) for i in range(20)]),
    "year ends": data_of([D(1919, 12, 31), D(1921, 1, 1)],
                         [D(1918, 1, 1), D(1919, 12, 30), D(1919, 12, 31), D(1920, 1, 1), D(1920, 1, 2),
                          D(1920, 12, 31), D(1921, 12, 31), D(1991, 1, 1), D(1991, 12, 31)]),
    "forty events in one month": data_of([D(1920, 10, 14)], [D(1920, 10, 1) + dt.timedelta(i * 30 // 40) for i in range(40)]),
    "forty events on one day": data_of(event_days=[D(1920, 10, 9)] * 40),
    "a crowd after a break": data_of([D(1991, 9, 6)] * 2, [D(1918, 2, 16)] + [D(1991, 9, 6)] * 5 + [D(1991, 9, 7)] * 3),
    "crowds at the top": data_of([D(1918, 1, 1)] * 4, [D(1918, 1, 1)] * 6 + [D(1918, 1, 3)] * 6),
}


def test_shipped_timeline_keeps_its_shapes_apart():
    loaded, problems = load(ROOT / "content" / "treaties.yaml", ROOT)
    assert not errors_in(problems) and loaded.events
    svg = check_geometry(loaded)
    check_time_in_proportion(svg)
    # the crowded dates of the data are there and now drawn whole: markers off the axis
    cx = {number(e, "cx", -1) for e in svg.iter(SVG + "circle")} | {number(e, "x") + 3 for e in svg.iter(SVG + "rect")}
    assert len(cx) > 2


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_crowded_timelines_keep_their_shapes_apart(name):
    check_time_in_proportion(check_geometry(ADVERSARIAL[name]))


YEARS = st.sampled_from([1918, 1919, 1920, 1921, 1991])
DAYS = st.builds(lambda year, day: D(year, 1, 1) + dt.timedelta(day), YEARS, st.integers(0, 364))
CROWDED = st.builds(lambda start, offsets: [start + dt.timedelta(o) for o in offsets], DAYS,
                    st.lists(st.integers(0, 10), min_size=1, max_size=14))


@settings(deadline=None, database=None, print_blob=True, max_examples=40,
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.booleans(), st.lists(DAYS, max_size=6) | CROWDED), min_size=1, max_size=4))
def test_any_dates_keep_their_shapes_apart(groups):
    treaty_days = [d for is_treaty, days in groups if is_treaty for d in days]
    event_days = [d for is_treaty, days in groups if not is_treaty for d in days]
    if not treaty_days and not event_days:
        return
    check_geometry(data_of(treaty_days, event_days))


def test_the_text_estimate_covers_the_figures_font():
    """CHAR_WIDTH, ABOVE and BELOW hold for the figure's texts as Charis SIL sets them."""
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.ttLib import TTFont

    loaded, _ = load(ROOT / "content" / "treaties.yaml", ROOT)
    svg = parse(timeline_svg(loaded))
    dates = [f"{day} {month} 1920" for day in (11, 20, 28, 30) for month in MONTHS]
    for style in ("Regular", "Bold"):
        font = TTFont(ROOT / "fonts" / f"CharisSIL-{style}.ttf")
        cmap, metrics, glyphs, em = font.getBestCmap(), font["hmtx"], font.getGlyphSet(), font["head"].unitsPerEm
        for text in [e.text for e in svg.iter(SVG + "text")] + dates:
            names = [cmap[ord(c)] for c in text]
            assert sum(metrics[n][0] for n in names) / em <= len(text) * CHAR_WIDTH, text
            for name in names:
                pen = BoundsPen(glyphs)
                glyphs[name].draw(pen)
                if pen.bounds:
                    assert -BELOW <= pen.bounds[1] / em and pen.bounds[3] / em <= ABOVE, (text, name)
