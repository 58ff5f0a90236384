"""The words the build writes itself, from the CSL locales: what a look-up gives, the warning for a
language with no locale, and the shipped dossier built in Lithuanian, one chapter in Latvian."""
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from dossier import words
from dossier.pipeline import build
from dossier.project import load_settings
from dossier.typeset.pool import Pool
from pdfcheck import page_texts
from projectrun import PROJECT, REPO, run_build

CSL = "{http://purl.org/net/xbiblio/csl}"


def in_file(locale: str, name: str, form: str, plural: bool) -> str:
    """The term as the locale file has it, read here on its own."""
    root = ET.parse(words.LOCALES / f"locales-{locale}.xml").getroot()
    for element in root.iter(f"{CSL}term"):
        if element.get("name") == name and element.get("form", "long") == form and not element.get("gender-form"):
            kind = element.find(f"{CSL}multiple" if plural else f"{CSL}single")
            return ((kind if kind is not None else element).text or "").strip()
    raise AssertionError(f"{locale} has no {name} ({form})")


@pytest.mark.parametrize("language, locale, name, form, plural", [
    ("lt", "lt-LT", "editor", "verb-short", False), ("lt", "lt-LT", "month-07", "long", False),
    ("lt-LT", "lt-LT", "volume", "short", False), ("lv", "lv-LV", "no date", "short", False),
    ("lv-LV", "lv-LV", "editor", "short", True), ("lv", "lv-LV", "accessed", "long", False),
    ("pl", "pl-PL", "translator", "verb", False), ("et", "et-EE", "page", "long", True),
    ("fi", "fi-FI", "et-al", "long", False), ("de", "de-DE", "editor", "verb", False),
    ("de-AT", "de-DE", "no date", "short", False), ("fr", "fr-FR", "month-02", "long", False),
    ("ru", "ru-RU", "translator", "short", False), ("en", "en-US", "editor", "verb", False),
    ("en-GB", "en-GB", "editor", "short", True),
])
def test_a_term_is_the_locale_files(language, locale, name, form, plural):
    assert words.term(language, name, form, plural) == in_file(locale, name, form, plural)


def test_the_fallbacks_are_csls_and_english_is_chicagos():
    assert words.term("en", "editor", "verb-short") == "ed."  # the style's own; en-US has "ed. by"
    assert words.term("en", "translator", "verb-short") == "trans."
    assert words.term("lt", "chapter", "verb") == "skyrius"  # no verb form: the long one
    assert words.term("lt", "collection-editor", "verb") == in_file("lt-LT", "collection-editor", "verb", False)
    assert words.term("lt", "podcast") == "podcast"  # left in English by lt-LT
    assert words.term("xx", "no date", "short") == "n.d." and not words.has_locale("xx")
    assert words.locale_name("LV-lv") == "lv-LV" and words.locale_name("de-CH") == "de-DE"


def test_words_of_our_own_where_the_locales_have_none():
    assert [words.term(lang, "contents") for lang in ("en", "lt", "lv", "de")] == ["Contents", "Turinys", "Saturs", "Inhalt"]
    assert words.term("lt", "bibliography") == "Literatūra" and words.term("xx", "bibliography") == "Bibliography"
    assert words.term("lt", "table") == "lentelė"  # lt-LT leaves it "table"
    assert words.term("lv", "table") == in_file("lv-LV", "table", "long", False) == "tabula"


@pytest.mark.parametrize("language, full, month", [
    ("en", "July 12, 1920", "July 1920"), ("en-GB", "12 July 1920", "July 1920"),
    ("lt", "1920 m. liepos 12 d.", "1920 m. liepos"), ("lv", "1920. gada 12. jūlijs", "1920. gada jūlijs"),
    ("pl", "12 lipca 1920", "lipca 1920"), ("de", "12. Juli 1920", "Juli 1920"), ("xx", "July 12, 1920", "July 1920"),
])
def test_dates_in_the_locales_text_form(language, full, month):
    assert words.date(language, (1920, 7, 12)) == full
    assert words.date(language, (1920, 7)) == month
    assert words.date(language, (1920,)) == "1920"


