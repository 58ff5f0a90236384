"""Fitting paragraphs: each set with the word spacing that breaks its lines best, found by
laying it out several ways in a galley; the measure of how well a part is set.
"""
from __future__ import annotations

import re

from ..audit import add_class
from .pages import WIDE_SPACE, WIDEST_SPACE, Audit, audit


# Fitting: WeasyPrint breaks a paragraph's lines one at a time (greedily), so some lines come out
# loose, a paragraph may end on a scrap of a word, a word may be split across the turn of a page.
# The blocks (paragraphs, list items) with a loose line are set with each of these word spacings
# in a galley (``fit``), and keep whichever serves them best; a block still flawed once the notes
# are placed tries the others (``refit``). The nearest a greedy breaker comes to breaking a
# paragraph as a whole.
FITS = ("fit-tight", "fit-loose", "fit-tighter", "fit-looser")  # classes of the stylesheet
_BLOCK_RE = re.compile(r"<(p|li)\b")
# The blocks that may take more space above them, where a page is set flush at its foot
# (``mend.stretch``): each up to this share of a body line.
STRETCH = {"h2": 1.0, "h3": 0.8, "h4": 0.8, "table": 0.6, "figure": 0.6, "ul": 0.5, "ol": 0.5, "dl": 0.5,
           "blockquote": 0.5, "dt": 0.3, "div": 1.0}  # div: the sources pack's items, each a section
_STRETCH_RE = re.compile(rf"<({'|'.join(t for t in STRETCH if t != 'div')}|div(?= class=\"pack-item\"))\b")


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
    flaws = sum(kind in ("turn", "fragment", "split", "overfull", "widow", "short") for kind, *_ in found.findings)
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
