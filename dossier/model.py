"""Plain data passed between the stages.

Every record that comes from a file carries its location, so that a problem found
three stages later still names ``content/03-lithuania.md:42``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from . import words
from .problems import Location


@dataclass(frozen=True)
class Person:
    """One name from a BibTeX name list, already decoded to Unicode.

    A corporate author (``{League of Nations}``) has ``literal`` set and nothing else.
    """

    family: str = ""
    given: str = ""
    particle: str = ""  # "von", "de"
    suffix: str = ""  # "Jr."
    literal: str = ""


@dataclass(frozen=True)
class Reference:
    """One BibTeX entry.

    ``fields`` maps lower-case field names to values decoded from LaTeX to Unicode
    (``{\\v{Z}}alys`` -> ``Žalys``, ``--`` -> ``–``); braces that protect case are
    kept as ``{`` ``}`` so that the style can honour them, and ``raw`` keeps the
    undecoded values. Name fields (author, editor, translator) are also parsed into
    ``names``.
    """

    key: str
    type: str  # lower-case entry type: book, article, incollection, ...
    fields: Mapping[str, str]
    raw: Mapping[str, str]
    names: Mapping[str, tuple[Person, ...]]
    location: Location
    field_lines: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CiteItem:
    """One work inside a citation: ``see @key, pp. 45-47 and passim``."""

    key: str
    locator: str = ""  # "45-47" (as written)
    label: str = "page"  # CSL locator term: page, volume, chapter, section, number, note, ...
    prefix: str = ""  # "see"
    suffix: str = ""  # "and passim"
    suppress_author: bool = False  # [-@key]
    location: Location = Location("")


@dataclass(frozen=True)
class Citation:
    """One bracketed citation ``[...]``: one or more items, in one note."""

    items: tuple[CiteItem, ...]
    location: Location
    in_note: bool = False  # inside an author's own note [^n]: joins that note's text


@dataclass(frozen=True)
class Chapter:
    path: Path  # absolute
    location: Location  # display path; line of the first body line
    slug: str
    order: tuple  # sort key: front-matter "order", or the file name's number, then the name
    title: str
    short_title: str
    lang: str
    body: str  # Markdown, front matter removed
    body_line: int  # line number (1-based) of body's first line in the file
    treaty: str = ""  # id of the treaty whose key facts open the chapter
    template: str = ""  # handouts: the template that lays it out (default "handout")
    key_lines: Mapping[str, int] = field(default_factory=dict)  # front-matter key -> its line in the file
    appendix: bool = False  # front matter "appendix: true": lettered A, B, … after the numbered chapters


@dataclass(frozen=True)
class RenderedChapter:
    chapter: Chapter
    html: str  # the chapter body, notes inline as <span class="footnote">
    headings: tuple[tuple[int, str, str], ...]  # (level, id, text)
    note_count: int
    note_lines: tuple[int, ...] = ()  # the source line of each note's call, in order
    refs: object = None  # render.crossref.Refs: cross-references and their targets, until the book resolves them


def chapter_labels(chapters, language: str = "en") -> dict[str, tuple[str, str]]:
    """Each chapter's label by slug: ("Chapter", "1"), …, and for appendices ("Appendix", "A"), …,
    numbered and lettered in the order the chapters print; the word in the book's ``language``."""
    labels, numbers, letters = {}, 0, 0
    chapter_word, appendix_word = (words.capital(words.term(language, name)) for name in ("chapter", "appendix"))
    for part in chapters:
        chapter = getattr(part, "chapter", part)
        if chapter.appendix:
            letters += 1
            labels[chapter.slug] = (appendix_word, _letters(letters))
        else:
            numbers += 1
            labels[chapter.slug] = (chapter_word, str(numbers))
    return labels


def _letters(n: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA."""
    text = ""
    while n:
        n, rest = divmod(n - 1, 26)
        text = chr(ord("A") + rest) + text
    return text
