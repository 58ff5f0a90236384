"""Reading the printed contents back out of a PDF, for the tests."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pypdfium2 as pdfium
from pypdf import PdfReader


def _rows(page) -> dict[float, list[tuple[float, str]]]:
    """The page's text in rows by baseline (in points from the bottom), each row's pieces by x,
    whichever content stream drew them (the page's own, or a layer stamped over it)."""
    rows: dict[float, list[tuple[float, str]]] = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            # a stamped number's baseline may differ from its row's by a fraction of a point
            near = next((row for row in rows if abs(row - y) < 1.0), round(y, 1))
            rows.setdefault(near, []).append((x, text))

    page.extract_text(visitor_text=visit)
    return rows


def contents_entries(pdf) -> list[tuple[str, int]]:
    """(the entry's text on the line that carries its page number, the number), in order, from
    the page headed Contents and the pages after it that go on with leaders."""
    entries, started = [], False
    for page in PdfReader(pdf).pages:
        rows = _rows(page)
        started = started or any(text.strip() == "Contents" for row in rows.values() for _, text in row)
        if not started:
            continue
        found = []
        for y in sorted(rows, reverse=True):
            pieces = [text for _, text in sorted(rows[y])]
            number = pieces[-1].replace("\u2007", "").strip()
            if number.isdigit() and len(pieces) > 1 and re.search(r"\.\s*\.\s*$", "".join(pieces[:-1])):  # leaders: one piece or a piece a dot
                title = re.sub(r"(\s*\.)+\s*$", "", " ".join(pieces[:-1])).strip()
                title = re.sub(r"^\d+\s+", "", title)  # the chapter's number
                found.append((" ".join(title.split()), int(number)))
        if not found:
            break
        entries += found
    return entries


def page_texts(pdf) -> list[str]:
    """Each page's text, its white space made single spaces."""
    return [" ".join(text.split()) for text in texts(pdf)]


def texts(pdf) -> list[str]:
    """Each page's text, a line a line, as PDFium reads it (twenty times as fast as pypdf: the
    shipped dossier is read by several tests), read once while the file is unchanged."""
    stat = Path(pdf).stat()
    return list(_texts(str(pdf), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=16)
def _texts(pdf: str, mtime: int, size: int) -> tuple[str, ...]:
    document = pdfium.PdfDocument(pdf)
    try:
        return tuple(page.get_textpage().get_text_range().replace("\r\n", "\n") for page in document)
    finally:
        document.close()


def body_size(pdf, pages=None) -> float:
    """The size, in points as printed, that most of the text is set in (the body's): each piece's
    font size through its text and drawing matrices (a page drawn scaled on a sheet counts scaled)."""
    from collections import Counter

    sizes: Counter = Counter()

    def visit(text, cm, tm, font, size):
        scale = (abs(tm[0] * cm[0] + tm[1] * cm[2]) ** 2 + abs(tm[0] * cm[1] + tm[1] * cm[3]) ** 2) ** 0.5
        if text.strip():
            sizes[round(size * scale, 1)] += len(text.strip())

    reader = PdfReader(pdf)
    for page in reader.pages[pages or slice(None)]:
        page.extract_text(visitor_text=visit)
    return sizes.most_common(1)[0][0]


def marked_texts(pdf) -> list[dict[int, str]]:
    """Each page's text by marked-content id (the pieces of one id joined), as PDFium reads it."""
    import ctypes

    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(str(pdf))
    pages = []
    try:
        for page in document:
            textpage = page.get_textpage()
            found: dict[int, str] = {}
            for index in range(raw.FPDFPage_CountObjects(page.raw)):
                obj = raw.FPDFPage_GetObject(page.raw, index)
                mcid = raw.FPDFPageObj_GetMarkedContentID(obj)
                if raw.FPDFPageObj_GetType(obj) != raw.FPDF_PAGEOBJ_TEXT or mcid < 0:
                    continue
                size = raw.FPDFTextObj_GetText(obj, textpage.raw, None, 0)
                buffer = ctypes.create_string_buffer(size)
                raw.FPDFTextObj_GetText(obj, textpage.raw, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), size)
                found[mcid] = found.get(mcid, "") + buffer.raw[:size - 2].decode("utf-16-le")
            pages.append(found)
    finally:
        document.close()
    return pages


def tree_text(pdf) -> list[tuple[str, str, int]]:
    """What a screen reader reads, in the order of the structure tree: (the role of the element,
    a piece of its text, the index of the page the piece is on), a piece each marked-content
    sequence; an element with alternative text (a figure) gives that, on its page, instead."""
    import pikepdf

    texts = marked_texts(pdf)
    with pikepdf.open(pdf) as document:
        pages = {page.obj.objgen: index for index, page in enumerate(document.pages)}
        out: list[tuple[str, str, int]] = []

        def visit(node, role, page):
            if isinstance(node, pikepdf.Array):
                for kid in node:
                    visit(kid, role, page)
            elif isinstance(node, int):
                out.append((role, texts[page].get(int(node), ""), page))
            elif isinstance(node, pikepdf.Dictionary) and node.get("/Type") == "/MCR":
                page = pages[node.Pg.objgen]
                out.append((role, texts[page].get(int(node.MCID), ""), page))
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                page = pages[node.Pg.objgen] if "/Pg" in node else page
                if "/Alt" in node:  # what a reader hears in place of the content
                    out.append((str(node.S), str(node.Alt), page))
                else:
                    visit(node.get("/K", pikepdf.Array()), str(node.S), page)

        visit(document.Root.StructTreeRoot.K, None, None)
        return [piece for piece in out if piece[1]]


def spoken_in(pdf, language: str) -> str:
    """The text of the elements the structure tree says are in ``language`` (their /Lang, or
    their nearest ancestor's), in tree order."""
    import pikepdf

    texts = marked_texts(pdf)
    with pikepdf.open(pdf) as document:
        pages = {page.obj.objgen: index for index, page in enumerate(document.pages)}
        out: list[str] = []

        def visit(node, lang, page):
            if isinstance(node, pikepdf.Array):
                for kid in node:
                    visit(kid, lang, page)
            elif isinstance(node, int) and lang == language:
                out.append(texts[page].get(int(node), ""))
            elif isinstance(node, pikepdf.Dictionary) and node.get("/Type") == "/MCR" and lang == language:
                out.append(texts[pages[node.Pg.objgen]].get(int(node.MCID), ""))
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                visit(node.get("/K", pikepdf.Array()), str(node.get("/Lang", lang)),
                      pages[node.Pg.objgen] if "/Pg" in node else page)

        visit(document.Root.StructTreeRoot.K, str(document.Root.Lang), None)
        return "".join(out)
