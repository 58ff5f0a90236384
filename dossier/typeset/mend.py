"""Mending what the page audit (``pages.py``) finds on a part's pages, by laying it out again a
little differently: a note kept on its call's page with the least change, a gap above the notes
filled (paragraphs a line longer, a figure floated, a long note split, the blank given to the space
above headings). The trials run in the typesetting process (``weasy.typeset_one``), each
kept only where it serves the part better.
"""
from __future__ import annotations

import math
import re
from html import unescape
from itertools import islice

from weasyprint.formatting_structure import boxes

from ..audit import NUDGE, add_class
from .fitting import _TOKEN_RE, STRETCH, _block_end, _fit_score, badness, galley, with_fit
from .pages import GAP_LINES, Audit, _lines, _notes_area, audit


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


# A gap above a heading (or the lines a paragraph keeps together) that went over, where the page
# has too few paragraphs to lengthen, is closed the other way: the page's paragraphs, as many as it
# takes, each set a line shorter (a tighter fit the galley says it takes without a crowded line),
# so that what went over comes back, with its note if it was sent over for one (the trial is kept
# only if every note stays on its call's page).
SHORTER = ("fit-tight", "fit-tighter", "fit-shorter")
PULL = 3  # lines at most that a page is shortened by
LOOSER = 2  # lines over the wide mark a paragraph set shorter may have more than before


def pull_back(document, found: Audit, html_text: str, page: int, lay_out, release):
    """Trials of ``html_text`` (the part as laid out in ``document``) with paragraphs ending on
    ``page`` set a line shorter to bring back what starts the next page: as many as that needs,
    then one more (a heading's space above, cut at the top of a page, is not known)."""
    if page >= len(document.pages):
        return
    following = document.pages[page]._page_box
    need = _pull_need(following, found, page)
    numbers = [n for n in found.page_blocks.get(page, []) if n in found.line_count]
    over = next(_lines(following.children[0], None), (None, None))[1]  # a paragraph that runs over
    if over is not None and over.element is not None and over.element.get("data-b") in found.line_count:
        numbers = list(dict.fromkeys([*numbers, over.element.get("data-b")]))
    if need is None or len(numbers) < need:
        return
    trial, _ = lay_out(galley(with_fit(html_text, dict.fromkeys(numbers, "")), numbers, SHORTER))
    tried = audit(trial)
    release(trial)
    options = []
    for number in numbers:
        now = _fit_score(found, number)
        for name in SHORTER:
            then = _fit_score(tried, f"{number}-{name}")
            if tried.line_count.get(f"{number}-{name}") == found.line_count[number] - 1 and then[:2] <= (0, now[1] + LOOSER):
                options.append((then[1], then[2], number, name))
                break
    first = next(_starts(following.children[0]), None)
    if first is not None and NUDGE in (first.element.get("class") or "").split():
        html_text = re.sub(_opening(*_numbered(first.element)),
                           lambda m: re.sub(rf" ?\b{NUDGE}\b", "", m.group(0)).replace(' class=""', ""), html_text, count=1)
    for lines in range(need, min(need + 1, PULL, len(options)) + 1):
        yield with_fit(html_text, {number: name for *_, number, name in sorted(options)[:lines]})


def _pull_need(following, found: Audit, page: int) -> int | None:
    """The lines ``page`` must lose for the first of ``following`` to come back: its headings and
    the first lines of the block after them that may not be parted (the whole block, where it
    has too few lines to split); None if more than ``PULL``."""
    lines = list(_lines(following.children[0], None))
    first = next((block for _, block in lines if block.element_tag not in ("h2", "h3", "h4")), None)
    if first is None:
        return None
    own = [line for line, block in lines if block is first]
    total = found.line_count.get(first.element.get("data-b") if first.element is not None else None, len(own))
    kept = own[min(len(own), total if total < 4 else 2) - 1]  # orphans and widows: 2
    need = math.ceil((kept.position_y + kept.height - following.content_box_y()) / found.body_line - found.gaps[page])
    return max(need, 1) if need <= PULL else None


# A note too long for what is left of its call's page takes the call's line over with it (the
# stylesheet's footnote-policy: line), and leaves a gap. Books set the note's first lines under its
# call and carry the rest over, as TeX does: the note is split at a word where the page's room
# ends, and its second part (class ``footnote-continued``: no number, no call of its own) cannot
# fit on the page, so WeasyPrint carries it to the top of the next page's notes.
CONTINUED = "footnote-continued"
NOTE_LINES = 2  # lines of a split note, at least, on each page


