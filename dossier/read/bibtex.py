"""Read BibTeX/BibLaTeX files into :class:`~dossier.model.Reference` records.

bibtexparser v2 splits the files into blocks (with no middleware: this module
resolves ``@string`` macros, ``#`` concatenation and enclosing itself, so that
``raw`` really is the value as written, less its outer delimiters). Values are then
decoded from LaTeX to Unicode with pylatexenc, the BibTeX way: a brace group that
starts with a command (``{\\v{Z}}``) is a special character and loses its braces,
any other brace group (``{K}onflikt``) protects case and keeps them, so that the
citation style can honour it. Where pylatexenc and Pandoc's LaTeX reader differ,
Pandoc's reading is followed (an accent on ``\\i`` gives a dotless i and a combining
accent; ``\\S``, ``\\pounds``, ``\\glqq`` are printed). Name lists are split into
:class:`Person` records. An entry with ``crossref`` (or ``xdata``) takes the fields it
lacks from its parent, renamed as biblatex does (a collection's ``title`` becomes a
chapter's ``booktitle``). A month macro (``month = jun``) stays as written in
``raw`` (``fields`` has ``June``), since Pandoc reads the two forms differently.

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

from ..files import ReadError, display_path, read_text
from ..model import Person, Reference
from ..problems import Location, Problem, error, warning

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
        shown = display_path(Path(path), Path(root))
        try:
            text = read_text(Path(path), Path(root))
        except ReadError as exc:
            problems.append(exc.problem)
            continue
        for ref in _read_entries(text, shown, problems):
            first = refs.get(ref.key)
            if first is None:
                refs[ref.key] = ref
            else:
                problems.append(error(
                    shown, ref.location.line,
                    f"duplicate citation key '{ref.key}' (first defined at {first.location})"))
    return _resolve_crossrefs(refs, problems), problems


def decode_latex(value: str) -> str:
    """LaTeX to Unicode; case-protecting braces are kept, ``{\\v{Z}}`` becomes ``Ž``."""
    if _PLAIN.fullmatch(value) and value == value.strip():
        return value  # nothing LaTeX would change: most fields, read without the parser
    return _parse_latex(value)


def _parse_latex(value: str) -> str:
    nodes, _, _ = LatexWalker(value, tolerant_parsing=True).get_latex_nodes()
    return _nodes_to_text(nodes or [])


# No command, group, special character, ligature (-- `` '' !` ?`) or run of spaces: text that
# the LaTeX reading gives back as it is (tests/test_bibtex.py checks this on every field we have).
_PLAIN = re.compile(r"(?:[^\\{}$~%&#^_\-`'!?\s]|-(?!-)|'(?!')|[!?](?!`)|(?<!\s) (?! ))*")


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
            end = getattr(block.error, "end_index", None)
            problems.append(error(shown, line, _failure_message(block, text.count("\n", 0, end) + 1 if end is not None else None)))
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


def _failure_message(block: bp.ParsingFailedBlock, stopped: int | None) -> str:
    """What went wrong, in words; ``stopped``: the line where the parser gave the block up."""
    match = re.match(r"\s*@\s*\w+\s*[{(]\s*([^,\s=}]*)", block.raw or "")
    what = f"entry '{match.group(1)}'" if match and match.group(1) else "entry"
    reason = getattr(block.error, "abort_reason", "") or str(block.error)
    if 'closing `"`' in reason:
        return f"unclosed quote in {what}"
    if "but found `@" in reason and stopped:  # the next entry began while this one was still open
        return f"{what} is never closed: a '}}' is missing before line {stopped}, where the next entry begins"
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
        if key not in VERBATIM_FIELDS:
            try:
                decode_latex(raw[key])
            except (IndexError, ValueError, TypeError, RecursionError) as exc:  # pylatexenc on broken LaTeX
                problems.append(error(shown, field_line, f"field '{key}' of entry '{entry.key}': its LaTeX cannot be "
                                                         f"read ({type(exc).__name__}); check its braces and commands"))
                raw[key] = re.sub(r"[\\{}]", "", raw[key])
    fields = {k: (v.strip() if k in VERBATIM_FIELDS else _squash(decode_latex(v)))
              for k, v in raw.items()}
    month = str(next((f.value for f in entry.fields if f.key.lower() == "month"), "")).strip()
    if month.lower() in _MONTH_MACROS and strings.get(month.lower()) == _MONTH_MACROS[month.lower()]:
        raw["month"] = month  # a month macro as written ("jun"), as Pandoc reads it; fields has "June"
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


# -- crossref and xdata: fields inherited from a parent entry ---------------


def _resolve_crossrefs(refs: dict[str, Reference], problems: list[Problem]) -> dict[str, Reference]:
    """Entries with ``crossref`` (or ``xdata``) take the parent's fields they lack,
    renamed as biblatex (and Pandoc) do: a collection's ``title`` is a chapter's
    ``booktitle``, an mvbook's ``title`` a volume's ``maintitle``."""
    resolved: dict[str, Reference] = {}

    def resolve(key: str, seen: tuple[str, ...]) -> Reference:
        if key in resolved:
            return resolved[key]
        ref = refs[key]
        parents = [p for p in re.split(r"[\s,]+", " ".join(
            ref.raw.get(f, "") for f in ("crossref", "xdata"))) if p]
        raw, lines = dict(ref.raw), dict(ref.field_lines)
        for parent_key in parents:
            if parent_key not in refs or parent_key in seen:
                problems.append(warning(ref.location.path, ref.field_lines.get("crossref", ref.location.line),
                                        f"entry '{key}' refers to '{parent_key}', which is not in the bibliography"
                                        if parent_key not in refs else f"entry '{key}': crossref loop through '{parent_key}'"))
                continue
            parent = resolve(parent_key, seen + (key,))
            for name, value in parent.raw.items():
                for target in _inherited_as(parent.type, ref.type, name):
                    if target not in raw:
                        raw[target] = value
                        lines[target] = ref.location.line
        if len(raw) == len(ref.raw):
            resolved[key] = ref
        else:
            fields = {k: (v.strip() if k in VERBATIM_FIELDS else _squash(decode_latex(v))) for k, v in raw.items()}
            names = {k: parse_names(raw[k]) for k in NAME_FIELDS if k in raw}
            resolved[key] = Reference(key=ref.key, type=ref.type, fields=fields, raw=raw, names=names,
                                      location=ref.location, field_lines=lines)
        return resolved[key]

    return {key: resolve(key, ()) for key in refs}


_NOT_INHERITED = {"ids", "crossref", "xref", "xdata", "entryset", "entrysubtype", "execute", "label",
                  "options", "presort", "related", "relatedoptions", "relatedstring", "relatedtype",
                  "shorthand", "shorthandintro", "sortkey"}
_TITLES_DROPPED = {"shorttitle", "sorttitle", "indextitle", "indexsorttitle"}


def _inherited_as(source: str, target: str, name: str) -> list[str]:
    """The field names a parent's field takes in its child (biblatex manual, appendix B,
    as Pandoc's citeproc applies it)."""
    if name in _NOT_INHERITED:
        return []
    if name == "author" and (source in ("mvbook", "book") and target in ("inbook", "bookinbook", "suppbook")
                             or source == "mvbook" and target == "book"):
        return ["bookauthor", "author"]
    main = {"title": "maintitle", "subtitle": "mainsubtitle", "titleaddon": "maintitleaddon"}
    book = {"title": "booktitle", "subtitle": "booksubtitle", "titleaddon": "booktitleaddon"}
    if (source == "mvbook" and target in ("book", "inbook", "bookinbook", "suppbook")
            or source in ("mvcollection", "mvreference")
            and target in ("collection", "reference", "incollection", "inreference", "suppcollection")
            or source == "mvproceedings" and target in ("proceedings", "inproceedings")):
        renamed = main
    elif (source == "book" and target in ("inbook", "bookinbook", "suppbook")
          or source in ("collection", "reference") and target in ("incollection", "inreference", "suppcollection")
          or source == "proceedings" and target == "inproceedings"):
        renamed = book
    elif source == "periodical" and target in ("article", "suppperiodical"):
        renamed = {"title": "journaltitle", "subtitle": "journalsubtitle"}
    else:
        return [name]
    if name in _TITLES_DROPPED:
        return []
    return [renamed.get(name, name)]


