"""The build, in order: read and render the book, assemble, typeset the parts, merge, impose.

Each stage takes plain data and returns plain data with the problems it found; the build stops
after a stage whose input had errors, reporting all of them at once, before anything is written,
so the last good outputs stay as they were. Problems found by the layout (a note printed off its
call's page, a handout too long) come back located in the chapter file that caused them.
"""
from __future__ import annotations

import io
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from pypdf import PdfWriter

from .assemble import (SLOT_DIGITS, assemble, body_parts, contents_ids, folio_layer, front_part, handout_part, stylesheets,
                       weasyprint_version)
from .book import Book, cache_dir, gather
from .files import TOOL_FOLDERS, Outputs
from .handouts import Handout, gather_handouts
from .pdf import archive, compact, impose, merge, tags
from .problems import ERROR, BuildError, Problem, warning
from .render.crossref import page_targets
from .project import Settings, font_files, template_environment
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
    audit: list[Problem] = field(default_factory=list)  # the page audit's findings, shown with -v (warnings with --audit)
    audit_figures: dict[str, dict] = field(default_factory=dict)  # per edition: pages, gaps, justified, wide, widest, hyphens
    pages_referred: dict[str, dict] = field(default_factory=dict)  # per edition: id -> the page a page reference names
    page_sources: list[list] = field(default_factory=list)  # per page of the dossier: [top, left, "path:line"] of each block starting on it
    part_starts: list[int] = field(default_factory=list)  # the dossier's first page (0-based) of each part


def build(settings: Settings, targets=("dossier",), pool: Pool | None = None, strict: bool = False,
          progress: Callable[[int, list[str]], None] | None = None) -> BuildResult:
    """Write ``output/dossier.html`` and the outputs named in ``targets``, typesetting on ``pool``
    (or in this process, where there is none); ``progress(done, left)`` hears how the
    typesetting goes (``typeset.typeset_parts``).

    A handout with errors is reported in ``result.failed`` and skipped; the other outputs are
    still written. Errors in the dossier's own sources stop the build (``BuildError``), and so
    do warnings where the build is ``strict``. Every output is put in place at the very end,
    all together: a build that fails or is stopped leaves the previous ones as they were."""
    outputs = Outputs()
    try:
        result = _build(settings, set(targets), pool, strict, outputs, progress)
        outputs.commit()
    finally:
        outputs.discard()
    _remove_stale_handouts(settings, result)
    return result


def _build(settings: Settings, targets: set[str], pool: Pool | None, strict: bool, outputs: Outputs, progress=None) -> BuildResult:
    targets |= {"dossier"} if "print" in targets else set()
    result = BuildResult()
    out_dir = settings.path("output_dir")
    html_path = out_dir / "dossier.html"
    with _stage(result, "read+render"):
        book = gather(settings, result.warnings)
        book = replace(book, pages=_known_pages(settings, "dossier"))
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
    dossier_pdf = None  # the merged dossier as pypdf wrote it (untagged), for the print variant
    if targets & {"dossier", "booklet"} or handouts:
        dossier_pdf = _typeset(book, environment, html_path, result, handouts, targets, pool, strict, outputs, progress)
    if result.pages_referred.get("dossier", book.pages) != book.pages:  # the reading HTML's page references too
        html_text = assemble(replace(book, pages=result.pages_referred["dossier"]), html_path, environment=environment)
    if "print" in targets:
        with _stage(result, "print"):
            _write(result, outputs, out_dir / "dossier-print.pdf", lambda f: impose.print_variant(io.BytesIO(dossier_pdf), f),
                   "{} pages with 3 mm bleed and crop marks")
    outputs.write(html_path, lambda handle: handle.write(html_text.encode("utf-8")))
    result.outputs.insert(0, html_path)
    return result


