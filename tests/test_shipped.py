"""The shipped dossier itself, built once: what the issues promise a reader."""
import re
import shutil
import subprocess
import sys
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pdfua
import pikepdf
import pytest
import weasyprint
from pypdf import PdfReader

from dossier.project import load_settings
from dossier.pipeline import build
from dossier.typeset.pool import Pool
from pdfcheck import body_size, contents_entries, page_texts, spoken_in, texts, tree_text

REPO = Path(__file__).resolve().parent.parent


def seeded(out: Path) -> Path:
    """``out`` with a copy of the parts `make` typeset (output/.cache/parts), if it has: the tests'
    build reuses those whose HTML, code, libraries and files are the same, as an edit's build does
    (two builds, clean or not, give the same bytes: test_build.py), and typesets the rest."""
    made = REPO / "output" / ".cache" / "parts"
    if made.is_dir():
        shutil.copytree(made, out / ".cache" / "parts")
    return out


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    out = seeded(tmp_path_factory.mktemp("shipped"))
    settings = load_settings(REPO, {"output_dir": str(out)})
    with Pool() as pool:
        result = build(settings, ("dossier", "handouts", "print"), pool)  # the booklet: test_shipped_booklet.py
    return out, result


def test_no_note_leaves_its_calls_page(shipped):
    _, result = shipped
    assert [w for w in result.warnings if "note called here" in w.message] == []


def test_the_shipped_dossier_builds_without_a_warning(shipped):
    _, result = shipped
    assert [str(w) for w in result.warnings] == []


def test_size_notes_and_bibliography(shipped):
    out, result = shipped
    reader = PdfReader(out / "dossier.pdf")
    assert len(reader.pages) >= 25
    html = (out / "dossier.html").read_text(encoding="utf-8")
    assert html.count('class="footnote"') == result.notes >= 60
    assert html.count('class="bib-entry"') == result.bibliography >= 12


def test_no_errors_and_no_missing_glyphs(shipped):
    _, result = shipped
    assert not [w for w in result.warnings if "no glyph" in str(w) or "typesetter" in str(w)]


def test_the_five_treaty_table_is_turned_on_an_upright_page_with_its_folio_and_the_timeline_is_vector(shipped):
    """The table wider than the measure is set turned a quarter, the page itself upright: its folio
    and running head stay where they are on every other page."""
    out, _ = shipped
    reader = PdfReader(out / "dossier.pdf")
    assert all(page.mediabox.width < page.mediabox.height for page in reader.pages)
    number = next(i + 1 for i, text in enumerate(texts(out / "dossier.pdf")) if "Tartu 1920 (Finland)" in text and "Signed on" in text)
    page = reader.pages[number - 1]
    turned, upright = [], []

    def visit(text, cm, tm, font, size):
        a, b = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3]
        if text.strip():
            (turned if abs(a) < 0.01 and b > 0.5 else upright).append(text.strip())

    page.extract_text(visitor_text=visit)
    for short in ("Moscow 1920", "Riga 1920", "Tartu 1920 (Estonia)", "Tartu 1920 (Finland)", "Riga 1921"):
        assert short in " ".join(turned)  # runs up the page: the book is turned clockwise to read it
    assert str(number) in upright and any(head in " ".join(upright) for head in ("Peace with Moscow", "Comparison"))
    html = (out / "dossier.html").read_text(encoding="utf-8")
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="timeline"' in html


def test_prose_carries_no_copied_runs_from_the_seeds():
    seeds = REPO.parent / "shared" / "seeds"
    tool = REPO.parent / "shared" / "tools" / "seed_overlap.py"
    if not tool.exists():
        pytest.skip("the seed sources are not beside this checkout")
    chapters = sorted(str(p) for p in (REPO / "content").glob("*.md"))
    done = subprocess.run([sys.executable, str(tool), str(seeds), *chapters], capture_output=True, text=True)
    assert re.search(r"^0 runs of", done.stdout.strip().splitlines()[-1]), done.stdout[-2000:]


