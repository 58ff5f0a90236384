"""Read the chapters: every ``content/*.md`` file, ordered by file name.

A chapter may open with YAML front matter between ``---`` lines:

    ---
    title: The Soviet–Lithuanian Treaty
    short_title: Moscow 1920      # running head
    lang: en                      # hyphenation and the PDF's language
    order: 2                      # optional: sort key instead of the file name
    treaty: lithuania             # optional: key-facts box from content/treaties.yaml
    template: handout-sheet       # handouts only: the template that lays it out
    ---
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path


from ..files import ReadError, display_path, read_text
from ..model import Chapter
from ..problems import Location, Problem, error
from . import yaml_safe
from .typography import smart_quotes

FRONT_MATTER_KEYS = {"title", "short_title", "lang", "order", "treaty", "template", "appendix"}
MAX_CHARACTERS = 2_000_000  # fifty times the longest chapter of the dossier: beyond it, typesetting would take hours
TEXT_KEYS = FRONT_MATTER_KEYS - {"order", "appendix"}  # a text (a number is read as text); order: a number or a text


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def read_chapters(content_dir: Path, root: Path, default_lang: str) -> tuple[list[Chapter], list[Problem]]:
    chapters, problems = [], []
    for path in sorted(content_dir.glob("*.md")):
        if path.name.lower() == "readme.md" or path.name.startswith("."):  # an editor's lock or backup file
            continue
        chapter, found = read_chapter(path, root, default_lang)
        problems += found
        if chapter:
            chapters.append(chapter)
    chapters.sort(key=lambda c: c.order)
    seen: dict[str, Chapter] = {}
    for chapter in chapters:
        if chapter.slug in seen:
            problems.append(error(chapter.location.path, 1, f"chapter name '{chapter.slug}' is also that of {seen[chapter.slug].location.path}: "
                                  "rename one file (its name without the leading number names its notes and sections)"))
        seen.setdefault(chapter.slug, chapter)
    return chapters, problems


def read_chapter(path: Path, root: Path, default_lang: str = "en") -> tuple[Chapter | None, list[Problem]]:
    shown = display_path(path, root)
    try:
        text = read_text(path, root)
    except ReadError as exc:
        return None, [exc.problem]
    if len(text) > MAX_CHARACTERS:
        return None, [error(shown, 1, f"the chapter is {len(text):,} characters long, more than {MAX_CHARACTERS:,}: "
                                      "split it into several chapters")]
    text = text.replace("\r\n", "\n")
    meta, body, body_line, key_lines, problems = split_front_matter(text, shown)
    if problems:
        return None, problems
    stem = path.stem
    title = smart_quotes(str(meta.get("title") or _first_heading(body) or _title_from_stem(stem)))
    order = meta.get("order")
    chapter = Chapter(
        path=Path(os.path.abspath(path)),  # a link stays where it is: its images are found beside it
        location=Location(shown, body_line),
        slug=slugify(re.sub(r"^\d+[-_ ]*", "", stem) or stem),
        order=_order_key(order, stem),
        title=title,
        short_title=smart_quotes(str(meta.get("short_title"))) if meta.get("short_title") else title,
        lang=str(meta.get("lang") or default_lang),
        body=body,
        body_line=body_line,
        treaty=str(meta.get("treaty") or ""),
        template=str(meta.get("template") or ""),
        key_lines=key_lines,
        appendix=bool(meta.get("appendix")),
    )
    return chapter, []


def _order_key(order, stem: str) -> tuple:
    """Chapters sort by number (``order: 3``, or the file name's leading number), then by name."""
    if isinstance(order, (int, float)) and not isinstance(order, bool):
        return (float(order), stem)
    name = str(order) if order else stem  # a text order sorts as a file name would
    number = re.match(r"\d+", name)
    return (float(number.group()) if number else float("inf"), name)


def split_front_matter(text: str, shown: str) -> tuple[dict, str, int, dict[str, int], list[Problem]]:
    """Return (front matter, body, line of the body's first line, each key's line, problems)."""
    if not text.startswith("---\n"):
        return {}, text, 1, {}, []
    end = re.search(r"^(---|\.\.\.)[ \t]*$", text[4:], re.M)
    if not end:
        return {}, text, 1, {}, [error(shown, 1, "front matter opened with '---' is never closed")]
    raw = text[4 : 4 + end.start()]
    body_start = 4 + end.end() + 1
    body_line = text[:body_start].count("\n") + 1
    try:
        meta = yaml_safe.load(raw) or {}
    except yaml_safe.ERRORS as exc:
        line, reason = yaml_safe.describe(exc)
        return {}, "", body_line, {}, [error(shown, 2 + line, f"broken front matter: {reason}")]
    if not isinstance(meta, dict):
        return {}, "", body_line, {}, [error(shown, 2, "front matter must be a mapping of 'key: value' lines")]
    problems, key_lines = [], {}
    for key, value in meta.items():
        line = key_lines[str(key)] = 2 + next((i for i, l in enumerate(raw.splitlines()) if l.startswith(f"{key}:")), 0)
        if key not in FRONT_MATTER_KEYS:
            problems.append(error(shown, line, f"unknown front matter key '{key}' (known: {', '.join(sorted(FRONT_MATTER_KEYS))})"))
        elif key in TEXT_KEYS and not _scalar(value):
            problems.append(error(shown, line, f"{key} must be a single text, not {_kind(value)}"))
        elif key == "order" and not _scalar(value):
            problems.append(error(shown, line, f"order must be a number or a text, not {_kind(value)}"))
        elif key == "appendix" and not isinstance(value, bool):
            problems.append(error(shown, line, f"appendix must be true or false, not {value!r}"))
    return meta, text[body_start:], body_line, key_lines, problems


def _scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true or false"
    return {list: "a list", dict: "a mapping"}.get(type(value), f"a {type(value).__name__}")


def _first_heading(body: str) -> str:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", body, re.M)
    return match.group(1) if match else ""


def _title_from_stem(stem: str) -> str:
    return re.sub(r"^\d+[-_ ]*", "", stem).replace("-", " ").replace("_", " ").strip().capitalize() or stem
