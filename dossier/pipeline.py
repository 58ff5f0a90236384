"""The build: read everything, cite and render in reading order, assemble, typeset, audit.

Each stage takes plain data and returns plain data with the problems it found; the
build stops after a stage whose input had errors, reporting all of them at once, and
before anything is written, so the last good outputs stay as they were.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import jinja2
import weasyprint

from . import audit, bib, chicago, data
from .chapters import read_chapters
from .config import Settings, load_settings
from .errors import BuildError, Problem, error, errors_in, warning
from .model import RenderedChapter
from .render import data_environment, render_chapter
from .resources import check_resources
from .typeset import layout, write_atomically, write_pdf

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


@dataclass(frozen=True)
class Book:
    """Everything gathered and rendered: what the templates need."""

    settings: Settings
    chapters: tuple[RenderedChapter, ...]
    bibliography: tuple[tuple[str, str], ...]  # (key, entry HTML), printed order
    treaties: data.TreatyData


def build(root: Path, pdf: bool = True, settings: Settings | None = None, report: Callable[[str], None] | None = None) -> BuildResult:
    """Build ``output/dossier.html`` and, when ``pdf``, ``output/dossier.pdf``."""
    result = BuildResult()
    settings = settings or load_settings(root)
    with _stage(result, "read+render"):
        book = gather(settings, result.warnings)
    out_dir = settings.path("output_dir")
    html_path = out_dir / "dossier.html"
    with _stage(result, "assemble"):
        html_text = assemble(book, html_path)
        write_atomically(html_path, lambda handle: handle.write(html_text.encode("utf-8")))
    result.outputs.append(html_path)
    result.notes = sum(part.note_count for part in book.chapters)
    result.bibliography = len(book.bibliography)
    if pdf:
        pdf_path = out_dir / "dossier.pdf"
        with _stage(result, "typeset"):
            html_text, document, laid_out, found, result.notes_off_page = _typeset_with_notes_kept(book, html_text, html_path)
            write_pdf(document, html_text, pdf_path)
        write_atomically(html_path, lambda handle: handle.write(html_text.encode("utf-8")))
        result.warnings += found
        result.outputs.append(pdf_path)
        result.pages = laid_out.pages
        for note_id, call_page, note_page in result.notes_off_page:
            where = f"printed on page {note_page}" if note_page else "missing from the PDF"
            result.warnings.append(warning("", 0, f"note {note_id} is called on page {call_page} but {where}"))
    return result


MAX_NUDGES = len(audit.NUDGES)


def _typeset_with_notes_kept(book: Book, html_text: str, html_path: Path):
    """Lay out; while a note lands off its call's page, nudge its block and lay out again."""
    roots = [book.settings.root, TOOL_ROOT / "templates", TOOL_ROOT / "fonts"]
    calls = [
        (f"call-{part.chapter.slug}-{n}", f"note-{part.chapter.slug}-{n}")
        for part in book.chapters
        for n in range(1, part.note_count + 1)
    ]
    levels: dict[str, int] = {}
    adjusted = html_text
    while True:
        document, laid_out, found = layout(adjusted, html_path, roots)
        off = audit.notes_off_page(laid_out.anchors, calls)
        pending = [note for note, _, _ in off if levels.get(note, 0) < MAX_NUDGES]
        if not pending:
            return adjusted, document, laid_out, found, off
        for note in pending:
            levels[note] = levels.get(note, 0) + 1
        adjusted = audit.nudge(html_text, levels)


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
    environment = data_environment({"finalize": data.finalize})
    output_dir = settings.path("output_dir")
    rendered = []
    context = data.chapter_context(treaties)
    known_treaties = {t.values["id"] for t in treaties.treaties}
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
            html_text, found = check_resources(part.html, chapter, root, output_dir)
            problems += found
            rendered.append(RenderedChapter(part.chapter, html_text, part.headings, part.note_count))
    problems += _check_citations(settings, references, style.cited_keys)
    coverage = audit.font_coverage(tuple(TOOL_ROOT / "fonts" / name for name in FONT_FILES))
    texts = [(c.location.path, c.body_line, c.body) for c in chapters]
    texts += [(ref.location.path, ref.location.line, " ".join(ref.fields.values())) for ref in references.values()]
    problems += audit.missing_glyphs(texts, coverage)
    _stop_on_errors(problems, warnings)

    listed = [references[key] for key in dict.fromkeys([*style.cited_keys, *settings.nocite]) if key in references]
    entries = tuple((ref.key, text) for ref, text in chicago.bibliography(listed))
    return Book(settings=settings, chapters=tuple(rendered), bibliography=entries, treaties=treaties)


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
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dirs(settings)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def assemble(book: Book, html_path: Path, template_name: str = "dossier.html.j2") -> str:
    settings = book.settings
    environment = template_environment(settings)
    css = template_file(settings, "dossier.css")
    context = {
        "settings": settings,
        "chapters": book.chapters,
        "bibliography": book.bibliography,
        "stylesheets": [_relative(css, html_path.parent)],
        "generator": f"dossier with WeasyPrint {weasyprint.__version__}",
        "date_iso": settings.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "date_display": f"{settings.date.day} {settings.date:%B %Y}",
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