def test_each_shipped_handout_is_one_page_and_the_comparison_sheet_landscape(shipped):
    out, result = shipped
    assert result.failed == []
    handouts = sorted((out / "handouts").glob("*.pdf"))
    assert len(handouts) >= 3
    for path in handouts:
        reader = PdfReader(path)
        assert len(reader.pages) == 1, path.name  # one sheet for the copier
        assert reader.metadata.title and reader.metadata.author
        text = "".join(texts(path))
        assert "Sources" in text and re.search(r"\n1\.\s", text), path.name  # a source list and notes
    sheet = PdfReader(out / "handouts" / "comparison.pdf")
    assert len(sheet.pages) == 1 and sheet.pages[0].mediabox.width > sheet.pages[0].mediabox.height
    for short in ("Moscow 1920", "Riga 1920", "Tartu 1920 (Estonia)", "Tartu 1920 (Finland)", "Riga 1921"):
        assert short in texts(out / "handouts" / "comparison.pdf")[0]
    lithuania = "".join(texts(out / "handouts" / "lithuania.pdf"))
    assert "Key facts" in lithuania and "12 July 1920" in lithuania


def test_each_shipped_handout_is_one_page_on_letter_paper_too(tmp_path):
    """Letter is 18 mm shorter than A4: the Lithuania handout's sources went over to a second page
    that was 10 % full. It is set snug (a little smaller, closer) where that saves the page."""
    settings = load_settings(REPO, {"output_dir": str(tmp_path), "paper": "Letter"})
    with Pool() as pool:
        result = build(settings, ("handouts",), pool)
    assert result.failed == [] and result.warnings == []
    handouts = sorted((tmp_path / "handouts").glob("*.pdf"))
    assert len(handouts) >= 3
    for path in handouts:
        reader = PdfReader(path)
        assert len(reader.pages) == 1 and round(float(reader.pages[0].mediabox.height)) in (612, 792), path.name


def test_handouts_print_in_black_only(shipped):
    """Legible when photocopied in grey: the stylesheet sets no colour at all."""
    css = (REPO / "templates" / "dossier.css").read_text(encoding="utf-8")
    colours = re.findall(r"(?<![-\w])(?:color|background(?:-color)?)\s*:\s*([^;]+);", css)
    assert all(value.strip() in ("inherit", "black", "#000", "white", "#fff") for value in colours), colours


def test_print_variant_has_bleed_and_trim_boxes(shipped):
    out, _ = shipped
    dossier = PdfReader(out / "dossier.pdf")
    press = PdfReader(out / "dossier-print.pdf")
    assert len(press.pages) == len(dossier.pages)
    page, original = press.pages[4], dossier.pages[4]
    trim, bleed = page.trimbox, page.bleedbox
    assert abs(float(trim.width) - float(original.mediabox.width)) < 0.01
    assert abs(float(bleed.width) - float(trim.width) - 2 * 3 * 72 / 25.4) < 0.01
    assert float(page.mediabox.width) > float(bleed.width)  # room for the crop marks
    assert b" l S" in page.get_contents().get_data()  # the marks are drawn


def test_no_citation_or_note_syntax_left_in_the_text(shipped):
    out, _ = shipped
    html = (out / "dossier.html").read_text(encoding="utf-8")
    assert "[@" not in html and "[^" not in html and "{{" not in html
    for handout in (out / "handouts").glob("*.pdf"):
        text = "".join(texts(handout))
        assert "[@" not in text and "[^" not in text, handout.name


def test_contents_numbers_point_to_their_headings(shipped):
    out, _ = shipped
    entries = contents_entries(out / "dossier.pdf")
    html = (out / "dossier.html").read_text(encoding="utf-8")
    assert len(entries) == html.count('<li class="toc-chapter">') + html.count('<li class="toc-section">')
    pages = page_texts(out / "dossier.pdf")
    for title, number in entries:
        assert title[:30] in pages[number - 1], (title, number)


