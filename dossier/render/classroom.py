"""How the class material prints: glossary, who's who, chronology, the Vilnius strip, sources pack.

In: ``Classroom`` (``read/classroom.py``), the treaty data and the chapters' texts. Out: the
functions a chapter calls (``{{ glossary() }}``, ``{{ whos_who() }}``, ``{{ chronology() }}``,
``{{ vilnius_strip() }}``, ``{{ sources_pack() }}``), each placing one block of HTML. A list
names its sources once, at its foot, in the short form of a note (``short``, from the citation
style); it does not repeat one note per entry. The glossary and the who's who say in which
chapters each term or person appears, found in the chapters' text.
"""
from __future__ import annotations

import datetime as dt
import re
from html import escape
from typing import Callable

from ..cite.syntax import each_work_once, parse_citation
from ..cite.text import collate, tidy
from ..problems import Location
from ..read.classroom import Classroom, When
from ..read.treaties import TreatyData
from .markdown import one_line

Short = Callable[[str], str]  # "@key, locator" -> the short form of a note, as HTML


def source_keys(classroom: Classroom) -> list[tuple[int, str, str]]:
    """(data line, key, problem) of every work the entries cite, read as a citation's inside is
    read (``"@a, 45; @b"``); a source that is no citation gives its problem and no key."""
    found = []
    for entries in (classroom.glossary, classroom.people, classroom.vilnius, classroom.quotations):
        for entry in entries:
            citation, problems = parse_citation(entry["source"], Location(classroom.path, entry.line))
            found += [(entry.line, "", problem) for problem in problems]
            found += [(entry.line, item.key, "") for item in (citation.items if citation else ())]
    return found


def chapters_using(word: str, chapters: list[tuple[str, str]]) -> list[str]:
    """The labels ("2", "B") of the chapters whose text has ``word`` (whole words, any case)."""
    plain = word.replace("\u2019", "'")  # the chapter's Markdown may have it straight, the data curly
    pattern = re.compile(rf"(?<!\w){re.escape(plain)}(?!\w)", re.I)
    return [label for label, text in chapters if pattern.search(text.replace("\u2019", "'"))]


def _sources_line(entries, short: Short, lead: str = "Sources") -> str:
    sources = each_work_once(entry["source"] for entry in entries)
    if not sources:
        return ""
    return f'<p class="list-sources">{tidy(lead + ": " + "; ".join(short(s) for s in sources) + ".")}</p>'


def _used_in(labels: list[str], verb: str) -> str:
    if not labels:
        return ""
    word = "chapter" if len(labels) == 1 else "chapters"
    return f' <span class="used-in">({verb} {word} {", ".join(labels)})</span>'


def glossary(classroom: Classroom, chapters: list[tuple[str, str]], short: Short) -> str:
    return _definitions("glossary", classroom.glossary, ("term", "text", "term"), "in", chapters, short)


def whos_who(classroom: Classroom, chapters: list[tuple[str, str]], short: Short) -> str:
    return _definitions("whos-who", classroom.people, ("name", "role", "sort"), "named in", chapters, short)


def _definitions(kind: str, entries, fields: tuple[str, str, str], verb: str, chapters, short: Short) -> str:
    """A list of terms or names (``fields``: the one shown, its explanation, the one sorted by and
    looked for in the chapters) in alphabetical order, as the bibliography's (Ł among the L's)."""
    shown, text, looked_for = fields
    entries = sorted(entries, key=lambda e: collate(e[looked_for]))
    items = "".join(
        f'<dt>{escape(e[shown])}</dt><dd>{escape(e[text])}{_used_in(chapters_using(e[looked_for], chapters), verb)}</dd>'
        for e in entries)
    return one_line(f'<dl class="{kind}">{items}</dl>{_sources_line(entries, short)}') if entries else ""


def when_text(when: When) -> str:
    if when.day:
        return f"{when.day} {dt.date(when.year, when.month, 1):%B} {when.year}"
    if when.month:
        return f"{dt.date(when.year, when.month, 1):%B} {when.year}"
    return str(when.year)


def chronology_rows(data: TreatyData) -> list[tuple[dt.date, str, bool]]:
    """Every dated step the data holds: the events, and each treaty's signature (marked),
    ratifications, exchange of ratifications and registration. An event the sources date
    by its month only is a ``When`` with day 0 (printed as the month, sorted before its days)."""
    rows = [(e.date if e.day_known else When(e.date.year, e.date.month), e.label, False) for e in data.events]
    for treaty in data.treaties:
        v = treaty.values
        rows.append((v["signed"], f"{v['name']} signed", True))
        for party, day in (v.get("ratified") or {}).items():
            rows.append((day, f"{v['name']} ratified by {party}", False))
        if v.get("ratifications_exchanged"):
            rows.append((v["ratifications_exchanged"], f"{v['name']}: ratifications exchanged", False))
        if v.get("registered"):
            rows.append((v["registered"], f"{v['name']} registered with the League of Nations", False))
    return sorted(rows, key=lambda row: (row[0].year, row[0].month, row[0].day, not row[2]))


def chronology(data: TreatyData, short: Short) -> str:
    rows, year, body = chronology_rows(data), None, []
    for day, label, treaty in rows:
        if day.year != year:
            year = day.year
            body.append(f'<tr class="year"><th colspan="2" scope="rowgroup">{year}</th></tr>')
        text = f"<strong>{escape(label)}</strong>" if treaty else escape(label)
        when = f"{day.day} " if day.day else ""
        body.append(f'<tr><td class="day">{when}{dt.date(day.year, day.month, 1):%B}</td><td>{text}</td></tr>')
    steps = ("signed", "ratified", "ratifications_exchanged", "registered")
    sources = [{"source": e.source} for e in data.events if e.source]
    sources += [{"source": str((t.values.get("sources") or {}).get(key, ""))} for t in data.treaties for key in steps]
    return one_line(
        f'<table class="chronology"><caption>Dated events in the sources; treaty signatures in bold</caption>'
        f'<colgroup><col class="day-column"/><col/></colgroup><tbody>{"".join(body)}</tbody></table>{_sources_line(sources, short)}') if rows else ""


