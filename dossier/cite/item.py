"""One bibliography entry as the CSL item Pandoc makes of it: its type and its fields.

In: a Reference (a .bib entry, its fields decoded from LaTeX).
Out: a Work, its CSL type and its fields ready to print (titles as Title, names,
dates as Date, publisher, place, numbers, links), for the layouts in ``chicago``;
the groups of fields that every layout prints alike (volume, edition, series,
report number, contributors), as HTML; and missing_fields, what the style needs
that the entry lacks.

The entry is read as Pandoc reads a ``.bib`` file, as *biblatex* (the mapping a
biblatex user expects: ``journaltitle``, ``location``, ``date``, ``urldate``,
``entrysubtype = {newspaper}``, ``@online``, ``@legal``…):

* entry types are mapped to CSL types as Pandoc maps them (``@incollection`` →
  chapter, ``@inreference`` → encyclopedia entry, ``@legal`` → treaty, ``@misc`` →
  no type, ``@unpublished`` → manuscript, ``@online`` → web page, …);
* English items (no ``langid``, or an English one) have their titles sentence-cased
  on reading and title-cased when printed; others are printed as written;
* one volume of a multivolume work (``maintitle``) is cited under the whole work's
  title with its own as the volume title.

One departure, where Pandoc's text is wrong by Chicago: a ``type`` that is no
biblatex key (``Master's thesis``) Pandoc prints raw, straight apostrophe and LaTeX
included; here it is decoded, with a typographic apostrophe (``Master’s thesis``).
"""
from __future__ import annotations

import re

from .. import words
from ..model import CiteItem, Reference
from .text import (esc, is_numeric, italic, join, literal_list, names_display_bib, names_note, ordinal,
                   parse_date, role, smart, smart_names, unbrace)
from .titles import Title, capitalize_first


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
SERIAL = {"article-journal", "article-magazine", "article-newspaper"}
DATED_SERIAL = {"article-magazine", "article-newspaper"}  # the paper's name stands for a missing author
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