def test_two_bibliographies_what_was_read_and_what_it_names(shipped):
    out, _ = shipped
    html = (out / "dossier.html").read_text(encoding="utf-8")
    sources, cited = html.index(">Sources</h2>"), html.index(">Works cited in the sources</h2>")
    assert sources < cited
    assert html.count('class="bib-entry"', sources, cited) == 3  # the three seed texts
    assert "not consulted" in html[cited:]


def notes_of(html: str) -> list[tuple[str, str, int, int]]:
    """(chapter, text, start, end) of each note in the dossier's HTML, in order."""
    found = []
    for match in re.finditer(r'<span class="footnote" id="note-([^"]+)-\d+"[^>]*>', html):
        end, depth = match.end(), 1
        while depth:
            opening, closing = html.find("<span", end), html.find("</span>", end)
            depth, end = (depth + 1, opening + 5) if -1 < opening < closing else (depth - 1, closing + 7)
        found.append((match.group(1), re.sub(r"<[^>]+>|\s+", " ", html[match.end():end - 7]).strip(), match.start(), end))
    return found


def test_fewer_notes_none_repeating_the_one_before_and_no_two_calls_at_one_point(shipped):
    """The historian's rules: about a note per paragraph at most, no note identical to its
    predecessor in the chapter, never two calls side by side."""
    out, _ = shipped
    html = (out / "dossier.html").read_text(encoding="utf-8")
    notes = notes_of(html)
    assert 60 <= len(notes) < 150
    paragraphs = len(re.findall(r"<p[ >]", html[html.index('<section class="chapter"'):html.index('class="bibliography')]))
    assert len(notes) <= paragraphs
    for before, after in zip(notes, notes[1:]):
        if before[0] == after[0]:
            assert before[1] != after[1], f"note repeats the one before it in {after[0]}: {after[1]}"
            between = re.sub(r"<[^>]+>", "", html[before[3]:after[2]]).strip()
            assert between, f"two note calls side by side in {after[0]}: {before[1]} / {after[1]}"


def test_the_class_appendix_holds_its_lists_and_the_teachers_appendix_follows(shipped):
    out, _ = shipped
    html = (out / "dossier.html").read_text(encoding="utf-8")
    class_part = html[html.index('id="for-the-class"'):html.index('id="working-with-sources"')]
    assert "Appendix A" in class_part and class_part.count("<dt>") >= 30  # glossary and who's who
    assert "late December 1918" in class_part or "December</td>" in class_part  # the chronology
    assert "Foch line" in class_part and "ratified by Lithuania" in class_part
    assert class_part.count('<li><span class="when">') >= 5  # who held Vilnius
    assert class_part.count('class="pack-item"') >= 6 and "as quoted in" in class_part
    teachers = html[html.index('id="working-with-sources"'):html.index('class="bibliography')]
    assert "Appendix B" in teachers and "crucial step" in teachers and "very close to being invaded" in teachers


def test_the_benchmark_finds_the_sentence_it_edits():
    """bench/run.py times a one-word edit of a chapter sentence; a rewrite of the chapter must not lose it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.SENTENCE.search((REPO / bench.EDITED).read_text(encoding="utf-8"))


def test_every_quote_and_apostrophe_a_reader_sees_is_curly(shipped):
    """Generated text too: titles from front matter and settings (contents, running heads,
    bookmarks, metadata), the data's labels in the timeline and tables, the class material."""
    out, _ = shipped
    # (the booklet is set from the same HTML, through the same templates, as the dossier)
    for path in [out / "dossier.pdf", *sorted((out / "handouts").glob("*.pdf"))]:
        reader = PdfReader(path)
        seen = texts(path) + [str(value) for value in (reader.metadata or {}).values()]
        stack = list(reader.outline)
        while stack:
            item = stack.pop()
            stack.extend(item) if isinstance(item, list) else seen.append(item.title)
        straight = [line for text in seen for line in text.splitlines() if "'" in line or '"' in line]
        assert straight == [], (path.name, straight[:3])


