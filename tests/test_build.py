"""Whole builds of small projects, checked through the PDF a reader gets."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from pdfcheck import contents_entries, page_texts, texts
from projectrun import PROJECT, REPO, SAME_DATE, edit, run_build, run_process



def pages_text(pdf):
    return texts(pdf)


def test_quiet_output_says_what_was_written(built):
    _, result = built
    assert re.search(r"wrote .*output/dossier\.html\n.*wrote .*output/dossier\.pdf \(\d+ pages, 4 notes, 2 works", result.stdout)
    assert "Traceback" not in result.stderr


def test_pdf_metadata_bookmarks_and_fonts(built):
    root, _ = built
    reader = PdfReader(root / "output" / "dossier.pdf")
    meta = reader.metadata
    assert meta.title == "A Minimal Dossier"
    assert meta.author == "Ada Editor"
    assert meta.subject == "A test project" and "test" in meta["/Keywords"]
    assert meta.creation_date.year == 2020  # SOURCE_DATE_EPOCH=1600000000 is 13 September 2020
    titles = []

    def walk(items):
        for item in items:
            walk(item) if isinstance(item, list) else titles.append(item.title)

    walk(reader.outline)
    assert "First Chapter: Vilnius and Riga" in titles and "A section" in titles
    assert "Second Chapter" in titles and "Another section" in titles and "Bibliography" in titles
    fonts = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor or "/FontFile3" in descriptor, font["/BaseFont"]
            fonts.add(font["/BaseFont"])
    assert any("Charis" in f for f in fonts)
    assert all(re.match(r"/[A-Z]{6}\+", f) for f in fonts)  # subset


def test_language_in_pdf_catalog(built):
    root, _ = built
    assert PdfReader(root / "output" / "dossier.pdf").trailer["/Root"]["/Lang"] == "en"


def test_notes_sit_on_the_page_of_their_call(built):
    root, _ = built
    texts = pages_text(root / "output" / "dossier.pdf")
    chapter_one = next(t for t in texts if "The treaty was signed in Moscow" in t)
    assert "The Formation of the Lithuanian Foreign Office" in chapter_one  # note 1's text, same page
    assert "Lithuanian names: Naruševičius" in chapter_one or "Naruševičius" in chapter_one
    later = next(t for t in texts if "A later citation" in t)
    # Numbered from 1 again in chapter 2, and a work's first citation there is a full note again.
    assert re.search(r"1\.\s*Alfred Erich Senn, “The Formation of the Lithuanian Foreign Office", later)


def test_a_full_note_once_per_book_by_setting(project):
    settings = project / "pyproject.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "full_note_each_chapter = false\n", encoding="utf-8")
    assert run_build(project, "pdf").returncode == 0
    later = next(t for t in pages_text(project / "output" / "dossier.pdf") if "A later citation" in t)
    assert re.search(r"1\.\s*Senn, “The Formation", later) and "Alfred Erich Senn" not in later


def test_html_classes_for_notes_and_bibliography(built):
    root, _ = built
    html = (root / "output" / "dossier.html").read_text(encoding="utf-8")
    assert html.count('class="footnote"') == 4
    assert html.count('class="bib-entry"') == 2
    entries = re.findall(r'<p class="bib-entry"[^>]*>(.*?)</p>', html)
    assert entries[0].startswith("Eidintas") and entries[1].startswith("Senn")


def test_running_heads_and_no_head_on_chapter_opening(built):
    root, _ = built
    texts = [text.replace("\xa0", " ") for text in pages_text(root / "output" / "dossier.pdf")]  # "Chapter 2" is tied
    opening = next(i for i, t in enumerate(texts) if "CHAPTER 2" in t.upper() and "Second Chapter" in t)
    assert not texts[opening].strip().startswith("Second")  # no running head on the opening page


def test_letter_paper_by_setting(project):
    result = run_build(project, "pdf", "--paper", "Letter")
    assert result.returncode == 0, result.stderr
    box = PdfReader(project / "output" / "dossier.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_archival_by_flag_or_setting_pdfa_2a(project):
    """``--archival`` makes the dossier and the handouts PDF/A-2a (and still PDF/UA-1);
    ``archival = true`` in ``[tool.dossier]`` is the setting (the shipped booklet is built with it:
    test_shipped_booklet; the shipped dossier without it is plain PDF/UA: test_shipped)."""
    from dossier.project import load_settings
    from test_shipped import assert_pdfa_2a

    handouts = project / "content" / "handouts"
    handouts.mkdir()
    (handouts / "sheet.md").write_text("---\ntitle: A Sheet\n---\nA handout with a note [@senn1962, 501].\n", encoding="utf-8")
    result = run_build(project, "all", "--archival")
    assert result.returncode == 0, result.stderr
    assert_pdfa_2a(project / "output" / "dossier.pdf")
    assert_pdfa_2a(project / "output" / "handouts" / "sheet.pdf")
    settings = project / "pyproject.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("[tool.dossier]\n", "[tool.dossier]\narchival = true\n"), encoding="utf-8")
    assert load_settings(project).archival


def test_the_booklet_is_left_out_of_a_full_build_by_setting_and_made_when_asked(project):
    """The minimal project says ``booklet = false``: ``build.py`` makes the rest; ``build.py booklet``
    typesets the book again on A5 pages, two to a side of an A4 sheet."""
    booklet = project / "output" / "dossier-booklet.pdf"
    assert not booklet.exists()
    result = run_build(project, "booklet", "-v")
    assert result.returncode == 0, result.stderr
    assert "parts typeset: 4 of 4" in result.stdout and re.search(r"\d+ pages of A5 on \d+ sides", result.stdout)
    sheet = PdfReader(booklet).pages[0].mediabox
    assert (round(float(sheet.width)), round(float(sheet.height))) == (842, 595)


def test_a4_by_default(built):
    root, _ = built
    box = PdfReader(root / "output" / "dossier.pdf").pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)


def test_html_only_does_not_typeset(project):
    before = (project / "output" / "dossier.pdf").read_bytes()
    result = run_build(project, "html")
    assert result.returncode == 0 and "dossier.pdf" not in result.stdout
    assert (project / "output" / "dossier.pdf").read_bytes() == before


BAD_INPUTS = {
    "unknown key": (
        lambda p: edit(p / "content/01-first.md", "[@senn1962, 500-507]", "[@sen1962, 500-507]"),
        "content/01-first.md:6: unknown citation key 'sen1962' (did you mean 'senn1962'?)",
    ),
    "broken front matter": (
        lambda p: edit(p / "content/02-second.md", "title: Second Chapter", "title: [Second"),
        "content/02-second.md:3: broken front matter",
    ),
    "unclosed brace": (
        lambda p: edit(p / "bib/refs.bib", "title = {The Formation", "title = {{The Formation"),
        "bib/refs.bib:1:",
    ),
    "duplicate key": (
        lambda p: (p / "bib/more.bib").write_text("@book{senn1962,\n  title = {Again},\n  year = {1962},\n}\n"),
        "duplicate citation key 'senn1962' (first defined at bib/",
    ),
    "missing image": (
        lambda p: edit(p / "content/02-second.md", "A later citation", "![A map](img/map.png)\n\nA later citation"),
        "content/02-second.md:7: missing image 'img/map.png'",
    ),
    "template error": (
        lambda p: (p / "templates").mkdir() or (p / "templates/title-page.html.j2").write_text("<section>\n{{ settings.title }\n</section>\n"),
        "templates/title-page.html.j2:2: template:",
    ),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_fails_with_location_and_keeps_the_last_good_pdf(project, name):
    change, message = BAD_INPUTS[name]
    pdf = project / "output" / "dossier.pdf"
    before = pdf.read_bytes()
    change(project)
    result = run_build(project)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert pdf.read_bytes() == before
    assert not list(pdf.parent.rglob("*.part"))  # no half-written file left behind


def test_all_problems_of_a_run_reported_together(project):
    BAD_INPUTS["unknown key"][0](project)
    edit(project / "content/02-second.md", "[@senn1962, 503]", "[@eidintas2000, 503]")
    (project / "bib/more.bib").write_text("@book{eidintas1999,\n  title = {Dup},\n  year = {1999},\n}\n")
    result = run_build(project)
    assert result.returncode == 1
    assert "duplicate citation key 'eidintas1999'" in result.stderr
    # bibliography problems stop the build before the chapters are read against it;
    # once they are fixed, both unknown keys are reported in one run
    (project / "bib/more.bib").unlink()
    result = run_build(project)
    assert "content/01-first.md:6: unknown citation key 'sen1962'" in result.stderr
    assert "content/02-second.md:7: unknown citation key 'eidintas2000' (did you mean 'eidintas1999'?)" in result.stderr


ESCAPES = [
    '<img src="file:///etc/passwd">',
    '<link rel="stylesheet" href="file:///etc/passwd">',
    '<a rel="attachment" href="file:///etc/hostname">attached</a>',
    "![secret](../../../../../../etc/passwd)",
    '<img src="http://127.0.0.1:9/tracker.png">',
]


@pytest.mark.parametrize("snippet", ESCAPES)
def test_escape_attempts_warn_and_never_enter_the_pdf(project, snippet):
    edit(project / "content/02-second.md", "A later citation", f"{snippet}\n\nA later citation")
    result = run_build(project, "pdf")
    assert result.returncode == 0, result.stderr
    assert re.search(r"content/02-second\.md:7: warning: not included: ", result.stderr), result.stderr
    data = (project / "output" / "dossier.pdf").read_bytes()
    assert b"EmbeddedFile" not in data
    secret = Path("/etc/passwd").read_bytes()[:40]
    assert secret not in data and "root:x:0" not in "".join(pages_text(project / "output" / "dossier.pdf"))


def test_symlink_out_of_the_project_is_refused(project):
    (project / "content" / "map.png").symlink_to("/etc/passwd")
    edit(project / "content/02-second.md", "A later citation", "![map](map.png)\n\nA later citation")
    result = run_build(project, "pdf")
    assert result.returncode == 0
    assert "content/02-second.md:7: warning: not included: map.png (outside the project)" in result.stderr


def test_image_inside_the_project_is_included(project):
    import base64

    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    (project / "content" / "dot.png").write_bytes(png)
    edit(project / "content/02-second.md", "A later citation", "![dot](dot.png)\n\nA later citation")
    result = run_build(project, "pdf")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    assert b"/Subtype /Image" in (project / "output" / "dossier.pdf").read_bytes()


def test_missing_glyph_is_named_with_file_and_line(project):
    edit(project / "content/02-second.md", "A later citation", "A runic ᚠ letter.\n\nA later citation")
    result = run_build(project, "html")
    assert result.returncode == 0
    assert "content/02-second.md:7: warning: the book face has no glyph for 'ᚠ' (U+16A0 RUNIC LETTER FEHU FEOH FE F)" in result.stderr


def test_strict_fails_on_a_missing_glyph_with_its_location_and_writes_nothing(project):
    before = (project / "output" / "dossier.pdf").read_bytes()
    edit(project / "content/02-second.md", "A later citation", "A runic ᚠ letter.\n\nA later citation")
    result = run_build(project, "--strict")
    assert result.returncode == 1
    assert "content/02-second.md:7: the book face has no glyph for 'ᚠ'" in result.stderr
    assert "--strict" in result.stderr and "nothing was written" in result.stderr
    assert (project / "output" / "dossier.pdf").read_bytes() == before
    # The same by the setting, and without either the same build succeeds with a warning.
    settings = project / "pyproject.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("[tool.dossier]", "[tool.dossier]\nstrict = true"), encoding="utf-8")
    assert run_build(project).returncode == 1
    settings.write_text(settings.read_text(encoding="utf-8").replace("strict = true", "strict = false"), encoding="utf-8")
    result = run_build(project)
    assert result.returncode == 0 and "content/02-second.md:7: warning: the book face has no glyph" in result.stderr


def test_build_py_and_python_m_dossier_are_one_command():
    helps = [subprocess.run(command, capture_output=True, text=True, cwd=REPO).stdout
             for command in ([sys.executable, "build.py", "--help"], [sys.executable, "-m", "dossier", "--help"])]
    assert helps[0] == helps[1] and "--strict" in helps[0]


def _every_pdf(root: Path, targets=("all", "booklet", "print")) -> dict[str, bytes]:
    for target in targets:
        result = run_build(root, target, env=SAME_DATE)
        assert result.returncode == 0, result.stderr
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted((root / "output").rglob("*.pdf"))
            if ".cache" not in path.parts}


def test_an_edited_build_has_the_bytes_of_a_clean_build_of_the_same_sources(project, tmp_path):
    """Dossier, handout, booklet and print variant: a build after an edit (the edited part typeset
    again, the rest from the cache of a first clean build) gives the same bytes as a clean build of
    the edited sources elsewhere. So a clean build's unchanged parts, typeset in two builds, come
    out the same, and so does everything made from them."""
    handouts = project / "content" / "handouts"
    handouts.mkdir()
    (handouts / "sheet.md").write_text("---\ntitle: A Sheet\n---\nA handout with a note [@senn1962, 501].\n", encoding="utf-8")
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(project, first, ignore=shutil.ignore_patterns("output"))
    made = _every_pdf(first)
    assert set(made) == {"output/dossier.pdf", "output/dossier-booklet.pdf", "output/dossier-print.pdf", "output/handouts/sheet.pdf"}
    edit(first / "content/02-second.md", "A later citation", "A later and longer citation")
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("output"))
    edited = _every_pdf(first)
    assert edited != made and _every_pdf(second) == edited


def test_a_terminal_sees_how_the_typesetting_goes_a_pipe_sees_nothing(project, monkeypatch):
    """On a terminal, one line written over ("\\r"), saying how many parts are done and naming
    those left, then cleared; on a pipe (every other test's build), none of it."""
    import contextlib
    import io

    from dossier import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(cli.Progress, "AFTER", 0.0)  # (a build shows it once it has run a second)
    shutil.rmtree(project / "output", ignore_errors=True)
    terminal = Terminal()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(terminal):
        assert cli.main(["--root", str(project), "pdf"]) == 0
    said = terminal.getvalue()
    assert re.search(r"\r\x1b\[Ktypesetting: 0 of 4 parts done, 4 left: [\w.-]+\.md, ", said), said
    assert "\r\x1b[Ktypesetting: 4 of 4 parts done" in said and said.endswith("\r\x1b[K")
    piped = run_build(project, "pdf", "--force")
    assert piped.returncode == 0 and "typesetting:" not in piped.stderr + piped.stdout


def test_help_and_unknown_option():
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "pdf" in result.stdout and "html" in result.stdout
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "--bogus"], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_verbose_prints_stage_timings(project):
    result = run_build(project, "-v")
    assert result.returncode == 0
    assert re.search(r"typeset\s+\d+\.\d+ s", result.stdout) and "total" in result.stdout


