"""Assemble: the book's HTML through the Jinja templates, whole and as parts.

In: a ``Book`` and the template environment. Out: ``output/dossier.html`` (the whole book, for
the reader and the preview) and the ``Part`` list the typesetter lays out one by one (the front
matter with blank slots for the contents' page numbers, each chapter, the bibliography, each
handout), and the folio layer that is stamped over the merged pages. A template error names the
template's file and line.
"""
from __future__ import annotations

import os
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import words
from .book import Book
from .files import display_path
from .handouts import Handout
from .model import chapter_labels
from .problems import BuildError, error
from .render.crossref import fill_pages
from .render.data import split_turned
from .project import Settings, css_string, template_dirs, template_environment, template_file
from .typeset.parts import Part

# Room for a page number in the front matter's contents, in figure spaces (as wide as a digit).
SLOT_DIGITS = 3


def assemble(book: Book, html_path: Path, template_name: str = "dossier.html.j2", extra: dict | None = None,
             environment: jinja2.Environment | None = None) -> str:
    settings = book.settings
    environment = environment or template_environment(settings)
    context = {
        "settings": settings,
        "chapters": book.chapters,
        "labels": chapter_labels(book.chapters, settings.language),
        "term": words.term,  # term(language, name): the words the build writes ("contents", "chapter"…)
        "page_of": page_of,  # page_of(language): "Page " counter(page) " of " counter(pages), as CSS
        "bibliography": book.bibliography,
        "bibliography_sections": book.bibliography_sections,
        "stylesheets": [_relative(path, html_path.parent) for path in stylesheets(settings)],
        "generator": f"dossier with WeasyPrint {weasyprint_version()}",
        # A part's HTML must not change by the second, or its cached PDF would never be reused;
        # the merged PDF gets its dates from the metadata instead.
        "date_iso": settings.date.strftime("%Y-%m-%dT%H:%M:%SZ") if template_name == "dossier.html.j2" else "",
        "date_display": words.title_date(settings.language, settings.date),
        "pages": {},
        "layer": "",  # contents: "" (target-counter) or "slots" (see contents.html.j2)
        "listed": listed(book) if settings.list_of_figures else [],  # the list of figures and tables
        **(extra or {}),
    }
    try:
        return fill_pages(environment.get_template(template_name).render(context), book.pages)
    except jinja2.TemplateSyntaxError as exc:
        raise BuildError([error(_template_path(settings, exc.filename or exc.name or template_name), exc.lineno or 0, f"template: {exc.message}")]) from None
    except jinja2.TemplateNotFound as exc:
        frame = _template_frame(exc, settings)
        if frame is None:  # the template asked for itself
            raise BuildError([error(_template_path(settings, template_name), 0, f"template not found: {exc.name}")]) from None
        raise BuildError([error(*frame, f"template not found: {exc.name}{_laying_out(context, exc, settings)}")]) from None
    except BuildError:  # a template the loader refused (outside the project, not UTF-8): its own problem
        raise
    except Exception as exc:  # a template is the project's: whatever it raises is the author's to fix
        path, line = _template_frame(exc, settings) or (_template_path(settings, template_name), 0)
        raise BuildError([error(path, line, f"template: {_describe(exc)}{_laying_out(context, exc, settings)}")]) from None


def stylesheets(settings: Settings) -> list[Path]:
    """The print stylesheet; for the booklet's half-size pages, its own after it."""
    return [template_file(settings, name) for name in ("dossier.css", "booklet.css")[: 2 if settings.half_sheet else 1]]


def weasyprint_version() -> str:
    return version("weasyprint")


def front_part(book: Book, environment: jinja2.Environment, html_path: Path, digits: int = SLOT_DIGITS) -> Part:
    """Title page and contents, with a blank slot where each page number goes: the numbers
    are stamped later, so the front matter does not wait for, or depend on, the chapters."""
    slots = {id_: "\u2007" * digits for id_, _ in contents_ids(book)}
    html_text = assemble(book, html_path, "part.html.j2", {"kind": "front", "pages": slots, "layer": "slots"}, environment)
    return Part("front", "front", html_text, headings=((1, "contents", "Contents"),), source="pyproject.toml")


def contents_ids(book: Book) -> list[tuple[str, str]]:
    """The ids the contents gives a page number for, each with its level ("chapter" or
    "section", the entry's class in contents.html.j2)."""
    ids = []
    for part in book.chapters:
        ids += [(f"{part.chapter.slug}-title", "chapter"), *((id_, "section") for level, id_, _ in part.headings if level == 2)]
    if book.settings.list_of_figures:
        ids += [(id_, "section") for _, id_, _, _ in listed(book)]
    if book.bibliography:
        ids += [("bibliography-title", "chapter"), *((id_, "section") for id_, title, *_ in book.bibliography_sections if title)]
    return ids


def listed(book: Book) -> list[tuple[str, str, str, str]]:
    """The book's numbered figures and tables: (kind, id, "Figure 1.", caption), figures first."""
    items = [item for part in book.chapters if part.refs for item in part.refs.listed]
    return [item for kind in ("figure", "table") for item in items if item[0] == kind]


