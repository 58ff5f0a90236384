"""The build: read everything, cite and render in reading order, assemble, typeset, audit.

Each stage takes plain data and returns plain data with the problems it found; the
build stops after a stage whose input had errors, reporting all of them at once, and
before anything is written, so the last good outputs stay as they were.
"""
from __future__ import annotations

import functools
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import audit, bib, chicago, data
from . import parts as parts_mod
from .handouts import Handout, gather_handouts
from .chapters import read_chapters
from .config import Settings, load_settings
from .errors import BuildError, Problem, error, errors_in, warning
from .model import RenderedChapter
from .render import data_environment, render_chapter
from .resources import check_resources
from .parts import Part
from .typeset import write_atomically

TOOL_ROOT = Path(__file__).resolve().parent.parent  # the built-in templates and fonts live here
FONT_FILES = ("CharisSIL-Regular.ttf", "CharisSIL-Italic.ttf", "CharisSIL-Bold.ttf", "CharisSIL-BoldItalic.ttf")


@dataclass
class BuildResult:
    outputs: list[Path] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    pages: int = 0
    notes: int = 0
    notes_off_page: list[tuple[str, int, int]] = field(default_factory=list)
    bibliography: int = 0
    typeset_parts: int = 0  # parts typeset anew (the others came from the cache)
    parts: int = 0
    described: dict[Path, str] = field(default_factory=dict)  # output -> what it holds
    failed: list[Problem] = field(default_factory=list)  # errors of outputs that were skipped


@dataclass(frozen=True)
class Book:
    """Everything gathered and rendered: what the templates need."""

    settings: Settings
    chapters: tuple[RenderedChapter, ...]
    bibliography: tuple[tuple[str, str], ...]  # (key, entry HTML), printed order
    treaties: data.TreatyData
    references: dict = field(default_factory=dict)


# What a build can make. "dossier" is the PDF; the booklet and the print-shop variant are
# made from it; the HTML is always written.
TARGETS = ("dossier", "handouts", "booklet", "print")
DEFAULT_TARGETS = ("dossier", "handouts", "booklet")


def build(root: Path, targets: tuple[str, ...] | set[str] = ("dossier",), settings: Settings | None = None,
          workers: parts_mod.Workers | None = None) -> BuildResult:
    """Build ``output/dossier.html`` and the outputs named in ``targets``.

    A handout with errors is reported in ``result.failed`` and skipped; the other outputs
    are still written. Errors in the dossier's own sources stop the build (BuildError).
    ``workers``, if given, typeset (and stay the caller's); otherwise the build starts its own.
    """
    targets = set(targets)
    if targets & {"booklet", "print"}:
        targets.add("dossier")
    result = BuildResult()
    settings = settings or load_settings(root)
    own = workers is None and bool(targets & {"dossier", "handouts"})
    if own:
        workers = parts_mod.Workers()
    finished = False
    try:
        _build(settings, targets, result, workers)
        finished = True
    finally:
        if own:
            workers.close(wait=finished)
    return result


def _build(settings: Settings, targets: set[str], result: BuildResult, workers) -> None:
    with _stage(result, "read+render"):
        book = gather(settings, result.warnings)
        handouts = []
        if "handouts" in targets:
            glyphs = functools.partial(glyph_problems, cache_dir=_cache_dir(settings))
            handouts, failed, found = gather_handouts(book, render_chapters, glyph_problems=glyphs)
            result.failed += failed
            result.warnings += found
    out_dir = settings.path("output_dir")
    html_path = out_dir / "dossier.html"
    environment = template_environment(settings)
    with _stage(result, "assemble"):
        html_text = assemble(book, html_path, environment=environment)
    result.notes = sum(part.note_count for part in book.chapters)
    result.bibliography = len(book.bibliography)
    if "dossier" in targets or handouts:
        typeset_book(book, environment, html_path, out_dir, result, handouts, "dossier" in targets, workers)
    if targets & {"booklet", "print"}:
        from . import impose
    if "booklet" in targets:
        with _stage(result, "booklet"):
            _write(result, out_dir / "dossier-booklet.pdf", lambda f: impose.booklet(out_dir / "dossier.pdf", settings.page_size_pt, f),
                   "{} sides, to print duplex, flipped on the short edge")
    if "print" in targets:
        with _stage(result, "print"):
            _write(result, out_dir / "dossier-print.pdf", lambda f: impose.print_variant(out_dir / "dossier.pdf", f),
                   "{} pages with 3 mm bleed and crop marks")
    write_atomically(html_path, lambda handle: handle.write(html_text.encode("utf-8")))
    result.outputs.insert(0, html_path)


