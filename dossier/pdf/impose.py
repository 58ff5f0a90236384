"""Print production from finished PDFs: the saddle-stitched booklet (the booklet's own
half-size pages, two to a side) and the print-shop variant of the dossier with bleed and crop
marks. Both are geometry on existing pages, so they cost no typesetting.
"""
from __future__ import annotations

import re
from pathlib import Path

from pypdf import PageObject, PdfWriter, Transformation
from pypdf.generic import DecodedStreamObject, DictionaryObject, IndirectObject, NameObject, RectangleObject

import pikepdf
from pikepdf import Array, Dictionary, Name

from . import compact, tags
from .tree import content_streams

MM = 72 / 25.4


def booklet_order(pages: int) -> list[tuple[int | None, int | None]]:
    """Pages (0-based; None for a blank) on each side of each sheet, left then right.

    Padded to a multiple of four. The first side carries the last page and the first
    (the cover); folded and nested, the sheets read in order.
    """
    total = -(-pages // 4) * 4
    slot = lambda i: i if i < pages else None  # noqa: E731
    sides = []
    for sheet in range(total // 4):
        sides.append((slot(total - 1 - 2 * sheet), slot(2 * sheet)))
        sides.append((slot(2 * sheet + 1), slot(total - 2 - 2 * sheet)))
    return sides


def booklet(source, sheet_size: tuple[float, float], target) -> int:
    """Impose ``source`` (a path or file object) two pages to a side on landscape sheets of
    ``sheet_size`` (portrait w, h).

    Each page goes on half a sheet: A5 pages on A4 at their own size (as the booklet's are);
    larger pages are scaled down to fit. A landscape page is turned to fit. The pages' content is
    written into the sheet's own (not drawn as forms), so that a tagged book's marked content
    stays on a page where its structure tree finds it (``tags.onto_sheets``); links are dropped
    (paper). Writes to ``target`` (a file object); returns the number of sides.
    """
    with pikepdf.open(source) as pdf:
        originals = list(pdf.pages)
        width, height = sheet_size[1], sheet_size[0]  # the sheet lies landscape
        placed: dict = {}  # a page's objgen -> (its sheet, what its marked-content ids are moved by)
        sheets = []
        for left, right in booklet_order(len(originals)):
            sheet = pdf.make_indirect(Dictionary(Type=Name.Page, MediaBox=Array([0, 0, width, height])))
            content, resources, marks = [], Dictionary(), 0
            for index, x0 in ((left, 0.0), (right, width / 2)):
                if index is None:
                    continue
                page = originals[index]
                box = [float(v) for v in page.mediabox]
                ctm = _fit((box[0], box[1], box[2] - box[0], box[3] - box[1]), x0, width / 2, height).ctm
                data, count = _moved(pdf, page, marks, ctm, resources)
                content += [b"q %s cm\n" % " ".join(f"{v:.6f}" for v in ctm).encode(), data, b"\nQ\n"]
                placed[page.obj.objgen] = (sheet, marks)
                marks += count
            sheet.Resources = resources
            sheet.Contents = pdf.make_stream(b"".join(content))
            sheets.append(sheet)
        tags.onto_sheets(pdf, placed)
        for sheet in sheets:
            pdf.pages.append(pikepdf.Page(sheet))
        del pdf.pages[0:len(originals)]
        pdf.save(target, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True,
                 recompress_flate=False, deterministic_id=True)
        return len(sheets)


MCID_RE = re.compile(rb"/MCID\s+(\d+)")


def _moved(pdf: pikepdf.Pdf, page, by: int, ctm, resources) -> tuple[bytes, int]:
    """The page's content, as bytes, to be written into a sheet's: its resources added to the
    sheet's ``resources`` (one the sheet has under the same name, if not the same, renamed in the
    content), its marked-content ids moved ``by``, its patterns set to its place (``ctm``). And
    how many ids the page uses (one more than its highest). WeasyPrint writes ids as
    "<</MCID 3>>", names as "/x0 Do": bytes need no parsing (ten times as fast)."""
    data = b"\n".join(stream.read_bytes() for stream in content_streams(page))
    own = page.obj.get("/Resources", Dictionary())
    # A name the sheet has for something else (of any kind: the content names it, not its kind) is
    # renamed in every kind, and a pattern always (it is placed anew: patterns live in the page's
    # space, not the drawing's, so each placement has its own copy, moved with the page).
    clash = {name for kind, names in own.items() for name, value in names.items()
             if kind == "/Pattern" or (name in resources.get(kind, {}) and not _same(resources[kind][name], value))}
    taken = {name for names in resources.values() for name in names.keys()} | {name for names in own.values() for name in names.keys()}
    new_names = {}
    for name in sorted(clash):
        new_names[name] = next(f"{name}.{n}" for n in range(1, 10000) if f"{name}.{n}" not in taken)
        taken.add(new_names[name])
    for kind, names in own.items():
        target = resources.get(kind)
        if target is None:
            resources[kind] = target = Dictionary()
        for name, value in names.items():
            if kind == "/Pattern":
                value = _placed_pattern(pdf, value, ctm)
            target[new_names.get(name, name)] = value
    renamed = {name[1:].encode(): new[1:].encode() for name, new in new_names.items()}
    if renamed:
        names = re.compile(rb"/(" + b"|".join(re.escape(n) for n in sorted(renamed, key=len, reverse=True)) + rb")(?=[\s/\[\]<>(){}%]|$)")
        data = names.sub(lambda m: b"/" + renamed[m.group(1)], data)
    ids = [int(m.group(1)) for m in MCID_RE.finditer(data)]
    if by:
        data = MCID_RE.sub(lambda m: b"/MCID %d" % (int(m.group(1)) + by), data)
    return data, max(ids, default=-1) + 1


def _placed_pattern(pdf: pikepdf.Pdf, pattern, ctm):
    """A copy of ``pattern`` for one placement of a page: its matrix followed by the page's."""
    copy = pdf.make_stream(pattern.read_bytes()) if isinstance(pattern, pikepdf.Stream) else pdf.make_indirect(Dictionary())
    for key, value in pattern.items():
        if key not in ("/Filter", "/DecodeParms", "/Length"):
            copy[key] = value
    copy.Matrix = Array(_times([float(v) for v in pattern.get("/Matrix", [1, 0, 0, 1, 0, 0])], list(ctm)))
    return copy


def _same(a, b) -> bool:
    """Whether two resources are one (the same object, or equal direct values)."""
    if a.is_indirect or b.is_indirect:
        return a.is_indirect and b.is_indirect and a.objgen == b.objgen
    return a.unparse() == b.unparse()


def _times(a: list[float], b: list[float]) -> list[float]:
    """The matrix ``a`` then ``b`` (PDF's row-vector convention)."""
    return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]


def as_form(writer: PdfWriter, page: PageObject) -> IndirectObject:
    """A page as a Form XObject, to be drawn on another page without re-parsing its content."""
    contents = page.get_contents()
    form = DecodedStreamObject()
    form.set_data(contents.get_data() if contents is not None else b"")
    form = form.flate_encode()
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = RectangleObject(page.mediabox)
    form[NameObject("/Resources")] = page.get("/Resources", DictionaryObject())
    return writer._add_object(form)


def _new_page(writer: PdfWriter, width: float, height: float, placed: list[tuple[IndirectObject, Transformation]], extra: str = "") -> PageObject:
    """A page that draws each form with its transformation (and ``extra`` operators after)."""
    page = writer.add_blank_page(width, height)
    names = DictionaryObject({NameObject(f"/P{i}"): form for i, (form, _) in enumerate(placed)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): names})
    operators = [f"q {' '.join(f'{v:.6f}' for v in move.ctm)} cm /P{i} Do Q" for i, (_, move) in enumerate(placed)]
    stream = DecodedStreamObject()
    stream.set_data((" ".join(operators) + " " + extra).encode("ascii"))
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    return page


