"""The build, in order: read and render the book, assemble, typeset the parts, merge, impose.

Each stage takes plain data and returns plain data with the problems it found; the build stops
after a stage whose input had errors, reporting all of them at once, before anything is written,
so the last good outputs stay as they were. Problems found by the layout (a note printed off its
call's page, a handout too long) come back located in the chapter file that caused them.
"""
from __future__ import annotations

import io
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from pypdf import PdfWriter

from .assemble import SLOT_DIGITS, assemble, body_parts, contents_ids, folio_layer, front_part, handout_part, weasyprint_version
from .book import Book, cache_dir, gather
from .files import TOOL_FOLDERS, Outputs
from .handouts import Handout, gather_handouts
from .pdf import compact, impose, merge
from .problems import ERROR, BuildError, Problem, warning
from .project import Settings, font_files, template_environment, template_file
from .typeset import parts as typeset
from .typeset.pool import Pool

@dataclass
class BuildResult:
    outputs: list[Path] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    pages: int = 0
    notes: int = 0
    bibliography: int = 0
    typeset_parts: int = 0  # parts typeset anew (the others came from the cache)
    parts: int = 0
    described: dict[Path, str] = field(default_factory=dict)  # output -> what it holds
    failed: list[Problem] = field(default_factory=list)  # errors of outputs that were skipped


def build(settings: Settings, targets=("dossier",), pool: Pool | None = None, strict: bool = False) -> BuildResult:
    """Write ``output/dossier.html`` and the outputs named in ``targets``, typesetting on ``pool``
    (or in this process, where there is none).

    A handout with errors is reported in ``result.failed`` and skipped; the other outputs are
    still written. Errors in the dossier's own sources stop the build (``BuildError``), and so
    do warnings where the build is ``strict``. Every output is put in place at the very end,
    all together: a build that fails or is stopped leaves the previous ones as they were."""
    outputs = Outputs()
    try:
        result = _build(settings, set(targets), pool, strict, outputs)
        outputs.commit()
    finally:
        outputs.discard()
    _remove_stale_handouts(settings, result)
    return result


def _build(settings: Settings, targets: set[str], pool: Pool | None, strict: bool, outputs: Outputs) -> BuildResult:
    targets |= {"dossier"} if targets & {"booklet", "print"} else set()
    result = BuildResult()
    out_dir = settings.path("output_dir")
    html_path = out_dir / "dossier.html"
    with _stage(result, "read+render"):
        book = gather(settings, result.warnings)
        handouts = []
        if "handouts" in targets:
            handouts, failed, found = gather_handouts(book)
            result.failed += failed
            result.warnings += found
    _stop_if_strict(strict, result)
    environment = template_environment(settings)
    with _stage(result, "assemble"):
        html_text = assemble(book, html_path, environment=environment)
    result.notes = sum(part.note_count for part in book.chapters)
    result.bibliography = len(book.bibliography)
    dossier_pdf = None  # the merged dossier as pypdf wrote it, for the booklet and the print variant
    if "dossier" in targets or handouts:
        dossier_pdf = _typeset(book, environment, html_path, result, handouts, targets, pool, strict, outputs)
    if "booklet" in targets:
        with _stage(result, "booklet"):
            _write(result, outputs, out_dir / "dossier-booklet.pdf", lambda f: impose.booklet(io.BytesIO(dossier_pdf), settings.page_size_pt, f),
                   "{} sides, to print duplex, flipped on the short edge")
    if "print" in targets:
        with _stage(result, "print"):
            _write(result, outputs, out_dir / "dossier-print.pdf", lambda f: impose.print_variant(io.BytesIO(dossier_pdf), f),
                   "{} pages with 3 mm bleed and crop marks")
    outputs.write(html_path, lambda handle: handle.write(html_text.encode("utf-8")))
    result.outputs.insert(0, html_path)
    return result


