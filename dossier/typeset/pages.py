"""The page audit: what a book designer measures on each laid-out page, read from WeasyPrint's boxes.

Runs in the typesetting process, on the part just laid out. For each page: how full it is and
the gap between its text and its notes (or its foot); a word hyphenated across the turn of the
page; a split leaving fewer than three letters on a side; a paragraph whose last line is a
fragment; the widest word space of a justified line; a line or table wider than its measure.
Each finding names the page (within the part), the text it is about (which the build finds
again in the source file, for a ``path:line``), and a figure. Thresholds are the ones a copy
editor applies; ``findings`` are what exceed them, ``summary`` the figures for ``-v``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from weasyprint.formatting_structure import boxes

from ..audit import add_class

HYPHEN = "\u2010"  # the hyphen WeasyPrint inserts (the stylesheet's hyphenate-character); typed ones are U+002D
SPACE_EM = 600 / 2048  # the book face's word space (Charis SIL), in em
WIDE_SPACE, WIDEST_SPACE = 0.45, 0.6  # em: a loose line; one too loose
TIGHT_SPACE = 0.18  # em: a word space narrower than this is crowded (the fits are not allowed to make it)
MIN_SPLIT, MIN_LAST_LINE = 3, 4  # letters on each side of a hyphen; letters on a paragraph's last line
GAP_LINES = 2  # body lines of blank between text and notes, tolerated on a page but a part's last
PX_TO_MM = 25.4 / 96


@dataclass
class Line:
    box: boxes.LineBox
    block: object  # the block box holding it (a paragraph, a list item, a cell)
    page: int  # 1-based within the part
    text: str

    @property
    def bottom(self) -> float:
        return self.box.position_y + self.box.height


@dataclass
class Audit:
    findings: list[list] = field(default_factory=list)  # [kind, page, text, figure]
    pages: list[list] = field(default_factory=list)  # [fill %, gap mm] per page
    justified: int = 0
    wide: int = 0  # justified lines with a word space over WIDE_SPACE
    widest: float = 0.0
    hyphens: int = 0
    spaces: dict[str, list[float]] = field(default_factory=dict)  # a numbered block's (data-b) word spaces, em, by line
    flawed: dict[str, int] = field(default_factory=dict)  # a numbered block's hyphens at a page turn and fragment endings
    narrow: dict[str, int] = field(default_factory=dict)  # a numbered block's lines with a word space under TIGHT_SPACE
    chars: list[int] = field(default_factory=list)  # characters of each justified line of body text
    gaps: dict[int, float] = field(default_factory=dict)  # page -> its gap above the notes, in body lines, where found
    page_blocks: dict[int, list[str]] = field(default_factory=dict)  # page -> the numbered blocks ending on it
    line_count: dict[str, int] = field(default_factory=dict)  # a numbered block's lines
    body_size: float = 0.0  # px: the size of the body text

    def summary(self) -> dict:
        return {"pages": self.pages, "justified": self.justified, "wide": self.wide,
                "widest": round(self.widest, 3), "hyphens": self.hyphens, "crowded": sum(self.narrow.values()), "chars": sorted(self.chars)}


def audit(document) -> Audit:
    """Audit every page of a laid-out ``document``."""
    result = Audit()
    body_line, result.body_size = _body_line(document)
    lines_of: dict[int, list[Line]] = {}  # a block's element (its box, where it has none) -> its lines, across pages
    pages = document.pages
    for number, page in enumerate(pages, 1):
        page_box = page._page_box
        root = page_box.children[0]
        lines = [Line(line, block, number, _text(line)) for line, block in _lines(root, None)]
        for line in lines:
            # a paragraph split across pages is a box on each: its lines go together by its element
            lines_of.setdefault(id(line.block.element) if line.block.element is not None else id(line.block), []).append(line)
        bottom = max([line.bottom for line in lines] + [_bottom(b) for b in _blocks(root)], default=None)
        notes = next((c for c in page_box.children if isinstance(c, boxes.FootnoteAreaBox) and c.children), None)
        top = page_box.content_box_y()
        foot = notes.position_y if notes is not None else top + page_box.height
        if bottom is None:
            result.pages.append([0, round((foot - top) * PX_TO_MM, 1)])
            continue
        gap = foot - bottom
        result.pages.append([round(100 * (bottom - top) / (foot - top)), round(gap * PX_TO_MM, 1)])
        following = pages[number] if number < len(pages) else None
        if gap > GAP_LINES * body_line and not _forced_break(page, following):  # a part's last page counts as one
            result.findings.append(["gap", number, lines[-1].text if lines else "", round(gap / body_line, 1)])
            result.gaps[number] = gap / body_line
        flow = [line for line in lines if not _in_table(line)]
        if flow and flow[-1].text.endswith(HYPHEN) and number < len(pages):
            result.findings.append(["turn", number, flow[-1].text, 0])
            _flaw(result, flow[-1].block)
        for line in lines:
            _overfull(line, result)
    for lines in lines_of.values():
        _paragraph(lines, result)
    return result


def _body_line(document) -> tuple[float, float]:
    """The body's line height and font size (px): those of most paragraphs' lines."""
    counts: dict[tuple[float, float], int] = {}
    for page in document.pages:
        for line, block in _lines(page._page_box.children[0], None):
            if block.element_tag == "p":
                key = (round(line.height, 1), block.style["font_size"])
                counts[key] = counts.get(key, 0) + 1
    return max(counts, key=counts.get) if counts else (20.0, 16.0)


def _paragraph(lines: list[Line], result: Audit) -> None:
    block = lines[0].block
    if _number(block):
        result.line_count[_number(block)] = len(lines)
        result.page_blocks.setdefault(lines[-1].page, []).append(_number(block))
    justified = block.style["text_align_all"] == "justify"
    for i, line in enumerate(lines):
        if line.text.endswith(HYPHEN):
            result.hyphens += 1
            before = _letters(line.text[:-1].rstrip("\xad"), from_end=True)
            after = _letters(lines[i + 1].text) if i + 1 < len(lines) else MIN_SPLIT
            if min(before, after) < MIN_SPLIT:
                result.findings.append(["split", line.page, line.text, min(before, after)])
        narrowest, space = _word_space(line.box)
        if narrowest < TIGHT_SPACE and _number(block):  # words all but run together
            result.narrow[_number(block)] = result.narrow.get(_number(block), 0) + 1
        if justified and i < len(lines) - 1 and " " in line.text.strip():
            result.justified += 1
            if block.element_tag == "p" and block.style["font_size"] == result.body_size:
                result.chars.append(len(line.text))
            result.widest = max(result.widest, space)
            number = _number(block)
            if number:
                result.spaces.setdefault(number, []).append(space)
            if space > WIDE_SPACE:
                result.wide += 1
            if space > WIDEST_SPACE:
                result.findings.append(["space", line.page, line.text, round(space, 2)])
    if len(lines) > 1 and block.element_tag in ("p", "li") and sum(c.isalnum() for c in lines[-1].text) < MIN_LAST_LINE:
        result.findings.append(["fragment", lines[-1].page, lines[-2].text + " " + lines[-1].text, lines[-1].text.strip()])
        _flaw(result, block)


def _number(block) -> str | None:
    return block.element.get("data-b") if block.element is not None else None


def _flaw(result: Audit, block) -> None:
    number = _number(block)
    if number:
        result.flawed[number] = result.flawed.get(number, 0) + 1


def _lines(box, block):
    """(line box, its block) in reading order, tables' cells included; notes are not in the flow."""
    for child in getattr(box, "children", ()):
        if isinstance(child, boxes.LineBox):
            yield child, box
        elif isinstance(child, boxes.ParentBox) and not child.is_absolutely_positioned():
            yield from _lines(child, child)