def _cache_dir(settings: Settings) -> Path:
    """What the build keeps between runs (typeset parts, the fonts' coverage); safe to delete."""
    return settings.path("output_dir") / ".cache"


def _write(result: BuildResult, path: Path, make, description: str) -> None:
    """Write one output atomically; ``make`` writes to a file object and returns a count."""
    count = []
    write_atomically(path, lambda handle: count.append(make(handle)))
    result.outputs.append(path)
    result.described[path] = description.format(count[0])


# Room for a page number in the front matter's contents, in figure spaces (as wide as a digit).
SLOT_DIGITS = 3


def front_part(book: Book, environment: jinja2.Environment, html_path: Path, digits: int = SLOT_DIGITS) -> Part:
    """Title page and contents, with a blank slot where each page number goes: the numbers
    are stamped later, so the front matter does not wait for, or depend on, the chapters."""
    slots = {id_: "\u2007" * digits for id_, _ in _contents_ids(book)}
    html_text = assemble(book, html_path, "part.html.j2", {"kind": "front", "pages": slots, "layer": "slots"}, environment)
    return Part("front", "front", html_text, headings=((1, "contents", "Contents"),))


def _contents_ids(book: Book) -> list[tuple[str, str]]:
    """The ids the contents gives a page number for, each with its level ("chapter" or
    "section", the entry's class in contents.html.j2)."""
    ids = []
    for part in book.chapters:
        ids += [(f"{part.chapter.slug}-title", "chapter"), *((id_, "section") for level, id_, _ in part.headings if level == 2)]
    return ids + ([("bibliography-title", "chapter")] if book.bibliography else [])


def body_parts(book: Book, environment: jinja2.Environment, html_path: Path) -> list[Part]:
    """The chapters and the bibliography, each a part typeset on its own."""
    parts = []
    for number, chapter in enumerate(book.chapters, 1):
        slug = chapter.chapter.slug
        html_text = assemble(book, html_path, "part.html.j2", {"kind": "chapter", "part": chapter, "number": number}, environment)
        notes = tuple((f"call-{slug}-{n}", f"note-{slug}-{n}") for n in range(1, chapter.note_count + 1))
        headings = ((1, f"{slug}-title", chapter.chapter.title), *chapter.headings)
        parts.append(Part(slug, "chapter", html_text, notes, headings))
    if book.bibliography:
        parts.append(Part("back", "back", assemble(book, html_path, "part.html.j2", {"kind": "back"}, environment),
                          headings=((1, "bibliography-title", "Bibliography"),)))
    return parts


def handout_part(book: Book, handout: Handout, environment: jinja2.Environment, html_path: Path) -> Part:
    slug = handout.part.chapter.slug
    html_text = assemble(book, html_path, f"{handout.template}.html.j2", {"handout": handout}, environment)
    notes = tuple((f"call-{slug}-{n}", f"note-{slug}-{n}") for n in range(1, handout.part.note_count + 1))
    return Part(f"handout-{handout.name}", "handout", html_text, notes)