def _typeset(book: Book, environment, html_path: Path, result: BuildResult, handouts: list[Handout],
             targets: set[str], pool: Pool | None, strict: bool, outputs: Outputs) -> bytes | None:
    """Typeset the dossier's parts and the handouts in parallel (cached); merge the dossier,
    stamp its folios and contents numbers, and write every PDF. Returns the merged dossier as
    written before its objects are packed (what the impositions start from), if it was built."""
    settings = book.settings
    out_dir = settings.path("output_dir")
    dossier = "dossier" in targets
    merged = None
    roots = [settings.root, *TOOL_FOLDERS]
    parts_cache = cache_dir(settings) / "parts"
    assets = typeset.asset_digest([template_file(settings, "dossier.css"), *font_files()])

    def lay_out(parts, ready=None):
        return typeset.typeset_parts(parts, html_path, roots, parts_cache, assets, pool, ready)

    with _stage(result, "typeset"):
        parts = [front_part(book, environment, html_path), *body_parts(book, environment, html_path)] if dossier else []
        handouts, extra = _handout_parts(book, environment, html_path, handouts, result)
        pages = merge.Pages(len(parts))
        laid_all = lay_out(parts + extra, lambda i, laid: pages.add(i, laid) if i < len(parts) else None)
        laid, laid_handouts = laid_all[: len(parts)], laid_all[len(parts):]
        digits = max(SLOT_DIGITS, len(str(len(typeset.place(parts, laid).page_kinds)))) if dossier else SLOT_DIGITS
        if digits > SLOT_DIGITS:  # a book of 1,000 pages or more: wider slots in the contents
            parts[0] = front_part(book, environment, html_path, digits)
            laid[0] = lay_out(parts[:1])[0]
            pages = merge.Pages(len(parts))
            for i, part_laid in enumerate(laid):
                pages.add(i, part_laid)
        result.typeset_parts = sum(1 for part in laid + laid_handouts if not part.cached)
        result.parts = len(laid) + len(laid_handouts)
        placed = typeset.place(parts, laid)
        for part, part_laid, offset in zip(parts, laid, placed.offsets):
            result.warnings += part.problems(part_laid, offset)
        for handout, part, laid_handout in zip(handouts, extra, laid_handouts):
            result.warnings += part.problems(laid_handout, 0, f" of {handout.name}.pdf")
            if laid_handout.pages > handout.max_pages:
                result.warnings.append(warning(part.source, 1, f"the handout runs to {laid_handout.pages} pages; "
                                               f"its template '{handout.template}' is for {handout.max_pages} at most"))
        _stop_if_strict(strict, result)
    with _stage(result, "merge"):
        layer_keys: list[str] = []
        if dossier:
            layers = []
            # The folio layer in two documents, one per worker, the second starting on a right-hand page.
            half = len(placed.page_kinds) // 4 * 2
            for start, stop in ((0, half), (half, len(placed.page_kinds))) if half else ((0, len(placed.page_kinds)),):
                layer_html = folio_layer(book, environment, html_path, placed.page_kinds[start:stop], start,
                                         _contents_stamps(book, placed, digits))
                layer, key = typeset.render_cached(layer_html, html_path, roots, parts_cache, assets, pool)
                layers.append(layer)
                layer_keys.append(key)
            writer = merge.merge(pages, parts, laid, placed, layers, _metadata(settings), settings.language)
            pdf_path = out_dir / "dossier.pdf"
            plain = io.BytesIO()
            writer.write(plain)
            merged = plain.getvalue()
            outputs.write(pdf_path, lambda handle: compact.write(merged, handle))
            result.pages = len(placed.page_kinds)
            result.outputs.append(pdf_path)
            result.described[pdf_path] = f"{result.pages} pages, {result.notes} notes, {result.bibliography} works in the bibliography"
        for handout, laid_handout in zip(handouts, laid_handouts):
            _write_handout(settings, handout, laid_handout, out_dir / "handouts" / f"{handout.name}.pdf", result, outputs)
        if {"dossier", "handouts"} <= targets:  # a build of everything knows what is still in use
            typeset.prune_cache(parts_cache, laid + laid_handouts, also=tuple(layer_keys))
    return merged


def _handout_parts(book: Book, environment, html_path: Path, handouts: list[Handout],
                   result: BuildResult) -> tuple[list[Handout], list[typeset.Part]]:
    """Each handout's part, through its template; a handout whose template fails is reported
    in ``result.failed`` and skipped, as one whose source has errors."""
    kept, parts = [], []
    for handout in handouts:
        try:
            parts.append(handout_part(book, handout, environment, html_path))
        except BuildError as exc:
            result.failed += exc.problems
            continue
        kept.append(handout)
    return kept, parts


def _contents_stamps(book: Book, placed: typeset.Placed, digits: int) -> dict[int, list]:
    """Merged page index -> the contents' page numbers stamped on it, where the slots are."""
    stamps: dict[int, list] = {}
    for id_, level in contents_ids(book):
        slot, target = placed.anchors.get(f"toc-page-{id_}"), placed.anchors.get(id_)
        if slot and target:
            page, x1, y1, x2, y2 = slot
            stamps.setdefault(page, []).append((f"toc-{level}", x1, y1, x2, y2, str(target[0] + 1).rjust(digits, "\u2007")))
    return stamps


def _remove_stale_handouts(settings: Settings, result: BuildResult) -> None:
    """Handouts whose source is gone (a build of the handouts knows which are still there)."""
    written = {path.name for path in result.outputs if path.parent.name == "handouts"}
    if not written:
        return
    for stale in (settings.path("output_dir") / "handouts").glob("*.pdf"):
        if stale.name not in written and not (settings.path("content_dir") / "handouts" / f"{stale.stem}.md").exists():
            stale.unlink()


def _write(result: BuildResult, outputs: Outputs, path: Path, make, description: str) -> None:
    """Write one output; ``make`` writes to a file object and returns a count."""
    count = []
    outputs.write(path, lambda handle: count.append(make(handle)))
    result.outputs.append(path)
    result.described[path] = description.format(count[0])


def _write_handout(settings: Settings, handout: Handout, laid: typeset.Laid, path: Path, result: BuildResult,
                   outputs: Outputs) -> None:
    writer = PdfWriter(clone_from=io.BytesIO(laid.data))  # the bytes the cache check read
    writer.add_metadata({**_metadata(settings), "/Title": handout.part.chapter.title})
    outputs.write(path, lambda handle: compact.write(writer, handle))
    result.outputs.append(path)
    orientation = "landscape" if laid.sizes[0][0] > laid.sizes[0][1] else "portrait"
    result.described[path] = f"{laid.pages} page{'s' if laid.pages != 1 else ''}, {orientation}"


def _stop_if_strict(strict: bool, result: BuildResult) -> None:
    """``--strict``: a warning is an error, and the build stops before it writes anything."""
    if strict and result.warnings:
        raise BuildError([*result.failed, *(replace(p, severity=ERROR) for p in result.warnings)])


def _metadata(settings: Settings) -> dict[str, str]:
    stamp = settings.date.strftime("D:%Y%m%d%H%M%SZ")
    return {
        "/Title": settings.title,
        "/Author": ", ".join(settings.authors),
        "/Subject": settings.subject,
        "/Keywords": ", ".join(settings.keywords),
        "/Creator": "dossier",
        "/Producer": f"WeasyPrint {weasyprint_version()} and pypdf",
        "/CreationDate": stamp,
        "/ModDate": stamp,
    }


@contextmanager
def _stage(result: BuildResult, name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        result.timings[name] = result.timings.get(name, 0.0) + time.perf_counter() - start