class Work:
    """A Reference seen as the CSL item Pandoc makes of it: its type and its fields."""

    def __init__(self, ref: Reference):
        self.ref = ref
        self.kind = _csl_type(ref)
        f = ref.fields
        langid = f.get("langid", f.get("hyphenation", "")).strip().lower()
        self.sentence_case, self.english = _language_rules(langid)
        tag = _IETF.get(langid, langid).split("-")[0].lower() if langid else ""
        self.lang = "" if tag in ("", "en") or not re.fullmatch(r"[a-z]{2,3}", tag) else tag  # for hyphenation
        self.authors = smart_names(ref.names.get("author", ()))
        self.editors = smart_names(ref.names.get("editor", ()))
        self.translators = smart_names(ref.names.get("translator", ()))
        self.container_authors = smart_names(ref.names.get("bookauthor", ()))
        self.title = self._title()
        self.short_title = self._short_title()
        self.volume_title = self._volume_title()
        self.container = self._container()
        self.series = self._field_title("series")
        date = (ref.raw.get("date") or "").strip() or f.get("date")  # as written: "1920~" is approximate
        self.issued = parse_date(date, f.get("year"), ref.raw.get("month", f.get("month")), f.get("day"))
        self.accessed = parse_date(f.get("urldate"))
        self.original = parse_date(f.get("origdate"), f.get("origyear"))
        self.original_publisher = smart(unbrace(f.get("origpublisher", "")))
        self.publisher = self._publisher()
        self.place = literal_list(f.get("address") or f.get("location") or "")
        self.volume = unbrace(f.get("volume", ""))
        self.volumes = unbrace(f.get("volumes", ""))
        self.edition = unbrace(f.get("edition", ""))
        self.pages = unbrace(f.get("pages", ""))
        self.chapter = unbrace(f.get("chapter", ""))
        self.genre = self._genre()
        self.number, self.collection_number, self.issue = self._numbers()
        self.url = f.get("url", "") or _eprint_url(f.get("eprinttype", ""), f.get("eprint", ""))
        self.doi = f.get("doi", "")

    # -- fields -------------------------------------------------------------------

    def _field_title(self, name: str) -> Title | None:
        value = self.ref.fields.get(name)
        if not value:
            return None
        return Title.parse(smart(value), self.english, sentence=self.sentence_case)

    def _first_title(self, *names: str) -> Title | None:
        return next((t for t in map(self._field_title, names) if t), None)

    def _composed(self, main: Title | None, sub: Title | None, addon: Title | None) -> Title | None:
        """Pandoc's concatWith: "Title: Subtitle. Addon"."""
        for extra, sep in ((sub, ":"), (addon, ".")):
            if extra:
                main = main.concat(extra, sep) if main else extra
        return main

    def _has_maintitle(self) -> bool:
        return bool(self.ref.fields.get("maintitle"))

    def _title(self) -> Title | None:
        """The work's title; for one volume of a multivolume work (``maintitle``) the
        whole work's, its own title becoming the volume title (as Pandoc maps them)."""
        if self._has_maintitle() and self.ref.type not in _CHAPTERLIKE:
            return self._composed(self._first_title("maintitle"), self._first_title("mainsubtitle", "subtitle"),
                                  self._first_title("maintitleaddon", "titleaddon"))
        return self._composed(self._field_title("title"), self._field_title("subtitle"),
                              self._field_title("titleaddon"))

    def _volume_title(self) -> Title | None:
        if not self._has_maintitle():
            return None
        if self.ref.type in _CHAPTERLIKE:
            return self._composed(self._field_title("booktitle"), self._field_title("booksubtitle"),
                                  self._field_title("booktitleaddon"))
        return self._composed(self._field_title("title"), self._field_title("subtitle"),
                              self._field_title("titleaddon"))

    def _short_title(self) -> Title | None:
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

    def _container(self) -> Title | None:
        f = self.ref.fields
        if self.ref.type in _CHAPTERLIKE:
            return self._composed(self._first_title("maintitle", "booktitle"),
                                  self._first_title("mainsubtitle", "booksubtitle"),
                                  self._first_title("maintitleaddon", "booktitleaddon"))
        journal = f.get("journaltitle") or f.get("journal")
        if not journal:
            return None
        title = Title.parse(smart(journal), self.english, sentence=False)
        sub = f.get("journalsubtitle")
        return title.concat(Title.parse(smart(sub), self.english, False), ":") if sub else title

    def _publisher(self) -> str:
        f = self.ref.fields
        parts = [literal_list(f[k]) if k != "howpublished" else unbrace(f[k])
                 for k in ("school", "institution", "organization", "howpublished", "publisher")
                 if f.get(k)]
        return smart("; ".join(parts))

    def _genre(self) -> str:
        kind = unbrace(self.ref.fields.get("type", "")).strip()
        if kind:
            return _GENRES.get(kind.lower(), smart(kind))
        return {"phdthesis": "PhD thesis", "mastersthesis": "Master’s thesis"}.get(self.ref.type, "")

    def _numbers(self) -> tuple[str, str, str]:
        number = unbrace(self.ref.fields.get("number", ""))
        if not number:
            return "", "", ""
        if self.ref.type in _BOOKLIKE_NUMBER:
            return "", number, ""
        if self.ref.type in _PERIODICALS:
            issue = unbrace(self.ref.fields.get("issue", ""))
            return "", "", f"{number}, {issue}" if issue else number
        return number, "", ""

    # -- plain text and facts -------------------------------------------------------

    def title_text(self) -> str:
        return self.title.plain() if self.title else ""

    def year_text(self) -> str:
        return self.issued.text() if self.issued else ""

    def has_contributors(self) -> bool:
        return bool(self.editors or self.translators or self.container_authors)

    def reprint(self) -> bool:
        """Whether a first publication's date (``origdate``) stands before this one's."""
        return self.original is not None and self.kind in ("book", "chapter")


# -- groups of fields, printed alike in every layout ------------------------------


