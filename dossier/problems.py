"""Problems found in the user's input or in the layout, each printed as ``path:line: message``.

Stages collect problems instead of raising at the first one, so that a run reports everything
that is wrong at once (as Sphinx and bibtexparser v2 do). An error fails the build at the end of
the stage that found it; a warning is printed and the build goes on, unless the build is strict
(``--strict``, or ``strict = true`` in the settings), where any warning fails it at the end, as
Sphinx's ``-W`` does. Problems are plain data: they cross from the typesetting processes intact.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Location:
    path: str  # as shown to the user: relative to the project root where possible
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Problem:
    location: Location
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location.path else ""
        kind = "warning: " if self.severity == WARNING else ""
        return f"{prefix}{kind}{self.message}"


def error(path: str, line: int, message: str) -> Problem:
    return Problem(Location(path, line), message, ERROR)


def warning(path: str, line: int, message: str) -> Problem:
    return Problem(Location(path, line), message, WARNING)


class BuildError(Exception):
    """Raised at the end of a stage whose input had errors; carries all of them."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def errors_in(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]


def in_order(problems: Iterable[Problem]) -> list[Problem]:
    """Errors first, then by file and line."""
    return sorted(problems, key=lambda p: (p.severity != ERROR, p.location.path, p.location.line))


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """" (did you mean 'x'?)", naming every one of ``known`` as close to ``word`` as the closest
    (difflib's likeness, at least 0.6), in order; "" if none is close. One spelling told, when
    another is just as likely, sends the user to the wrong one."""
    scored = [(round(difflib.SequenceMatcher(None, word, name).ratio(), 9), name) for name in known]
    best = max((score for score, _ in scored), default=0)
    names = sorted(f"'{name}'" for score, name in scored if score == best and score >= 0.6)
    if not names:
        return ""
    return f" (did you mean {names[0] if len(names) == 1 else ', '.join(names[:-1]) + ' or ' + names[-1]}?)"