def test_nothing_changed_means_nothing_done(project):
    assert run_build(project).returncode == 0
    result = run_build(project)
    assert result.returncode == 0
    assert "up to date: " in result.stdout and "wrote" not in result.stdout


def test_an_edit_retypesets_only_its_part(project):
    """(That it gives the bytes a clean build gives: test_an_edited_build_has_the_bytes_of_a_clean_build_of_the_same_sources.)"""
    edit(project / "content/02-second.md", "A later citation", "A later and longer citation")
    incremental = run_build(project, "-v", env=SAME_DATE)
    assert incremental.returncode == 0, incremental.stderr
    assert "parts typeset: 1 of 4" in incremental.stdout  # the edited chapter only
    assert "A later and longer citation" in "".join(pages_text(project / "output" / "dossier.pdf"))


def test_pages_that_move_get_new_contents_numbers_without_typesetting_the_front_again(project):
    before = dict(contents_entries(project / "output" / "dossier.pdf"))
    paragraph = "A paragraph that only makes the first chapter longer. " * 12
    edit(project / "content/01-first.md", "\n## ", "\n" + "\n\n".join([paragraph] * 14) + "\n\n## ")
    result = run_build(project, "-v", env=SAME_DATE)
    assert result.returncode == 0, result.stderr
    assert "parts typeset: 1 of 4" in result.stdout  # the first chapter; the contents is stamped
    after = contents_entries(project / "output" / "dossier.pdf")
    pages = page_texts(project / "output" / "dossier.pdf")
    assert len(after) == len(before) >= 3
    assert any(number > before[title] for title, number in after)  # later chapters moved
    for title, number in after:
        assert title[:30] in pages[number - 1], (title, number)