def test_the_dossier_is_no_larger_than_a_quarter_over_one_weasyprint_call(shipped, tmp_path):
    """Typeset in parts and merged, the book embeds each font face once and packs its objects,
    as one WeasyPrint call on the same HTML would."""
    out, _ = shipped
    single = tmp_path / "single.pdf"
    weasyprint.HTML(out / "dossier.html").write_pdf(single, pdf_variant="pdf/ua-1")  # tagged, as the book
    size, reference = (out / "dossier.pdf").stat().st_size, single.stat().st_size
    assert size <= 1.25 * reference, (size, reference)


def test_page_audit_of_the_dossier(shipped):
    """12 pt text; no page (but a part's last, or one before a break asked for) with more than two
    lines blank above its notes; no word split across a page turn or with fewer than three letters
    on a side, no line or turned table wider than its measure, no paragraph ending on a scrap or
    leaving a short line atop a page, no line broken off; at most 8 % of justified lines with word
    spaces over 0.45 em and none over 0.6 em; 60 to 75 characters a line. Every finding names its
    file and line."""
    out, result = shipped
    assert body_size(out / "dossier.pdf", slice(5, 9)) == 12
    assert_audit_holds(result, "dossier")


def assert_audit_holds(result, edition: str, gaps: int = 0) -> None:
    """No flaw the page audit finds; at most ``gaps`` pages with more than two lines blank above
    their notes (the A4 dossier has none; the booklet's few are the issue's open part)."""
    found = [str(problem) for problem in result.audit]
    for flaw in ("across the turn", "on one side", "wider than its measure", "ends with only", "word spaces of",
                 "stands alone at the top", "breaks off short"):
        assert not [f for f in found if flaw in f], found
    blank = [f for f in found if "lines blank above" in f and (edition == "booklet") == (" of the booklet " in f)]
    assert len(blank) <= gaps, blank
    figures = result.audit_figures[edition]
    assert figures["justified"] > 400 and figures["wide"] <= 0.08 * figures["justified"], figures
    assert figures["widest"] <= 0.6 and 60 <= figures["median_chars"] <= 75, figures
    assert all(re.match(r"(content|bib)/[\w.-]+:\d+: warning: page audit: ", f) for f in found), found
    assert not [w for w in result.warnings if "page audit" in w.message]  # shown with -v; warnings with --audit


def _tagged_outputs(out):
    return [out / "dossier.pdf", *sorted((out / "handouts").glob("*.pdf"))]


def test_the_dossier_and_handouts_pass_the_pdfua_checker(shipped):
    """pdfua (test-only) checks the machine-checkable part of PDF/UA-1: no error, no warning."""
    out, _ = shipped
    for path in _tagged_outputs(out):
        report = pdfua.validate(str(path))
        assert report.exit_code == 0 and not report.findings, (path.name, [str(f) for f in report.findings][:5])


def _structure(pdf):
    """The elements reached from the structure tree's root, by objgen, and the parent tree."""
    root = pdf.Root.StructTreeRoot
    reached, stack = {}, [root.K]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
        elif isinstance(node, pikepdf.Dictionary) and node.objgen not in reached:
            reached[node.objgen] = node
            if "/K" in node:
                stack.append(node.K)
    numbers = root.ParentTree.Nums
    return reached, {int(numbers[i]): numbers[i + 1] for i in range(0, len(numbers), 2)}


def test_every_mark_on_every_page_is_in_the_one_tree_or_an_artifact(shipped):
    """Parts typeset apart, one tree: each page's marked content is an element the tree reaches,
    or an artifact (running heads, the stamped folios); no two pages or links share a key."""
    out, _ = shipped
    for path in _tagged_outputs(out):
        assert_marks_in_the_tree(path, links=True if path.name == "dossier.pdf" else None)