# -- values: @string macros and '#' concatenation ---------------------------

_PIECE = re.compile(r'\s*(?:(\{)|(")|(\d+)|([^\s#{}"]+))')
MAX_VALUE = 100_000  # characters a field or @string may expand to: macros of macros double at each step


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
                if sum(map(len, parts)) > MAX_VALUE:
                    problems.append(error(shown, line, f"the @string macros here expand to more than {MAX_VALUE:,} "
                                                       "characters, which no bibliography field needs"))
                    return ""
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
    return closing_brace(value, start)


def closing_brace(value: str, start: int) -> int:
    """Index of the brace that closes the one at ``start`` (or the end of ``value``)."""
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
        elif node.isNodeType(LatexMacroNode) and node.macroname in _SYMBOLS:
            out.append(_SYMBOLS[node.macroname])
        elif node.isNodeType(LatexMacroNode) and node.macroname == "url" and _arguments(node):
            out.append(_arguments(node)[-1].latex_verbatim().strip("{}"))
        elif node.isNodeType(LatexMacroNode) and node.macroname in _ACCENTS and _dotless(node):
            # Pandoc's reading of \'{\i}: the dotless letter and a combining accent.
            out.append(_dotless(node) + _ACCENTS[node.macroname])
        else:
            out.append(_TO_TEXT.nodelist_to_text([node]))
    return "".join(out)