def test_ordinals():
    assert [words.ordinal("en", n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "102nd", "111th"]
    assert [words.ordinal("lt", 6), words.ordinal("de", 6)] == ["6-asis", "6."]


def test_a_language_without_a_locale_is_a_warning_at_its_line_and_english_is_used(tmp_path):
    root = shutil.copytree(PROJECT, tmp_path / "project")
    settings = root / "pyproject.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('authors', 'language = "xx"\nauthors'), encoding="utf-8")
    chapter = root / "content" / "01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("lang: en", "lang: qq"), encoding="utf-8")
    result = run_build(root, "html")
    assert result.returncode == 0, result.stderr
    assert 'pyproject.toml:3: warning: language = "xx": the build has no words for this language, so its ' \
           "headings, notes and dates are printed in English (it has: de, en, et, fi, fr, lt, lv, pl, ru)" in result.stderr
    assert "content/01-first.md:4: warning: lang: qq: the build has no words for this language" in result.stderr
    assert '<h1 class="contents-title">Contents</h1>' in (root / "output" / "dossier.html").read_text(encoding="utf-8")
    assert run_build(root, "html", "--strict").returncode == 1


def shipped_in(root, language: str, chapters=("*.md",), lv_chapter: str = ""):
    """The shipped dossier's content and bibliography in ``root``, the book in ``language``, its
    chapters in the book's language (the shipped ones say ``lang: en``), ``lv_chapter`` in Latvian."""
    shutil.copytree(REPO / "bib", root / "bib")
    (root / "content").mkdir(parents=True)
    shutil.copy(REPO / "content" / "treaties.yaml", root / "content")
    for chapter in [path for pattern in chapters for path in (REPO / "content").glob(pattern)]:
        text = chapter.read_text(encoding="utf-8").replace("lang: en\n", "lang: lv\n" if chapter.name == lv_chapter else "")
        (root / "content" / chapter.name).write_text(text, encoding="utf-8")
    if chapters == ("*.md",):
        shutil.copy(REPO / "content" / "classroom.yaml", root / "content")
    settings = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (root / "pyproject.toml").write_text(settings.replace('language = "en"', f'language = "{language}"'), encoding="utf-8")
    return root


@pytest.mark.parametrize("language, date, words_in_it", [
    ("lt", r"\d{4} m\. [a-zėčšžū]+ \d+ d\.", ['<h1 class="contents-title">Turinys</h1>', ">Skyrius 1<", ">Priedas A<", '>Literatūra</h1>',
            "6-asis leid., sud. Albertas Gerutis, vert. Algirdas", "Alfonsas Eidintas ir kt.", "(s.a.)",
            "Sudarė Edvardas Tuskenis", "2006 m. spalio 24 d.", "<i>Encyclopedia Lituanica</i>, t. 2, sud. Simas"]),
    ("lv", r"\d{4}\. gada \d+\. [a-zāēīūšžčņļģķ]+", ['<h1 class="contents-title">Saturs</h1>', ">Nodaļa 1<", ">Pielikums A<", '>Literatūra</h1>',
            "6-ais red., sag. Albertas Gerutis, tulk. Algirdas", "Alfonsas Eidintas u.c.", "(b.d.)",
            "Sagatavoja Edvardas Tuskenis", "2006. gada 24. oktobris", "<i>Encyclopedia Lituanica</i>, sēj. 2, sag. Simas"]),
])
def test_the_shipped_dossier_in_lithuanian_and_in_latvian(tmp_path, language, date, words_in_it):
    """The whole dossier, its HTML (cheap: no typesetting): headings, labels, the notes' and the
    bibliography's terms and dates."""
    root = shipped_in(tmp_path / "project", language)
    result = build(load_settings(root, {"output_dir": str(tmp_path / "out")}), ())
    assert [str(w) for w in result.warnings] == []
    html = (tmp_path / "out" / "dossier.html").read_text(encoding="utf-8")
    assert [word for word in words_in_it if word not in html] == []
    assert re.search(f'<p class="date">{date}</p>', html)  # the title page's


def test_the_pdf_shows_the_words_of_the_book_in_lithuanian_and_of_a_chapter_in_latvian(tmp_path):
    """Typeset once, and to save time only the front matter, the first chapter and the bibliography:
    the book in Lithuanian, the chapter's notes in Latvian (lang: lv), read back from the PDF."""
    root = shipped_in(tmp_path / "project", "lt", ("01-*.md",), lv_chapter="01-context.md")
    with Pool() as pool:
        result = build(load_settings(root, {"output_dir": str(tmp_path / "out")}), ("dossier",), pool)
    assert [str(w) for w in result.warnings if "is never cited" not in w.message] == []  # but in the chapters left out
    pages = [page.replace("\u2010 ", "") for page in page_texts(tmp_path / "out" / "dossier.pdf")]  # words whole
    assert re.search(r"\d{4} m\. \w+ \d+ d\.", pages[0])  # the title page's date
    assert "Turinys" in pages[2] and "Literatūra" in pages[2]
    chapter = " ".join(pages[4:-3])
    assert "SKYRIUS 1" in chapter.upper()
    # lv-LV: "vol. 2, ed. …", "in …, 6th ed., ed. …, trans. …"
    assert "sēj. 2, sag." in chapter and "no Lithuania: 700 Years, 6-ais red., sag." in chapter and "tulk." in chapter
    back = " ".join(pages[-3:])  # lt-LT: "Edited by", "6th ed., edited by …, translated by", a date
    assert "Literatūra" in back and "Sudarė Edvardas Tuskenis" in back and "6-asis leid., sudarė" in back
    assert "vertė Algirdas" in back and "2006 m. spalio 24 d." in back