def _blocks(box):
    """The block-level boxes in the flow that hold something (a line, an image, a set height):
    where the page's content ends."""
    for child in getattr(box, "children", ()):
        if isinstance(child, boxes.LineBox) or getattr(child, "is_absolutely_positioned", lambda: False)():
            continue
        if isinstance(child, boxes.BlockLevelBox) and (not isinstance(child, boxes.ParentBox) or not child.children
                                                      or child.style["height"] != "auto"):
            yield child
        if isinstance(child, boxes.ParentBox):
            yield from _blocks(child)


def _bottom(box) -> float:
    return box.position_y + box.margin_top + box.border_height()


_FORCED = ("page", "left", "right", "recto", "verso")


def _forced_break(page, following) -> bool:
    """Whether the content asks for a new page between ``page`` and ``following``: a block that
    starts on ``following`` with a forced break before it (a chapter, a turned table; not the break
    the build sets to keep a note with its call), or a page of another kind. A gap above it is the
    author's, not the layout's."""
    if following is None:
        return True
    if following._page_box.page_type.name != page._page_box.page_type.name:
        return True
    seen = {id(box.element) for box in page._page_box.descendants() if getattr(box, "element", None) is not None}
    box = following._page_box.children[0]
    while isinstance(box, boxes.ParentBox) and not isinstance(box, boxes.LineBox):
        if (box.element is not None and id(box.element) not in seen and box.style["break_before"] in _FORCED
                and "note-break" not in (box.element.get("class") or "")):  # the build's own break is the layout's
            return True
        if not box.children:
            return False
        box = box.children[0]
    return False