def typeset_book(book: Book, environment: jinja2.Environment, html_path: Path, out_dir: Path, result: BuildResult,
                 handouts: list[Handout] = (), dossier: bool = True, workers: parts_mod.Workers | None = None) -> None:
    """Typeset the dossier's parts (front matter, chapters, bibliography) and the handouts in
    parallel (cached); merge the dossier, stamp its folios and contents numbers, and write
    every PDF."""
    settings = book.settings
    roots = [settings.root, TOOL_ROOT / "templates", TOOL_ROOT / "fonts"]
    cache_dir = _cache_dir(settings) / "parts"
    assets = parts_mod.asset_digest([template_file(settings, "dossier.css"), *(TOOL_ROOT / "fonts" / f for f in FONT_FILES)])
    with _stage(result, "typeset"):
        parts = [front_part(book, environment, html_path), *body_parts(book, environment, html_path)] if dossier else []
        extra = [handout_part(book, handout, environment, html_path) for handout in handouts]
        pages = None

        def ready(index: int, laid: parts_mod.Laid) -> None:  # the jobs are out: merge what is there
            nonlocal pages
            if index < len(parts):
                from . import merge as merge_mod  # pypdf, loaded while the workers typeset

                pages = pages or merge_mod.Pages(len(parts))
                pages.add(index, laid)

        laid_all = parts_mod.typeset_parts(parts + extra, html_path, roots, cache_dir, assets, workers, ready)
        laid, laid_handouts = laid_all[: len(parts)], laid_all[len(parts):]
        digits = max(SLOT_DIGITS, len(str(len(parts_mod.place(parts, laid).page_kinds)))) if dossier else SLOT_DIGITS
        if digits > SLOT_DIGITS:  # a book of 1,000 pages or more: wider slots in the contents
            parts[0] = front_part(book, environment, html_path, digits)
            laid[0] = parts_mod.typeset_parts(parts[:1], html_path, roots, cache_dir, assets, workers)[0]
            pages = None
            for i, part_laid in enumerate(laid):
                ready(i, part_laid)
        result.typeset_parts = sum(1 for part in laid + laid_handouts if not part.cached)
        result.parts = len(laid) + len(laid_handouts)
    with _stage(result, "merge"):
        if dossier:
            from . import merge as merge_mod

            placed = parts_mod.place(parts, laid)
            stamps: dict[int, list] = {}  # merged page index -> the contents numbers stamped on it
            for id_, level in _contents_ids(book):
                slot, target = placed.anchors.get(f"toc-page-{id_}"), placed.anchors.get(id_)
                if slot and target:
                    page, x1, y1, x2, y2 = slot
                    number = str(target[0] + 1).rjust(digits, "\u2007")
                    stamps.setdefault(page, []).append((f"toc-{level}", x1, y1, x2, y2, number))
            # The layer in two documents, one per worker, the second starting on a right-hand page.
            kinds = [_folio_page(k) for k in placed.page_kinds]
            half = len(kinds) // 4 * 2
            layers, layer_keys = [], []
            for start, stop in ((0, half), (half, len(kinds))) if half else ((0, len(kinds)),):
                html_text = assemble(book, html_path, "folios.html.j2", {
                    "kinds": kinds[start:stop], "first": start, "stamps": stamps}, environment)
                layer, key = parts_mod.render_cached(html_text, html_path, roots, cache_dir, assets, workers)
                layers.append(layer)
                layer_keys.append(key)
            writer = merge_mod.merge(pages, parts, laid, placed, layers, _metadata(settings), settings.language)
            pdf_path = out_dir / "dossier.pdf"
            write_atomically(pdf_path, writer.write)
            result.pages = len(placed.page_kinds)
            result.outputs.append(pdf_path)
            result.described[pdf_path] = f"{result.pages} pages, {result.notes} notes, {result.bibliography} works in the bibliography"
            _report_notes(result, laid, placed.offsets)
        for handout, laid_handout in zip(handouts, laid_handouts):
            _write_handout(settings, handout, laid_handout, out_dir / "handouts" / f"{handout.name}.pdf", result)
        if dossier and handouts:  # a build of everything knows what is still in use
            parts_mod.prune_cache(cache_dir, laid + laid_handouts, also=tuple(layer_keys))
        if handouts:
            names = {f"{handout.name}.pdf" for handout in handouts}
            for stale in (out_dir / "handouts").glob("*.pdf"):
                if stale.name not in names and not (settings.path("content_dir") / "handouts" / f"{stale.stem}.md").exists():
                    stale.unlink()  # its source is gone


def _write_handout(settings: Settings, handout: Handout, laid: parts_mod.Laid, path: Path, result: BuildResult) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(laid.pdf))
    writer.add_metadata({**_metadata(settings), "/Title": handout.part.chapter.title})
    write_atomically(path, writer.write)
    result.outputs.append(path)
    orientation = "landscape" if laid.sizes[0][0] > laid.sizes[0][1] else "portrait"
    result.described[path] = f"{laid.pages} page{'s' if laid.pages != 1 else ''}, {orientation}"
    if laid.pages > handout.max_pages:
        source = handout.part.chapter.location.path
        result.warnings.append(warning(source, 1, f"the handout runs to {laid.pages} pages; its template '{handout.template}' is for {handout.max_pages} at most"))
    _report_notes(result, [laid], [0], where=f" of {path.name}")


def _report_notes(result: BuildResult, laid, offsets, where: str = "") -> None:
    for offset, part in zip(offsets, laid):
        result.warnings += [warning("", 0, text.removeprefix("warning: ")) for text in part.warnings]
        for note_id, call_page, note_page in part.notes_off_page:
            off = (note_id, offset + call_page, offset + note_page if note_page else 0)
            result.notes_off_page.append(off)
            printed = f"printed on page {off[2]}" if note_page else "missing from the PDF"
            result.warnings.append(warning("", 0, f"note {note_id} is called on page {off[1]}{where} but {printed}"))


