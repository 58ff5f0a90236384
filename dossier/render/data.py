"""How the treaty data prints in a chapter: values, the key-facts box, the comparison table.

In: ``TreatyData`` (``read/treaties.py``). Out: the context a chapter's Jinja expressions see
(``{{ treaties.latvia.signed }}`` prints "11 August 1920"; ``{{ comparison_table() }}``,
``{{ timeline() }}``, ``{{ key_facts('latvia') }}`` place generated blocks as one-line HTML).
"""
from __future__ import annotations

import datetime as dt
import re
from html import escape
from typing import Any, Mapping

import jinja2
from markupsafe import Markup

from ..cite.syntax import each_work_once
from ..read.treaties import FIELDS, LANGUAGE_NAMES, UNKNOWN, Treaty, TreatyData
from .markdown import one_line
from .timeline import timeline_svg


def format_date(value: dt.date) -> str:
    return f"{value.day} {value:%B} {value.year}"


def finalize(value: Any) -> Any:
    """How a data value prints in a chapter: dates in words; a missing value is an error."""
    if value is None:
        raise ValueError("the data has no value here (null): the sources are silent")
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(finalize(v)) for v in value)
    return value


def cell(treaty: Treaty, key: str) -> str:
    """One field as HTML for a table or a box; an empty field prints as a dash."""
    kind = FIELDS[key][0]
    value = treaty.values.get(key)
    if value in (None, {}, []):
        return UNKNOWN
    if kind == "date":
        return escape(format_date(value))
    if kind == "dates":
        return "; ".join(f"{escape(party)}: {escape(format_date(date))}" for party, date in value.items())
    if kind == "people":
        return "; ".join(f"{escape(party)}: {escape(', '.join(names))}" for party, names in value.items())
    if kind == "names":
        return "; ".join(f'<span lang="{escape(code)}">{escape(name)}</span> ({LANGUAGE_NAMES.get(code, code)})' for code, name in value.items())
    if kind == "list":
        return escape(", ".join(value))
    return escape(str(value))


def sources_citation(treaty: Treaty, fields: list[str] | None = None) -> str:
    """All sources of a treaty's fields as one Pandoc citation, each work once."""
    sources = treaty.values.get("sources") or {}
    works = each_work_once(sources.get(key, "") for key in fields or list(FIELDS))
    return f"[{'; '.join(works)}]" if works else ""


KEY_FACTS = ["place", "signed", "parties", "signatories", "articles", "ratified", "ratifications_exchanged", "registered"]


def key_facts(treaty: Treaty) -> str:
    """The box of a treaty's facts; what the sources do not give is left out, not dashed."""
    rows = "".join(
        f"<tr><th>{FIELDS[key][1]}</th><td>{cell(treaty, key)}</td></tr>" for key in KEY_FACTS
        if cell(treaty, key) != UNKNOWN
    )
    native = cell(treaty, "native_names")
    native_row = f'<p class="native-names">{native}</p>' if native != UNKNOWN else ""
    return one_line(
        f'<div class="key-facts"><p class="key-facts-title">Key facts: {escape(treaty.values["name"])}'
        f"{sources_citation(treaty, KEY_FACTS + ['name', 'native_names'])}</p>{native_row}"
        f'<table><tbody>{rows}</tbody></table></div>'
    )


COMPARISON_ROWS = ["place", "signed", "parties", "articles", "recognition", "territory", "money_property",
                   "neutrality_secret", "ratified", "ratifications_exchanged", "registered", "held"]


# The two treaties the dossier treats in depth, where the sources say most: more rows.
PAIR_ROWS = ["talks", "delegations", "place", "signed", "signatories", "articles", "recognition", "territory",
             "money_property", "neutrality_secret", "ratified", "ratifications_exchanged", "registered", "held"]