def _in_table(line: Line) -> bool:
    return isinstance(line.block, (boxes.TableCellBox,)) or line.block.element_tag in ("td", "th", "caption")


def _text(line) -> str:
    """The line's text as printed, without its note calls."""
    parts = []
    for box in line.descendants():
        if isinstance(box, boxes.TextBox) and not (box.element_tag or "").endswith("::footnote-call"):
            parts.append(box.text)
    return "".join(parts).replace("\xad", "").rstrip()


def _letters(text: str, from_end: bool = False) -> int:
    count = 0
    for char in reversed(text) if from_end else text:
        if not char.isalpha():
            break
        count += 1
    return count


def _word_space(line) -> tuple[float, float]:
    """The line's word space in em of its text: the narrowest and the widest, where sizes differ
    (9 em, 0 where it has no space)."""
    narrowest, widest = 9.0, 0.0
    for box in line.descendants():
        if isinstance(box, boxes.TextBox) and " " in box.text.strip():
            size = box.style["font_size"]
            extra = getattr(box, "justification_spacing", 0) + box.style["word_spacing"]
            narrowest, widest = min(narrowest, SPACE_EM + extra / size), max(widest, SPACE_EM + extra / size)
    return narrowest, widest


def _overfull(line: Line, result: Audit) -> None:
    limit = line.block.content_box_x() + line.block.width + 0.5
    right = max((box.position_x + box.margin_width() for box in line.box.children), default=0)
    if right > limit:
        result.findings.append(["overfull", line.page, line.text, round((right - limit) * PX_TO_MM, 1)])
        _flaw(result, line.block)


# Fitting: WeasyPrint breaks a paragraph's lines one at a time (greedily), so some lines come out
# loose, a paragraph may end on a scrap of a word, a word may be split across the turn of a page.
# The blocks (paragraphs, list items) with a loose line are set with each of these word spacings
# in a galley (``fit``), and keep whichever serves them best; a block still flawed once the notes
# are placed tries the others (``refit``). The nearest a greedy breaker comes to breaking a
# paragraph as a whole.
FITS = ("fit-tight", "fit-loose", "fit-tighter", "fit-looser")  # classes of the stylesheet
_BLOCK_RE = re.compile(r"<(p|li)\b")


def number_paragraphs(html_text: str) -> str:
    """Each paragraph and list item numbered (``data-b``), so that the audit's figures can be tied
    to it; and the last word of each, where it is short, tied to the word before (``tie_runt``)."""
    count = iter(range(1, 1 << 30))
    html_text = _BLOCK_RE.sub(lambda m: f'<{m.group(1)} data-b="{next(count)}"', html_text)
    return re.sub(r'(<(p|li) data-b="\d+"[^>]*>)(.*?)(?=</\2>|<(?:ul|ol|p)\b)', lambda m: m.group(1) + tie_runt(m.group(3)),
                  html_text, flags=re.S)


RUNT = 3  # a last word of up to this many letters and digits is kept on its line with the word before
_TOKEN_RE = re.compile(r"<[^>]*>|[^<]+")


def tie_runt(block: str) -> str:
    """``block`` (a paragraph's inner HTML) so that it cannot end on a line of three letters: the
    space before its last word made a no-break space where that word is short ("is."), and a
    longer last word split, if at all, with four letters to go over (never "Lithuani-ans.").
    Words inside notes (``span.footnote``) do not count: the last word is the text's."""
    last, depth = None, 0  # the last text token outside notes; how deep inside a note
    for token in _TOKEN_RE.finditer(block):
        piece = token.group(0)
        if piece.startswith("<"):
            if depth:
                depth += 1 if piece.startswith("<span") else -1 if piece.startswith("</span") else 0
            elif piece.startswith("<span") and "footnote" in piece:
                depth = 1
        elif not depth and piece.strip():
            last = token
    if last is None:
        return block
    match = re.search(r"(?:^|(?<=\S)) (\S+)\s*$", last.group(0))  # the space before the last word (after a tag, too)
    if match is None:
        return block
    start, end = last.start() + match.start(), last.start() + match.end(1)
    if sum(char.isalnum() for char in match.group(1)) > RUNT:
        return f'{block[:start + 1]}<span class="whole">{block[start + 1:end]}</span>{block[end:]}'
    return block[:start] + "\u00a0" + block[start + 1:]


