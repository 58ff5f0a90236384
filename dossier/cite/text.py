"""The small pieces of Chicago's text: names, dates, locators, HTML and punctuation.

In: plain values: Persons, date fields as written, a citation's locator and its label,
strings decoded from LaTeX.
Out: escaped HTML text ("Senn, Alfred Erich", "July 14, 1920", "chap. 3", "126–28"),
a Date to print in full or in part, and collation keys for sorting.

* names: full names in notes, ``et al.`` after the first of three or more (the
  18th edition's rule, which the CSL follows), the first name inverted in the
  bibliography, ``et al.`` after three of seven or more;
* page ranges follow CSL's ``chicago-16`` format (the 16th to 18th editions' rule,
  with no four-digit exception: ``1496–504``).
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

from .. import words
from ..read.bibtex import ET_AL, split_and
from ..model import CiteItem, Person

# -- names --------------------------------------------------------------------------------


def smart_names(names: Sequence[Person]) -> tuple[Person, ...]:
    """Names with typographic apostrophes ("O’Connor"), as Pandoc reads them."""
    return tuple(Person(*(smart(part) for part in (p.family, p.given, p.particle, p.suffix, p.literal)))
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


def sort_name(person: Person) -> str:
    """Family name, given names, then a particle ("Cruz Juan de la"), as citeproc sorts."""
    return person.literal or " ".join(p for p in (person.family, person.given, person.particle, person.suffix) if p)


def _split_others(names: Sequence[Person]) -> tuple[list[Person], bool]:
    real = [p for p in names if p != ET_AL]
    return real, len(real) != len(names)


def names_note(names: Sequence[Person]) -> str:
    real, others = _split_others(names)
    if len(real) + others >= 3:
        return esc(_display_name(real[0])) + _et_al()
    return esc(_and_list([_display_name(p) for p in real])) + (_et_al() if others else "")


def names_bib(names: Sequence[Person]) -> str:
    """First name inverted; "et al." after three of seven or more, or for "and others"."""
    real, others = _split_others(names)
    shown = [_inverted_name(real[0])] + [_display_name(p) for p in real[1:]]
    if len(real) + others >= 7:
        shown, others = shown[:3], True
    if others:
        return esc(", ".join(shown)) + ("," if len(shown) > 1 else "") + _et_al()
    if len(shown) == 1:
        return esc(shown[0])
    return esc(", ".join(shown[:-1]) + f", {words.say('and')} " + shown[-1])


def names_short(names: Sequence[Person]) -> str:
    real, others = _split_others(names)
    families = [p.literal or p.family for p in real]
    if len(real) + others >= 3:
        return esc(families[0]) + _et_al()
    return esc(_and_list(families)) + (_et_al() if others else "")


def role(verb: str, names: Sequence[Person], bib: bool = False) -> str:
    return f"{verb} {names_display_bib(names) if bib else names_note(names)}"


def names_display_bib(names: Sequence[Person]) -> str:
    """Names in reading order under the bibliography's "et al." rule (three of seven or more)."""
    real, others = _split_others(names)
    shown = [_display_name(p) for p in real]
    if len(real) + others >= 7:
        shown, others = shown[:3], True
    if others:
        return esc(", ".join(shown)) + ("," if len(shown) > 1 else "") + _et_al()
    return esc(_and_list(shown))


def _and_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {words.say('and')} {items[1]}"
    return ", ".join(items[:-1]) + f", {words.say('and')} " + items[-1]


def _et_al() -> str:
    return " " + esc(words.say("et-al"))


# -- dates ----------------------------------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # as .bib files name them (printed: words.date)
_MONTH_ABBREVIATIONS = {m[:3].lower(): i for i, m in enumerate(_MONTHS, 1)}


@dataclass(frozen=True)
class Date:
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
    """"July 14, 1920", "1920 m. liepos 14 d.": the locale's text form (``words.speaking``)."""
    return words.date(words.current(), parts)


def parse_date(edtf: str | None, year: str | None = None, month: str | None = None,
               day: str | None = None) -> Date | None:
    if edtf:
        parts = []
        pieces = edtf.strip().split("/")
        for piece in pieces:
            match = re.fullmatch(r"(-?\d+)(?:-(\d+))?(?:-(\d+))?[~?%\xa0]?", piece.strip(" \t"))
            if not match:
                return Date((), edtf.strip())
            parts.append(tuple(int(n) for n in match.groups() if n))
        # "~" (which the LaTeX reading makes a no-break space) marks an approximate date
        return Date(tuple(parts), circa=pieces[0].strip(" \t")[-1:] in ("~", "\xa0"))
    if not year:
        return None
    if not re.fullmatch(r"-?\d+", year.strip()):
        return Date((), year.strip())
    parts = [int(year)]
    month_number = _month(month)
    if month_number:
        parts.append(month_number)
        if day and day.strip().isdigit():
            parts.append(int(day))
    return Date((tuple(parts),))


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

_LABELS = {"page", "volume", "chapter", "section", "number", "note", "paragraph", "line", "verse",
           "book", "part", "figure", "folio", "column", "article", "article-locator"}  # named by CSL's short terms
_LEGAL_SYMBOLS = {"section", "paragraph"}  # CSL's symbol terms: "§", "¶"


