"""Where each block of a chapter is written: ``data-source="content/02-lithuania.md:14"`` on its
paragraphs, headings, list items and notes, for ``watch``'s preview (a click shows it) and, carried
through layout, for its page view (``typeset/weasy.py`` reports where each such block starts).

Python-Markdown keeps no line numbers, so a preprocessor, which still sees the chapter's lines
(one for one: the data expressions write generated blocks on one line, the notes are lifted out
leaving blank lines), puts a marker with the line's number right after the syntax that opens each
block (``## ``, ``- ``, ``> ``; before a paragraph's first word). A treeprocessor, run before the
inline patterns (so before ``smarty``, ``toc`` and ``attr_list`` read the text), takes each marker
out of the element whose text it opens and sets the element's ``data-source``. Lines the marker
would change the meaning of are left alone: raw HTML (the generated blocks), tables, rules, code,
link definitions. A marker that lands anywhere else (in raw HTML) is removed from the output.

A note's line is its text's: a citation's own line, an author's note's ``[^name]:`` line
(``notes``, called once the notes are in place).
"""
from __future__ import annotations

import re

import markdown
from markdown.extensions import Extension
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from ..cite.syntax import find_citations
from ..model import Chapter

MARK_OPEN, MARK_CLOSE = "\ue010", "\ue011"
MARK_RE = re.compile(f"{MARK_OPEN}(\\d+){MARK_CLOSE}")
NOTE_TOKEN_RE = re.compile("\ue000(\\d+)\ue001")  # render/markdown.py's placeholder of a note at its call
CALL_RE = re.compile(r"\[\^([^\]\s]+)\](?!:)")  # an author's note called
DEF_RE = re.compile(r"^\[\^([^\]\s]+)\]:")  # and defined
OPENER_RE = re.compile(r"[ ]{0,3}(?:#{1,6}(?:[ \t]+|$)|(?:>[ ]?|(?:[-*+]|\d{1,9}[.)])[ \t]+)+)|[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+")
ITEM_RE = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\S|[ ]{0,3}#{1,6}[ \t]")  # a list item or heading: a block of its own
LEAVE_RE = re.compile(r"[ \t]*(?:<|\||```|~~~|\[[^\]]*\]:|\ue000)|(?:[ ]{4}|\t)|[ \t]*(?:[-*_][ \t]*){3,}$")
TABLE_RULE_RE = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


class _Marks(Preprocessor):
    def __init__(self, md, owner: "SourceLines"):
        super().__init__(md)
        self.owner = owner

    def run(self, lines: list[str]) -> list[str]:
        self.owner.note_lines = _note_lines(lines, self.owner.chapter)
        out = []
        for number, line in enumerate(lines):
            starts = number == 0 or not lines[number - 1].strip() or ITEM_RE.match(line)
            table = number + 1 < len(lines) and "|" in line and TABLE_RULE_RE.match(lines[number + 1])
            opener = OPENER_RE.match(line)
            end = opener.end() if opener else 0
            if not starts or table or not line[end:].strip() or (LEAVE_RE.match(line) and not ITEM_RE.match(line)):
                out.append(line)
            else:
                out.append(f"{line[:end]}{MARK_OPEN}{number}{MARK_CLOSE}{line[end:]}")
        return out


class _Sources(Treeprocessor):
    def __init__(self, md, owner: "SourceLines"):
        super().__init__(md)
        self.owner = owner

    def run(self, root):
        for element in root.iter():
            if element.text and MARK_OPEN in element.text:
                match = MARK_RE.search(element.text)
                if match and not element.text[: match.start()].strip():
                    element.set("data-source", self.owner.where(int(match.group(1))))
                element.text = _unmarked(element.text)
            if element.tail and MARK_OPEN in element.tail:
                element.tail = _unmarked(element.tail)


def _unmarked(text: str) -> str:
    """The text without markers, still atomic if it was (a code block's: no inline patterns)."""
    bare = MARK_RE.sub("", text)
    return AtomicString(bare) if isinstance(text, AtomicString) else bare


class _Unmark(Postprocessor):
    def run(self, text: str) -> str:
        return MARK_RE.sub("", text)


class SourceLines(Extension):
    """The chapter's source lines on its blocks (``register`` puts it on a converter)."""

    def __init__(self, chapter: Chapter):
        super().__init__()
        self.chapter = chapter
        self.last = chapter.body_line + chapter.body.count("\n")
        self.note_lines: dict[int, int] = {}  # note index (0-based) -> its text's line in the body

    def where(self, index: int) -> str:
        """``path:line`` of the body's ``index``-th line (lines a data expression added: its last)."""
        return f"{self.chapter.location.path}:{min(self.chapter.body_line + index, self.last)}"

    def extendMarkdown(self, md):
        md.preprocessors.register(_Marks(md, self), "source_lines", 25)  # after normalize_whitespace, before html_block
        md.treeprocessors.register(_Sources(md, self), "source_lines", 25)  # before inline (20), attr_list, toc
        md.postprocessors.register(_Unmark(md), "source_lines", 5)  # after raw HTML is put back (30)


def register(converter: markdown.Markdown, chapter: Chapter) -> SourceLines:
    """Mark the blocks of what ``converter`` converts next with their lines in ``chapter``."""
    extension = SourceLines(chapter)
    extension.extendMarkdown(converter)
    converter.source_lines = extension
    return extension


def notes(html_text: str, converter: markdown.Markdown, chapter_id: str) -> str:
    """Each note's ``data-source``: where its text is written."""
    extension = getattr(converter, "source_lines", None)
    if extension is None:
        return html_text

    def add(match: re.Match) -> str:
        index = extension.note_lines.get(int(match.group(2)) - 1)
        return match.group(0) if index is None else f'{match.group(1)} data-source="{extension.where(index)}">'

    return re.sub(f'(<span class="footnote" id="note-{re.escape(chapter_id)}-(\\d+)")>', add, html_text)


def _note_lines(lines: list[str], chapter: Chapter) -> dict[int, int]:
    """For each note placeholder in ``lines`` (the body as Markdown gets it), the index of the body
    line its text is on: a citation's, its own; an author's note's, its definition's. The
    placeholders of a line are matched, in order, with the citations and calls on that line of the
    chapter as written (where data expressions changed the count of lines: the call's line)."""
    written = chapter.body.split("\n")
    same = len(lines) >= len(written) and not "".join(lines[len(written):]).strip()  # Markdown adds blank lines
    defined = {m.group(1): number for number, text in enumerate(written) if (m := DEF_RE.match(text))}
    found = {}
    for number, line in enumerate(lines):
        tokens = [int(m.group(1)) for m in NOTE_TOKEN_RE.finditer(line)]
        if not tokens:
            continue
        items = []
        if same:
            calls = {m.start(): m.group(1) for m in CALL_RE.finditer(written[number])}
            items = sorted([(m.start(), None) for m in find_citations(written[number]) if m.start() not in calls]
                           + list(calls.items()))
        for position, token in enumerate(tokens):
            name = items[position][1] if len(items) == len(tokens) else None
            found[token] = defined.get(name, number) if name else number
    return found
