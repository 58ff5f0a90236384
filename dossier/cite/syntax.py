"""Pandoc's citation syntax, read from a chapter's Markdown source.

``[@key]``, ``[@key, 45-47]``, ``[see @a, pp. 12-14; compare @b, 3]``, ``[-@key]``.
Each bracketed citation becomes one :class:`Citation` of one or more :class:`CiteItem`,
carrying the file and line where it was written.
"""
from __future__ import annotations

import re

from ..model import Citation, CiteItem
from ..problems import Location

# Pandoc: a key starts with a letter, digit or _, and may hold internal punctuation.
KEY = r"[\w][\w:.#$%&\-+?<>~/]*?"
_KEY_END = r"(?=[\s,;\]]|$)"
ITEM_RE = re.compile(rf"^(?P<prefix>.*?)(?:^|(?<=\s))(?P<minus>-?)@(?P<key>{KEY}){_KEY_END}(?P<rest>.*)$", re.S)
BRACKET_RE = re.compile(r"\[(?!\^)((?:[^\[\]]|\[[^\[\]]*\])*?(?<![\w.@])-?@[\w][^\[\]]*)\](?![(\[])")
LINK_DEFINITION_RE = re.compile(r"^[ ]{0,3}\[[^\]]+\]:")  # "[@key]: http://..." is a link, not a citation
# A narrative citation, "@key" or "@key [45]" in the running text (Pandoc): the @ opens a word
# (an e-mail address's does not, nor an escaped "\@"); the key ends on a letter or digit, so the
# punctuation after it stays the sentence's.
NARRATIVE_RE = re.compile(r"(?:^|(?<=[\s(“‘\"'—–]))@(?P<key>\w(?:[\w:.#$%&\-+?<>~/]*\w)?)(?: \[(?P<locator>[^\[\]@]*)\])?")
# Code: fenced blocks and code spans, where nothing is a citation.
CODE_RE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}\1[`~]*[ \t]*$|\Z)|(`+).+?\2", re.S | re.M)

# Locator labels as Pandoc reads them (English), mapped to CSL locator terms.
LABELS = {
    "p.": "page", "pp.": "page", "page": "page", "pages": "page",
    "vol.": "volume", "vols.": "volume", "volume": "volume", "volumes": "volume",
    "chap.": "chapter", "chaps.": "chapter", "chapter": "chapter", "chapters": "chapter", "ch.": "chapter",
    "sec.": "section", "secs.": "section", "section": "section", "sections": "section", "§": "section", "§§": "section",
    "no.": "number", "nos.": "number", "number": "number",
    "n.": "note", "nn.": "note", "note": "note", "notes": "note",
    "para.": "paragraph", "paras.": "paragraph", "¶": "paragraph",
    "art.": "article-locator", "arts.": "article-locator",
    "fig.": "figure", "figs.": "figure", "col.": "column", "cols.": "column",
    "l.": "line", "ll.": "line", "bk.": "book", "pt.": "part", "fol.": "folio", "fols.": "folio",
}
_LABEL_RE = "|".join(sorted((re.escape(k) for k in LABELS), key=len, reverse=True))
# A locator: numbers (Arabic or Roman, with a volume "2:355"), ranges and lists of them.
_NUM = r"(?:\d+[a-z]?(?::\d+)?|[ivxlcdm]+|[IVXLCDM]+)"
_LOCATOR = rf"{_NUM}(?:\s*[-–—]+\s*{_NUM})?(?:\s*(?:,|&|and)\s*{_NUM}(?:\s*[-–—]+\s*{_NUM})?)*"
REST_RE = re.compile(rf"^\s*,?\s*(?:(?P<label>{_LABEL_RE})\s*)?(?:\{{(?P<braced>[^}}]*)\}}|(?P<loc>{_LOCATOR}))(?P<suffix>.*)$", re.S)


def parse_citation(inner: str, location: Location, in_note: bool = False) -> tuple[Citation | None, list[str]]:
    """Parse the text between the brackets. Returns the citation and any syntax problems."""
    items, problems = [], []
    for part in _split_items(inner):
        match = ITEM_RE.match(part.strip())
        if not match:
            problems.append(f"cannot read citation item '{part.strip()}' (expected '@key')")
            continue
        locator, label, suffix = _split_locator(match.group("rest"))
        items.append(
            CiteItem(
                key=match.group("key"),
                locator=locator,
                label=label,
                prefix=match.group("prefix").strip(),
                suffix=suffix,
                suppress_author=bool(match.group("minus")),
                location=location,
            )
        )
    if not items:
        return None, problems or ["empty citation"]
    return Citation(items=tuple(items), location=location, in_note=in_note), problems


def _split_items(inner: str) -> list[str]:
    """Split on ';' that separate items (a ';' inside a suffix with no '@' after it stays)."""
    parts = inner.split(";")
    items: list[str] = []
    for part in parts:
        if items and not re.search(r"(?:^|\s)-?@\w", part):
            items[-1] += ";" + part
        else:
            items.append(part)
    return items


def _split_locator(rest: str) -> tuple[str, str, str]:
    """``', pp. 45-47 and passim'`` -> ('45-47', 'page', 'and passim'); ``', 80, emphasis added'``
    -> ('80', 'page', ', emphasis added')."""
    stripped = rest.strip()
    if not stripped:
        return "", "page", ""
    match = REST_RE.match(stripped) if stripped.startswith(",") else None
    if not match:
        return "", "page", stripped  # no locator: all of it is the suffix, its comma included
    label = LABELS[match.group("label")] if match.group("label") else "page"
    locator = (match.group("braced") if match.group("braced") is not None else match.group("loc")).strip()
    return locator, label, match.group("suffix").strip()  # a suffix keeps its opening comma, as in Pandoc


def find_citations(text: str) -> list[re.Match]:
    """Every bracketed citation in a piece of Markdown, skipping code."""
    found = []
    for match in _outside_code(BRACKET_RE, text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if LINK_DEFINITION_RE.match(text, line_start) and text[line_start:match.start()].strip() == "":
            continue
        found.append(match)
    return found


def _outside_code(pattern: re.Pattern, text: str) -> list[re.Match]:
    """The matches of ``pattern`` in ``text`` that do not start in code (a fenced block, a span)."""
    code = [m.span() for m in CODE_RE.finditer(text)]
    return [m for m in pattern.finditer(text) if not any(a <= m.start() < b for a, b in code)]


def find_narrative(text: str) -> list[re.Match]:
    """Every "@key" (with its "[locator]", if any) in the running text of a piece of Markdown,
    skipping code; those inside a bracketed citation are the caller's to skip."""
    return _outside_code(NARRATIVE_RE, text)


def narrative_item(match: re.Match, location: Location) -> CiteItem:
    """The citation item of a narrative citation: "@key [p. 45]" is "@key, p. 45"."""
    locator, label, suffix = _split_locator(", " + match.group("locator")) if match.group("locator") else ("", "page", "")
    return CiteItem(key=match.group("key"), locator=locator, label=label, suffix=suffix, location=location)


def each_work_once(sources) -> list[str]:
    """Citation items ("@key" or "@key, words") merged so that each work is named once: an item
    with words after the key (a locator, or a remark such as "whose date … is marked 'citation
    needed'") stands for the work, and a bare "@key" of the same work is dropped."""
    items = list(dict.fromkeys(part.strip() for source in sources for part in str(source).split(";") if part.strip()))
    with_words = {item.lstrip("@").split(",")[0].strip() for item in items if "," in item}
    return [item for item in items if "," in item or item.lstrip("@").strip() not in with_words]