def test_a_changed_stylesheet_retypesets_every_part(project):
    (project / "templates").mkdir(exist_ok=True)
    css = (REPO / "templates" / "dossier.css").read_text(encoding="utf-8")
    (project / "templates" / "dossier.css").write_text(css.replace("font-size: 10.5pt;", "font-size: 11pt;", 1), encoding="utf-8")
    result = run_build(project, "-v")
    assert result.returncode == 0, result.stderr
    assert "parts typeset: 4 of 4" in result.stdout


def test_a_failing_handout_spares_the_other_outputs(project):
    handouts = project / "content" / "handouts"
    handouts.mkdir()
    (handouts / "good.md").write_text("---\ntitle: Good\n---\nA good handout [@senn1962, 501].\n", encoding="utf-8")
    (handouts / "bad.md").write_text("---\ntitle: Bad\n---\nA bad handout.\n", encoding="utf-8")
    assert run_build(project).returncode == 0
    bad_pdf = project / "output" / "handouts" / "bad.pdf"
    before = bad_pdf.read_bytes()
    (handouts / "bad.md").write_text("---\ntitle: Bad\n---\nA bad handout [@nobody].\n", encoding="utf-8")
    (handouts / "good.md").write_text("---\ntitle: Good\n---\nA better handout [@senn1962, 501].\n", encoding="utf-8")
    result = run_build(project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "content/handouts/bad.md:4: unknown citation key 'nobody'" in result.stderr
    assert "wrote" in result.stdout and "handouts/good.pdf" in result.stdout and "dossier.pdf" in result.stdout
    assert bad_pdf.read_bytes() == before  # the last good one stays
    assert "A better handout" in "".join(pages_text(project / "output" / "handouts" / "good.pdf"))


def test_a_changed_image_outside_content_is_seen_and_its_part_typeset_again(project):
    import base64

    black = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    white = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")
    (project / "images").mkdir()
    (project / "images" / "dot.png").write_bytes(black)
    edit(project / "content/02-second.md", "A later citation", "![dot](../images/dot.png)\n\nA later citation")
    assert run_build(project).returncode == 0
    (project / "images" / "dot.png").write_bytes(white)
    result = run_build(project, "-v")
    assert result.returncode == 0 and "up to date" not in result.stdout
    assert re.search(r"parts typeset: [1-9]", result.stdout), result.stdout


def test_editor_checks_warn_about_uncited_entries_and_missing_fields(project):
    with open(project / "bib" / "refs.bib", "a", encoding="utf-8") as handle:
        handle.write("\n@book{unused2000,\n  author = {Nobody, A.},\n  title = {Never Cited},\n  publisher = {P},\n  year = {2000},\n}\n")
        handle.write("\n@book{thin2001,\n  author = {Thin, B.},\n  title = {Thin Entry},\n}\n")
    edit(project / "content/02-second.md", "[@senn1962, 503]", "[@senn1962, 503; @thin2001]")
    result = run_build(project, "html")
    assert result.returncode == 0, result.stderr
    assert re.search(r"bib/refs\.bib:\d+: warning: entry 'unused2000' is never cited", result.stderr)
    assert re.search(r"bib/refs\.bib:\d+: warning: entry 'thin2001' lacks .*publisher", result.stderr), result.stderr


def test_a_build_leaves_nothing_in_the_temporary_folder(tmp_path):
    """WeasyPrint copies the fonts of each document it lays out into a temporary folder, which
    it removes only on garbage collection; our processes end without one. Every part's copy
    is removed once the part is written (they were 3 MB a part, never removed)."""
    root = tmp_path / "minimal"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("output"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_process(root, "all", env={"TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in scratch.iterdir()) == []


def test_bibliography_in_sections_by_keyword(project):
    settings = project / "pyproject.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + (
        'bibliography_sections = [{ title = "Sources", keyword = "source", note = "What was read." },\n'
        '  { title = "Works cited in the sources", keyword = "cited-in" }, { title = "Unused", keyword = "nothing" }]\n'),
        encoding="utf-8")
    bib = project / "bib" / "refs.bib"
    text = bib.read_text(encoding="utf-8")
    text = text.replace("@article{senn1962,", "@article{senn1962,\n  keywords = {source},", 1)
    bib.write_text(text, encoding="utf-8")
    result = run_build(project, "pdf")
    assert result.returncode == 0
    assert "bib/refs.bib:" in result.stderr and "entry 'eidintas1999' is in no bibliography section" in result.stderr
    html = (project / "output" / "dossier.html").read_text(encoding="utf-8")
    assert '<h2 class="bib-section" id="bibliography-1">Sources</h2>' in html and "What was read." in html
    assert "Unused" not in html and "Works cited in the sources" not in html  # sections with no entries are left out
    texts = pages_text(project / "output" / "dossier.pdf")
    assert any("Sources" in t and "Senn" in t for t in texts[-3:])
    assert "Sources" in texts[1] or any("Sources" in t for t in texts[:3])  # in the contents
    edit(bib, "@book{eidintas1999,", "@book{eidintas1999,\n  keywords = {cited-in},")
    result = run_build(project, "pdf")
    assert result.returncode == 0 and "no bibliography section" not in result.stderr
    html = (project / "output" / "dossier.html").read_text(encoding="utf-8")
    assert html.index("Sources</h2>") < html.index("Works cited in the sources</h2>")
