"""Print production from finished PDFs: the saddle-stitched booklet (the booklet's own
half-size pages, two to a side) and the print-shop variant of the dossier with bleed and crop
marks. Both are geometry on existing pages (pypdf), so they cost no typesetting.
"""
from __future__ import annotations

from pathlib import Path

from pypdf import PageObject, PdfWriter, Transformation
from pypdf.generic import DecodedStreamObject, DictionaryObject, IndirectObject, NameObject, RectangleObject

from . import compact

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


def booklet(source: Path, sheet_size: tuple[float, float], target) -> int:
    """Impose ``source`` two pages to a side on landscape sheets of ``sheet_size`` (portrait w, h).

    Each page goes on half a sheet: A5 pages on A4 at their own size (as the booklet's are);
    larger pages are scaled down to fit. A landscape page is turned to fit. Writes to ``target`` (a file object); returns the number of sides.
    """
    writer = PdfWriter(clone_from=source)
    originals = list(writer.pages)
    forms = [as_form(writer, page) for page in originals]
    width, height = sheet_size[1], sheet_size[0]  # the sheet lies landscape
    for left, right in booklet_order(len(originals)):
        placed = [(forms[i], _fit(originals[i], x0, width / 2, height)) for i, x0 in ((left, 0.0), (right, width / 2)) if i is not None]
        _new_page(writer, width, height, placed)
    del writer.pages[0 : len(originals)]
    compact.write(writer, target)
    return len(writer.pages)


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


def _fit(page: PageObject, x0: float, slot_w: float, slot_h: float) -> Transformation:
    w, h = float(page.mediabox.width), float(page.mediabox.height)
    move = Transformation().translate(-float(page.mediabox.left), -float(page.mediabox.bottom))
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
