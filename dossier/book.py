"""Read, cite and render: everything gathered before anything is laid out.

In: the settings (folders, language, citation options). Out: a ``Book`` (the chapters rendered
to HTML in reading order, with their notes; the bibliography; the treaty data) and the problems
found, each at its file and line. Numbering, short notes and the bibliography need the whole
book, so every chapter is read before any is rendered, in order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import audit, words
from .cite import chicago
from .model import RenderedChapter, chapter_labels
from .problems import BuildError, Problem, error, errors_in, in_order, warning
from .project import Settings, font_files, line_of
from .read import bibtex, classroom as class_data, treaties
from .read.chapters import read_chapters
from .render import classroom as class_render, data
from .render import crossref
from .render.markdown import data_environment, render_chapter
from .render.resources import check_resources


@dataclass(frozen=True)
class Book:
    """Everything gathered and rendered: what the templates need."""

    settings: Settings
    chapters: tuple[RenderedChapter, ...]
    bibliography: tuple[tuple[str, str], ...]  # (key, entry HTML), printed order
    treaties: treaties.TreatyData
    references: dict = field(default_factory=dict)
    classroom: class_data.Classroom = class_data.Classroom()
    # (id, title, note, entries) of each section with entries; one untitled where none is set
    bibliography_sections: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = ()
    pages: dict = field(default_factory=dict)  # id -> the page it prints on, for page references (laid out)


def cache_dir(settings: Settings) -> Path:
    """What the build keeps between runs (typeset parts, the fonts' coverage); safe to delete."""
    return settings.path("output_dir") / ".cache"


def gather(settings: Settings, warnings: list[Problem]) -> Book:
    """Read chapters, bibliography and data; render the chapters in reading order. Warnings
    are added to ``warnings``; errors raise ``BuildError`` with all of them."""
    root = settings.root
    problems: list[Problem] = []
    chapters, found = read_chapters(settings.path("content_dir"), root, settings.language)
    problems += found
    bib_files = sorted(path for path in settings.path("bib_dir").glob("*.bib") if not path.name.startswith("."))
    references, found = bibtex.load_bibliography(bib_files, root)
    problems += found
    treaty_data, found = treaties.load(settings.path("content_dir") / treaties.DATA_FILE, root)
    problems += found
    classroom, found = class_data.load(settings.path("content_dir") / class_data.DATA_FILE, root)
    problems += found
    problems += _check_class_sources(classroom, references)
    problems += language_problems(settings, chapters)
    _stop_on_errors(problems, warnings)

    style = chicago.NoteStyle(references, chicago.StyleOptions(ibid=settings.ibid))
    rendered, found = render_chapters(chapters, style, references, treaty_data, settings, classroom)
    problems += found
    warnings += unused_terms(classroom, chapters)
    problems += _check_citations(settings, references, style.cited_keys)
    problems += glyph_problems(settings, chapters, references.values(), _data_texts(treaty_data) + _class_texts(classroom) + _settings_texts(settings))
    _stop_on_errors(problems, warnings)

    quoted = [key for _, key, _ in class_render.source_keys(classroom) if key]  # named in the class material's text
    listed = [references[key] for key in dict.fromkeys([*style.cited_keys, *settings.nocite, *quoted]) if key in references]
    sections, found = bibliography_sections(settings, listed)
    warnings += found
    entries = tuple(entry for *_, section in sections for entry in section)
    return Book(settings=settings, chapters=tuple(rendered), bibliography=entries, bibliography_sections=sections,
                treaties=treaty_data, references=references)


def bibliography_sections(settings: Settings, listed) -> tuple[tuple, list[Problem]]:
    """The bibliography by the settings' sections: (id, title, note, entries) for each that has
    entries; an entry in no section is a warning at its line (and listed in none)."""
    with words.speaking(settings.language):
        return _sections(settings, listed)


def _sections(settings: Settings, listed) -> tuple[tuple, list[Problem]]:
    if not settings.bibliography_sections:
        return (("bibliography", "", "", tuple((ref.key, text) for ref, text in chicago.bibliography(listed))),), []
    remaining, sections = list(listed), []
    for number, (title, keyword, note) in enumerate(settings.bibliography_sections, 1):
        taken = [ref for ref in remaining if not keyword or keyword.lower() in _keywords(ref)]
        remaining = [ref for ref in remaining if ref not in taken]
        if taken:
            entries = tuple((ref.key, text) for ref, text in chicago.bibliography(taken))
            sections.append((f"bibliography-{number}", title, note, entries))
    names = ", ".join(f"'{keyword}'" for _, keyword, _ in settings.bibliography_sections)
    problems = [warning(ref.location.path, ref.location.line, f"entry '{ref.key}' is in no bibliography section: "
                        f"give it one of the keywords {names} (keywords = {{…}})") for ref in remaining]
    return tuple(sections), problems


def language_problems(settings: Settings, chapters) -> list[Problem]:
    """A language with no locale here (``language = "xx"``, a chapter's ``lang: xx``) is written
    in English: a warning at its line."""
    found = []
    if not words.has_locale(settings.language):
        found.append(warning("pyproject.toml", line_of(settings.root / "pyproject.toml", "language"),
                             f"language = \"{settings.language}\": the build has no words for this language, so "
                             f"its headings, notes and dates are printed in English (it has: {_SHIPPED})"))
    return found + chapter_language_problems(chapters)


_SHIPPED = ", ".join(sorted(words.PRIMARY))


def chapter_language_problems(chapters) -> list[Problem]:
    found = []
    for chapter in chapters:
        if "lang" in chapter.key_lines and not words.has_locale(chapter.lang):
            found.append(warning(chapter.location.path, chapter.key_lines["lang"],
                                 f"lang: {chapter.lang}: the build has no words for this language, so this "
                                 f"chapter's notes are printed in English (it has: {_SHIPPED})"))
    return found


def _keywords(ref) -> set[str]:
    return {word.strip().lower() for word in re.split(r"[,;]", ref.fields.get("keywords", "")) if word.strip()}


def render_chapters(chapters, style, references, treaty_data: treaties.TreatyData, settings: Settings,
                    classroom: class_data.Classroom = class_data.Classroom()) -> tuple[list[RenderedChapter], list[Problem]]:
    """Render chapters in reading order with one citation style (first citations, short notes)."""
    problems: list[Problem] = []
    environment = data_environment(data.finalize)
    context = {**data.chapter_context(treaty_data),
               **class_render.chapter_context(classroom, treaty_data, _chapter_texts(chapters),
                                              lambda source: chicago.short_form(references, source))}
    known_treaties = {t.values["id"] for t in treaty_data.treaties}
    rendered = []
    for chapter in chapters:
        if settings.full_note_each_chapter:
            style.new_chapter()
        if chapter.treaty:
            if chapter.treaty not in known_treaties:
                problems.append(error(chapter.location.path, chapter.key_lines.get("treaty", 1), f"unknown treaty '{chapter.treaty}' (the data has: {', '.join(sorted(known_treaties)) or 'none'})"))
                continue
            # The key-facts box opens the chapter; two lines ahead of the body, so lines stay right.
            chapter = replace(chapter, body=f"{{{{ key_facts({chapter.treaty!r}) }}}}\n\n{chapter.body}", body_line=chapter.body_line - 2)
        with words.speaking(chapter.lang):  # the notes' words: "ed.", "n.d.", the months
            part, found = render_chapter(chapter, style, references, context, environment)
        problems += found
        if part is not None:
            html_text, found = check_resources(part.html, chapter, settings.root, settings.path("output_dir"))
            problems += found
            rendered.append(replace(part, html=html_text))
    rendered, found = crossref.resolve(rendered, chapter_labels(rendered), settings.language, settings.number_sections)
    return rendered, problems + found


def _chapter_texts(chapters) -> list[tuple[str, str]]:
    """(label, Markdown) of the chapters proper, not the appendices: where the class material
    looks for its terms and people."""
    labels = chapter_labels(chapters)
    return [(labels[c.slug][1], c.body) for c in chapters if not c.appendix]


def unused_terms(classroom: class_data.Classroom, chapters) -> list[Problem]:
    """A glossary term that no chapter uses is most likely misspelt, or no longer needed."""
    texts = _chapter_texts(chapters)
    return [warning(classroom.path, entry.line, f"the glossary term '{entry['term']}' appears in no chapter: "
                                                 "check its spelling, or leave it out")
            for entry in classroom.glossary if not class_render.chapters_using(entry["term"], texts)]


def _check_class_sources(classroom: class_data.Classroom, references) -> list[Problem]:
    return [error(classroom.path, line, f"source: {problem}" if problem else
                  f"source: unknown citation key '{key}' (the bibliography has no such entry)")
            for line, key, problem in class_render.source_keys(classroom) if problem or key not in references]


def glyph_problems(settings: Settings, chapters, references=(), other: list[tuple[str, int, str]] = ()) -> list[Problem]:
    """Characters the book face cannot draw, in chapters, bibliography, data and settings."""
    coverage = audit.font_coverage(font_files(), cache_dir(settings))
    texts = [(c.location.path, c.body_line, c.body) for c in chapters]
    texts += [(ref.location.path, ref.location.line, " ".join(ref.fields.values())) for ref in references]
    return audit.missing_glyphs(texts + list(other), coverage)


def _data_texts(treaty_data: treaties.TreatyData) -> list[tuple[str, int, str]]:
    texts = []
    for treaty in treaty_data.treaties:
        for key, value in treaty.values.items():
            texts.append((treaty_data.path, treaty.lines.get(key, 0), _flatten(value)))
    texts += [(treaty_data.path, event.line, event.label) for event in treaty_data.events]
    return texts


def _class_texts(classroom: class_data.Classroom) -> list[tuple[str, int, str]]:
    return [(classroom.path, entry.line, _flatten({k: v for k, v in entry.values.items() if isinstance(v, (str, list))}))
            for entries in (classroom.glossary, classroom.people, classroom.vilnius, classroom.quotations)
            for entry in entries]


def _settings_texts(settings: Settings) -> list[tuple[str, int, str]]:
    pyproject = settings.root / "pyproject.toml"
    return [("pyproject.toml", line_of(pyproject, key), " ".join(value) if isinstance(value, tuple) else value)
            for key, value in (("title", settings.title), ("subtitle", settings.subtitle), ("authors", settings.authors))]


def _flatten(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {_flatten(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(_flatten(v) for v in value)
    return str(value)


def _check_citations(settings: Settings, references, cited: list[str]) -> list[Problem]:
    problems = []
    cited_set = set(cited)
    for key in settings.nocite:
        if key not in references:
            problems.append(error("pyproject.toml", line_of(settings.root / "pyproject.toml", "nocite"),
                                  f"nocite: unknown citation key '{key}'"))
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
        raise BuildError(in_order(problems))
    warnings += problems
    problems.clear()
