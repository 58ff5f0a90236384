"""Handouts: short pieces for the copier, each from its own Markdown in ``content/handouts/``.

A handout is read and rendered like a chapter (front matter, citations, notes at the foot,
data references, a key-facts box when it names a treaty), with a citation style of its
own, so that its first note of a work is a full one. It is laid out by its own template
(``template:`` in the front matter; ``handout`` by default, ``handout-sheet`` for a single
landscape page) and closes with the list of the works it cites. A handout whose source has
errors, or names no template there is, is reported and skipped; the others are still built.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import words
from .book import Book, chapter_language_problems, glyph_problems, render_chapters
from .cite import chicago
from .model import RenderedChapter
from .problems import Problem, error, errors_in
from .project import Settings, template_dirs
from .read.chapters import read_chapters

FOLDER = "handouts"
MAX_PAGES = {"handout": 2, "handout-sheet": 1}


@dataclass(frozen=True)
class Handout:
    name: str  # file stem: output/handouts/<name>.pdf
    template: str
    part: RenderedChapter
    sources: tuple[tuple[str, str], ...]  # (key, entry HTML)

    @property
    def max_pages(self) -> int:
        return MAX_PAGES.get(self.template, 2)


def gather_handouts(book: Book) -> tuple[list[Handout], list[Problem], list[Problem]]:
    """Render every handout; returns (handouts, their errors, their warnings)."""
    settings = book.settings
    folder = settings.path("content_dir") / FOLDER
    if not folder.is_dir():
        return [], [], []
    sources, problems = read_chapters(folder, settings.root, settings.language)  # a broken file is not among them
    handouts, errors, warnings = [], errors_in(problems), [p for p in problems if p not in errors_in(problems)]
    templates = template_names(settings)
    for source in sources:
        style = chicago.NoteStyle(book.references, chicago.StyleOptions(ibid=settings.ibid))
        rendered, found = render_chapters([source], style, book.references, book.treaties, settings)
        found += glyph_problems(settings, [source]) + chapter_language_problems([source])
        template = source.template or "handout"
        if template not in templates:
            found.append(error(source.location.path, source.key_lines.get("template", 1),
                               f"no handout template '{template}' (there are: {', '.join(sorted(templates))})"))
        if errors_in(found) or not rendered:
            errors += errors_in(found)
            continue
        warnings += found
        cited = [book.references[key] for key in style.cited_keys]
        with words.speaking(source.lang):
            entries = tuple((ref.key, text) for ref, text in chicago.bibliography(cited))
        handouts.append(Handout(source.path.stem, template, rendered[0], entries))
    return handouts, errors, warnings


def template_names(settings: Settings) -> set[str]:
    """The templates a handout can name: ``handout*.html.j2`` in the project's templates or the
    built-in ones (the others lay out the dossier)."""
    return {path.name[: -len(".html.j2")] for folder in template_dirs(settings) for path in folder.glob("handout*.html.j2")}
