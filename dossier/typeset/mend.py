"""Mending what the page audit (``pages.py``) finds, by laying the part out again a little
differently: paragraphs set tighter or looser, gaps above notes filled, a page's blank given to
the space above its headings. The trials run in the typesetting process (``weasy.typeset_one``),
each kept only where it serves the part better.
"""
from __future__ import annotations

import math
import re
from html import unescape
from itertools import islice

from weasyprint.formatting_structure import boxes

from ..audit import add_class
from .pages import GAP_LINES, WIDE_SPACE, WIDEST_SPACE, Audit, _lines, audit


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
    to it, and each block that may take space above it (``STRETCH``: ``data-s``); the last word
    of each paragraph, where it is short, tied to the word before (``tie_runt``)."""
    count = iter(range(1, 1 << 30))
    html_text = _BLOCK_RE.sub(lambda m: f'<{m.group(1)} data-b="{next(count)}"', html_text)
    html_text = _STRETCH_RE.sub(lambda m: f'<{m.group(1)} data-s="{next(count)}"', html_text)
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
        if name is None:
            return match.group(0)
        tag = match.group(0)
        if name.startswith("fit-") or name == "":  # a fit replaces the one the block had
            tag = re.sub(r' class=""', "", re.sub(r"(?<=[\s\"])fit-[\w-]+ ?", "", tag))
        return add_class(tag, name) if name else tag

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
    flaws = sum(kind in ("turn", "fragment", "split", "overfull", "widow") for kind, *_ in found.findings)
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


# A note too long for what is left of its call's page takes the call's line over with it (the
# stylesheet's footnote-policy: line), and leaves a gap. Books set the note's first lines under its
# call and carry the rest over, as TeX does: the note is split at a word where the page's room
# ends, and its second part (class ``footnote-continued``: no number, no call of its own) cannot
# fit on the page, so WeasyPrint carries it to the top of the next page's notes.
CONTINUED = "footnote-continued"
NOTE_LINES = 2  # lines of a split note, at least, on each page


def split_notes(document, found: Audit, html_text: str) -> str | None:
    """``html_text`` (the part as laid out in ``document``) with the note whose call went over
    from each page with a gap split to fill the gap; None if none can be."""
    out = html_text
    for page in sorted(found.gaps):
        if page < len(document.pages):
            plan = _note_split(document.pages[page - 1]._page_box, document.pages[page]._page_box,
                               found.gaps[page] * found.body_line)
            if plan:
                out = _split_note(out, *plan)
    return out if out != html_text else None


def _note_split(page, following, room: float) -> tuple[str, str] | None:
    """(note id, the text of its lines that fit on ``page``) for the first note called in the
    first lines of ``following``, if it can be split with ``NOTE_LINES`` on each page."""
    top = following.content_box_y()
    for line, _ in islice(_lines(following.children[0], None), 4):
        called = [box.footnote for box in line.descendants() if getattr(box, "footnote", None) is not None]
        if not called:
            continue
        areas = [c for c in following.children if isinstance(c, boxes.FootnoteAreaBox)]
        note = next((n for a in areas for n in a.children if n.element is called[0].element), None)
        if note is None or note.element.get("id") is None:
            return None
        lines = [box for box in note.descendants() if isinstance(box, boxes.LineBox)]
        overhead = note.margin_height() - sum(box.height for box in lines)
        if not any(isinstance(c, boxes.FootnoteAreaBox) and c.children for c in page.children):
            overhead += areas[0].margin_top + areas[0].padding_top + areas[0].border_top_width
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


_VOID = ("br", "wbr", "img")


def _tag_name(tag: str) -> str:
    return re.match(r"</?(\w+)", tag).group(1)


def _split_note(html_text: str, note_id: str, kept: str) -> str:
    """The note ``note_id`` split after the last whole word of ``kept`` (its text as printed): the
    inline elements open there closed, and opened again in the part continued."""
    opening = re.search(rf"""<span class=(["'])footnote\1 id=(["']){re.escape(note_id)}\2>""", html_text)
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


# A gap left by the widow and orphan rules (a paragraph's two lines, one with a note, gone over
# together where one would have fitted) closes as a typesetter closes it: the rule gives, for
# that paragraph only (a full line left alone at the top of the next page, or one at the foot).
GIVE = {"widows": "widows-give", "orphans": "orphans-give"}  # classes of the stylesheet


def give_way(document, found: Audit) -> dict[str, str]:
    """The paragraph that starts each page after a gap in ``document`` (by number), with the
    class that allows it one line on either side of the break."""
    gives = {}
    for page in found.gaps:
        if page >= len(document.pages):
            continue
        first = next(_lines(document.pages[page]._page_box.children[0], None), None)
        if first is None or first[1].element is None or first[1].element.get("data-b") is None:
            continue
        element = first[1].element
        before = any(block.element is element for _, block in _lines(document.pages[page - 1]._page_box.children[0], None))
        gives[element.get("data-b")] = GIVE["widows" if before else "orphans"]
    return gives


# What gaps are left, where a page has somewhere to put the space, are closed as a book set flush at
# the foot closes them (LaTeX's \\flushbottom): the blank goes to the space above the page's
# headings, lists, tables, figures and quotations, each taking at most its share of a body line
# (``STRETCH``), until the page leaves a line and a half blank. Paragraphs' lines stay as they are. A page
# that cannot take it all is left as it was: its gap is reported.
STRETCH = {"h2": 1.0, "h3": 0.8, "h4": 0.8, "table": 0.6, "figure": 0.6, "ul": 0.5, "ol": 0.5, "dl": 0.5,
           "blockquote": 0.5, "dt": 0.3, "div": 1.0}  # div: the sources pack's items, each a section
_STRETCH_RE = re.compile(rf"<({'|'.join(t for t in STRETCH if t != 'div')}|div(?= class=\"pack-item\"))\b")
STRETCH_TO = GAP_LINES - 0.5  # body lines left blank on a page stretched


def stretch(found: Audit, html_text: str) -> str | None:
    """``html_text`` (the part as laid out for ``found``) with the space above the stretchable
    blocks of each page with a gap made larger, to leave ``STRETCH_TO`` lines blank; None if no page can."""
    extra: dict[str, float] = {}
    for page, gap in found.gaps.items():
        points = [(number, margin, STRETCH[tag] * found.body_line) for number, margin, tag in
                  ((n, m, _tag_of(html_text, n)) for n, m in found.stretches.get(page, [])) if tag]
        room = sum(most for _, _, most in points)
        if not points or room < (gap - GAP_LINES) * found.body_line:
            continue
        share = min(room, (gap - STRETCH_TO) * found.body_line) / room
        for number, margin, most in points:
            extra[number] = margin + share * most
    if not extra:
        return None

    def widen(match: re.Match) -> str:
        tag, number = match.group(0), match.group(1)
        if number not in extra:
            return tag
        space = f"margin-top: {extra[number]:.2f}px"
        own = re.search(r"""\sstyle=(["'])(.*?)\1""", tag)
        if own:  # after what the tag sets itself
            return f'{tag[:own.start()]} style="{own.group(2).rstrip("; ")}; {space}"{tag[own.end():]}'
        return tag[:-1] + f' style="{space}">'

    return re.sub(r'<[a-z0-9]+\b[^>]*? data-s="(\d+)"[^>]*>', widen, html_text)


def _tag_of(html_text: str, number: str) -> str | None:
    match = re.search(rf'<([a-z0-9]+) data-s="{number}"', html_text)
    return match.group(1) if match else None


def gap_badness(found: Audit) -> tuple:
    """For choosing between layouts by their gaps: flaws and lines over the widest mark first."""
    return (*badness(found)[:2], len(found.gaps), round(sum(found.gaps.values()), 1))
