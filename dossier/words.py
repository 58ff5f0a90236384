"""The words the build writes itself, in the book's language or a chapter's: "Contents", "Chapter",
"figure", "p.", the citation style's "ed.", "trans.", "n.d.", "accessed", and dates.

They come from the citation-style-language locales shipped in ``dossier/locales/`` (CC BY-SA 3.0;
see the README there), read with the CSL's rules:

* a language names its locale as CSL does: "lt" is lt-LT (the primary dialect), "lv-LV" is itself,
  "de-AT" falls back to de-DE; anything a locale lacks comes from en-US;
* a term's form falls back as CSL says (verb-short → verb → long, symbol → short → long), within
  the language's own locale before another's: a Lithuanian long form before an English short one;
* in English, the Chicago style's own terms come first (its ``<locale xml:lang="en">``: "ed." and
  "trans." without "by", "under" for "s.v."), as a CSL processor takes them from the style.

A few words the CSL locales do not have (the contents, the bibliography, a handout) or leave in
English in some of them ("table", "appendix") are in ``_OURS``, kept small.

The cited text is written in one language at a time: ``speaking(language)`` sets it for the
citation code (``say``, ``date``), as gettext's current locale does.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import xml.etree.ElementTree as ET
from pathlib import Path

LOCALES = Path(__file__).resolve().parent / "locales"
_CSL = "{http://purl.org/net/xbiblio/csl}"
# CSL's primary dialects (locales.json), for the languages shipped here
PRIMARY = {"de": "de-DE", "en": "en-US", "et": "et-EE", "fi": "fi-FI", "fr": "fr-FR", "lt": "lt-LT",
           "lv": "lv-LV", "pl": "pl-PL", "ru": "ru-RU"}
_FALLBACK_FORMS = {"verb-short": ("verb-short", "verb", "long"), "verb": ("verb", "long"),
                   "symbol": ("symbol", "short", "long"), "short": ("short", "long"), "long": ("long",)}

# The Chicago notes-bibliography style's own English terms (chicago-notes-bibliography.csl,
# <locale xml:lang="en">), where they differ from en-US: (name, form) -> (singular, plural).
_CHICAGO_EN = {
    ("editor", "verb-short"): ("ed.", "ed."),
    ("translator", "verb-short"): ("trans.", "trans."),
    ("editortranslator", "short"): ("ed. and trans.", "eds. and trans."),
    ("editortranslator", "verb"): ("edited and translated by", "edited and translated by"),
    ("editortranslator", "verb-short"): ("ed. and trans.", "ed. and trans."),
    ("manuscript", "long"): ("unpublished manuscript", "unpublished manuscripts"),
    ("sub-verbo", "long"): ("under", "under"),
    ("sub-verbo", "short"): ("under", "under"),
}

# Ours: words the CSL locales lack ("see", as in "see p. 12"; the contents, the bibliography…), and
# the few they leave in English in a language this dossier is meant for (lt-LT's "table", de-DE's
# "Appendix"…). By language, then (name, form).
_OURS: dict[str, dict[tuple[str, str], tuple[str, str]]] = {
    "en": {("see", "long"): ("see",) * 2,
           ("contents", "long"): ("Contents",) * 2, ("bibliography", "long"): ("Bibliography",) * 2,
           ("sources", "long"): ("Sources",) * 2, ("handout", "long"): ("Handout",) * 2,
           ("page-of", "long"): ("Page {page} of {pages}",) * 2},
    "lt": {("see", "long"): ("žr.",) * 2,
           ("contents", "long"): ("Turinys",) * 2, ("bibliography", "long"): ("Literatūra",) * 2,
           ("sources", "long"): ("Šaltiniai",) * 2, ("handout", "long"): ("Dalijamoji medžiaga",) * 2,
           ("page-of", "long"): ("{page} psl. iš {pages}",) * 2,
           ("table", "long"): ("lentelė", "lentelės"), ("appendix", "long"): ("priedas", "priedai")},
    "lv": {("see", "long"): ("sk.",) * 2,
           ("contents", "long"): ("Saturs",) * 2, ("bibliography", "long"): ("Literatūra",) * 2,
           ("sources", "long"): ("Avoti",) * 2, ("handout", "long"): ("Izdales materiāls",) * 2,
           ("page-of", "long"): ("{page}. lappuse no {pages}",) * 2},
    "pl": {("see", "long"): ("zob.",) * 2,
           ("contents", "long"): ("Spis treści",) * 2, ("bibliography", "long"): ("Bibliografia",) * 2,
           ("sources", "long"): ("Źródła",) * 2, ("handout", "long"): ("Materiały",) * 2,
           ("page-of", "long"): ("Strona {page} z {pages}",) * 2},
    "et": {("see", "long"): ("vt",) * 2,
           ("contents", "long"): ("Sisukord",) * 2, ("bibliography", "long"): ("Kirjandus",) * 2,
           ("sources", "long"): ("Allikad",) * 2, ("handout", "long"): ("Jaotusmaterjal",) * 2,
           ("page-of", "long"): ("Lk {page}/{pages}",) * 2,
           ("table", "long"): ("tabel", "tabelid"), ("appendix", "long"): ("lisa", "lisad")},
    "fi": {("see", "long"): ("ks.",) * 2,
           ("contents", "long"): ("Sisällys",) * 2, ("bibliography", "long"): ("Lähteet",) * 2,
           ("sources", "long"): ("Aineistot",) * 2, ("handout", "long"): ("Moniste",) * 2,
           ("page-of", "long"): ("Sivu {page}/{pages}",) * 2,
           ("table", "long"): ("taulukko", "taulukot"), ("appendix", "long"): ("liite", "liitteet")},
    "de": {("see", "long"): ("siehe",) * 2,
           ("contents", "long"): ("Inhalt",) * 2, ("bibliography", "long"): ("Literaturverzeichnis",) * 2,
           ("sources", "long"): ("Quellen",) * 2, ("handout", "long"): ("Handout",) * 2,
           ("page-of", "long"): ("Seite {page} von {pages}",) * 2,
           ("table", "long"): ("Tabelle", "Tabellen"), ("appendix", "long"): ("Anhang", "Anhänge")},
    "fr": {("see", "long"): ("voir",) * 2,
           ("contents", "long"): ("Table des matières",) * 2, ("bibliography", "long"): ("Bibliographie",) * 2,
           ("sources", "long"): ("Sources",) * 2, ("handout", "long"): ("Document",) * 2,
           ("page-of", "long"): ("Page {page} sur {pages}",) * 2},
    "ru": {("see", "long"): ("см.",) * 2,
           ("contents", "long"): ("Содержание",) * 2, ("bibliography", "long"): ("Библиография",) * 2,
           ("sources", "long"): ("Источники",) * 2, ("handout", "long"): ("Раздаточный материал",) * 2,
           ("page-of", "long"): ("Страница {page} из {pages}",) * 2,
           ("table", "long"): ("таблица", "таблицы"), ("appendix", "long"): ("приложение", "приложения")},
}


def locale_name(language: str) -> str | None:
    """The locale file a language is written with ("lt" -> "lt-LT", "de-AT" -> "de-DE"), or None."""
    primary, _, region = language.strip().replace("_", "-").partition("-")
    primary = primary.lower()
    exact = f"{primary}-{region.upper()}" if region else ""
    if exact and (LOCALES / f"locales-{exact}.xml").is_file():
        return exact
    return PRIMARY.get(primary)


def has_locale(language: str) -> bool:
    return locale_name(language) is not None


@functools.lru_cache(maxsize=None)
def _locale(name: str) -> tuple[dict, dict]:
    """A locale file's terms, (name, form) -> (singular, plural, match), and its dates, form -> parts."""
    root = ET.parse(LOCALES / f"locales-{name}.xml").getroot()
    terms = {}
    for element in root.iter(f"{_CSL}term"):
        if element.get("gender-form"):
            continue  # the neuter (plain) ordinals serve
        single, multiple = element.find(f"{_CSL}single"), element.find(f"{_CSL}multiple")
        if single is not None:
            one, many = single.text or "", multiple.text if multiple is not None else single.text or ""
        else:
            one = many = element.text or ""
        terms[(element.get("name"), element.get("form", "long"))] = (one.strip(), (many or "").strip(),
                                                                      element.get("match", ""))
    dates = {element.get("form"): (element.get("delimiter", ""),
                                   tuple(dict(part.attrib) for part in element.findall(f"{_CSL}date-part")))
             for element in root.findall(f"{_CSL}date")}
    return terms, dates