def score(found: Audit, number: str) -> tuple:
    """How badly a block is set (lower is better): its flaws, lines over the widest mark, lines
    over the wide mark or crowded, its widest word space."""
    widest, wide, most = _space_score(found.spaces.get(number, [0.0]))
    return (found.flawed.get(number, 0), widest, wide + found.narrow.get(number, 0), most)


def flawed(found: Audit) -> list[str]:
    """The numbered blocks worth setting another way."""
    return [number for number in {**found.spaces, **found.flawed, **found.narrow} if score(found, number)[:3] != (0, 0, 0)]


def with_fit(html_text: str, fits: dict[str, str]) -> str:
    """The class ``fits[n]`` on numbered block ``n`` (its attributes in any order: a block sent to
    a new page for its note has its class first)."""

    def mark(match: re.Match) -> str:
        name = fits.get(match.group(1))
        return add_class(match.group(0), name) if name else match.group(0)

    return re.sub(r'<(?:p|li)\b[^>]*? data-b="(\d+)"[^>]*>', mark, html_text)


def fit(html_text: str, lay_out, release) -> tuple[dict[str, str], object, object, Audit]:
    """Lay out ``html_text`` (numbered: ``number_paragraphs``); try each of ``FITS`` on the blocks
    with a loose line, all in one galley (``galley``); lay the part out again with each such
    block set as serves it best. ``lay_out(html)`` returns (document, what the layout said);
    ``release(document)`` frees one no longer needed. Returns the fits chosen, the document,
    what its layout said, and its audit."""
    document, said = lay_out(html_text)
    found = audit(document)
    loose = [number for number, spaces in found.spaces.items() if _space_score(spaces)[:2] != (0, 0)]
    loose += [number for number in found.narrow if number not in loose]
    if not loose:
        return {}, document, said, found
    trial, _ = lay_out(galley(html_text, loose))
    tried = audit(trial)
    release(trial)
    fits = {}
    for number in loose:
        least = _fit_score(found, number)
        for name in FITS:
            trial = _fit_score(tried, f"{number}-{name}")
            if trial < least:
                least, fits[number] = trial, name
    if not fits:
        return {}, document, said, found
    release(document)
    document, said = lay_out(with_fit(html_text, fits))
    return fits, document, said, audit(document)


def _fit_score(found: Audit, number: str) -> tuple:
    """How evenly a block is spaced (lower is better): lines over the widest mark, lines over the
    wide mark or crowded, its widest space; a block the layout did not reach scores worst."""
    if number not in found.spaces and number not in found.narrow:
        return (9, 9, 9)
    widest, wide, most = _space_score(found.spaces.get(number, [0.0]))
    return (widest, wide + found.narrow.get(number, 0), most)


def _space_score(spaces: list[float]) -> tuple:
    return (sum(space > WIDEST_SPACE for space in spaces), sum(space > WIDE_SPACE for space in spaces), round(max(spaces), 2))


_GALLEY_CSS = ("<style>.footnote, table, figure, svg, img { display: none }"
               " .galley-call { font-size: 0.67em; line-height: 0; vertical-align: super; font-variant-numeric: lining-nums }</style>")


def galley(html_text: str, numbers: list[str], names: tuple[str, ...] = FITS) -> str:
    """A trial document: each of the blocks ``numbers`` set once with each of ``names`` (numbered
    "N-fit"), in its place, so with the measure and style it has in the part; the other
    paragraphs emptied, and notes, tables and figures left out (a note's call kept, as a
    superscript number as wide), so that the trial costs a fraction of a layout of the part."""
    wanted = set(numbers)
    out, position = [], 0
    for match in re.finditer(r'<(p|li) data-b="(\d+)"([^>]*)>', html_text):
        tag, number, attributes = match.groups()
        if match.start() < position:
            continue  # inside a block already copied
        end = _block_end(html_text, match.end(), tag)
        if number in wanted:
            inner = _calls_only(html_text[match.end():end], html_text.count('<span class="footnote"', 0, match.start()))
            inner = re.sub(r' data-b="\d+"', "", inner)
            out.append(html_text[position:match.start()])
            for name in names:
                opening = add_class(f"<{tag}{attributes}>", name)
                out.append(f'<{tag} data-b="{number}-{name}"{opening[len(tag) + 1:]}{inner}</{tag}>')
            position = end + len(f"</{tag}>")
        elif tag == "p":
            out.append(html_text[position:match.end()])
            position = end
    out.append(html_text[position:])
    return "".join(out).replace("</head>", _GALLEY_CSS + "</head>", 1)


