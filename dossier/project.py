"""The project: its settings (``pyproject.toml``, table ``[tool.dossier]``; every key has a
default), its folders, and the template environment (the project's templates first, the
built-in ones for what it does not override)."""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path

import jinja2
from markupsafe import Markup

from .files import TOOL_ROOT, ReadError, inside, read_text
from .problems import BuildError, Problem, did_you_mean, error
from .read.typography import smart_quotes, smart_values

FONT_FILES = ("CharisSIL-Regular.ttf", "CharisSIL-Italic.ttf", "CharisSIL-Bold.ttf", "CharisSIL-BoldItalic.ttf")

PAPER_SIZES = {"A4": "210mm 297mm", "LETTER": "8.5in 11in", "A5": "148mm 210mm", "HALF-LETTER": "5.5in 8.5in"}
# How far down an upright page a table set turned may run (dossier.css, .comparison): the text
# block's height less room for the table's note (the margins are dossier.css's and booklet.css's).
TURNED_LENGTH = {"A4": "224mm", "LETTER": "218mm", "A5": "146mm", "HALF-LETTER": "152mm"}
# The booklet is typeset on half the paper's sheet (its own stylesheet, booklet.css), two pages
# to a side; only A4 and Letter are settings.
BOOKLET_PAPER = {"A4": "A5", "LETTER": "HALF-LETTER"}


@dataclass(frozen=True)
class Settings:
    root: Path
    title: str = "Untitled dossier"
    subtitle: str = ""
    authors: tuple[str, ...] = ()
    language: str = "en"
    paper: str = "A4"
    subject: str = ""
    keywords: tuple[str, ...] = ()
    content_dir: str = "content"
    bib_dir: str = "bib"
    templates_dir: str = "templates"
    output_dir: str = "output"
    ibid: bool = False  # Chicago: "Ibid." for an immediately repeated work (off, as the 18th ed. advises)
    strict: bool = False  # any warning fails the build (as --strict does)
    booklet: bool = True  # `build.py` (all) makes the booklet too; `build.py booklet` makes it anyway
    page_audit: bool = False  # the page audit's findings are warnings (as --audit makes them); -v lists them anyway
    archival: bool = False  # PDF/A-2a as well as PDF/UA-1 (as --archival makes them): for schools' and libraries' archives
    # The bibliography in sections, as biblatex's \printbibliography[keyword=…]: (title, keyword,
    # note) each; an entry goes in the first whose keyword its `keywords` field holds (a section
    # without a keyword takes the rest); a section with no entries is left out.
    bibliography_sections: tuple[tuple[str, str, str], ...] = ()
    full_note_each_chapter: bool = True  # a work's first citation in each chapter is a full note (as Chicago advises)
    number_sections: bool = False  # sections print their numbers ("2.3"), and @sec-… refers to them by it
    list_of_figures: bool = False  # after the contents, a list of the figures and tables, with their pages
    nocite: tuple[str, ...] = ()  # keys listed in the bibliography even when not cited
    date: datetime = field(default_factory=lambda: build_date())

    @property
    def page_size(self) -> str:
        return PAPER_SIZES[self.paper.upper()]

    @property
    def page_size_pt(self) -> tuple[float, float]:
        """Portrait width and height in points."""
        units = {"mm": 72 / 25.4, "in": 72.0}
        return tuple(float(v[:-2]) * units[v[-2:]] for v in self.page_size.split())

    @property
    def half_sheet(self) -> bool:
        """Whether these are the booklet's pages (half a sheet of the paper set)."""
        return self.paper.upper() in BOOKLET_PAPER.values()

    def for_booklet(self) -> "Settings":
        return replace(self, paper=BOOKLET_PAPER[self.paper.upper()])

    @property
    def turned_length(self) -> str:
        return TURNED_LENGTH[self.paper.upper()]

    @property
    def landscape_size(self) -> str:
        return " ".join(reversed(self.page_size.split()))

    def path(self, name: str) -> Path:
        return self.root / getattr(self, name)