def body_parts(book: Book, environment: jinja2.Environment, html_path: Path) -> list[Part]:
    """The chapters and the bibliography, each a part typeset on its own."""
    parts = []
    for chapter in book.chapters:
        slug = chapter.chapter.slug
        if book.settings.half_sheet:  # a table turned on a page too small for it goes over two
            chapter = replace(chapter, html=split_turned(chapter.html))
        html_text = assemble(book, html_path, "part.html.j2", {"kind": "chapter", "part": chapter}, environment)
        notes = tuple((f"call-{slug}-{n}", f"note-{slug}-{n}") for n in range(1, chapter.note_count + 1))
        headings = ((1, f"{slug}-title", chapter.chapter.title), *chapter.headings)
        parts.append(Part(slug, "chapter", html_text, notes, headings, chapter.chapter.location.path, chapter.note_lines,
                          (chapter.chapter.body_line, chapter.chapter.body)))
    if book.bibliography:
        bib_files = sorted({book.references[key].location.path for key, _ in book.bibliography})
        parts.append(Part("back", "back", assemble(book, html_path, "part.html.j2", {"kind": "back"}, environment),
                          headings=((1, "bibliography-title", words.term(book.settings.language, "bibliography")),
                                    *((2, id_, title) for id_, title, *_ in book.bibliography_sections if title)), source=bib_files[0],
                          text=(1, _read(book.settings.root / bib_files[0]))))
    return parts


def handout_part(book: Book, handout: Handout, environment: jinja2.Environment, html_path: Path) -> Part:
    chapter = handout.part
    slug = chapter.chapter.slug
    html_text = assemble(book, html_path, f"{handout.template}.html.j2", {"handout": handout}, environment)
    notes = tuple((f"call-{slug}-{n}", f"note-{slug}-{n}") for n in range(1, chapter.note_count + 1))
    return Part(f"handout-{handout.name}", "handout", html_text, notes, source=chapter.chapter.location.path,
                note_lines=chapter.note_lines, text=(chapter.chapter.body_line, chapter.chapter.body))


def page_of(language: str) -> Markup:
    """The CSS ``content`` of a handout's foot, "Page 1 of 2" in ``language``."""
    before, _, rest = words.term(language, "page-of").partition("{page}")
    middle, _, after = rest.partition("{pages}")
    pieces = [css_string(before) if before else "", "counter(page)", css_string(middle), "counter(pages)",
              css_string(after) if after else ""]
    return Markup(" ".join(piece for piece in pieces if piece))


def folio_layer(book: Book, environment: jinja2.Environment, html_path: Path, kinds: list[str], first: int,
                stamps: dict[int, list]) -> str:
    """The folios and running heads of the merged pages ``first`` onwards, and the contents'
    page numbers (``stamps``), as one document to stamp over the pages."""
    return assemble(book, html_path, "folios.html.j2", {"kinds": [_folio_page(k) for k in kinds], "first": first,
                                                         "stamps": stamps}, environment)


def _folio_page(kind: str) -> str:
    """The named page that draws (or, for the front matter and padding, omits) a folio."""
    return {"front": "front", "pad": "front", "landscape": "landscape"}.get(kind, "auto")


def _read(path: Path) -> str:
    """A source file's text, to find the audit's findings in; none where it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def _template_path(settings: Settings, filename: str) -> str:
    path = Path(filename)
    if not path.is_absolute():
        path = settings.path("templates_dir") / path
    return display_path(path, settings.root)


def _template_frame(exc: BaseException, settings: Settings) -> tuple[str, int] | None:
    """The template file and line of the innermost frame of the project's templates in the
    traceback, else of the built-in ones (None when no template was running)."""
    project = str(settings.path("templates_dir").resolve()) + os.sep
    found = {filename.startswith(project): (_template_path(settings, filename), line)
             for filename, line, _ in _template_frames(exc, settings)}
    return found.get(True) or found.get(False)


def _template_frames(exc: BaseException, settings: Settings):
    """(file, line, variables) of each template frame in the traceback, outermost first."""
    folders = tuple(str(folder) + os.sep for folder in template_dirs(settings))
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(folders):
            yield tb.tb_frame.f_code.co_filename, tb.tb_lineno, tb.tb_frame.f_locals
        tb = tb.tb_next


def _laying_out(context: dict, exc: BaseException, settings: Settings) -> str:
    """The chapter or handout whose page was being made, for a message: the innermost template
    frame's ``part`` or ``handout`` (a loop's, in the whole dossier), else the context's."""
    frames = [names for _, _, names in _template_frames(exc, settings)]
    for names in (*reversed(frames), context):
        for name in ("part", "handout"):
            source = _source_of(names.get(name))
            if source:
                return f" (laying out {source})"
    return ""


def _source_of(value) -> str | None:
    try:
        part = getattr(value, "part", value)  # a handout's chapter, or the chapter itself
        return part.chapter.location.path
    except Exception:  # not a chapter, or undefined
        return None


def _describe(exc: Exception) -> str:
    """The exception's message, led by its kind where the message alone would not say ("KeyError: 'x'")."""
    if isinstance(exc, (jinja2.TemplateError, ZeroDivisionError, TypeError, ValueError)) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