def _folio_page(kind: str) -> str:
    """The named page that draws (or, for the front matter and padding, omits) a folio."""
    return {"front": "front", "pad": "front", "landscape": "landscape"}.get(kind, "auto")


def _metadata(settings: Settings) -> dict[str, str]:
    stamp = settings.date.strftime("D:%Y%m%d%H%M%SZ")
    return {
        "/Title": settings.title,
        "/Author": ", ".join(settings.authors),
        "/Subject": settings.subject,
        "/Keywords": ", ".join(settings.keywords),
        "/Creator": "dossier",
        "/Producer": f"WeasyPrint {_weasyprint_version()} and pypdf",
        "/CreationDate": stamp,
        "/ModDate": stamp,
    }


def _weasyprint_version() -> str:
    from importlib.metadata import version

    return version("weasyprint")


def gather(settings: Settings, warnings: list[Problem]) -> Book:
    """Read chapters, bibliography and data; render the chapters in reading order."""
    root = settings.root
    problems: list[Problem] = []
    chapters, found = read_chapters(settings.path("content_dir"), root, settings.language)
    problems += found
    references, found = bib.load_bibliography(sorted(settings.path("bib_dir").glob("*.bib")), root)
    problems += found
    treaties, found = data.load(settings.path("content_dir") / data.DATA_FILE, root)
    problems += found
    _stop_on_errors(problems, warnings)

    style = chicago.NoteStyle(references, chicago.StyleOptions(ibid=settings.ibid))
    rendered, found = render_chapters(chapters, style, references, treaties, settings)
    problems += found
    problems += _check_citations(settings, references, style.cited_keys)
    problems += glyph_problems(chapters, references.values(), _data_texts(treaties) + _settings_texts(settings),
                               cache_dir=_cache_dir(settings))
    _stop_on_errors(problems, warnings)

    listed = [references[key] for key in dict.fromkeys([*style.cited_keys, *settings.nocite]) if key in references]
    entries = tuple((ref.key, text) for ref, text in chicago.bibliography(listed))
    return Book(settings=settings, chapters=tuple(rendered), bibliography=entries, treaties=treaties, references=references)


def render_chapters(chapters, style, references, treaties: data.TreatyData, settings: Settings) -> tuple[list[RenderedChapter], list[Problem]]:
    """Render chapters in reading order with one citation style (first citations, short notes)."""
    problems: list[Problem] = []
    environment = data_environment(data.finalize)
    context = data.chapter_context(treaties)
    known_treaties = {t.values["id"] for t in treaties.treaties}
    rendered = []
    for chapter in chapters:
        if chapter.treaty:
            if chapter.treaty not in known_treaties:
                problems.append(error(chapter.location.path, _front_matter_line(chapter, "treaty"), f"unknown treaty '{chapter.treaty}' (the data has: {', '.join(sorted(known_treaties)) or 'none'})"))
                continue
            # The key-facts box opens the chapter; two lines ahead of the body, so lines stay right.
            chapter = replace(chapter, body=f"{{{{ key_facts({chapter.treaty!r}) }}}}\n\n{chapter.body}", body_line=chapter.body_line - 2)
        part, found = render_chapter(chapter, style, references, context, environment)
        problems += found
        if part is not None:
            html_text, found = check_resources(part.html, chapter, settings.root, settings.path("output_dir"))
            problems += found
            rendered.append(RenderedChapter(part.chapter, html_text, part.headings, part.note_count))
    return rendered, problems


def glyph_problems(chapters, references=(), other: list[tuple[str, int, str]] = (), cache_dir: Path | None = None) -> list[Problem]:
    """Characters the book face cannot draw, in chapters, bibliography, data and settings."""
    coverage = audit.font_coverage(tuple(TOOL_ROOT / "fonts" / name for name in FONT_FILES), cache_dir)
    texts = [(c.location.path, c.body_line, c.body) for c in chapters]
    texts += [(ref.location.path, ref.location.line, " ".join(ref.fields.values())) for ref in references]
    return audit.missing_glyphs(texts + list(other), coverage)


def _data_texts(treaties: data.TreatyData) -> list[tuple[str, int, str]]:
    texts = []
    for treaty in treaties.treaties:
        for key, value in treaty.values.items():
            texts.append((treaties.path, treaty.lines.get(key, 0), _flatten(value)))
    texts += [(treaties.path, event.line, event.label) for event in treaties.events]
    return texts