_SYMBOLS = {  # text symbols pylatexenc leaves out, as Pandoc prints them
    "S": "§", "P": "¶", "pounds": "£", "copyright": "©", "textsection": "§", "textparagraph": "¶",
    "glqq": "„", "grqq": "“", "glq": "‚", "grq": "‘",
}
_ACCENTS = {  # accent commands and their combining characters
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a", "d": "\u0323", "b": "\u0331",
}


def _arguments(node: LatexMacroNode) -> list:
    return [n for n in (node.nodeargd.argnlist if node.nodeargd else []) or [] if n is not None]


def _dotless(node: LatexMacroNode) -> str:
    """The dotless "ı" or "ȷ" when an accent's argument is ``\\i`` or ``\\j``, else ""."""
    args = _arguments(node)
    if not args:
        return ""
    arg = args[-1]
    if arg.isNodeType(LatexGroupNode):
        inner = [n for n in arg.nodelist or [] if n is not None]
        arg = inner[0] if len(inner) == 1 else None
    if arg is not None and arg.isNodeType(LatexMacroNode) and arg.macroname in ("i", "j"):
        return {"i": "ı", "j": "ȷ"}[arg.macroname]
    return ""


def _is_special_character(group: LatexGroupNode) -> bool:
    """BibTeX: a brace group beginning with a command is a character, not case protection."""
    first = next((n for n in group.nodelist or [] if n is not None), None)
    return first is not None and first.isNodeType(LatexMacroNode)


# -- names ------------------------------------------------------------------


def _split_names(raw: str) -> list[str]:
    """Split on the word ``and`` outside braces, in any case (bibtexparser's splitter eats ``\\L``)."""
    return split_and(raw, any_case=True)


def split_and(value: str, any_case: bool = False) -> list[str]:
    """The items of a BibTeX list: split on ``and`` where no brace protects it."""
    items, depth, start = [], 0, 0
    for match in re.finditer(r"[{}]|\s+and\s+", value, flags=re.IGNORECASE if any_case else 0):
        token = match.group()
        if token in "{}":
            depth += 1 if token == "{" else -1
        elif depth == 0:
            items.append(value[start:match.start()])
            start = match.end()
    items.append(value[start:])
    return [item.strip() for item in items if item.strip()]


def _parse_person(name: str) -> Person:
    name = name.strip()
    if _is_one_group(name):
        return Person(literal=_plain(name[1:-1]))
    # A tie "~" separates words in a name, but the accent "\~" does not.
    parts = parse_single_name_into_parts(name.replace("\\~", _TILDE_ACCENT), strict=False)
    return Person(
        family=_plain(" ".join(parts.last)),
        given=_plain(" ".join(parts.first)),
        particle=_plain(" ".join(parts.von)),
        suffix=_plain(" ".join(parts.jr)),
    )


def _is_one_group(name: str) -> bool:
    """``{League of Nations}``: the whole name is one brace group."""
    return name.startswith("{") and _closing(name, 0) == len(name) - 1 and not name.startswith("{\\")


_TILDE_ACCENT = "\\\x00"


def _plain(text: str) -> str:
    """Decoded, braces dropped: case protection means nothing in a name."""
    text = text.replace(_TILDE_ACCENT, "\\~")
    return _squash(decode_latex(text).replace("{", "").replace("}", ""))