def assert_marks_in_the_tree(path: Path, links: bool | None) -> None:
    """Each marked-content sequence on each page is an artifact, or content of an element the
    tree reaches that names it (on that page); the parent tree agrees; no two pages or links
    share a key; each link annotation is in a Link."""
    with pikepdf.open(path) as pdf:
        reached, tree = _structure(pdf)
        named: dict = {}  # (page, id) of each piece of marked content -> the element that names it, once
        for element in reached.values():
            kids = element.get("/K", pikepdf.Array())
            for kid in (kids if isinstance(kids, pikepdf.Array) else [kids]):
                if isinstance(kid, int):
                    key = (element.Pg.objgen, int(kid))
                elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                    key = (kid.Pg.objgen, int(kid.MCID))
                else:
                    continue
                assert key not in named, (path.name, "named twice", key)
                named[key] = element.objgen
        keys = [int(page.obj.StructParents) for page in pdf.pages if "/StructParents" in page.obj]
        keys += [int(a.StructParent) for page in pdf.pages for a in page.obj.get("/Annots", []) if "/StructParent" in a]
        assert len(keys) == len(set(keys)) and set(keys) <= set(tree), path.name
        marked = artifacts = 0
        for page in pdf.pages:
            marks = tree.get(int(page.obj.get("/StructParents", -1)), [])
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
                    mcid = int(operands[1].MCID)
                    element = marks[mcid]
                    assert isinstance(element, pikepdf.Dictionary) and element.objgen in reached, (path.name, operands)
                    assert named.get((page.obj.objgen, mcid)) == element.objgen, (path.name, mcid)  # the tree and the parent tree agree
                    marked += 1
                elif str(operator) in ("BDC", "BMC"):
                    assert operands[0] == "/Artifact", (path.name, operands)
                    artifacts += 1
        assert marked > 50 and artifacts > 0, path.name
        assert links is None or any("/Annots" in page.obj for page in pdf.pages) == links, path.name
        for annot in (a for page in pdf.pages for a in page.obj.get("/Annots", [])):  # each link tagged, in a Link
            element = tree[int(annot.StructParent)]
            assert element.objgen in reached and element.S == "/Link", path.name


def test_the_tree_has_the_books_headings_tables_figures_and_links_in_order(shipped):
    out, _ = shipped
    html = (out / "dossier.html").read_text(encoding="utf-8")
    with pikepdf.open(out / "dossier.pdf") as pdf:
        assert pdf.Root.MarkInfo.Marked and pdf.Root.ViewerPreferences.DisplayDocTitle and str(pdf.Root.Lang) == "en"
        with pdf.open_metadata() as meta:
            assert meta["pdfuaid:part"] == "1" and meta["dc:title"] == "Peace with Moscow, 1920–1921"
        document = pdf.Root.StructTreeRoot.K[0]
        assert document.S == "/Document" and document.K[0].S == "/Sect"  # a section a part
        roles, stack = [], [document]
        while stack:  # in reading order, depth first
            node = stack.pop()
            if isinstance(node, pikepdf.Dictionary) and "/S" in node:
                roles.append(str(node.S))
                kids = node.get("/K", [])
                stack.extend(reversed(list(kids) if isinstance(kids, pikepdf.Array) else [kids]))
        for level in (1, 2, 3):
            assert roles.count(f"/H{level}") == len(re.findall(rf"<h{level}\b", html)), level
        assert roles.count("/Table") == len(re.findall(r"<table\b", html))
        assert roles.count("/Link") == len(re.findall(r"<a\b[^>]*\shref=", html))  # one a link, however many pieces
        assert roles.count("/Reference") == roles.count("/Note")  # each note's call
        bibliography, items, stack = document.K[len(document.K) - 1], 0, []  # the last part: a list an entry
        stack.append(bibliography)
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Dictionary) and "/S" in node:
                items += node.S == "/LI" and node.K[0].S == "/LBody"
                kids = node.get("/K", [])
                stack.extend(list(kids) if isinstance(kids, pikepdf.Array) else [kids])
        assert items == html.count('class="bib-entry"') >= 12
        # a list item over a page is one item, and no item is joined to another: as many as the HTML has
        assert roles.count("/LI") == len(re.findall(r"<(?:li|dt|dd)\b", html)) + items
        assert roles.count("/Note") == html.count('class="footnote"')  # a note split over a page is one
        notes = [e for e in _structure(pdf)[0].values() if e.get("/S") == "/Note"]
        assert len({str(e.ID) for e in notes}) == len(notes)  # each its own id, as PDF/UA asks
        assert roles.count("/Figure") == len(re.findall(r"<(?:svg|img)\b", html)) >= 2
        figures = [e for e in _structure(pdf)[0].values() if e.get("/S") == "/Figure"]
        assert all(str(e.Alt).strip() for e in figures)  # the timeline's from its data
        assert any("12 July 1920, Soviet–Lithuanian" in str(e.Alt) for e in figures)
        headers = [e for e in _structure(pdf)[0].values() if e.get("/S") == "/TH"]
        assert headers and all(e.A.Scope in ("/Row", "/Column") for e in headers)


