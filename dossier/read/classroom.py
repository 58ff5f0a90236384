"""The class material, ``content/classroom.yaml``: glossary, people, who held Vilnius, quotations.

In: the YAML file. Out: ``Classroom`` (each list's entries with their lines) and the problems
found. Every entry names its source as a citation (``"@web-lttreaty"``); how the lists print
is ``render/classroom.py``'s.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..files import display_path
from ..problems import Problem, error
from . import yaml_safe
from .typography import smart_values

DATA_FILE = "classroom.yaml"

# list -> {field: kind}; kind: "text", "texts" (a list of texts), "when", or "flag" (true or false,
# the only optional kind: false when left out)
SECTIONS: dict[str, dict[str, str]] = {
    "glossary": {"term": "text", "text": "text", "source": "text"},
    "people": {"name": "text", "sort": "text", "role": "text", "source": "text"},
    "vilnius": {"from": "when", "holder": "text", "how": "text", "source": "text"},
    # own_words: the source's own words, not words it quotes
    "quotations": {"text": "text", "who": "text", "source": "text", "questions": "texts", "own_words": "flag"},
}


@dataclass(frozen=True)
class When:
    """A date as precise as the sources give it: a day, a month or a year."""

    year: int
    month: int = 0
    day: int = 0

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.month or 1, self.day or 1)


@dataclass(frozen=True)
class Entry:
    values: Mapping[str, Any]
    line: int

    def __getitem__(self, name):
        return self.values[name]


@dataclass(frozen=True)
class Classroom:
    glossary: tuple[Entry, ...] = ()
    people: tuple[Entry, ...] = ()
    vilnius: tuple[Entry, ...] = ()
    quotations: tuple[Entry, ...] = ()
    path: str = ""


def load(path: Path, root: Path) -> tuple[Classroom, list[Problem]]:
    """Read and check the file; a project without one has no class material."""
    if not path.exists() and not path.is_symlink():
        return Classroom(), []
    shown = display_path(path, root)
    document, node, problems = yaml_safe.read_data_file(path, root)
    if problems:
        return Classroom(path=shown), problems
    if document is None:
        return Classroom(path=shown), []
    if not isinstance(document, dict):
        return Classroom(path=shown), [error(shown, 1, f"expected a mapping with the lists {', '.join(SECTIONS)}")]
    lists: dict[str, tuple[Entry, ...]] = {}
    for key_node, value_node in node.value:  # the nodes, not the mapping: a name given twice is seen
        name, line = str(key_node.value), key_node.start_mark.line + 1
        value = loader_value(document, key_node)
        if name in lists:
            problems.append(error(shown, line, f"the list '{name}' is given twice: put its entries under one '{name}:'"))
        elif name not in SECTIONS:
            problems.append(error(shown, line, f"unknown list '{name}' (known: {', '.join(SECTIONS)})"))
        elif value is not None and not isinstance(value, list):
            problems.append(error(shown, line, f"'{name}' must be a list of entries, each starting with '- '"))
        else:
            lists[name] = tuple(_entries(name, value or [], value_node.value if value else [], shown, problems))
    return Classroom(**lists, path=shown), problems


def loader_value(document: dict, key_node):
    """The value the document holds under a key node (YAML reads "1920:" as the number 1920)."""
    for key, value in document.items():
        if str(key) == str(key_node.value):
            return value
    return None


def _entries(name: str, values: list, nodes: list, shown: str, problems: list[Problem]):
    fields = SECTIONS[name]
    for value, node in zip(values, nodes):
        line = node.start_mark.line + 1
        if not isinstance(value, dict):
            problems.append(error(shown, line, f"each entry of '{name}' is a mapping with {', '.join(fields)}"))
            continue
        lines = {key.value: child.start_mark.line + 1 for key, child in node.value}
        before = len(problems)
        for key in value:
            if key not in fields:
                problems.append(error(shown, lines.get(key, line), f"unknown field '{key}' in '{name}' (known: {', '.join(fields)})"))
        for key, kind in fields.items():
            if kind == "flag":
                value.setdefault(key, False)
                if not isinstance(value[key], bool):
                    problems.append(error(shown, lines.get(key, line), f"{key}: write true or false"))
                continue
            if value.get(key) in (None, "", []):
                problems.append(error(shown, line, f"this entry of '{name}' lacks '{key}'"))
                continue
            checked, message = _check(kind, value[key])
            if message:
                problems.append(error(shown, lines.get(key, line), f"{key}: {message}"))
            value[key] = checked if key == "source" else smart_values(checked)
        if len(problems) == before:
            yield Entry(value, line)


def _check(kind: str, value: Any) -> tuple[Any, str]:
    if kind == "text":
        return (value, "") if isinstance(value, str) else (value, f"expected text, got {value!r}")
    if kind == "texts":
        ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        return (value, "") if ok else (value, "expected a list of texts, each on a line starting with '- '")
    # when: a date, or a month (YYYY-MM) or year (YYYY) where the sources give no day
    if isinstance(value, dt.date):
        return When(value.year, value.month, value.day), ""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", str(value))
    if match and 1 <= int(match.group(2) or 1) <= 12:
        return When(int(match.group(1)), int(match.group(2) or 0)), ""
    return value, f"'{value}' is not a date: write YYYY-MM-DD, or YYYY-MM or YYYY where the sources give no day"