def _label_terms(label: str, form: str = "short") -> tuple[str, str]:
    """A locator label's term, singular and plural, in the language being written."""
    if label == "chapter" and form == "symbol":
        return ("ch.", "chs.")
    if label not in _LABELS:
        return (label, label)
    name = "article-locator" if label == "article" else label
    return words.say(name, form), words.say(name, form, plural=True)


def label_locator(item: CiteItem, legal: bool = False) -> str:
    """CSL's label-locator macro: "45", "chap. 3", "vol. 2", "§ 4"."""
    value = format_locator(item.locator, item.label)
    label = item.label
    if label == "page":
        return value
    if legal:
        terms = _label_terms(label, "symbol" if label in _LEGAL_SYMBOLS or label == "chapter" else "short")
    elif is_numeric(item.locator):
        terms = _label_terms(label)
    elif label in ("chapter", "line", "verse"):
        return value
    else:
        terms = _label_terms(label)
    return f"{terms[_is_plural(item.locator)]} {value}"


def format_locator(locator: str, label: str) -> str:
    if label == "page":
        return format_pages(locator)
    return esc(re.sub(r"(?<=\d)\s*-+\s*(?=\d)", "–", locator))


def format_pages(pages: str) -> str:
    """Each numeric range of a page list in Chicago's abbreviated form: 126–28."""
    pieces = re.split(r"(\s*[,&]\s*)", pages or "")
    return esc("".join(_format_piece(piece) for piece in pieces))


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


def first_page(pages: str) -> str:
    return re.split(r"\s*[-\u2013,]", pages, maxsplit=1)[0] if pages else ""


def is_numeric(value: str) -> bool:
    return bool(re.fullmatch(r"\s*[A-Za-z]*\d+[A-Za-z]*(\s*[-\u2013,&]+\s*[A-Za-z]*\d+[A-Za-z]*)*\s*", value or ""))


def _is_plural(value: str) -> bool:
    return bool(re.search(r"\d\s*[-\u2013,&]+\s*\d", value or ""))


def ordinal(n: int) -> str:
    """"2nd", "2-asis": the locale's ordinal (``words.speaking``)."""
    return words.ordinal(words.current(), n)


# -- text helpers -----------------------------------------------------------------------------


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def smart(text: str) -> str:
    """Typographic apostrophes and single quotes, as Pandoc's LaTeX reader makes them."""
    return text.replace("`", "‘").replace("'", "’")


def literal_list(value: str) -> str:
    """biblatex list fields (publisher, location): "A and B" is two items, "A; B".

    Braces keep an "and" inside one item ("{Faber and Faber}") and are then dropped.
    """
    return "; ".join(unbrace(part) for part in split_and(value))


def unbrace(value: str) -> str:
    """A literal field as printed: case-protecting braces mean nothing outside titles."""
    return value.replace("{", "").replace("}", "")


def join(sep: str, parts: Iterable[str]) -> str:
    return sep.join(p for p in parts if p)


def italic(text: str) -> str:
    return f"<i>{text}</i>" if text else ""


def quote(text: str) -> str:
    inner = text.replace("“", "‘").replace("”", "’")
    return f"“{inner}”" if text else ""


def anchor(url: str) -> str:
    """A link that prints its address, breakable where the Chicago Manual allows (14.18): after
    a colon or a double slash; before a single slash, a period, a comma, a hyphen, an underscore,
    a tilde, a question mark, a number sign or a percent sign; before or after an equals sign or an
    ampersand. The stylesheet lets it break nowhere else and never adds a hyphen."""
    return f'<a class="url" href="{html.escape(url)}">{"".join(_url_pieces(url))}</a>'


_URL_BREAK = re.compile(r"(?<=://)|(?<=:)(?!//)|(?<!/)(?<!^)(?=/(?!/))|(?<!^)(?=[.,\-_~?#%=&])|(?<=[=&])")


def _url_pieces(url: str) -> list[str]:
    # each piece a box the line breaker cannot open (the stylesheet's inline-block): its own
    # opportunities, after a hyphen or a slash, would end a line on "2006-10-24-"
    pieces = [f"<span>{html.escape(piece)}</span>" for piece in _URL_BREAK.split(url) if piece]
    return [piece + "<wbr>" for piece in pieces[:-1]] + pieces[-1:]


_PUNCT_AFTER_QUOTE = re.compile(r"(&(?:amp|lt|gt);|[^.,;:!?])”([.,])|([.,;:!?](?:</span>)*)”[.,]")
_DOUBLE_PUNCT = re.compile(r"(?<!&amp)(?<!&lt)(?<!&gt)([.?!:;])((?:</?i>|</span>)*)\.(?!\w)")


def tidy(text: str) -> str:
    """Commas and periods inside closing quotes; no doubled punctuation ("n.d..")."""
    text = _PUNCT_AFTER_QUOTE.sub(lambda m: f"{m.group(1)}{m.group(2)}”" if m.group(1) is not None
                                  else f"{m.group(3)}”", text)
    return _DOUBLE_PUNCT.sub(lambda m: m.group(1) + m.group(2), text)


def collate(text: str) -> list[tuple[str, tuple[str, ...]]]:
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