def hyphenation(language: str) -> str:
    """The language tag to set text in a ``language`` with, chosen for the patterns WeasyPrint
    splits its words by. For English, the American set (Liang's, from TeX), which splits by
    pronunciation: trea-ties, Arti-cle, ter-ri-tory, Lithua-nian; plain "en" is the British set
    in pyphen, which gives treat-ies, Art-icle, ter-rit-ory and leaves Lithuanian whole."""
    return "en-US" if language.lower() == "en" else language


def build_date() -> datetime:
    """The build's date: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return datetime.now(tz=timezone.utc).replace(microsecond=0)


PRINTED_SETTINGS = {"title", "subtitle", "authors", "subject", "keywords", "bibliography_sections"}
_LIST_KEYS = {"authors", "keywords", "nocite"}  # a string or a list of strings; held as a tuple
FOLDERS_READ = {"content_dir", "bib_dir", "templates_dir"}  # confined to the project (the outputs may go anywhere)
_TOML_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array", dict: "a table"}


def load_settings(root: Path, overrides: dict | None = None) -> Settings:
    """Read ``[tool.dossier]`` from ``root/pyproject.toml`` (a missing file or table is fine).

    Every wrong key or value is reported, all together, as ``pyproject.toml:<line>: ...``.
    """
    root = root.resolve()
    if not root.is_dir():  # a mistyped --root: say so, rather than build an empty dossier there
        raise BuildError([error(str(root), 0, "no such project folder")])
    pyproject = root / "pyproject.toml"
    table: dict = {}
    if pyproject.exists() or pyproject.is_symlink():
        try:
            text = read_text(pyproject, root)
        except ReadError as exc:
            raise BuildError([exc.problem]) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BuildError([_toml_error(exc, text)]) from None
        except RecursionError:
            raise BuildError([error("pyproject.toml", 0, "invalid TOML: arrays or tables nested too deeply")]) from None
        tool = data.get("tool", {})
        table = tool.get("dossier", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise BuildError([error("pyproject.toml", 0, f"tool.dossier must be a table, not {_kind(table)}")])
    table = {**table, **(overrides or {})}
    known = {f.name for f in fields(Settings)} - {"root", "date"}
    problems = []
    values: dict = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            problems.append(error("pyproject.toml", line_of(pyproject, key),
                                  f"unknown setting '{key}' in [tool.dossier]{did_you_mean(name, sorted(known))}"))
            continue
        try:
            values[name] = _setting(name, value)
        except ValueError as exc:
            problems.append(error("pyproject.toml", line_of(pyproject, key), f"{key} must be {exc}"))
            continue
        if name.endswith("_dir") and "\0" in value:
            problems.append(error("pyproject.toml", line_of(pyproject, key), f"{key} is not a folder name (it holds a NUL character)"))
        elif name in FOLDERS_READ and key not in (overrides or {}) and not inside(root / value, root):
            problems.append(error("pyproject.toml", line_of(pyproject, key),
                                  f"{key} names {(root / value).resolve()}, outside the project: the build reads "
                                  "files inside the project only"))
    if problems:
        raise BuildError(problems)
    for name in PRINTED_SETTINGS & set(values):  # text the title page, running heads and metadata show
        values[name] = smart_values(values[name]) if name != "bibliography_sections" else \
            tuple((smart_quotes(title), keyword, smart_quotes(note)) for title, keyword, note in values[name])
    return Settings(root=root, **values)


def _toml_error(exc: tomllib.TOMLDecodeError, text: str) -> Problem:
    """The parse error at its line; before Python 3.14 the line is only in the message."""
    match = re.fullmatch(r"(.*) \((?:at line (\d+), column \d+|at end of document)\)", str(exc), re.DOTALL)
    if not match:
        return error("pyproject.toml", 0, f"invalid TOML: {exc}")
    line = int(match.group(2)) if match.group(2) else max(len(text.splitlines()), 1)
    return error("pyproject.toml", line, f"invalid TOML: {match.group(1)}")


def _setting(name: str, value):
    """``value`` as ``Settings`` holds setting ``name``; a ValueError says what it must be instead."""
    if name in _LIST_KEYS:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise ValueError(f"a string or a list of strings, not {_kind(value)}")
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"a string or a list of strings, not an array holding {_kind(item)}")
        return tuple(value)
    if name in ("ibid", "strict", "full_note_each_chapter", "page_audit", "booklet", "archival", "number_sections",
                "list_of_figures"):
        if not isinstance(value, bool):
            raise ValueError(f"true or false, not {_kind(value)}")
        return value
    if name == "bibliography_sections":
        sections = value if isinstance(value, list) else None
        if sections is None or not all(isinstance(s, dict) for s in sections):
            raise ValueError("a list of tables ({ title = \"Sources\", keyword = \"source\" })")
        for section in sections:
            unknown = set(section) - {"title", "keyword", "note"}
            if unknown or not isinstance(section.get("title"), str) or not all(isinstance(v, str) for v in section.values()):
                raise ValueError("a list of tables with a title and, if wanted, a keyword and a note, all strings"
                                 + (f" (not {', '.join(sorted(unknown))})" if unknown else ""))
        return tuple((s["title"], s.get("keyword", ""), s.get("note", "")) for s in sections)
    if name == "paper":
        if not isinstance(value, str) or value.upper() not in PAPER_SIZES:
            raise ValueError(f"A4 or Letter, not {repr(value) if isinstance(value, str) else _kind(value)}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"a string, not {_kind(value)}")
    return value


def _kind(value) -> str:
    """A TOML value's kind, in TOML's words: "an integer", "an array"..."""
    return _TOML_KINDS.get(type(value), "a date or time")


def line_of(pyproject: Path, key: str) -> int:
    """The line of ``key = ...`` in the ``[tool.dossier]`` table (0 when not found)."""
    if not pyproject.exists():
        return 0
    in_table = False
    for number, line in enumerate(pyproject.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped.replace(" ", "").startswith("[tool.dossier]")
        elif in_table and stripped.startswith((f"{key} ", f"{key}=")):
            return number
    return 0


def font_files() -> tuple[Path, ...]:
    return tuple(TOOL_ROOT / "fonts" / name for name in FONT_FILES)


def template_dirs(settings: Settings) -> list[Path]:
    """The project's templates first; the built-in ones fill in what it does not override."""
    return list(dict.fromkeys(p.resolve() for p in (settings.path("templates_dir"), TOOL_ROOT / "templates") if p.is_dir()))