def comparison_table(data: TreatyData, *treaty_ids: str) -> str:
    """What the sources give, side by side: all treaties (``comparison_table()``, on a landscape
    page), or the ones named (``comparison_table('lithuania', 'latvia')``, with the rows of
    PAIR_ROWS, in the text's width). A row or a column that would be all dashes is left out.
    The sources are one note on the caption, each treaty's named before its works
    ("Riga 1920: …"), treaties with the same sources together, so that columns resting on one
    source do not each repeat its note."""
    by_id = data.by_id()
    chosen = [_treaty(by_id, treaty_id) for treaty_id in treaty_ids] or list(data.treaties)
    rows = [key for key in (PAIR_ROWS if treaty_ids else COMPARISON_ROWS) if any(cell(t, key) != UNKNOWN for t in chosen)]
    treaties = [t for t in chosen if any(cell(t, key) != UNKNOWN for key in rows)]
    head = "".join(f'<th scope="col">{escape(t.values["short"])}</th>' for t in treaties)
    body = "".join(
        f'<tr><th scope="row">{FIELDS[key][1]}</th>{"".join(f"<td>{cell(t, key)}</td>" for t in treaties)}</tr>'
        for key in rows
    )
    names = " and ".join(escape(t.values["short"]) for t in treaties) if treaty_ids else "The treaties"
    return one_line(
        f'<div class="{"pair" if treaty_ids else "comparison"}"><table class="comparison-table"><caption>{names} side by side '
        f"(— : not stated in the sources used here){table_sources(treaties, rows)}</caption>"
        f'<colgroup><col class="row-heads"/>{"<col/>" * len(treaties)}</colgroup>'
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


_TURNED_RE = re.compile(r'<div class="comparison"><table class="comparison-table"><caption>(.*?) side by side (.*?)</caption>'
                        r"(<colgroup>.*?</colgroup><thead>.*?</thead>)<tbody>(.*?)</tbody></table></div>")


def split_turned(html_text: str) -> Markup:
    """The five-treaty table as two turned pages, for a page too small to hold it on one (the
    booklet's): its rows divided where the two halves' text is most nearly equal, the head
    repeated, the caption and its note on the first, "continued" on the second."""

    def split(match: re.Match) -> str:
        names, rest, head, body = match.groups()
        rows = re.findall(r"<tr>.*?</tr>", body)
        sizes = [len(re.sub(r"<[^>]+>", "", row)) for row in rows]
        cut = min(range(1, len(rows)), key=lambda k: abs(sum(sizes[:k]) - sum(sizes[k:])), default=len(rows))
        first, second = "".join(rows[:cut]), "".join(rows[cut:])
        page = '<div class="comparison"><table class="comparison-table"><caption>{}</caption>{}<tbody>{}</tbody></table></div>'
        return page.format(f"{names} side by side {rest}", head, first) + (
            page.format(f"{names} side by side, continued", head, second) if second else "")

    return Markup(_TURNED_RE.sub(split, str(html_text)))


def table_sources(treaties: list[Treaty], rows: list[str]) -> str:
    """One citation for a table's columns: "[Moscow 1920: @a; Tartu 1920 and Riga 1921: @b]"."""
    groups: dict[str, list[str]] = {}
    for treaty in treaties:
        works = sources_citation(treaty, rows)[1:-1]
        if works:
            groups.setdefault(works, []).append(treaty.values["short"])
    if len(groups) == 1:
        return f"[{next(iter(groups))}]"
    items = []
    for works, names in groups.items():
        first, *rest = [w.strip() for w in works.split(";")]
        named = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        items.append("; ".join([f"{named}: {first}", *rest]))
    return f"[{'; '.join(items)}]" if items else ""


def chapter_context(data: TreatyData) -> dict[str, Any]:
    by_id = data.by_id()
    return {
        "treaties": by_id,
        "comparison_table": lambda *treaty_ids: comparison_table(data, *treaty_ids),
        "timeline": lambda: timeline_svg(data),
        "key_facts": lambda treaty_id: key_facts(_treaty(by_id, treaty_id)),
    }


def _treaty(by_id: Mapping[str, Treaty], treaty_id: str) -> Treaty:
    """The treaty a chapter names; an unknown id is the chapter's error, naming the known ones."""
    if treaty_id not in by_id:
        known = ", ".join(by_id) or "none"
        raise jinja2.UndefinedError(f"no treaty {treaty_id!r} in the data (known: {known})")
    return by_id[treaty_id]