def _typeset(book: Book, environment, html_path: Path, result: BuildResult, handouts: list[Handout],
             targets: set[str], pool: Pool | None, strict: bool, outputs: Outputs, progress=None) -> bytes | None:
    """Typeset the parts of the dossier, of the booklet (the same book on half-size pages) and
    the handouts, all on the same workers (cached); merge each edition, stamp its folios and
    contents numbers, and write every PDF. Returns the merged dossier as written before its
    objects are packed (what the print variant starts from), if it was built."""
    settings = book.settings
    out_dir = settings.path("output_dir")
    editions = {name: edition for name, edition in (
        ("dossier", book), ("booklet", replace(book, settings=settings.for_booklet(), pages=_known_pages(settings, "booklet"))))
        if name in targets}
    roots = [settings.root, *TOOL_FOLDERS]
    parts_cache = cache_dir(settings) / "parts"
    assets = typeset.asset_digest([*stylesheets(settings.for_booklet()), *font_files()])

    def lay_out(parts, ready=None):
        return typeset.typeset_parts(parts, html_path, roots, parts_cache, assets, pool, ready, progress)

    with _stage(result, "typeset"):
        parts = {name: [front_part(edition, environment, html_path), *body_parts(edition, environment, html_path)]
                 for name, edition in editions.items()}
        handouts, extra = _handout_parts(book, environment, html_path, handouts, result)
        pages, first, count = {}, {}, 0  # per edition: its pages as they come in; its first part's index among all
        for name in editions:
            pages[name], first[name] = merge.Pages(len(parts[name])), count
            count += len(parts[name])

        def ready(index: int, laid: typeset.Laid) -> None:
            for name in editions:
                if 0 <= index - first[name] < len(parts[name]):
                    pages[name].add(index - first[name], laid)

        everything = [part for name in editions for part in parts[name]]
        laid_all = lay_out(everything + extra, ready)
        laid = {name: laid_all[first[name]: first[name] + len(parts[name])] for name in editions}
        laid_handouts = laid_all[len(everything):]
        digits, placed = {}, {}
        for name, edition in editions.items():
            digits[name] = max(SLOT_DIGITS, len(str(len(typeset.place(parts[name], laid[name]).page_kinds))))
            if digits[name] > SLOT_DIGITS:  # a book of 1,000 pages or more: wider slots in the contents
                parts[name][0] = front_part(edition, environment, html_path, digits[name])
                laid[name][0] = lay_out(parts[name][:1])[0]
                pages[name] = _gathered(laid[name])
            placed[name] = typeset.place(parts[name], laid[name])
            editions[name], pages[name], placed[name] = _settle_page_refs(
                name, edition, environment, html_path, parts[name], laid[name], pages[name], placed[name], lay_out)
            result.pages_referred[name] = editions[name].pages
            where = " of the booklet" if name == "booklet" else ""
            for part, part_laid, offset in zip(parts[name], laid[name], placed[name].offsets):
                result.warnings += [p for p in part.problems(part_laid, offset, where) if p not in result.warnings]
                result.audit += part.findings(part_laid, offset, where)
            result.audit_figures[name] = _audit_figures(parts[name], laid[name], placed[name])
        result.typeset_parts = sum(1 for part in laid_all if not part.cached)
        result.parts = len(laid_all)
        for handout, part, laid_handout in zip(handouts, extra, laid_handouts):
            result.warnings += part.problems(laid_handout, 0, f" of {handout.name}.pdf")
            result.audit += part.findings(laid_handout, 0, f" of {handout.name}.pdf")
            if laid_handout.pages > handout.max_pages:
                result.warnings.append(warning(part.source, 1, f"the handout runs to {laid_handout.pages} pages; "
                                               f"its template '{handout.template}' is for {handout.max_pages} at most"))
        if settings.page_audit:
            result.warnings += result.audit
        _stop_if_strict(strict, result)
    merged = None
    with _stage(result, "merge"):
        layer_keys: list[str] = []
        for name, edition in editions.items():
            data, keys = _merge(edition, environment, html_path, pages[name], parts[name], laid[name], placed[name],
                                digits[name], roots, parts_cache, assets, pool)
            layer_keys += keys
            tagged = tags.graft(data, [tags.Part(part.data, offset)
                                      for part, offset in zip(laid[name], placed[name].offsets)],
                                settings.language)
            if settings.archival:
                tagged = archive.archival(tagged)
            if name == "dossier":
                merged = data  # the print variant's source: a print shop's file needs no tags
                pdf_path = out_dir / "dossier.pdf"
                outputs.write(pdf_path, lambda handle: compact.write(tagged, handle))
                result.pages = len(placed[name].page_kinds)
                result.page_sources, result.part_starts = placed[name].sources, placed[name].offsets
                result.outputs.append(pdf_path)
                result.described[pdf_path] = f"{result.pages} pages, {result.notes} notes, {result.bibliography} works in the bibliography"
            else:
                _write(result, outputs, out_dir / "dossier-booklet.pdf",
                       lambda f, tagged=tagged: impose.booklet(io.BytesIO(tagged), settings.page_size_pt, f),
                       f"{len(placed[name].page_kinds)} pages of {edition.settings.paper.replace('HALF-LETTER', 'half-letter')} on {{}} sides, "
                       "to print duplex, flipped on the short edge")
        for handout, laid_handout in zip(handouts, laid_handouts):
            _write_handout(settings, handout, laid_handout, out_dir / "handouts" / f"{handout.name}.pdf", result, outputs)
        if {"dossier", "booklet", "handouts"} <= targets:  # a build of everything knows what is still in use
            typeset.prune_cache(parts_cache, laid_all, also=tuple(layer_keys))
    return merged