STRIP_WIDTH = 420  # points
STRIP_TOP, STRIP_HEIGHT = 6, 22
SHADES = ["#ffffff", "#c8c8c8", "#7a7a7a", "#e8e8e8", "#a0a0a0"]


def vilnius_strip(classroom: Classroom, short: Short, end: dt.date = dt.date(1920, 12, 31)) -> str:
    """Who held Vilnius: a bar through time, one numbered band per holder, each band's number
    explained in the list beneath (dates in words, as precise as the sources are)."""
    entries = sorted(classroom.vilnius, key=lambda e: e["from"].start)
    if not entries:
        return ""
    start = entries[0]["from"].start
    end = max(end, entries[-1]["from"].start + dt.timedelta(days=61))  # the last holder shown for two months at least
    span = (end - start).days + 1

    def x_of(day: dt.date) -> float:
        return (min(day, end) - start).days / span * STRIP_WIDTH

    parts, shades = [], {}
    for index, entry in enumerate(entries):
        left = x_of(entry["from"].start)
        right = x_of(entries[index + 1]["from"].start) if index + 1 < len(entries) else STRIP_WIDTH
        shade = shades.setdefault(entry["holder"], SHADES[len(shades) % len(SHADES)])  # one holder, one shade
        ink = "white" if shade == "#7a7a7a" else "black"
        parts.append(f'<rect x="{left:.1f}" y="{STRIP_TOP}" width="{right - left:.1f}" height="{STRIP_HEIGHT}" '
                     f'fill="{shade}" stroke="black" stroke-width="0.6"/>')
        label = f"{index + 1} {entry['holder']}"  # the holder's name where it fits, else the number
        label = label if len(label) * 4.6 < right - left - 4 else str(index + 1)
        parts.append(f'<text x="{(left + right) / 2:.1f}" y="{STRIP_TOP + 15}" text-anchor="middle" font-size="9" '
                     f'font-weight="bold" fill="{ink}">{escape(label)}</text>')
    tick_y = STRIP_TOP + STRIP_HEIGHT
    for year in range(start.year, end.year + 1):
        for month in (1, 4, 7, 10):
            day = dt.date(year, month, 1)
            if start <= day <= end:
                x = x_of(day)
                label = f"{year}" if month == 1 else f"{day:%b}"
                weight = ' font-weight="bold"' if month == 1 else ""
                parts.append(f'<line x1="{x:.1f}" y1="{tick_y}" x2="{x:.1f}" y2="{tick_y + (6 if month == 1 else 3)}" stroke="black" stroke-width="0.6"/>')
                parts.append(f'<text x="{x + 1.5:.1f}" y="{tick_y + 13}" font-size="7.5"{weight}>{label}</text>')
    height = tick_y + 17
    holders = ", ".join(dict.fromkeys(e["holder"] for e in entries))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="vilnius-strip" viewBox="-2 0 {STRIP_WIDTH + 4} {height}" '
           f'width="{STRIP_WIDTH + 4}pt" height="{height}pt" role="img" aria-label="Who held Vilnius, '
           f'{start.year}–{end.year}: {escape(holders)}" font-family="Charis SIL, serif"><title>Who held Vilnius, '
           f'{start.year}–{end.year}: {escape(holders)}</title>{"".join(parts)}</svg>')
    items = "".join(f'<li><span class="when">From {escape(_from_text(e["from"]))}:</span> <strong>{escape(e["holder"])}</strong>. '
                    f'{escape(e["how"])}</li>' for e in entries)
    return one_line(f'<figure class="vilnius-figure">{svg}<figcaption><ol class="vilnius-list">{items}</ol>'
                    f'{_sources_line(entries, short)}</figcaption></figure>')


def _from_text(when: When) -> str:
    if when.day:
        return when_text(when)
    return f"{when_text(when)} ({'the sources give no day' if when.month else 'no closer date can be given'})"


def sources_pack(classroom: Classroom, short: Short) -> str:
    """Each quotation with whose words they are, "as quoted in" its source, and questions."""
    blocks = []
    for number, entry in enumerate(classroom.quotations, 1):
        questions = "".join(f"<li>{escape(q)}</li>" for q in entry["questions"])
        blocks.append(
            f'<div class="pack-item"><p class="pack-number">Source {number}</p>'
            f'<blockquote><p>“{escape(entry["text"])}”</p></blockquote>'
            f'<p class="pack-who">{escape(entry["who"])}{": " if entry["own_words"] else ", as quoted in "}'
            f'{tidy("; ".join(short(source) for source in each_work_once([entry["source"]])) + ".")}</p>'
            f'<ol class="pack-questions">{questions}</ol></div>')
    return one_line("".join(blocks))


def chapter_context(classroom: Classroom, data: TreatyData, chapters: list[tuple[str, str]], short: Short) -> dict:
    """The functions a chapter calls; ``chapters``: (label, text) of the chapters proper."""
    return {
        "glossary": lambda: glossary(classroom, chapters, short),
        "whos_who": lambda: whos_who(classroom, chapters, short),
        "chronology": lambda: chronology(data, short),
        "vilnius_strip": lambda: vilnius_strip(classroom, short),
        "sources_pack": lambda: sources_pack(classroom, short),
    }