def _settings_texts(settings: Settings) -> list[tuple[str, int, str]]:
    return [("pyproject.toml", 0, " ".join([settings.title, settings.subtitle, *settings.authors]))]


def _flatten(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {_flatten(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(_flatten(v) for v in value)
    return str(value)


def _front_matter_line(chapter, key: str) -> int:
    for number, line in enumerate(chapter.path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def _check_citations(settings: Settings, references, cited: list[str]) -> list[Problem]:
    problems = []
    cited_set = set(cited)
    for key in settings.nocite:
        if key not in references:
            problems.append(error("pyproject.toml", 0, f"nocite: unknown citation key '{key}'"))
    for key, ref in references.items():
        if key in cited_set:
            missing = chicago.missing_fields(ref)
            if missing:
                problems.append(warning(ref.location.path, ref.location.line, f"entry '{key}' lacks {', '.join(missing)}, which the style needs"))
        elif key not in settings.nocite:
            problems.append(warning(ref.location.path, ref.location.line, f"entry '{key}' is never cited"))
    return problems


def _stop_on_errors(problems: list[Problem], warnings: list[Problem]) -> None:
    if errors_in(problems):
        raise BuildError(sorted(problems, key=lambda p: (p.severity != "error", p.location.path, p.location.line)))
    warnings += problems
    problems.clear()


def template_dirs(settings: Settings) -> list[Path]:
    """The project's templates first; the built-in ones fill in what it does not override."""
    return list(dict.fromkeys(p.resolve() for p in (settings.path("templates_dir"), TOOL_ROOT / "templates") if p.is_dir()))


def template_file(settings: Settings, name: str) -> Path:
    return next((d / name for d in template_dirs(settings) if (d / name).exists()), TOOL_ROOT / "templates" / name)


def template_environment(settings: Settings) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dirs(settings)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["css_string"] = css_string
    return environment


def css_string(value: str) -> Markup:
    """A CSS string literal for a stylesheet inside the HTML (where entities are not decoded)."""
    escaped = "".join(c if c.isalnum() or c in " .,;:–—-'’()!?" else f"\\{ord(c):x} " for c in str(value))
    return Markup(f'"{escaped}"')


def assemble(book: Book, html_path: Path, template_name: str = "dossier.html.j2", extra: dict | None = None,
             environment: jinja2.Environment | None = None) -> str:
    settings = book.settings
    environment = environment or template_environment(settings)
    css = template_file(settings, "dossier.css")
    context = {
        "settings": settings,
        "chapters": book.chapters,
        "bibliography": book.bibliography,
        "stylesheets": [_relative(css, html_path.parent)],
        "generator": f"dossier with WeasyPrint {_weasyprint_version()}",
        # A part's HTML must not change by the second, or its cached PDF would never be reused;
        # the merged PDF gets its dates from the metadata instead.
        "date_iso": settings.date.strftime("%Y-%m-%dT%H:%M:%SZ") if template_name == "dossier.html.j2" else "",
        "date_display": f"{settings.date.day} {settings.date:%B %Y}",
        "pages": {},
        "layer": "",  # contents: "" (target-counter) or "slots" (see contents.html.j2)
        **(extra or {}),
    }
    try:
        return environment.get_template(template_name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise BuildError([error(_template_path(settings, exc.filename or exc.name or template_name), exc.lineno or 0, f"template: {exc.message}")]) from None
    except jinja2.TemplateNotFound as exc:
        raise BuildError([error(_template_path(settings, template_name), 0, f"template not found: {exc.name}")]) from None
    except (jinja2.UndefinedError, TypeError) as exc:
        path, line = _template_frame(exc, settings)
        raise BuildError([error(path, line, f"template: {exc}")]) from None


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def _template_path(settings: Settings, filename: str) -> str:
    path = Path(filename)
    if not path.is_absolute():
        path = settings.path("templates_dir") / path
    try:
        return path.resolve().relative_to(settings.root).as_posix()
    except ValueError:
        return str(path)


def _template_frame(exc: BaseException, settings: Settings) -> tuple[str, int]:
    """The template file and line of the innermost template frame in the traceback."""
    found = ("templates", 0)
    templates = str(settings.path("templates_dir").resolve())
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(templates):
            found = (_template_path(settings, filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


@contextmanager
def _stage(result: BuildResult, name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        result.timings[name] = result.timings.get(name, 0.0) + time.perf_counter() - start
