"""One font program per face in the merged PDF, not one per part.

Each part is typeset on its own, so each embeds its own subset of every face it uses: merged,
the book carried some thirty font programs of four faces. WeasyPrint subsets TrueType fonts
keeping the original glyph ids (HarfBuzz's RETAIN_GIDS), so the subsets of one face share one
numbering: their union, the glyphs of all of them in one font, serves every part's text as it
stands. The fonts' dictionaries (widths, ToUnicode) stay as they are; only their descriptors'
/FontFile2 point to the shared program. Anything else (another font format, subsets whose
numbering differs) is left as it was.
"""
from __future__ import annotations

import io

from fontTools.ttLib import TTFont
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject


def share_fonts(writer: PdfWriter) -> int:
    """Give every descriptor of a face one union program; returns the programs dropped."""
    faces: dict[str, dict[int, tuple[object, set[int]]]] = {}
    for descriptor, used in _descriptors(writer):
        if "/FontFile2" in descriptor:
            program = descriptor["/FontFile2"].get_object()
            entry = faces.setdefault(str(descriptor["/FontName"]).split("+", 1)[-1], {}).setdefault(
                id(program), (program, set(), []))
            entry[1].update(used)
            entry[2].append(descriptor)
    dropped = 0
    for programs in faces.values():
        if len(programs) < 2:
            continue
        union = _union([(program.get_data(), used) for program, used, _ in programs.values()])
        if union is None:
            continue
        stream = DecodedStreamObject()
        stream.set_data(union)
        stream[NameObject("/Length1")] = NumberObject(len(union))
        shared = writer._add_object(stream.flate_encode())
        for _, _, descriptors in programs.values():
            for descriptor in descriptors:
                descriptor[NameObject("/FontFile2")] = shared
        dropped += len(programs) - 1
    if dropped:
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
    return dropped


def _descriptors(writer: PdfWriter):
    """(descriptor, glyph ids its font draws) of every font the pages use, through their form
    XObjects (the stamped folios) too. The ids are the CIDs of the font's widths (/W): with
    Identity encodings, the glyph ids of the embedded program."""
    seen: set[int] = set()
    stack = [page.get("/Resources") for page in writer.pages]
    while stack:
        resources = stack.pop()
        resources = resources.get_object() if resources is not None else None
        if not isinstance(resources, DictionaryObject) or id(resources) in seen:
            continue
        seen.add(id(resources))
        for font in (resources.get("/Font") or DictionaryObject()).get_object().values():
            for descendant in font.get_object().get("/DescendantFonts", []):
                descendant = descendant.get_object()
                descriptor = descendant.get("/FontDescriptor")
                if descriptor is not None:
                    yield descriptor.get_object(), _cids(descendant.get("/W"))
        for xobject in (resources.get("/XObject") or DictionaryObject()).get_object().values():
            stack.append(xobject.get_object().get("/Resources"))


def _cids(widths) -> set[int]:
    """The CIDs a /W array gives widths for: [c [w1 w2 …]] and [c_first c_last w] runs."""
    widths = widths.get_object() if hasattr(widths, "get_object") else widths
    items, cids, index = list(widths or []), set(), 0
    while index < len(items):
        first = int(items[index])
        following = items[index + 1]
        following = following.get_object() if hasattr(following, "get_object") else following
        if isinstance(following, list):
            cids.update(range(first, first + len(following)))
            index += 2
        else:
            cids.update(range(first, int(following) + 1))
            index += 3
    return cids


def _same_font(base: TTFont, other: TTFont) -> bool:
    """Subsets of one font: they map every code point they share to the same glyph id, and
    every glyph both draw is the same."""
    if (other["head"].unitsPerEm, other["head"].fontRevision) != (base["head"].unitsPerEm, base["head"].fontRevision):
        return False
    ours, theirs = base.getBestCmap() or {}, other.getBestCmap() or {}
    if any(base.getGlyphID(ours[code]) != other.getGlyphID(theirs[code]) for code in ours.keys() & theirs.keys()):
        return False
    glyf, their_glyf = base["glyf"], other["glyf"]
    for code in ours.keys() & theirs.keys():
        mine, yours = glyf[ours[code]], their_glyf[theirs[code]]
        if mine.numberOfContours > 0 and yours.numberOfContours > 0 and mine.compile(glyf) != yours.compile(their_glyf):
            return False
    return True


def _union(programs: list[tuple[bytes, set[int]]]) -> bytes | None:
    """One TrueType font that draws every glyph id each of ``programs`` (subsets of one font
    that kept its glyph ids, with the ids their text uses) draws; None where they are not such
    subsets. A glyph's components may be numbered differently from subset to subset (HarfBuzz
    renumbers those it adds past the last id used): they are copied in as glyphs of their own."""
    try:
        # recalcTimestamp=False: the subsets' own dates stay, so the bytes do not follow the clock
        fonts = [(TTFont(io.BytesIO(data), recalcTimestamp=False), used) for data, used in programs]
    except Exception:  # not a font fontTools reads: leave the programs as they are
        return None
    if not all("glyf" in font for font, _ in fonts):
        return None
    # The base is the subset that draws the highest glyph id: past each subset's highest id lie
    # components HarfBuzz renumbered, and no other part's glyph must fall among the base's.
    fonts.sort(key=lambda pair: max(pair[1], default=-1), reverse=True)
    base = fonts[0][0]
    order = list(base.getGlyphOrder())
    glyf, hmtx = base["glyf"], base["hmtx"]
    for other, used in fonts[1:]:
        if not _same_font(base, other):
            return None  # two fonts under one name (a family split by unicode-range, say)
        theirs = other.getGlyphOrder()
        added: dict[str, str] = {}  # their component glyph -> its copy in the union

        def copy_components(glyph) -> None:
            for component in glyph.components:
                name = component.glyphName
                if name not in added:
                    sub = other["glyf"][name]
                    if sub.isComposite():
                        copy_components(sub)
                    added[name] = f"shared{len(order)}"
                    order.append(added[name])
                    glyf.glyphs[added[name]] = sub
                    hmtx.metrics[added[name]] = other["hmtx"][name]
                component.glyphName = added[name]

        for gid in sorted(used):
            if gid >= len(theirs) or gid >= len(order):
                return None
            glyph = other["glyf"][theirs[gid]]
            if glyph.numberOfContours and not glyf[order[gid]].numberOfContours:
                if glyph.isComposite():
                    copy_components(glyph)
                glyf[order[gid]] = glyph
                hmtx[order[gid]] = other["hmtx"][theirs[gid]]
    base.setGlyphOrder(order)
    glyf.setGlyphOrder(order)
    base["maxp"].numGlyphs = len(order)
    out = io.BytesIO()
    base.save(out)
    return out.getvalue()
