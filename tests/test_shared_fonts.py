"""One font program per face in the merged book: every glyph each part draws stays the same."""
import io
import shutil
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader, PdfWriter

from dossier.pdf.fonts import _cids, _descriptors, share_fonts
from dossier.typeset.weasy import layout, write_pdf

REPO = Path(__file__).resolve().parent.parent
FACE = """<style>@font-face { font-family: C; src: url(CharisSIL-Regular.ttf) }
body { font-family: C } i { font-family: C }</style>"""
# Texts whose glyphs differ part to part. Č, ë and ž are composites whose accents lie past the
# last glyph a part uses, so HarfBuzz numbers them after it, differently in each part: the
# second part's program (the largest) takes the first part's Č, and must take its caron with it.
TEXTS = ["Č", "ë ž", "Plain words only", "Łossowski, Gaņeckis, Вільня"]


def outlines(pdf: bytes) -> list[tuple[str, int, tuple]]:
    """(font name, glyph id, its outline, composites resolved) for every glyph the pages draw."""
    found = []
    for descriptor, used in _descriptors(PdfWriter(clone_from=io.BytesIO(pdf))):
        font = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
        glyf, order = font["glyf"], font.getGlyphOrder()
        for gid in sorted(used):
            coordinates, ends, _ = glyf[order[gid]].getCoordinates(glyf)
            found.append((str(descriptor["/FontName"]), gid, (tuple(coordinates), tuple(ends), font["hmtx"][order[gid]])))
    return found


@pytest.mark.parametrize("texts", [
    TEXTS,
    # The part with the most glyphs is not the one that draws the highest id: its renumbered
    # components (past its highest id) must not stand in for the other part's "ó".
    ["íìîï", "ó"],
])
def test_the_parts_fonts_become_one_program_per_face_drawing_the_same_glyphs(tmp_path, texts):
    shutil.copy(REPO / "fonts" / "CharisSIL-Regular.ttf", tmp_path)
    writer = PdfWriter()
    for number, text in enumerate(texts):
        html = f"<html><head>{FACE}</head><body><p>{text}</p></body></html>"
        document, _ = layout(html, tmp_path / "part.html", [tmp_path])
        write_pdf(document, html, tmp_path / f"part{number}.pdf")
        writer.append(PdfReader(tmp_path / f"part{number}.pdf"))
    merged = io.BytesIO()
    writer.write(merged)
    before = merged.getvalue()
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(before)).pages]
    assert len({id(d["/FontFile2"].get_object()) for d, _ in _descriptors(writer)}) == len(texts)

    assert share_fonts(writer) == len(texts) - 1
    shared = io.BytesIO()
    writer.write(shared)
    after = shared.getvalue()
    assert len({id(d["/FontFile2"].get_object()) for d, _ in _descriptors(PdfWriter(clone_from=io.BytesIO(after)))}) == 1
    assert outlines(after) == outlines(before)  # every glyph drawn, outline and advance, as it was
    assert [page.extract_text() for page in PdfReader(io.BytesIO(after)).pages] == texts
    assert len(after) < len(before)


def test_widths_arrays_give_the_glyph_ids_drawn():
    assert _cids([3, [293], 15, [280, 300], 40, 42, 500]) == {3, 15, 16, 40, 41, 42}
    assert _cids(None) == set()


def test_two_fonts_under_one_name_are_not_joined():
    """A family split by unicode-range, or a template's own @font-face under a used name, puts
    two fonts under one PDF name: their subsets are not joined (here Charis regular and bold,
    both subset keeping glyph ids, as WeasyPrint does)."""
    from fontTools import subset
    from dossier.pdf.fonts import _union

    def subset_of(face: str, text: str) -> tuple[bytes, set[int]]:
        font = TTFont(REPO / "fonts" / f"CharisSIL-{face}.ttf")
        options = subset.Options(retain_gids=True, notdef_outline=True)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        used = {font.getGlyphID(font.getBestCmap()[ord(c)]) for c in text}
        return out.getvalue(), used

    assert _union([subset_of("Regular", "abc"), subset_of("Regular", "bcd")]) is not None
    assert _union([subset_of("Regular", "abc"), subset_of("Bold", "bcd")]) is None
