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
    _retarget_links(writer, laid, placed)
    _named_destinations(writer, placed)
    _add_outline(writer, parts, placed)
    share_fonts(writer)
    writer.add_metadata(metadata)
    writer._root_object[NameObject("/Lang")] = TextStringObject(lang)
    writer._root_object[NameObject("/PageMode")] = NameObject("/UseOutlines")
    return writer


def _stamp(writer: PdfWriter, layer_pdfs: list[bytes]) -> None:
    """Draw each page of the layer (folios, contents numbers) over the same page of the book,
    as a Form XObject, marked an artifact (no part of the structure tree): the pages' own
    content is wrapped, not parsed."""
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
        page[NameObject("/Contents")] = ArrayObject([save, *own, restore, _stream(writer, b"/Artifact BMC q /DossierLayer Do Q EMC")])


def _stream(writer: PdfWriter, data: bytes):
    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def _retarget_links(writer: PdfWriter, laid, placed: Placed) -> None:
    """WeasyPrint's internal links point into one part's names: each is pointed, where it is,
    to its target's place in the book (one whose target is in no part goes nowhere). They stay
    where they are in their page's annotations, as the part's structure tree names them."""
    for offset, result in zip(placed.offsets, laid):
        targets: dict[int, list[str]] = {}
        for page, target, _ in result.links:
            targets.setdefault(page, []).append(target)
        for page, names in targets.items():
            internal = [annotation.get_object() for annotation in writer.pages[offset + page].get("/Annots", ArrayObject())
                        if _is_internal(annotation.get_object())]
            for annotation, target in zip(internal, names):
                for key in ("/A", "/Dest"):
                    if key in annotation:
                        del annotation[key]
                if target in placed.anchors:
                    annotation[NameObject("/Dest")] = _destination(writer, placed, target)


def _named_destinations(writer: PdfWriter, placed: Placed) -> None:
    """The book's named destinations (``dossier.pdf#id`` from outside) made anew from where each id
    ended up: the parts' own, merged, name each id once per part that has it (the contents'
    stand-ins for its targets too), pointing into that part, whichever was merged first."""
    names = writer._root_object.get("/Names")
    if names is None or "/Dests" not in names.get_object():
        return
    entries = ArrayObject()
    for name in sorted(placed.anchors):
        entries += [TextStringObject(name), _destination(writer, placed, name)]
    names.get_object()[NameObject("/Dests")] = writer._add_object(DictionaryObject({NameObject("/Names"): entries}))


def _destination(writer: PdfWriter, placed: Placed, name: str) -> ArrayObject:
    """Where the id ``name`` ended up in the book: its page, at its top left."""
    page, x, y, *_ = placed.anchors[name]
    return ArrayObject([writer.pages[page].indirect_reference, NameObject("/XYZ"),
                        FloatObject(x), FloatObject(placed.sizes[page][1] - y), NumberObject(0)])


def _is_internal(annotation) -> bool:
    action = annotation.get("/A")
    return annotation.get("/Subtype") == "/Link" and (
        "/Dest" in annotation or (action is not None and action.get_object().get("/S") == "/GoTo"))


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