def split_notes(document, found: Audit, html_text: str, page: int) -> str | None:
    """``html_text`` (the part as laid out in ``document``) with the note whose call went over
    from ``page`` (which has a gap) split to fill the gap; None if it cannot be."""
    if page >= len(document.pages):
        return None
    plan = _note_split(document.pages[page - 1]._page_box, document.pages[page]._page_box,
                       found.gaps[page] * found.body_line)
    return _split_note(html_text, *plan) if plan else None


def _note_split(page, following, room: float) -> tuple[str, str] | None:
    """(note id, the text of its lines that fit on ``page``) for the first note called in the
    first lines of ``following``, if it can be split with ``NOTE_LINES`` on each page."""
    top = following.content_box_y()
    for line, _ in islice(_lines(following.children[0], None), 4):
        called = [box.footnote for box in line.descendants() if getattr(box, "footnote", None) is not None]
        if not called:
            continue
        area = _notes_area(following)
        note = next((n for n in area.children if n.element is called[0].element), None) if area else None
        if note is None or note.element.get("id") is None:
            return None
        lines = [box for box in note.descendants() if isinstance(box, boxes.LineBox)]
        overhead = note.margin_height() - sum(box.height for box in lines) + _new_area(page, following)
        fits = int((room - (line.position_y + line.height - top) - overhead) // lines[0].height)
        fits = min(fits, len(lines) - NOTE_LINES)
        if fits < NOTE_LINES:
            return None
        kept = ""
        for box in lines[:fits]:
            text = "".join(t.text for t in box.descendants() if isinstance(t, boxes.TextBox)
                           and not (t.element_tag or "").endswith("::footnote-marker")).replace("\xad", "")
            kept += text[:-1] if text.endswith("\u2010") else text.rstrip() + " "
        return note.element.get("id"), kept
    return None


def _new_area(page_box, following) -> float:
    """What the notes' area itself takes (its rule and the space above it) where ``page_box`` has
    no notes yet: that of ``following``, which has."""
    if _notes_area(page_box) is not None:
        return 0.0
    area = next(c for c in following.children if isinstance(c, boxes.FootnoteAreaBox))
    return area.margin_top + area.padding_top + area.border_top_width


_VOID = ("br", "wbr", "img")


def _tag_name(tag: str) -> str:
    return re.match(r"</?(\w+)", tag).group(1)


def _split_note(html_text: str, note_id: str, kept: str) -> str:
    """The note ``note_id`` split after the last whole word of ``kept`` (its text as printed): the
    inline elements open there closed, and opened again in the part continued."""
    opening = re.search(rf"""<span class=(["'])footnote\1 id=(["']){re.escape(note_id)}\2[^>]*>""", html_text)
    if opening is None:
        return html_text
    end = _block_end(html_text, opening.end(), "span")
    inner = html_text[opening.end():end]
    wanted = " ".join(kept.split())
    cut, seen, open_tags, at_cut, previous_space = None, 0, [], [], True
    for token in _TOKEN_RE.finditer(inner):
        piece = token.group(0)
        if piece.startswith("</"):
            open_tags = open_tags[:-1]
            continue
        if piece.startswith("<"):
            if not piece.endswith("/>") and _tag_name(piece) not in _VOID:
                open_tags = [*open_tags, piece]
            continue
        for char in re.finditer(r"&[#\w]+;|.", piece, re.S):
            visible = unescape(char.group(0))
            if visible.isspace():
                if not previous_space:  # a word ends: cut here, if the words so far are the ones kept
                    if seen > len(wanted) or (seen < len(wanted) and wanted[seen] != " "):
                        break
                    cut, at_cut = token.start() + char.start(), list(open_tags)
                    if seen == len(wanted):
                        break
                    seen += 1
            elif seen < len(wanted) and wanted[seen] == visible:
                seen += 1
            else:
                break
            previous_space = visible.isspace()
        else:
            continue
        break
    if cut is None:
        return html_text
    closing = "".join(f"</{_tag_name(tag)}>" for tag in reversed(at_cut))
    first, rest = inner[:cut] + closing, "".join(at_cut) + inner[cut:].lstrip()
    return (f'{html_text[:opening.end()]}{first}</span><span class="footnote {CONTINUED}">{rest}'
            f"{html_text[end:]}")


# A note WeasyPrint could not keep on its call's page (a page already full) goes to the next one.
# The least that keeps it is chosen (``make_room``): of the lines below its call, just as many as
# the note needs room for sent over, by a stricter widow rule on the page's last paragraph where
# it runs over anyway, else by a new page before the last block (with its heading) that frees
# enough room. Only where neither can be does ``audit.nudge`` end the page after the call's
# block, or before it.
def make_room(document, found: Audit, note_id: str, call_page: int) -> tuple[str, str, int] | None:
    """("widows", number, widows) or ("break", attribute, number): the least change to page
    ``call_page`` (1-based) of ``document`` that leaves note ``note_id`` its room below its call;
    None if there is none."""
    if call_page >= len(document.pages):
        return None
    page, following = document.pages[call_page - 1], document.pages[call_page]._page_box
    call = page.anchors.get("call-" + note_id.removeprefix("note-"))
    notes = _notes_area(following)
    note = next((n for n in notes.children if n.element is not None and n.element.get("id") == note_id), None) if notes else None
    lines = list(_lines(page._page_box.children[0], None))
    if call is None or note is None or not lines:
        return None
    box, area = page._page_box, _notes_area(page._page_box)
    bottom = lines[-1][0].position_y + lines[-1][0].height
    foot = area.position_y if area is not None else box.content_box_y() + box.height
    needed = note.margin_height() - (foot - bottom) + 1 + _new_area(box, following)
    last = lines[-1][1].element
    number = last.get("data-b") if last is not None else None
    own = [line for line, block in lines if block.element is last]
    below = [line for line in own if line.position_y > call[1] + 1]  # the lines after the call's
    if number in found.line_count and found.line_count[number] > len(own):  # runs over: its widows
        for moved in range(1, min(len(below), len(own) - 2) + 1):
            if bottom - below[-moved].position_y >= needed:
                return "widows", number, found.line_count[number] - len(own) + moved
    starts = [b for b in _starts(page._page_box.children[0]) if b.position_y > call[1] + 1]
    for index in range(len(starts) - 1, -1, -1):
        start = starts[index]
        while index > 0 and starts[index - 1].element_tag in ("h2", "h3", "h4"):  # its heading goes with it
            index -= 1
            start = starts[index]
        if bottom - start.position_y >= needed:
            return "break", *_numbered(start.element)
    return None


def _numbered(element) -> tuple[str, str]:
    """How a numbered block is named in the HTML: its attribute (a paragraph's ``data-b``, another
    block's ``data-s``) and its number."""
    attribute = "data-b" if element.get("data-b") else "data-s"
    return attribute, element.get(attribute)


def _opening(attribute: str, number: str) -> str:
    """The pattern of the opening tag of the block numbered ``number`` by ``attribute``."""
    return rf'<[a-z0-9]+\b[^>]*? {attribute}="{number}"[^>]*>'


def _starts(box):
    """The numbered blocks (paragraphs, list items, headings…) in the flow of a page, in order."""
    for child in getattr(box, "children", ()):
        if isinstance(child, boxes.BlockLevelBox) and child.element is not None and (
                child.element.get("data-b") or child.element.get("data-s")) and not child.is_absolutely_positioned():
            yield child
        if isinstance(child, boxes.ParentBox) and not isinstance(child, boxes.LineBox):
            yield from _starts(child)


def with_room(html_text: str, room: list[tuple[str, str, int]]) -> str:
    """The changes ``make_room`` chose, made: widow rules set, new pages begun."""
    for kind, first, second in room:
        if kind == "widows":
            pattern, change = rf'<(?:p|li)\b[^>]*? data-b="{first}"[^>]*>', lambda tag, n=second: _with_style(tag, f"widows: {n}")
        else:
            pattern, change = _opening(first, second), lambda tag: add_class(tag, NUDGE)
        html_text = re.sub(pattern, lambda m, c=change: c(m.group(0)), html_text, count=1)
    return html_text


# A figure too tall for what is left of its page goes over, and leaves a hole. Books float it up:
# to below the first block of that page (under what runs over from the page before), or, where it
# needs a page of its own, to the top of that page or the one before, where a block starts it; the
# text flows on after it. Never above a part's opening page.
def float_figure(document, html_text: str, page: int) -> list[str]:
    """``html_text`` with the figure that starts the page after ``page`` of ``document`` moved up,
    each way it can be; [] if that page does not start with a figure."""
    if page >= len(document.pages):
        return []
    first = next(_starts(document.pages[page]._page_box.children[0]), None)
    if first is None or first.element_tag != "figure" or not first.element.get("data-s"):
        return []
    opening = re.search(rf'<figure\b[^>]*? data-s="{first.element.get("data-s")}"[^>]*>', html_text)
    if opening is None:
        return []
    end = _block_end(html_text, opening.end(), "figure") + len("</figure>")
    targets = [_first_fresh(document, page)] if page > 1 else []  # never above a part's opening
    targets += [next((box for on in range(page, max(page - 2, 1), -1) for box in [_first_fresh(document, on)]
                      if box is not None and _starts_page(document, on, box)), None)]
    floated = []
    for target in dict.fromkeys(t for t in targets if t is not None):
        before = re.search(_opening(*_numbered(target.element)), html_text)
        if before is not None and before.start() < opening.start():
            floated.append(html_text[:before.start()] + html_text[opening.start():end]
                           + html_text[before.start():opening.start()] + html_text[end:])
    return floated


def _first_fresh(document, page: int):
    """The first numbered block that starts on ``page`` (1-based), not run over from the page before."""
    earlier = {id(box.element) for box in document.pages[page - 2]._page_box.descendants()
               if getattr(box, "element", None) is not None} if page > 1 else set()
    return next((box for box in _starts(document.pages[page - 1]._page_box.children[0])
                 if id(box.element) not in earlier), None)


def _starts_page(document, page: int, box) -> bool:
    """Whether ``box`` is the first thing on its page (nothing runs over above it)."""
    lines = list(islice(_lines(document.pages[page - 1]._page_box.children[0], None), 1))
    return not lines or lines[0][0].position_y >= box.position_y


# What gaps are left, where a page has somewhere to put the space, are closed as a book set flush at
# the foot closes them (LaTeX's \flushbottom): the blank goes to the space above the page's
# headings, lists, tables, figures and quotations, each taking at most its share of a body line
# (``STRETCH``), until the page leaves 1.7 lines blank: no more spread than the rule needs.
# Paragraphs' lines stay as they are. A page that cannot take it all is left as it was: its gap is
# reported.
STRETCH_TO = GAP_LINES - 0.3  # body lines left blank on a page stretched: no more space spread than needed


def stretch(found: Audit, html_text: str) -> str | None:
    """``html_text`` (the part as laid out for ``found``) with the space above the stretchable
    blocks of each page with a gap made larger, to leave ``STRETCH_TO`` lines blank; None if no page can."""
    extra: dict[str, float] = {}
    for page, gap in found.gaps.items():
        room = _room(found, page)
        if not room or room < (gap - GAP_LINES) * found.body_line:
            continue
        share = min(room, (gap - STRETCH_TO) * found.body_line) / room
        for number, margin, tag in found.stretches.get(page, []):
            extra[number] = margin + share * STRETCH.get(tag, 0) * found.body_line
    if not extra:
        return None

    def widen(match: re.Match) -> str:
        number = match.group(1)
        return _with_style(match.group(0), f"margin-top: {extra[number]:.2f}px") if number in extra else match.group(0)

    return re.sub(r'<[a-z0-9]+\b[^>]*? data-s="(\d+)"[^>]*>', widen, html_text)


def _with_style(tag: str, declaration: str) -> str:
    """An opening ``tag`` with ``declaration`` added to its style, after what it sets itself."""
    own = re.search(r"""\sstyle=(["'])(.*?)\1""", tag)
    if own:
        return f'{tag[:own.start()]} style="{own.group(2).rstrip("; ")}; {declaration}"{tag[own.end():]}'
    return tag[:-1] + f' style="{declaration}">'


def _room(found: Audit, page: int) -> float:
    """The space the stretchable blocks of ``page`` can take, px."""
    return sum(STRETCH.get(tag, 0) for _, _, tag in found.stretches.get(page, [])) * found.body_line


def open_gaps(found: Audit) -> dict[int, float]:
    """The gaps that giving their blank to the page's headings (``stretch``) cannot close."""
    return {page: gap for page, gap in found.gaps.items()
            if _room(found, page) == 0 or _room(found, page) < (gap - GAP_LINES) * found.body_line}


def gap_progress(found: Audit, page: int) -> tuple:
    """For closing the gaps page by page, in reading order: flaws and lines over the widest mark
    first, then the open gaps of the pages up to ``page``, the first first; then all of them."""
    gaps = open_gaps(found)
    return (*badness(found)[:2], tuple(round(gaps.get(p, 0.0), 1) for p in range(1, page + 1)),
            len(gaps), round(sum(gaps.values()), 1))


def gap_badness(found: Audit) -> tuple:
    """For choosing between layouts by their gaps: flaws and lines over the widest mark first,
    then the gaps stretching cannot close, then all of them."""
    gaps = open_gaps(found)
    return (*badness(found)[:2], len(gaps), round(sum(gaps.values()), 1), len(found.gaps), round(sum(found.gaps.values()), 1))
