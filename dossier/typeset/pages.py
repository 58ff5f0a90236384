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
from dataclasses import dataclass, field

from weasyprint.formatting_structure import boxes


HYPHEN = "\u2010"  # the hyphen WeasyPrint inserts (the stylesheet's hyphenate-character); typed ones are U+002D
SPACE_EM = 600 / 2048  # the book face's word space (Charis SIL), in em
WIDE_SPACE, WIDEST_SPACE = 0.45, 0.6  # em: a loose line; one too loose
TIGHT_SPACE = 0.18  # em: a word space narrower than this is crowded (the fits are not allowed to make it)
MIN_SPLIT, MIN_LAST_LINE = 3, 4  # letters on each side of a hyphen; letters on a paragraph's last line
SHORT_LINE = 0.8  # a justified line inside a paragraph that fills less of the measure is broken off (a layout fault)
WIDOW_FILL = 0.75  # a paragraph's last line alone at the top of a page must fill this much of the measure
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
    body_line: float = 0.0  # px: the body's line height
    stretches: dict[int, list[tuple[str, float, str]]] = field(default_factory=dict)  # page -> (data-s, margin-top px, tag) of the blocks that may take space

    def summary(self) -> dict:
        return {"pages": self.pages, "justified": self.justified, "wide": self.wide,
                "widest": round(self.widest, 3), "hyphens": self.hyphens, "crowded": sum(self.narrow.values()), "chars": sorted(self.chars)}


def audit(document) -> Audit:
    """Audit every page of a laid-out ``document``."""
    result = Audit()
    body_line, result.body_size = _body_line(document)
    result.body_line = body_line
    stretched: set[int] = set()  # elements already met (a table split over pages takes space where it starts)
    lines_of: dict[int, list[Line]] = {}  # a block's element (its box, where it has none) -> its lines, across pages
    pages = document.pages
    running_pages: set[int] = set()
    for number, page in enumerate(pages, 1):
        page_box = page._page_box
        root = page_box.children[0]
        lines = [Line(line, block, number, _text(line)) for line, block in _lines(root, None)]
        for line in lines:
            # a paragraph split across pages is a box on each: its lines go together by its element
            lines_of.setdefault(id(line.block.element) if line.block.element is not None else id(line.block), []).append(line)
        bottom = max([line.bottom for line in lines] + [_bottom(b) for b in _blocks(root)], default=None)
        notes = _notes_area(page_box)
        top = page_box.content_box_y()
        foot = notes.position_y if notes is not None else top + page_box.height
        if bottom is None:
            result.pages.append([0, round((foot - top) * PX_TO_MM, 1)])
            continue
        gap = foot - bottom
        result.stretches[number] = _stretches(root, top, stretched)
        result.pages.append([round(100 * (bottom - top) / (foot - top)), round(gap * PX_TO_MM, 1)])
        following = pages[number] if number < len(pages) else None
        # a part's last page is not a hole (nor, below, the last with running text)
        running = any(line.block.element_tag not in _NOT_TEXT for line in lines)  # not a page of figures alone
        if running:
            running_pages.add(number)
        if gap > GAP_LINES * body_line and running and not _forced_break(page, following):
            result.findings.append(["gap", number, lines[-1].text if lines else "", round(gap / body_line, 1)])
            result.gaps[number] = gap / body_line
        flow = [line for line in lines if not _in_table(line)]
        if flow and flow[-1].text.endswith(HYPHEN) and number < len(pages):
            result.findings.append(["turn", number, flow[-1].text, 0])
            _flaw(result, flow[-1].block)
        for line in lines:
            _overfull(line, result)
        _overfull_turned(root, page_box.width, number, result)
    for lines in lines_of.values():
        _paragraph(lines, result)
    # the last page with running text, before pages of figures and tables set at the part's end
    ending = [page for page in result.gaps if not any(later > page for later in running_pages)]
    result.findings = [f for f in result.findings if not (f[0] == "gap" and f[1] in ending)]
    for page in ending:
        del result.gaps[page]
    return result


_NOT_TEXT = ("td", "th", "caption", "figcaption")  # lines that are not running text


def _notes_area(page_box):
    """The page's notes, if it has any."""
    return next((c for c in page_box.children if isinstance(c, boxes.FootnoteAreaBox) and c.children), None)


def _stretches(root, top: float, seen: set[int]) -> list[tuple[str, float, str]]:
    """The blocks starting on the page that may be given more space above them (``STRETCH``):
    (their ``data-s``, their margin-top, their tag); not the page's first, whose space above is cut."""
    found = []
    for box in root.descendants():
        element = getattr(box, "element", None)
        if (element is None or id(element) in seen or not isinstance(box, boxes.BlockLevelBox)
                or element.get("data-s") is None):
            continue
        seen.add(id(element))
        if box.position_y > top + 1 and box.margin_top > 0:  # a block set close on purpose stays so
            found.append((element.get("data-s"), box.margin_top, element.tag))
    return found


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
        if justified and i < len(lines) - 1 and lines[i + 1].page == line.page and _filled(line) < SHORT_LINE:
            result.findings.append(["short", line.page, line.text, round(_filled(line), 2)])  # a line broken off
            _flaw(result, block)
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
    if (len(lines) > 1 and lines[-1].page != lines[-2].page and block.element_tag in ("p", "li")
            and _filled(lines[-1]) < WIDOW_FILL):  # a short last line alone at the top of a page
        result.findings.append(["widow", lines[-1].page, lines[-1].text, round(_filled(lines[-1]), 2)])
        _flaw(result, block)


def _filled(line: Line) -> float:
    """How much of its measure a line fills."""
    right = max((box.position_x + box.margin_width() for box in line.box.children), default=line.box.position_x)
    return (right - line.block.content_box_x()) / line.block.width if line.block.width else 1.0


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
    box = page._page_box.children[0]  # the page's last block, or one it ends, asking for a new page after it
    while isinstance(box, boxes.ParentBox) and not isinstance(box, boxes.LineBox):
        if box.style["break_after"] in _FORCED:
            return True
        flow = [child for child in box.children if not getattr(child, "is_absolutely_positioned", lambda: False)()]
        if not flow:
            break
        box = flow[-1]
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


def _overfull_turned(root, measure: float, page: int, result: Audit) -> None:
    """A block set turned a quarter (a wide table) whose depth runs past the measure."""
    for box in root.descendants(placeholders=True):
        turned = any(name == "rotate" and abs(abs(value) - math.pi / 2) < 0.01 for name, value in box.style["transform"])
        if turned and box.margin_height() > measure + 0.5:
            text = " ".join(_text(line) for line, _ in _lines(getattr(box, "_box", box), None))
            result.findings.append(["turned", page, text[:80], round((box.margin_height() - measure) * PX_TO_MM, 1)])
