"""Read BibTeX/BibLaTeX files into :class:`~dossier.model.Reference` records.

bibtexparser v2 splits the files into blocks (with no middleware: this module
resolves ``@string`` macros, ``#`` concatenation and enclosing itself, so that
``raw`` really is the value as written, less its outer delimiters). Values are then
decoded from LaTeX to Unicode with pylatexenc, the BibTeX way: a brace group that
starts with a command (``{\\v{Z}}``) is a special character and loses its braces,
any other brace group (``{K}onflikt``) protects case and keeps them, so that the
citation style can honour it. Name lists are split into :class:`Person` records.

Nothing is raised for bad input: every problem (a block that does not parse, a
duplicate key in one file or across files, an undefined ``@string``) is collected
as a :class:`~dossier.errors.Problem` naming ``path:line``.
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import bibtexparser
from bibtexparser import model as bp
from bibtexparser.middlewares.names import parse_single_name_into_parts
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import LatexGroupNode, LatexMacroNode, LatexSpecialsNode, LatexWalker

from .errors import Problem, error, warning
from .model import Location, Person, Reference

NAME_FIELDS = ("author", "editor", "translator", "bookauthor")
"""Fields parsed into ``Reference.names``."""

VERBATIM_FIELDS = frozenset({"url", "doi", "eprint", "file", "urlraw", "verba"})
"""Fields copied as written: ``_`` and ``~`` in a URL are not LaTeX."""

ET_AL = Person(literal="others")
"""Stands for BibTeX's ``and others`` at the end of a name list."""

_MONTH_MACROS = {name[:3].lower(): name for name in (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December")}
"""BibTeX's predefined month strings: ``month = apr`` is ``April``."""

_TO_TEXT = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=True)


def load_bibliography(
    paths: Sequence[Path], root: Path
) -> tuple[dict[str, Reference], list[Problem]]:
    """Parse the .bib files in order; return references by key, and all problems."""
    refs: dict[str, Reference] = {}
    problems: list[Problem] = []
    for path in paths:
        shown = _display_path(Path(path), root)
        text = Path(path).read_text(encoding="utf-8")
        for ref in _read_entries(text, shown, problems):
            first = refs.get(ref.key)
            if first is None:
                refs[ref.key] = ref
            else:
                problems.append(error(
                    shown, ref.location.line,
                    f"duplicate citation key '{ref.key}' (first defined at {first.location})"))
    return refs, problems


def decode_latex(value: str) -> str:
    """LaTeX to Unicode; case-protecting braces are kept, ``{\\v{Z}}`` becomes ``Ž``."""
    nodes, _, _ = LatexWalker(value, tolerant_parsing=True).get_latex_nodes()
    return _nodes_to_text(nodes or [])


def parse_names(raw: str) -> tuple[Person, ...]:
    """Split a BibTeX name list (``A and B and others``) into decoded persons."""
    people = []
    for name in _split_names(raw):
        if name.strip() == "others":
            people.append(ET_AL)
        else:
            people.append(_parse_person(name))
    return tuple(people)


# -- reading blocks ---------------------------------------------------------


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _read_entries(text: str, shown: str, problems: list[Problem]) -> Iterator[Reference]:
    with _quiet_bibtexparser():
        library = bibtexparser.parse_string(text, parse_stack=[])
    strings = dict(_MONTH_MACROS)
    for block in library.blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, bp.String):
            strings[block.key.lower()] = _resolve(block.value, strings, shown, line, problems)
        elif isinstance(block, bp.DuplicateBlockKeyBlock):
            # Reported by load_bibliography, which sees every file.
            entry = block.ignore_error_block
            if isinstance(entry, bp.Entry):
                yield _reference(entry, strings, shown, problems)
        elif isinstance(block, bp.DuplicateFieldKeyBlock):
            names = ", ".join(f"'{k}'" for k in sorted(block.duplicate_keys))
            entry = block.ignore_error_block
            problems.append(error(shown, line, f"duplicate field {names} in entry '{entry.key}'"))
            yield _reference(entry, strings, shown, problems)
        elif isinstance(block, bp.ParsingFailedBlock):
            problems.append(error(shown, line, _failure_message(block)))
        elif isinstance(block, bp.Entry):
            yield _reference(block, strings, shown, problems)


@contextmanager
def _quiet_bibtexparser() -> Iterator[None]:
    """bibtexparser logs each failed block; we report them as problems instead."""
    logger = logging.getLogger("bibtexparser.splitter")
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


def _failure_message(block: bp.ParsingFailedBlock) -> str:
    match = re.match(r"\s*@\s*\w+\s*[{(]\s*([^,\s=}]*)", block.raw or "")
    what = f"entry '{match.group(1)}'" if match and match.group(1) else "entry"
    reason = getattr(block.error, "abort_reason", "") or str(block.error)
    if 'closing `"`' in reason:
        return f"unclosed quote in {what}"
    if "Unexpected block start" in reason or "end of file" in reason:
        return f"unclosed brace in {what}"
    return f"cannot parse {what}: {reason.strip()}"


