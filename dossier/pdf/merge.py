"""Merge typeset parts into the dossier PDF: pages, folios, bookmarks, links, metadata."""
from __future__ import annotations

import io
from typing import Callable

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    Fit,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from .fonts import share_fonts
from .impose import as_form
from ..typeset.parts import Laid, Part, Placed, pad_size


class Pages:
    """The book's pages, gathered part by part in whatever order the parts are ready (each
    goes in after the parts before it that are already there), so that most of the merging
    is done while the workers are still typesetting."""

    def __init__(self, parts: int):
        self.writer = PdfWriter()
        self.parts = parts
        self.lengths: dict[int, int] = {}  # part index -> its pages, the blank after it included

    def add(self, index: int, result: Laid) -> None:
        position = sum(length for i, length in self.lengths.items() if i < index)
        # The bytes the cache checked (their digest), not the file again: it may have changed since.
        self.writer.merge(position, io.BytesIO(result.data), import_outline=False)
        length = result.pages
        if index < self.parts - 1 and result.pages % 2:
            width, height = pad_size(result)
            self.writer.insert_blank_page(width, height, position + length)
            length += 1
        self.lengths[index] = length


def merge(pages: Pages, parts: list[Part], laid: list[Laid], placed: Placed, layers: list[Callable[[], bytes]],
          metadata: dict[str, str], lang: str) -> PdfWriter:
    """The book from its ``pages`` (every part added), with the layer (folios, contents numbers:
    PDFs being made meanwhile, whose pages follow one another) stamped over them; links,
    bookmarks and metadata."""
    writer = pages.writer
    assert sorted(pages.lengths) == list(range(len(parts))) and len(writer.pages) == len(placed.page_kinds)
    _stamp(writer, [layer() for layer in layers])
    _drop_internal_links(writer)
    _add_links(writer, laid, placed)
    _add_outline(writer, parts, placed)
    share_fonts(writer)
    writer.add_metadata(metadata)
    writer._root_object[NameObject("/Lang")] = TextStringObject(lang)
    writer._root_object[NameObject("/PageMode")] = NameObject("/UseOutlines")
    return writer


def _stamp(writer: PdfWriter, layer_pdfs: list[bytes]) -> None:
    """Draw each page of the layer (folios, contents numbers) over the same page of the book,
    as a Form XObject: the pages' own content is wrapped, not parsed."""
    pages = len(writer.pages)
    for layer_pdf in layer_pdfs:
        writer.append(PdfReader(io.BytesIO(layer_pdf)), import_outline=False)
    forms = [as_form(writer, page) for page in writer.pages[pages:]]
    del writer.pages[pages:]
    save, restore = _stream(writer, b"q"), _stream(writer, b"Q")
    for page, form in zip(writer.pages, forms):
        resources = DictionaryObject(page.get("/Resources", DictionaryObject()).get_object())
        xobjects = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
        xobjects[NameObject("/DossierLayer")] = form
        resources[NameObject("/XObject")] = xobjects
        page[NameObject("/Resources")] = resources
        raw = page.raw_get("/Contents") if "/Contents" in page else ArrayObject()
        contents = raw.get_object()
        own = list(contents) if isinstance(contents, ArrayObject) else [raw]  # references, not copies
        page[NameObject("/Contents")] = ArrayObject([save, *own, restore, _stream(writer, b"q /DossierLayer Do Q")])


def _stream(writer: PdfWriter, data: bytes):
    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def _drop_internal_links(writer: PdfWriter) -> None:
    """WeasyPrint's own links point into one part's names; they are written anew below."""
    for page in writer.pages:
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        kept = ArrayObject()
        for reference in annotations.get_object():
            annotation = reference.get_object()
            action = annotation.get("/A")
            internal = "/Dest" in annotation or (action is not None and action.get_object().get("/S") == "/GoTo")
            if not (annotation.get("/Subtype") == "/Link" and internal):
                kept.append(reference)
        page[NameObject("/Annots")] = kept


def _add_links(writer: PdfWriter, laid, placed: Placed) -> None:
    for offset, result in zip(placed.offsets, laid):
        for page, target, (x1, y1, x2, y2) in result.links:
            if target not in placed.anchors:
                continue
            source = offset + page
            height = placed.sizes[source][1]
            target_page, x, y, *_ = placed.anchors[target]
            destination = ArrayObject([
                writer.pages[target_page].indirect_reference, NameObject("/XYZ"),
                FloatObject(x), FloatObject(placed.sizes[target_page][1] - y), NumberObject(0),
            ])
            link = DictionaryObject({
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([FloatObject(x1), FloatObject(height - y2), FloatObject(x2), FloatObject(height - y1)]),
                NameObject("/Border"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(0)]),
                NameObject("/Dest"): destination,
            })
            writer.add_annotation(source, link)


def _add_outline(writer: PdfWriter, parts: list[Part], placed: Placed) -> None:
    """Bookmarks for every chapter and section, nested by heading level."""
    stack: list[tuple[int, object]] = []
    for part in parts:
        for level, anchor, text in part.headings:
            if anchor not in placed.anchors:
                continue
            page, x, y, *_ = placed.anchors[anchor]
            while stack and stack[-1][0] >= level:
                stack.pop()
            parent = stack[-1][1] if stack else None
            item = writer.add_outline_item(title=text, page_number=page, parent=parent,
                                           fit=Fit.xyz(left=x, top=placed.sizes[page][1] - y, zoom=0), is_open=level < 2)
            stack.append((level, item))