def template_file(settings: Settings, name: str) -> Path:
    return next((d / name for d in template_dirs(settings) if (d / name).exists()), TOOL_ROOT / "templates" / name)


class ConfinedLoader(jinja2.FileSystemLoader):
    """Templates from the project's folder, then the built-in ones; a template that is a link to a
    file outside the project, or not UTF-8, is an error naming it (``files.read_text``)."""

    def __init__(self, settings: Settings):
        super().__init__(template_dirs(settings))
        self.root = settings.root

    def get_source(self, environment, template):
        pieces = jinja2.loaders.split_template_path(template)
        for folder in self.searchpath:
            path = Path(folder, *pieces)
            if path.is_file() or path.is_symlink():
                try:
                    text = read_text(path, self.root)
                except ReadError as exc:
                    raise BuildError([exc.problem]) from None
                mtime = path.stat().st_mtime_ns
                return text, str(path), lambda: path.is_file() and path.stat().st_mtime_ns == mtime
        raise jinja2.TemplateNotFound(template)


def template_environment(settings: Settings) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=ConfinedLoader(settings),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["css_string"] = css_string
    environment.filters["hyphenation"] = hyphenation
    return environment


def css_string(value: str) -> Markup:
    """A CSS string literal for a stylesheet inside the HTML (where entities are not decoded)."""
    escaped = "".join(c if c.isalnum() or c in " .,;:–—-'’()!?" else f"\\{ord(c):x} " for c in str(value))
    return Markup(f'"{escaped}"')
