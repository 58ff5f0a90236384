"""The shipped dossier's booklet, built once (beside test_shipped.py, so that the two builds share
the cores): typeset for A5, imposed 1:1, audited as the dossier is."""
import re

import pdfua
import pikepdf
import pytest
from pypdf import PdfReader

from dossier.pdf.impose import booklet_order
from dossier.pipeline import build
from dossier.project import load_settings
from dossier.typeset.pool import Pool
from pdfcheck import body_size
from test_shipped import REPO, assert_audit_holds, assert_marks_in_the_tree, assert_pdfa_2a, seeded


@pytest.fixture(scope="module")
def booklet(tmp_path_factory):
    out = seeded(tmp_path_factory.mktemp("booklet"))
    settings = load_settings(REPO, {"output_dir": str(out), "archival": True})  # archival: additive, tested here
    with Pool() as pool:
        result = build(settings, ("booklet",), pool)
    return out, result


@pytest.mark.parametrize("pages, first", [(1, (None, 0)), (6, (None, 0)), (8, (7, 0)), (38, (None, 0))])
def test_booklet_order_pads_to_fours_and_puts_the_cover_first(pages, first):
    sides = booklet_order(pages)
    assert len(sides) % 2 == 0 and len(sides) * 2 % 4 == 0
    assert sides[0] == first
    printed = sorted(i for side in sides for i in side if i is not None)
    assert printed == list(range(pages))
    # folded, each sheet's pages face each other: p and (total - 1 - p) share a side
    total = len(sides) * 2
    for left, right in sides:
        if left is not None and right is not None:
            assert left + right == total - 1


def placements(pdf, side: int) -> list[list[float]]:
    """The matrices the pages on a side of the sheets are drawn with: each page's content is
    written into the side's, in a "q … Q" of its own that opens with its "cm"."""
    with pikepdf.open(pdf) as document:
        found, depth, opened = [], 0, False
        for operands, operator in pikepdf.parse_content_stream(document.pages[side]):
            op = str(operator)
            if op == "cm" and opened:
                found.append([float(v) for v in operands])
            opened = op == "q" and depth == 0
            depth += {"q": 1, "Q": -1}.get(op, 0)
        return found


def test_booklet_sheets_landscape_even_sides_cover_on_the_first_front(booklet):
    out, result = booklet
    booklet = PdfReader(out / "dossier-booklet.pdf")
    pages = int(re.match(r"(\d+) pages of A5", result.described[out / "dossier-booklet.pdf"]).group(1))
    assert len(booklet.pages) % 2 == 0
    assert len(booklet.pages) * 2 == -(-pages // 4) * 4
    for page in booklet.pages:
        assert page.mediabox.width > page.mediabox.height
    # A5 pages on A4, 1:1: each page is drawn at its own size on half the sheet
    first = booklet.pages[0]
    assert abs(float(first.mediabox.width) - 841.89) < 1 and abs(float(first.mediabox.height) - 595.28) < 1
    drawn = placements(out / "dossier-booklet.pdf", 0)
    for matrix in drawn:
        assert [round(v, 3) for v in matrix[:4]] == [1, 0, 0, 1]
    # The first sheet's front: the last page on the left (a blank where the pages were padded to
    # fours) and the cover on the right.
    assert len(drawn) == (2 if pages % 4 == 0 else 1)
    assert drawn[-1][4] >= float(first.mediabox.width) / 2 - 1  # the cover on the right half
    assert "Peace with Moscow" in first.extract_text()


def test_booklet_is_typeset_for_its_page_not_shrunk(booklet):
    """Its own pages, contents and folios, and body text of at least 9.5 pt on the printed sheet."""
    out, _ = booklet
    assert 9.5 <= body_size(out / "dossier-booklet.pdf", slice(2, 6)) <= 10.5  # sides with chapter text
    first_sheet = PdfReader(out / "dossier-booklet.pdf").pages[2].extract_text()  # its page 3: the contents
    assert "Contents" in first_sheet and "After the Empire" in first_sheet


def test_page_audit_of_the_booklet(booklet):
    _, result = booklet
    assert result.warnings == []
    assert_audit_holds(result, "booklet", gaps=1)


def test_the_booklet_is_tagged_its_pages_content_on_its_sheets(booklet):
    """The booklet's sheets carry its pages' content itself (not drawn as forms), so its one
    structure tree still names each piece of text where it is printed: pdfua finds nothing, and
    every mark is in the tree or an artifact. Paper has no links: nor has the booklet. Built
    with ``archival = true``, it is PDF/A-2a as well."""
    out, _ = booklet
    path = out / "dossier-booklet.pdf"
    report = pdfua.validate(str(path))
    assert report.exit_code == 0 and not report.findings, [str(f) for f in report.findings][:5]
    assert_marks_in_the_tree(path, links=False)
    assert_pdfa_2a(path)  # built with archival = true: PDF/A-2a as well
    with pikepdf.open(path) as pdf:
        assert pdf.Root.MarkInfo.Marked and str(pdf.Root.Lang) == "en"
        assert not any("/XObject" in page.obj.Resources and any(
            name.startswith("/P") for name in page.obj.Resources.XObject.keys()) for page in pdf.pages)