def test_named_destinations_point_to_their_headings(shipped):
    """``dossier.pdf#id`` from outside opens at the heading: each part names its own ids, and the
    contents' stand-ins for other parts' headings must not win (nor the order parts finish in)."""
    out, _ = shipped
    html = (out / "dossier.html").read_text(encoding="utf-8")
    headings = dict(re.findall(r'<h2[^>]* id="([^"]+)"[^>]*>(.*?)</h2>', html))
    pages = page_texts(out / "dossier.pdf")
    with pikepdf.open(out / "dossier.pdf") as pdf:
        numbers = {page.obj.objgen: index for index, page in enumerate(pdf.pages)}
        names = pdf.Root.Names.Dests.Names
        dests = {str(names[i]): numbers[names[i + 1][0].objgen] for i in range(0, len(names), 2)}
    assert len(headings) > 20 and set(headings) <= set(dests)
    for anchor, text in headings.items():
        words = unescape(re.sub(r"<[^>]+>", "", text)).split()[:3]
        assert " ".join(words) in pages[dests[anchor]], (anchor, dests[anchor] + 1)


class Reading(HTMLParser):
    """The book's text in the order a screen reader should read it: a note after the paragraph
    (or heading, table cell, list item) that calls it; a figure's alternative text in its place."""
    BLOCKS = {"p", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "dd", "dt", "figcaption"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.held, self.note, self.svg, self.title, self.body = [], [], 0, 0, False, False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.body = self.body or tag == "body"
        self.svg += tag == "svg"
        self.title = self.title or (self.svg and tag == "title")
        if tag == "img":
            self.text.append(attributes.get("alt") or "")
        if tag == "span" and self.note:
            self.note += 1
        elif tag == "span" and "footnote" in (attributes.get("class") or "").split():
            self.note = 1
            self.held.append([])

    def handle_endtag(self, tag):
        self.svg -= tag == "svg"
        self.title = self.title and tag != "title"
        if tag == "span" and self.note:
            self.note -= 1
        if tag in self.BLOCKS and not self.note:
            self.text += [text for note in self.held for text in note]
            self.held = []

    def handle_data(self, data):
        if self.body and (not self.svg or self.title):
            (self.held[-1] if self.note else self.text).append(data)


def letters(text: str) -> str:
    """The letters of ``text``, in order, case folded: what is read, whatever the typesetting did
    to spaces, hyphens, ligatures and numbers it generated."""
    return "".join(c for c in text.casefold() if c.isalpha())


def test_the_tree_reads_as_the_book_each_note_after_the_paragraph_that_calls_it(shipped):
    """The text in the order of the structure tree is the book's, notes and all: a screen reader
    reads a paragraph whole, even over a page, then its notes, then the next paragraph."""
    out, _ = shipped
    reading = Reading()
    reading.feed((out / "dossier.html").read_text(encoding="utf-8"))
    pieces = tree_text(out / "dossier.pdf")
    assert letters("".join(text for _, text, _ in pieces)) == letters("".join(reading.text))
    assert not [text for _, text, _ in pieces if ". . ." in text]  # the contents' leaders: artifacts, not read


def test_a_screen_reader_on_one_chapter_page(shipped):
    """Pinned: the page of chapter 2 where "Two delegations, two principles" begins. Read in tree
    order, its text is the book's there; each note comes after the paragraph with its call,
    before the next heading."""
    out, _ = shipped
    reading = Reading()
    reading.feed((out / "dossier.html").read_text(encoding="utf-8"))
    pieces = tree_text(out / "dossier.pdf")
    page = next(page for role, text, page in pieces if role == "/H2" and text.startswith("Two delegations"))
    on_page = [(role, text) for role, text, at in pieces if at == page]
    assert letters("".join(text for _, text in on_page)) in letters("".join(reading.text))
    roles = [role for index, (role, _) in enumerate(on_page) if index == 0 or on_page[index - 1][0] != role]
    assert roles[:4] == ["/P", "/Reference", "/Lbl", "/Note"]  # a paragraph begun on the page before, two more, the last's note
    for index, role in enumerate(roles):
        if role == "/Lbl":  # a note: right after its call, or after the rest of the paragraph
            assert roles[index - 1] in ("/Reference", "/P", "/Note") and roles[index + 1] == "/Note"
    numbers = [text.strip().rstrip(".") for role, text in on_page if role in ("/Reference", "/Lbl")]
    assert numbers and numbers[::2] == numbers[1::2]  # each call, then its note


def test_each_foreign_name_and_title_is_marked_in_its_language(shipped):
    """/Lang where the language changes: the text the tree gives in Lithuanian, Polish or
    Belarusian is exactly what the book's HTML marks so; the English chapters (en-US, for
    American hyphenation) are in the book's language (en) and say nothing more."""
    out, _ = shipped
    html = (out / "dossier.html").read_text(encoding="utf-8")
    for language in ("lt", "pl", "be"):
        marked = "".join(unescape(text) for text in re.findall(rf'<span lang="{language}">([^<]*)</span>', html))
        assert marked and letters(spoken_in(out / "dossier.pdf", language)) == letters(marked), language
    with pikepdf.open(out / "dossier.pdf") as pdf:
        sections = [kid for kid in pdf.Root.StructTreeRoot.K[0].K if kid.get("/S") == "/Sect"]
        assert sections and not any("/Lang" in kid for kid in sections)


def assert_pdfa_2a(path: Path) -> None:
    """What PDF/A-2a asks of a file that the tagging does not already give (no validator of the
    standard runs here: veraPDF is Java and is not installed): an sRGB output intent with its ICC
    profile, the part and conformance in XMP with an extension schema declaring pdfuaid, the same
    title in XMP as in the document information, uncompressed metadata, links that print, every
    font embedded, nothing encrypted."""
    with pikepdf.open(path) as pdf:
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFA1" and intent.DestOutputProfile.N == 3
        assert intent.DestOutputProfile.read_bytes()[36:40] == b"acsp"  # an ICC profile
        assert "/Filter" not in pdf.Root.Metadata and not pdf.is_encrypted
        with pdf.open_metadata() as meta:
            assert (meta["pdfaid:part"], meta["pdfaid:conformance"], meta["pdfuaid:part"]) == ("2", "A", "1")
            assert meta["dc:title"] == str(pdf.docinfo.Title)
        assert b"<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>" in pdf.Root.Metadata.read_bytes()
        assert all(int(a.F) & 4 for page in pdf.pages for a in page.obj.get("/Annots", []))
        fonts = [font for page in pdf.pages for font in page.obj.Resources.get("/Font", {}).values()]
        for font in fonts:
            descriptor = (font.DescendantFonts[0] if "/DescendantFonts" in font else font).FontDescriptor
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font.get("/BaseFont")
            assert "/ToUnicode" in font


def test_the_archival_variant_of_the_shipped_dossier(shipped):
    """``--archival`` makes the book and the handouts PDF/A-2a as well as PDF/UA-1: still
    tagged as before (pdfua), the same bytes each time."""
    from dossier.pdf import archive

    out, _ = shipped
    for source in _tagged_outputs(out):
        data = source.read_bytes()
        assert b"pdfaid" not in data  # built without the setting: PDF/UA only
        made = archive.archival(data)
        assert made == archive.archival(data)
        path = out.parent / f"archival-{source.name}"
        path.write_bytes(made)
        assert_pdfa_2a(path)
        report = pdfua.validate(str(path))
        assert report.exit_code == 0 and not report.findings, (source.name, [str(f) for f in report.findings][:5])