def _known_pages(settings: Settings, edition: str) -> dict[str, int]:
    """The pages the last build found for the targets of page references ("p. 14"), to typeset
    them with: where nothing has moved since, no part is typeset twice."""
    try:
        found = json.loads((cache_dir(settings) / f"pages-{edition}.json").read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in found.items()} if isinstance(found, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


def _gathered(laid: list[typeset.Laid]) -> merge.Pages:
    """An edition's pages gathered anew, after some of its parts were laid out again."""
    pages = merge.Pages(len(laid))
    for index, part_laid in enumerate(laid):
        pages.add(index, part_laid)
    return pages


def _settle_page_refs(name: str, edition: Book, environment, html_path: Path, parts: list, laid: list, pages: merge.Pages,
                      placed: typeset.Placed, lay_out) -> tuple[Book, merge.Pages, typeset.Placed]:
    """Page references are typeset with the pages they had in the last build; where a target
    now prints on another page, the chapters that refer to it are typeset again with the new
    number (a number one digit longer may move pages in turn: at most four rounds). ``parts``
    and ``laid`` are updated in place; the numbers are kept for the next build."""
    referring = {index + 1: page_targets(chapter.html) for index, chapter in enumerate(edition.chapters)}
    known = edition.pages
    for _ in range(4):
        found = {id_: placed.anchors[id_][0] + 1 for ids in referring.values() for id_ in ids if id_ in placed.anchors}
        stale = [index for index, ids in referring.items() if any(edition.pages.get(id_) != found.get(id_) for id_ in ids)]
        if not stale:
            break
        edition = replace(edition, pages={**edition.pages, **found})
        fresh = body_parts(edition, environment, html_path)
        for index, part_laid in zip(stale, lay_out([fresh[index - 1] for index in stale])):
            parts[index], laid[index] = fresh[index - 1], part_laid
        pages = _gathered(laid)
        placed = typeset.place(parts, laid)
    if edition.pages != known:
        path = cache_dir(edition.settings) / f"pages-{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(edition.pages, sort_keys=True), encoding="utf-8")
    return edition, pages, placed


def _merge(book: Book, environment, html_path: Path, pages: merge.Pages, parts, laid, placed: typeset.Placed,
           digits: int, roots, parts_cache: Path, assets: bytes, pool: Pool | None) -> tuple[bytes, list[str]]:
    """One edition's merged PDF (folios and contents numbers stamped, links, bookmarks, metadata),
    and the cache keys of its folio layers."""
    layers, keys = [], []
    # The folio layer in two documents, one per worker, the second starting on a right-hand page.
    half = len(placed.page_kinds) // 4 * 2
    for start, stop in ((0, half), (half, len(placed.page_kinds))) if half else ((0, len(placed.page_kinds)),):
        layer_html = folio_layer(book, environment, html_path, placed.page_kinds[start:stop], start,
                                 _contents_stamps(book, placed, digits))
        layer, key = typeset.render_cached(layer_html, html_path, roots, parts_cache, assets, pool)
        layers.append(layer)
        keys.append(key)
    writer = merge.merge(pages, parts, laid, placed, layers, _metadata(book.settings), book.settings.language)
    plain = io.BytesIO()
    writer.write(plain)
    return plain.getvalue(), keys


def _audit_figures(parts: list[typeset.Part], laid: list[typeset.Laid], placed: typeset.Placed) -> dict:
    """The page audit's figures for one edition: its gaps above notes or foot in mm and its least
    full pages (of those that are not a part's last, nor the front matter's), justified lines and
    how many have wide word spaces, the widest, hyphens."""
    pages = [(offset + index + 1, fill, gap) for part, part_laid, offset in zip(parts, laid, placed.offsets) if part.kind != "front"
             for index, (fill, gap) in enumerate(part_laid.audit.get("pages", [])[:-1])]
    figures = {"pages": len(placed.page_kinds), "gaps": sorted((gap for *_, gap in pages), reverse=True),
               "least_full": sorted(((fill, page) for page, fill, _ in pages))[:5]}  # (% full, page as printed)
    for name in ("justified", "wide", "hyphens", "crowded"):
        figures[name] = sum(part.audit.get(name, 0) for part in laid)
    figures["widest"] = max((part.audit.get("widest", 0) for part in laid), default=0)
    chars = sorted(n for part in laid for n in part.audit.get("chars", []))
    figures["median_chars"] = chars[len(chars) // 2] if chars else 0
    return figures


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
    plain = io.BytesIO()
    writer.write(plain)
    tagged = plain.getvalue()  # tagged, its tree made ready where it was typeset (tags.prepare)
    if settings.archival:
        tagged = archive.archival(tagged)
    outputs.write(path, lambda handle: compact.write(tagged, handle))
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
