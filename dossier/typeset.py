"""Typeset HTML to PDF with WeasyPrint, confined to the project, written atomically.

Content is not trusted: the URL fetcher (``fetcher.py``) reads files inside the
project only; everything else, the network included, is refused with a warning, so a
chapter cannot pull ``/etc/passwd`` into the PDF. The PDF goes to a temporary file beside its destination and is
renamed into place only once complete: a failed or interrupted build leaves the
last good PDF as it was.
"""
from __future__ import annotations

import hashlib
import shutil
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Problem, warning


@dataclass
class Typeset:
    """What the layout did, for the audit."""

    pages: int
    anchors: dict[str, int] = field(default_factory=dict)  # element id -> page index (0-based)
    refused: list[str] = field(default_factory=list)
    served: list[Path] = field(default_factory=list)  # files the typesetter read


def layout(html_text: str, base_url: Path, roots: list[Path]) -> tuple[weasyprint.Document, Typeset, list[Problem]]:
    """Lay out the HTML; the typesetter may read files under ``roots`` only."""
    from .warmstart import load_weasyprint

    weasyprint = load_weasyprint()  # here, not at the top: a process that typesets nothing need not load it

    from . import notes_speedup
    from .fetcher import ConfinedFetcher

    notes_speedup.install()

    fetcher = ConfinedFetcher(roots)
    messages = _capture_weasyprint_log()
    try:
        document = weasyprint.HTML(string=html_text, base_url=str(base_url), url_fetcher=fetcher).render()
    finally:
        logging.getLogger("weasyprint").removeHandler(messages)
    anchors: dict[str, int] = {}
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            anchors.setdefault(anchor, index)
    problems = [
        warning("", 0, f"not included: {url} (the typesetter reads files inside the project only)")
        for url in dict.fromkeys(fetcher.refused)
    ]
    problems += [warning("", 0, f"typesetter: {m}") for m in messages.records if not _environment_notice(m)]
    laid_out = Typeset(pages=len(document.pages), anchors=anchors, refused=list(fetcher.refused), served=list(dict.fromkeys(fetcher.served)))
    return document, laid_out, problems


def release(document: weasyprint.Document) -> None:
    """Remove the copies of the fonts WeasyPrint made for a document, once it is written.

    WeasyPrint copies every @font-face font into a temporary folder of its own, and removes it
    only when the document's font configuration is garbage-collected: never, in a process that
    ends with ``os._exit``, as ours do (3 MB left in /tmp for every part typeset)."""
    folder = getattr(getattr(document, "font_config", None), "_folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        document.font_config._folder = None


def write_pdf(document: weasyprint.Document, html_text: str, pdf_path: Path) -> None:
    """Write the PDF atomically; its identifier is derived from the HTML, so builds repeat."""
    identifier = hashlib.sha256(html_text.encode("utf-8")).hexdigest()[:32].encode()
    write_atomically(pdf_path, lambda target: document.write_pdf(target, pdf_identifier=identifier))


def write_atomically(path: Path, write) -> None:
    """Call ``write(file_object)`` on a temporary file, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # as an ordinary file would be, not mkstemp's private 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(record.getMessage().strip())


def _capture_weasyprint_log() -> _Collect:
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    logger.propagate = False
    return handler


def _environment_notice(message: str) -> bool:
    """Messages about this machine or about refusals already reported, not about the content."""
    return "refused to" in message or "HarfBuzz-Subset" in message
