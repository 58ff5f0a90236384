"""The treaty data, ``content/treaties.yaml``: read and validated, each value with its line.

In: the YAML file. Out: ``TreatyData`` (treaties and events, every field with its line) and the
problems found. Facts that appear in a table and in prose are written once, there; how they
print in a chapter is ``render/data.py``'s.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..files import display_path
from ..problems import Problem, error, errors_in, warning
from . import yaml_safe
from .typography import smart_quotes, smart_values

DATA_FILE = "treaties.yaml"

# field -> (kind, label in tables); kind drives validation and printing
FIELDS: dict[str, tuple[str, str]] = {
    "id": ("id", "Id"),
    "name": ("text", "Name"),
    "short": ("text", "Short name"),
    "native_names": ("names", "Names in the parties’ languages"),
    "parties": ("list", "Parties"),
    "talks": ("text", "Talks"),
    "delegations": ("people", "Delegations (heads first)"),
    "place": ("text", "Signed at"),
    "signed": ("date", "Signed on"),
    "signatories": ("people", "Signatories"),
    "articles": ("int", "Articles"),
    "recognition": ("text", "Recognition"),
    "territory": ("text", "Territory"),
    "money_property": ("text", "Money and property"),
    "neutrality_secret": ("text", "Neutrality and secret terms"),
    "ratified": ("dates", "Ratified"),
    "ratifications_exchanged": ("date", "Ratifications exchanged"),
    "registered": ("date", "Registered (League of Nations)"),
    "registration": ("text", "Registration"),
    "held": ("text", "How it held"),
    "chapter": ("text", "Chapter"),
    "sources": ("sources", "Sources"),
}
REQUIRED_VALUES = {"id", "name", "short", "parties", "place", "signed", "sources"}
NOT_SOURCED = {"id", "short", "chapter", "sources"}
NOT_PRINTED = {"id", "chapter", "sources"}  # the rest is text a reader sees: typographic quotes
UNKNOWN = "—"
LANGUAGE_NAMES = {"lt": "Lithuanian", "lv": "Latvian", "et": "Estonian", "fi": "Finnish", "pl": "Polish",
                  "ru": "Russian", "uk": "Ukrainian", "be": "Belarusian", "sv": "Swedish", "de": "German"}


@dataclass(frozen=True)
class Treaty:
    values: Mapping[str, Any]
    lines: Mapping[str, int]  # field -> line in the data file

    def __getattr__(self, name):  # chapters write treaties.latvia.signed
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        return self.values[name]


@dataclass(frozen=True)
class Event:
    date: dt.date
    label: str
    source: str
    line: int
    figure: bool = True  # drawn in the timeline figure ("figure: false": the chronology only)
    day_known: bool = True  # false: "date: 1918-12", the sources give the month only


@dataclass(frozen=True)
class TreatyData:
    treaties: tuple[Treaty, ...] = ()
    events: tuple[Event, ...] = ()
    path: str = ""

    def by_id(self) -> dict[str, Treaty]:
        return {t.values["id"]: t for t in self.treaties}




def load(path: Path, root: Path) -> tuple[TreatyData, list[Problem]]:
    """Read and check the data file; a project without one has no treaties."""
    if not path.exists() and not path.is_symlink():  # a link to nothing is an error, below
        return TreatyData(), []
    shown = display_path(path, root)
    document, node, problems = yaml_safe.read_data_file(path, root)
    if problems:
        return TreatyData(path=shown), problems
    if not isinstance(document, dict) or not isinstance(document.get("treaties"), list):
        return TreatyData(path=shown), [error(shown, 1, "expected a mapping with a 'treaties' list")]
    top = _children(node)
    treaties, seen = [], {}
    for value, item_node in zip(document["treaties"], top["treaties"].value):
        treaty = _check_treaty(value, item_node, shown, problems)
        if treaty is None:
            continue
        tid = treaty.values["id"]
        if tid in seen:
            problems.append(error(shown, treaty.lines["id"], f"treaty id '{tid}' is used twice (first at line {seen[tid]})"))
            continue
        seen[tid] = treaty.lines["id"]
        treaties.append(treaty)
    events = []
    for value, item_node in zip(document.get("events") or [], top["events"].value if "events" in top else []):
        line = item_node.start_mark.line + 1
        month = re.fullmatch(r"(\d{4})-(\d{2})", str(value.get("date"))) if isinstance(value, dict) else None
        if month and 1 <= int(month.group(2)) <= 12:
            value = {**value, "date": dt.date(int(month.group(1)), int(month.group(2)), 1), "day_known": False}
        if not isinstance(value, dict) or not isinstance(value.get("date"), dt.date) or not value.get("label"):
            problems.append(error(shown, line, "an event needs a date (YYYY-MM-DD, or YYYY-MM where the sources give "
                                               "no day) and a label"))
            continue
        figure = value.get("figure", True)
        if not isinstance(figure, bool):
            problems.append(error(shown, line, "figure: write true or false (false: in the chronology, not the timeline)"))
            continue
        if figure and not value.get("day_known", True):
            problems.append(error(shown, line, "an event without a day cannot be drawn in the timeline: add 'figure: false'"))
            continue
        events.append(Event(value["date"], smart_quotes(str(value["label"])), str(value.get("source") or ""), line, figure,
                            value.get("day_known", True)))
    return TreatyData(tuple(treaties), tuple(sorted(events, key=lambda e: e.date)), shown), problems


def _children(node) -> dict[str, Any]:
    return {key.value: value for key, value in node.value} if isinstance(node, yaml.MappingNode) else {}


def _check_treaty(value, node, shown: str, problems: list[Problem]) -> Treaty | None:
    line = node.start_mark.line + 1
    if not isinstance(value, dict):
        problems.append(error(shown, line, "each treaty is a mapping of fields"))
        return None
    children = _children(node)
    lines = {key: child.start_mark.line + 1 for key, child in children.items()}
    before = len(errors_in(problems))
    for key in value:
        if key not in FIELDS:
            problems.append(error(shown, lines.get(key, line), f"unknown field '{key}' (known: {', '.join(FIELDS)})"))
    for key, (kind, _) in FIELDS.items():
        if key not in value:
            problems.append(error(shown, line, f"treaty '{value.get('id') if isinstance(value.get('id'), str) else '?'}' lacks "
                                               f"the field '{key}' (write null if the sources are silent)"))
            continue
        message = _check_value(kind, value[key], key in REQUIRED_VALUES)
        if message:
            problems.append(error(shown, lines[key], f"{key}: {message}"))
    sources = value.get("sources") if isinstance(value.get("sources"), dict) else {}
    for key in FIELDS:
        if key not in NOT_SOURCED and value.get(key) not in (None, {}, []) and key not in sources:
            problems.append(warning(shown, lines.get(key, line), f"{key}: no source given in 'sources'"))
    printed = {key: v if key in NOT_PRINTED else smart_values(v) for key, v in value.items()}
    return Treaty(printed, lines) if len(errors_in(problems)) == before else None  # reported: not used further


def _check_value(kind: str, value: Any, required: bool) -> str:
    if value is None or value == {} or value == []:
        return "a value is required here" if required else ""
    if kind == "date" and not isinstance(value, dt.date):
        return f"'{value}' is not a valid date (write YYYY-MM-DD)"
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        return f"'{value}' is not a positive whole number"
    if kind in ("text", "id") and not isinstance(value, str):
        return f"expected text, got {value!r}"
    if kind == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return "expected a list of names"
    if kind in ("names", "sources") and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
        return "expected a mapping of key: text"
    if kind == "people" and not (isinstance(value, dict) and all(isinstance(v, list) for v in value.values())):
        return "expected a mapping of party: [names]"
    if kind == "dates":
        if not isinstance(value, dict):
            return "expected a mapping of party: date"
        for party, date in value.items():
            if not isinstance(date, dt.date):
                return f"'{date}' ({party}) is not a valid date (write YYYY-MM-DD)"
    return ""