def _chain(language: str) -> list[dict]:
    """The term tables to look in, in CSL's order."""
    name = locale_name(language) or "en-US"
    primary = name.split("-")[0]
    tables = [{k: (*v, "") for k, v in _CHICAGO_EN.items()}] if primary == "en" else []
    tables.append({k: (*v, "") for k, v in _OURS.get(primary, {}).items()})
    tables += [_locale(n)[0] for n in dict.fromkeys((name, PRIMARY.get(primary, "en-US"), "en-US"))]
    tables.append({k: (*v, "") for k, v in _OURS["en"].items()})
    return tables


@functools.lru_cache(maxsize=4096)
def _find(language: str, name: str, form: str) -> tuple[str, str, str]:
    for table in _chain(language):
        for each in _FALLBACK_FORMS.get(form, (form,)):
            if (name, each) in table:
                return table[(name, each)]
    raise KeyError(f"no term {name!r} ({form}) in any locale")


def term(language: str, name: str, form: str = "long", plural: bool = False) -> str:
    """The CSL term ``name`` in ``language`` (e.g. "lt", "lv-LV"), in ``form`` ("long", "short",
    "verb", "verb-short", "symbol"), singular or plural; "" where the locale leaves it blank."""
    single, many, _ = _find(language, name, form)
    return many if plural else single


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def ordinal(language: str, number: int) -> str:
    """"2nd", "2-asis", "2.": CSL's ordinal suffixes (last two digits, then the last digit, then
    "ordinal"), all from the first locale that has any (CSL does not mix a locale's with en-US's)."""
    table = next(t for t in _chain(language) if any(name.startswith("ordinal") for name, _ in t))
    for key, default in ((f"ordinal-{number % 100:02d}", "last-two-digits"), (f"ordinal-{number % 10:02d}", "last-digit")):
        if (key, "long") not in table:
            continue
        suffix, _, match = table[(key, "long")]
        wanted = int(key[-2:])
        match = match or (default if wanted >= 10 else "last-digit")
        if (match == "last-digit" and number % 10 == wanted) or (match == "last-two-digits" and number % 100 == wanted) \
                or (match == "whole-number" and number == wanted):
            return f"{number}{suffix}"
    return f"{number}{table.get(('ordinal', 'long'), ('',))[0]}"