def _reference(entry: bp.Entry, strings: dict[str, str], shown: str,
               problems: list[Problem]) -> Reference:
    line = (entry.start_line or 0) + 1
    raw: dict[str, str] = {}
    field_lines: dict[str, int] = {}
    for fld in entry.fields:
        key = fld.key.lower()
        if key in raw:
            continue  # a duplicate field: reported already, the first one wins
        field_line = (fld.start_line + 1) if fld.start_line is not None else line
        raw[key] = _resolve(str(fld.value), strings, shown, field_line, problems)
        field_lines[key] = field_line
    fields = {k: (v.strip() if k in VERBATIM_FIELDS else _squash(decode_latex(v)))
              for k, v in raw.items()}
    names = {k: parse_names(raw[k]) for k in NAME_FIELDS if k in raw}
    return Reference(
        key=entry.key,
        type=entry.entry_type.lower(),
        fields=fields,
        raw=raw,
        names=names,
        location=Location(shown, line),
        field_lines=field_lines,
    )


# -- values: @string macros and '#' concatenation ---------------------------

_PIECE = re.compile(r'\s*(?:(\{)|(")|(\d+)|([^\s#{}"]+))')


def _resolve(value: str, strings: dict[str, str], shown: str, line: int,
             problems: list[Problem]) -> str:
    """The value of ``{a} # macro # "b"``, delimiters removed, macros expanded."""
    parts = []
    pos = 0
    while pos < len(value):
        match = _PIECE.match(value, pos)
        if not match:
            break
        if match.group(1) or match.group(2):
            end = _closing(value, match.end() - 1)
            parts.append(value[match.end():end])
            pos = end + 1
        elif match.group(3):
            parts.append(match.group(3))
            pos = match.end()
        else:
            name = match.group(4)
            if name.lower() in strings:
                parts.append(strings[name.lower()])
            else:
                problems.append(warning(shown, line, f"undefined string '{name}'"))
                parts.append(name)
            pos = match.end()
        hash_at = value.find("#", pos)
        if hash_at < 0:
            break
        pos = hash_at + 1
    return "".join(parts)


def _closing(value: str, start: int) -> int:
    """Index of the delimiter closing the one at ``start`` (or the end of value)."""
    if value[start] == '"':
        depth = 0
        for i in range(start + 1, len(value)):
            c = value[i]
            depth += (c == "{") - (c == "}")
            if c == '"' and depth == 0:
                return i
        return len(value)
    depth = 0
    for i in range(start, len(value)):
        depth += (value[i] == "{") - (value[i] == "}")
        if depth == 0:
            return i
    return len(value)


def _squash(text: str) -> str:
    """Collapse runs of white space (not no-break spaces) as TeX does."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


# -- LaTeX decoding ---------------------------------------------------------


def _nodes_to_text(nodes) -> str:
    out = []
    for node in nodes:
        if node is None:
            continue
        if node.isNodeType(LatexGroupNode) and node.delimiters == ("{", "}"):
            inner = _nodes_to_text(node.nodelist or [])
            if not inner or _is_special_character(node):
                out.append(inner)
            else:
                out.append("{" + inner + "}")
        elif node.isNodeType(LatexSpecialsNode) and node.specials_chars == "&":
            out.append("&")  # a bare & in a .bib value means itself, as Pandoc reads it
        else:
            out.append(_TO_TEXT.nodelist_to_text([node]))
    return "".join(out)


def _is_special_character(group: LatexGroupNode) -> bool:
    """BibTeX: a brace group beginning with a command is a character, not case protection."""
    first = next((n for n in group.nodelist or [] if n is not None), None)
    return first is not None and first.isNodeType(LatexMacroNode)


# -- names ------------------------------------------------------------------


def _split_names(raw: str) -> list[str]:
    """Split on the word ``and`` outside braces (bibtexparser's splitter eats ``\\L``)."""
    names, depth, start = [], 0, 0
    for match in re.finditer(r"[{}]|\s+and\s+", raw, flags=re.IGNORECASE):
        token = match.group()
        if token in "{}":
            depth += 1 if token == "{" else -1
        elif depth == 0:
            names.append(raw[start:match.start()])
            start = match.end()
    names.append(raw[start:])
    return [n.strip() for n in names if n.strip()]


def _parse_person(name: str) -> Person:
    name = name.strip()
    if _is_one_group(name):
        return Person(literal=_plain(name[1:-1]))
    parts = parse_single_name_into_parts(name, strict=False)
    return Person(
        family=_plain(" ".join(parts.last)),
        given=_plain(" ".join(parts.first)),
        particle=_plain(" ".join(parts.von)),
        suffix=_plain(" ".join(parts.jr)),
    )


def _is_one_group(name: str) -> bool:
    """``{League of Nations}``: the whole name is one brace group."""
    return name.startswith("{") and _closing(name, 0) == len(name) - 1 and not name.startswith("{\\")


def _plain(text: str) -> str:
    """Decoded, braces dropped: case protection means nothing in a name."""
    return _squash(decode_latex(text).replace("{", "").replace("}", ""))