def volume_in_locator(work: Work, item: CiteItem | None) -> bool:
    """Volume and page printed together (2:355), not as "vol. 2" after the title."""
    return (item is not None and bool(item.locator) and item.label == "page"
            and is_numeric(work.volume) and not work.has_contributors() and not work.volume_title)


def volume_label(work: Work) -> str:
    """CSL label-volume: "vol. 2", but a volume that is not a number stands alone ("II")."""
    if not work.volume:
        return ""
    return f"{words.say('volume', 'short')} {esc(work.volume)}" if is_numeric(work.volume) else esc(work.volume)


def _volumes_label(work: Work) -> str:
    return f"{esc(work.volumes)} {words.say('number-of-volumes', 'short', plural=True)}" if work.volumes else ""


def identifiers(work: Work, item: CiteItem | None) -> str:
    """Volume, contributors and number of volumes, as one comma-separated group.

    In a note (``item`` given) the volume goes with a page locator when it can
    (``2:45``), and the number of volumes is left out when a page is cited.
    """
    bib = item is None
    volume = "" if volume_in_locator(work, item) else volume_label(work)
    if work.volume_title:
        volume = join(", ", [volume, italic(work.volume_title.html("title-italic"))])
    page_cited = item is not None and bool(item.locator) and item.label == "page"
    volumes = "" if work.volume or work.volume_title or page_cited else _volumes_label(work)
    names = names_display_bib if bib else names_note
    by = join(" ", [words.say("container-author", "verb"), names(work.container_authors)]) if work.container_authors else ""
    return join(", ", [volume, by, *_contributors(work, bib), volumes])


def identifiers_bib(work: Work) -> str:
    """The bibliography's form: with a volume one group ("Vol. 2, edited by A"),
    else a sentence each ("Edited by A. Translated by B. 3 vols.")."""
    if work.volume or work.volume_title:
        return capitalize_first(identifiers(work, None))
    by = join(" ", [words.say("container-author", "verb"), names_display_bib(work.container_authors)]) \
        if work.container_authors else ""
    parts = [by, *_contributors(work, True), _volumes_label(work)]
    return ". ".join(capitalize_first(p) for p in parts if p)


def edition_after_title(work: Work) -> str:
    """The edition after the title (with a reprint's dates it goes with them)."""
    return "" if work.reprint() and work.issued else edition_text(work)


def edition_text(work: Work) -> str:
    if not work.edition:
        return ""
    if work.edition.isdigit():
        return f"{ordinal(int(work.edition))} {words.say('edition', 'short')}"
    return esc(smart(work.edition))


def series_text(work: Work) -> str:
    if not work.series:
        return ""
    return join(" ", [work.series.html("title"), esc(work.collection_number)])


def report_id(work: Work, bib: bool) -> str:
    """CSL identifier-number: genre and number; "no." only before a numeric number.

    With a number the bibliography title-cases the genre and capitalises the
    number ("Working Paper No. 7", "Mr-3"); a genre alone is capitalised there.
    """
    if work.kind != "report":
        return ""
    if not work.number:
        genre = esc(work.genre)
        return capitalize_first(genre) if bib else genre
    number = esc(work.number)
    if is_numeric(work.number):
        label = words.say("number", "short")
        number = f"{words.capital(label) if bib else label} {number}"
    elif bib:
        number = capitalize_first(number)
    genre = work.genre
    if genre:
        genre = Title.parse(genre, work.english, False).html("title") if bib else esc(genre)
    return join(" ", [genre, number])


def _contributors(work: Work, bib: bool) -> list[str]:
    """"ed. A, trans. B" after the title (only when an author leads the entry)."""
    if not work.authors and work.kind != "entry-encyclopedia":
        return []  # editors or translators lead the entry; Pandoc prints no others
    editors, translators = work.editors, work.translators
    if editors and editors == translators:
        return [role(words.say("editortranslator", "verb" if bib else "verb-short"), editors, bib)]
    parts = []
    if editors:
        parts.append(role(words.say("editor", "verb" if bib else "verb-short"), editors, bib))
    if translators:
        parts.append(role(words.say("translator", "verb" if bib else "verb-short"), translators, bib))
    return parts