def month(language: str, number: int, form: str = "long") -> str:
    return term(language, f"month-{number:02d}", form)


def date(language: str, parts: tuple[int, ...]) -> str:
    """A date (year, year and month, or year, month and day) in the locale's text form:
    "July 14, 1920", "1920 m. liepos 14 d.", "1920. gada 14. jūlijs"; a year alone is its number
    ("44 BC" and "AD 800" with the locale's era terms)."""
    year = parts[0]
    year_text = f"{year}" if year >= 1000 else (f"{year} {term(language, 'ad')}" if year > 0
                                                 else f"{-year} {term(language, 'bc')}")
    if len(parts) == 1:
        return year_text
    delimiter, layout = _locale(locale_name(language) or "en-US")[1].get("text") or _locale("en-US")[1]["text"]
    pieces = []
    for part in layout:
        kind = part.get("name")
        if kind == "year":
            text = year_text
        elif kind == "month" and 1 <= parts[1] <= 12:
            text = _month_form(language, parts[1], part.get("form", "long"))
        elif kind == "day" and len(parts) > 2:
            form = part.get("form", "numeric")
            text = ordinal(language, parts[2]) if form == "ordinal" else (
                f"{parts[2]:02d}" if form == "numeric-leading-zeros" else f"{parts[2]}")
        else:
            continue  # a part the date does not have: its affixes go with it
        pieces.append(part.get("prefix", "") + text + part.get("suffix", ""))
    return delimiter.join(pieces).strip()


def _month_form(language: str, number: int, form: str) -> str:
    if form == "numeric":
        return f"{number}"
    if form == "numeric-leading-zeros":
        return f"{number:02d}"
    return month(language, number, "short" if form == "short" else "long")


def title_date(language: str, when) -> str:
    """The title page's date: in English "5 December 2026", as the dossier has always printed it;
    in another language the locale's text form ("2026 m. gruodžio 5 d.")."""
    if (locale_name(language) or "en-US").startswith("en-"):
        return f"{when.day} {month('en', when.month)} {when.year}"
    return date(language, (when.year, when.month, when.day))


# -- the language the citation code writes in ---------------------------------------------

_SPEAKING: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


@contextlib.contextmanager
def speaking(language: str):
    """The citation code's words are ``language``'s within this block."""
    token = _SPEAKING.set(language)
    try:
        yield
    finally:
        _SPEAKING.reset(token)


def current() -> str:
    return _SPEAKING.get()


def say(name: str, form: str = "long", plural: bool = False) -> str:
    """The term in the language being written (``speaking``)."""
    return term(_SPEAKING.get(), name, form, plural)

