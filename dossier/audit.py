"""What the layout did: notes printed off their call's page, characters the book face lacks."""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path

from .files import file_digest, write_bytes
from .problems import Problem, warning


_COVERAGE: dict[str, frozenset[int]] = {}  # by the fonts' digest: a process that builds again (watch) sees changed fonts


def font_coverage(font_files: tuple[Path, ...], cache_dir: Path | None = None) -> frozenset[int]:
    """Code points that every one of the faces (regular, italic, bold…) can draw; kept in
    ``cache_dir`` under the fonts' digest, since reading the character maps takes a while."""
    key = hashlib.sha256("".join(file_digest(f) for f in font_files).encode()).hexdigest()[:24]
    if key not in _COVERAGE:
        _COVERAGE[key] = _read_coverage(font_files, key, cache_dir)
    return _COVERAGE[key]


def _read_coverage(font_files: tuple[Path, ...], key: str, cache_dir: Path | None) -> frozenset[int]:
    cached = cache_dir / f"coverage-{key}.json" if cache_dir else None
    if cached and cached.is_file():
        try:
            points = json.loads(cached.read_text(encoding="utf-8"))
            if isinstance(points, list) and points and all(type(p) is int for p in points):
                return frozenset(points)
        except (OSError, ValueError):  # damaged: read the fonts again, and write it anew
            pass
    from fontTools.ttLib import TTFont  # only when the fonts are new to the cache

    covered: set[int] | None = None
    for font_file in font_files:
        cmap = set(TTFont(font_file, lazy=True).getBestCmap())
        covered = cmap if covered is None else covered & cmap
    if cached:
        try:
            write_bytes(cached, json.dumps(sorted(covered or ())).encode())
        except OSError:  # a cache that cannot be written (a folder in its place) is only slower
            pass
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
    """Notes whose text landed on another page than their call, or nowhere.

    ``note_ids`` pairs the id of the empty marker placed at each call with the id of
    the note element; WeasyPrint reports the page of each id in ``page.anchors``.
    Returns (note id, call page, note page), pages 1-based; note page 0 means the
    note's text is missing from the PDF.
    """
    off = []
    for call_id, note_id in note_ids:
        call_page, note_page = anchors.get(call_id), anchors.get(note_id)
        if call_page is not None and call_page != note_page:
            off.append((note_id, call_page + 1, 0 if note_page is None else note_page + 1))
    return off


# Where WeasyPrint cannot keep a note on its call's page (a page already full of notes, a note
# too long for what is left of the page), and sending over just the lines below the call
# (``typeset/mend.py``, ``make_room``) cannot keep it either, the page is made to end sooner: after
# the block holding the call, so that what followed it goes over and leaves the note its room;
# where that is not enough, before that block, which starts a new page with the headings above it.
NUDGE = "note-break"
_BLOCK_RE = re.compile(r"<(p|li|td|th|blockquote|dd|figcaption|h[1-6])\b[^>]*>")


def nudge(html_text: str, notes: set[str] | list[str], after: set[str] | list[str] = ()) -> str:
    """Mark the block holding each of ``notes``' calls (or the headings right above it) to start
    a new page; for each of ``after``, the block that follows the one holding its call."""
    for note_id in [*notes, *after]:
        call = html_text.find(f'id="call-{note_id.removeprefix("note-")}"')
        if call < 0:
            continue
        block = None
        if note_id in after:
            block = _BLOCK_RE.search(html_text, call)
            if block is None or block.group(1) in ("td", "th"):
                continue
        else:
            for match in _BLOCK_RE.finditer(html_text, 0, call):
                block = match
        if block is None:
            continue
        block = _heading_before(html_text, block) or block
        html_text = html_text[: block.start()] + add_class(block.group(0), NUDGE) + html_text[block.end():]
    return html_text


def _heading_before(html_text: str, block: re.Match) -> re.Match | None:
    """The headings directly before the block (a section's and its subsection's) go with it to
    the new page: the first of them is returned."""
    first = None
    while True:
        before = html_text[: (first or block).start()].rstrip()
        if not re.search(r"</h[2-6]>$", before):
            return first
        start = max(before.rfind(f"<h{level}") for level in range(2, 7))
        match = _BLOCK_RE.match(html_text, start) if start >= 0 else None
        if match is None:  # a stray "</h3>" with no heading before it: nothing more to take
            return first
        first = match


def add_class(tag: str, name: str) -> str:
    """An opening ``tag`` with the class ``name`` added (first), unless it is there."""
    if name in tag:
        return tag
    if 'class="' in tag:
        return tag.replace('class="', f'class="{name} ', 1)
    return re.sub(r"^<(\w+)", rf'<\1 class="{name}"', tag)
