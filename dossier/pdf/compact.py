"""Writing a PDF compactly: its small objects packed in compressed object streams.

pypdf writes every dictionary (pages, link annotations, fonts' widths, destinations) as plain
text; WeasyPrint packs them into object streams. qpdf, through pikepdf, does the same for the
merged book: the dossier falls from 484 KB to about 276 KB, 1.24 times one WeasyPrint call on
the same HTML. The file's /ID is derived from its content, so the same sources give the same bytes.
"""
from __future__ import annotations

import io

import pikepdf
from pypdf import PdfWriter


def write(source: PdfWriter | bytes, target) -> None:
    """Write ``source`` (a pypdf writer, or the bytes it wrote) to ``target`` (a file object)
    with object streams."""
    if isinstance(source, PdfWriter):
        plain = io.BytesIO()
        source.write(plain)
        source = plain.getvalue()
    with pikepdf.open(io.BytesIO(source)) as pdf:
        pdf.save(target, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True,
                 recompress_flate=False, deterministic_id=True)