def _fit(box: tuple[float, float, float, float], x0: float, slot_w: float, slot_h: float) -> Transformation:
    """Where a page of ``box`` (left, bottom, width, height) goes in its slot on the sheet."""
    left, bottom, w, h = box
    move = Transformation().translate(-left, -bottom)
    if w > h:  # a landscape page: turn it a quarter to the left so it reads from the spine side
        move = move.rotate(90).translate(h, 0)
        w, h = h, w
    scale = min(slot_w / w, slot_h / h)
    return move.scale(scale).translate(x0 + (slot_w - w * scale) / 2, (slot_h - h * scale) / 2)


BLEED = 3 * MM
SLUG = 10 * MM  # room outside the bleed for the crop marks


def print_variant(source: Path, target) -> int:
    """Every page on a larger sheet: 3 mm bleed, crop marks at the trim corners, boxes set."""
    writer = PdfWriter(clone_from=source)
    originals = list(writer.pages)
    margin = BLEED + SLUG
    for page in originals:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        move = Transformation().translate(margin - float(page.mediabox.left), margin - float(page.mediabox.bottom))
        sheet = _new_page(writer, w + 2 * margin, h + 2 * margin, [(as_form(writer, page), move)], _crop_marks(margin, margin, margin + w, margin + h))
        sheet.trimbox = RectangleObject([margin, margin, margin + w, margin + h])
        sheet.bleedbox = RectangleObject([margin - BLEED, margin - BLEED, margin + w + BLEED, margin + h + BLEED])
    del writer.pages[0 : len(originals)]
    compact.write(writer, target)
    return len(writer.pages)


def _crop_marks(x1: float, y1: float, x2: float, y2: float) -> str:
    """Hairlines in registration black, outside the bleed, in line with the trim edges."""
    gap, length = BLEED + 1 * MM, 6 * MM
    lines = []
    for x, y, sx, sy in ((x1, y1, -1, -1), (x2, y1, 1, -1), (x1, y2, -1, 1), (x2, y2, 1, 1)):
        lines.append(f"{x + sx * gap:.2f} {y:.2f} m {x + sx * (gap + length):.2f} {y:.2f} l S")
        lines.append(f"{x:.2f} {y + sy * gap:.2f} m {x:.2f} {y + sy * (gap + length):.2f} l S")
    return "q 0.25 w 1 1 1 1 K " + " ".join(lines) + " Q"