def _block_end(html_text: str, start: int, tag: str) -> int:
    """Where the block whose content starts at ``start`` closes (its ``</tag>``), nested ones of the same tag skipped."""
    depth = 1
    for token in re.finditer(rf"<(/?){tag}\b[^>]*>", html_text[start:]):
        depth += -1 if token.group(1) else 1
        if depth == 0:
            return start + token.start()
    return len(html_text)


def _calls_only(block: str, before: int) -> str:
    """``block`` with each note (``span.footnote``) replaced by its call's number as a superscript
    (the notes before the block numbered ``before``)."""
    out, depth, count = [], 0, before
    for token in _TOKEN_RE.finditer(block):
        piece = token.group(0)
        if depth:
            depth += 1 if piece.startswith("<span") else -1 if piece.startswith("</span") else 0
        elif piece.startswith("<span") and "footnote" in piece:
            depth, count = 1, count + 1
            out.append(f'<sup class="galley-call">{count}</sup>')
        else:
            out.append(piece)
    return "".join(out)


def badness(found: Audit) -> tuple:
    """How badly a part is set, for choosing between two layouts of it: its flaws (splits across
    a page turn, scraps ending paragraphs, short splits, overfull lines), lines over the widest
    and the wide mark."""
    flaws = sum(kind in ("turn", "fragment", "split", "overfull") for kind, *_ in found.findings)
    widest, wide, _ = _space_score([space for line_spaces in found.spaces.values() for space in line_spaces] or [0.0])
    return (flaws, widest, wide + sum(found.narrow.values()))


def refit(found: Audit, fits: dict[str, str], tried: dict[str, set[str]]) -> dict[str, str] | None:
    """The fits with each block still flawed in ``found`` set another way not tried yet (the
    layout around it has changed since it was chosen: notes moved, pages turned elsewhere); None
    if there is nothing left to try."""
    changed = {}
    for number in flawed(found):
        if score(found, number)[:2] == (0, 0):
            continue  # only loose, not flawed: as good as it gets
        untried = [name for name in ("", *FITS) if name not in tried.setdefault(number, {fits.get(number, "")})]
        if untried:
            changed[number] = untried[0]
            tried[number].add(untried[0])
    return {**fits, **changed} if changed else None


# A gap above the notes on a page that is not a part's last is mostly a heading (with the two lines
# it keeps), a table row or a long note that did not fit, and went over. It is closed as TeX's
# \looseness does it: paragraphs that end on that page, each set so that it takes one line more
# (the galley says which can, and at what cost to their spacing), as many as the gap needs. What
# went over stays over, so the pages after do not move.
LONGER = ("fit-loose", "fit-looser", "fit-longer")  # the settings that may give a paragraph a line more


def fill_gaps(found: Audit, html_text: str, fits: dict[str, str], lay_out, release) -> dict[str, str] | None:
    """Fits that lengthen enough paragraphs ending on each page with a gap, a line each, to bring
    the gap within ``GAP_LINES``; None if none can. ``html_text`` is the part numbered, unfitted."""
    wanted = {page: math.ceil(gap - GAP_LINES) for page, gap in found.gaps.items()}
    candidates = {page: [n for n in found.page_blocks.get(page, []) if n in found.line_count] for page in wanted}
    numbers = [n for page in wanted for n in candidates[page]]
    if not numbers:
        return None
    trial, _ = lay_out(galley(html_text, numbers, LONGER))
    tried = audit(trial)
    release(trial)
    chosen = dict(fits)
    for page, need in wanted.items():
        options = []
        for number in candidates[page]:
            now = _fit_score(found, number)
            for name in LONGER:
                label = f"{number}-{name}"
                then = _fit_score(tried, label)
                if tried.line_count.get(label) == found.line_count[number] + 1 and then[0] == 0 and then[1] <= now[1] + 1:
                    options.append((then[1] - now[1], then[2], number, name))
        taken: set[str] = set()
        for _, _, number, name in sorted(options):
            if len(taken) < need and number not in taken:
                chosen[number] = name
                taken.add(number)
    chosen = {number: name for number, name in chosen.items() if name}
    return chosen if chosen != {n: f for n, f in fits.items() if f} else None


def gap_badness(found: Audit) -> tuple:
    """For choosing between layouts by their gaps: flaws and lines over the widest mark first."""
    return (*badness(found)[:2], len(found.gaps), round(sum(found.gaps.values()), 1))
