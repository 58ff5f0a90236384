"""What the layout did: notes printed off their call's page, characters the book face lacks."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont

from .errors import Problem, warning


@lru_cache(maxsize=8)
def font_coverage(font_files: tuple[Path, ...]) -> frozenset[int]:
    """Code points that every one of the faces (regular, italic, bold…) can draw."""
    covered: set[int] | None = None
    for font_file in font_files:
        cmap = set(TTFont(font_file, lazy=True).getBestCmap())
        covered = cmap if covered is None else covered & cmap
    return frozenset(covered or ())


def missing_glyphs(texts: list[tuple[str, int, str]], coverage: frozenset[int]) -> list[Problem]:
    """``texts`` are (path, first line, text); one warning per missing character and file."""
    problems, seen = [], set()
    for path, first_line, text in texts:
        for offset, char in enumerate(text):
            code = ord(char)
            if code in coverage or char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Co", "Cn"):
                continue
            if (path, char) in seen:
                continue
            seen.add((path, char))
            line = first_line + text.count("\n", 0, offset)
            name = unicodedata.name(char, "unnamed character")
            problems.append(warning(path, line, f"the book face has no glyph for '{char}' (U+{code:04X} {name})"))
    return problems


def notes_off_page(anchors: dict[str, int], note_ids: list[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """Notes whose text landed on another page than their call.

    ``note_ids`` pairs the id of the empty marker placed at each call with the id of
    the note element; WeasyPrint reports the page of each id in ``page.anchors``.
    Returns (note id, call page, note page), pages 1-based.
    """
    off = []
    for call_id, note_id in note_ids:
        call_page, note_page = anchors.get(call_id), anchors.get(note_id)
        if call_page is not None and note_page is not None and call_page != note_page:
            off.append((note_id, call_page + 1, note_page + 1))
    return off
