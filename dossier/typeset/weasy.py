"""WeasyPrint, confined to the project: HTML in, a laid-out document and its problems out.

Content is not trusted: the URL fetcher (``fetcher.py``) reads files inside the project only;
everything else, the network included, is refused with a warning, so a chapter cannot pull
``/etc/passwd`` into the PDF. This module imports WeasyPrint at the top: the typesetting
processes load it once, before their first part (``pool.py``).
"""
from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import pyphen
import weasyprint
from weasyprint.formatting_structure import boxes

from .. import audit
from ..files import file_digest, write_atomically
from ..pdf import tags
from . import fitting, mend, pages, patches
from .fetcher import ConfinedFetcher

PX_TO_PT = 0.75  # WeasyPrint reports positions in CSS pixels


@dataclass
class Typeset:
    """What the layout did, for the audit."""

    pages: int
    anchors: dict[str, int] = field(default_factory=dict)  # element id -> page index (0-based)
    refused: list[str] = field(default_factory=list)
    served: list[Path] = field(default_factory=list)  # files the typesetter read
    messages: list[str] = field(default_factory=list)  # what the typesetter said about the content


def warm_up(language: str = "en") -> None:
    """Load what the first part would load (fontconfig, Pango, the hyphenation patterns), so
    that processes forked after this start ready."""
    patches.install()
    pyphen.Pyphen(lang=pyphen.language_fallback(language) or "en")  # kept in pyphen's own cache
    weasyprint.HTML(string=f'<p lang="{language}" style="hyphens: auto">.</p>').render()


def layout(html_text: str, base_url: Path, roots: list[Path]) -> tuple[weasyprint.Document, Typeset]:
    """Lay out the HTML; the typesetter may read files under ``roots`` only."""
    patches.install()
    fetcher = ConfinedFetcher(roots)
    messages = _capture_weasyprint_log()
    try:
        document = weasyprint.HTML(string=html_text, base_url=str(base_url), url_fetcher=fetcher).render()
    finally:
        logging.getLogger("weasyprint").removeHandler(messages)
    anchors: dict[str, int] = {}
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            anchors.setdefault(anchor, index)
    said = [f"not included: {url} (the typesetter reads files inside the project only)" for url in dict.fromkeys(fetcher.refused)]
    said += [f"typesetter: {m}" for m in messages.records if not _environment_notice(m)]
    return document, Typeset(pages=len(document.pages), anchors=anchors, refused=list(fetcher.refused),
                             served=list(dict.fromkeys(fetcher.served)), messages=said)


def release(document: weasyprint.Document) -> None:
    """Remove the copies of the fonts WeasyPrint made for a document, once it is written.

    WeasyPrint copies every @font-face font into a temporary folder of its own, and removes it
    only when the document's font configuration is garbage-collected, which a worker process
    that is stopped may never reach."""
    folder = getattr(getattr(document, "font_config", None), "_folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        document.font_config._folder = None


def write_pdf(document: weasyprint.Document, html_text: str, pdf_path: Path) -> None:
    """Write the PDF atomically, tagged (PDF/UA-1) and its structure tree made what a reader
    expects (``tags.prepare``, from what the layout says of notes, page breaks and text); its
    identifier is derived from its content, so builds repeat."""
    continued = [bool(rest) for rest in re.findall(r'<span class="footnote( footnote-continued)?"', html_text)]
    seams, runs = _seams(document), _pieces(document)
    write_atomically(pdf_path, lambda target: target.write(
        tags.prepare(document.write_pdf(pdf_variant="pdf/ua-1"), continued, seams, runs)))


# A piece for the copier (a handout: its template marks it ``data-shrink``) whose last page is less
# full than this is set snug (the stylesheet's ``[data-shrink="snug"]``: a little smaller, closer),
# as a word processor's "shrink one page" does; kept if that saves the page.
SHRINK, LAST_PAGE_FILL = " data-shrink", 40
GAP_ROUNDS = 4  # layouts at most, to close gaps page by page
REPAIRS = 5  # layouts at most, after the notes are in place, to set still-flawed paragraphs another way


def typeset_one(html_text: str, base_url: str, roots: list[str], note_ids: list, pdf_path: str) -> dict:
    """Lay out one part (in a worker process): its paragraphs fitted (``fitting.fit``), every note
    kept on its call's page (``mend.make_room``, ``audit.nudge``); then, where the page audit still
    finds a paragraph flawed (a word split across a page turn, a scrap on its last line, a line
    stretched wide or broken off), that paragraph set another way; and the gaps above notes closed
    (``mend``: paragraphs a line longer, figures floated, long notes split, the blank given to the
    space above headings), each change kept only where it serves the part better."""
    folders = [Path(r) for r in roots]

    def lay_out(text: str):
        return layout(text, Path(base_url), folders)

    held = None  # a document kept to go back to (not released when it is replaced)

    def keep(trial_html: str, measure, allowed=lambda trial_said: True) -> bool:
        """Lay out ``trial_html`` (the part set another way); keep it if its notes are where they
        were, ``allowed(what the layout said)``, and it is better by ``measure``."""
        nonlocal document, laid_out, found, adjusted
        trial, trial_said = lay_out(trial_html)
        trial_found = pages.audit(trial)
        if (audit.notes_off_page(trial_said.anchors, note_ids) == off and allowed(trial_said)
                and measure(trial_found) < measure(found)):
            if document is not held:
                release(document)
            document, laid_out, found, adjusted = trial, trial_said, trial_found, trial_html
            return True
        release(trial)
        return False

    def attempt(candidate: dict[str, str], measure) -> None:
        """Lay the part out with the ``candidate`` fits; keep them if the part is better for them."""
        nonlocal fits
        if keep(fitting.with_fit(nudge(), candidate), measure):
            fits = candidate

    html_text, elsewhere = _stand_ins(html_text)
    numbered = fitting.number_paragraphs(html_text)
    fits, document, laid_out, found = fitting.fit(numbered, lay_out, release)
    if len(document.pages) > 1 and SHRINK in numbered and found.pages[-1][0] < LAST_PAGE_FILL:
        snug = numbered.replace(SHRINK, f'{SHRINK}="snug"', 1)
        trial = fitting.fit(snug, lay_out, release)
        if len(trial[1].pages) < len(document.pages):
            release(document)
            numbered, (fits, document, laid_out, found) = snug, trial
        else:
            release(trial[1])
    nudged: list[str] = []  # notes whose call's block starts a new page
    after: list[str] = []  # notes whose call's block ends its page
    room: dict[str, tuple] = {}  # notes given room by the lines below their call sent over (tried first)

    def nudge() -> str:
        return mend.with_room(audit.nudge(numbered, nudged, after), list(room.values()))

    tried: dict[str, set[str]] = {}
    repairs = 0
    adjusted = fitting.with_fit(numbered, fits)
    while True:
        if document is None:
            document, laid_out = lay_out(adjusted)
            found = None
        off = audit.notes_off_page(laid_out.anchors, note_ids)
        # Only the first note off its page, in reading order: what it moves shifts everything
        # after it, so a later note may land right by itself, and a break it would have forced
        # (leaving a page half empty) is not needed. First the lines after the call go over,
        # as many as the note needs; if it is still off, the page ends after the call's block;
        # then before it.
        pending = [(note, page) for note, page, _ in off if note not in nudged]
        if pending:
            note, page = pending[0]
            if note in after:
                after.remove(note)
                nudged.append(note)
            elif note in room:
                del room[note]
                after.append(note)
            else:
                made = mend.make_room(document, found or pages.audit(document), note, page)
                if made:
                    room[note] = made
                else:
                    after.append(note)
            release(document)  # laid out again, nudged
            document = None
            adjusted = fitting.with_fit(nudge(), fits)
            continue
        found = found or pages.audit(document)
        refitted = fitting.refit(found, fits, tried) if repairs < REPAIRS and fitting.badness(found)[:2] != (0, 0) else None
        if refitted is None:
            break
        repairs += 1
        attempt(refitted, fitting.badness)
    if found.gaps:  # then the gaps above notes
        filled = mend.fill_gaps(found, numbered, fits, lay_out, release)
        if filled is not None:
            attempt(filled, mend.gap_badness)
    # Then page by page, in reading order (what closes one gap moves the pages after it): a figure
    # that went over floats up; a long note whose call went over is split; the page's paragraphs
    # set shorter, to bring back what went over. A change is taken if it closes the gaps up to its
    # page, even where it opens one further on, which the next round may close; the part ends as
    # the best of the layouts taken. (Letting the widow or orphan rule that made a gap give closed
    # none, in any edition, that these leave: it is gone.)
    best = held = document
    best_state = document, laid_out, found, adjusted
    tried_pages: set[int] = set()
    for _ in range(GAP_ROUNDS):
        page = next((p for p in sorted(mend.open_gaps(found)) if p not in tried_pages), None)
        if page is None:
            break
        progress = lambda f, page=page: mend.gap_progress(f, page)  # noqa: E731
        candidates = chain(((trial, progress) for trial in mend.float_figure(document, adjusted, page)),
                           [(mend.split_notes(document, found, adjusted, page), progress)],
                           ((trial, mend.gap_badness) for trial in mend.pull_back(document, found, adjusted, page, lay_out, release)))
        if not any(trial is not None and keep(trial, measure) for trial, measure in candidates):  # laid out as needed
            tried_pages.add(page)
        elif mend.gap_badness(found) <= mend.gap_badness(best_state[2]):  # the best so far: held
            release(best)
            best = held = document
            best_state = document, laid_out, found, adjusted
    held = None
    if document is not best:
        release(document)
        document, laid_out, found, adjusted = best_state
    if found.gaps:  # what is left, given to the space above headings, lists, tables
        stretched = mend.stretch(found, adjusted)
        if stretched is not None:  # nothing moves
            keep(stretched, mend.gap_badness, lambda trial_said: trial_said.anchors == laid_out.anchors)
    try:
        write_pdf(document, adjusted, Path(pdf_path))
    finally:
        release(document)
    files = {_relative(path, roots): file_digest(path) for path in laid_out.served}
    anchors, links, sizes, sources, started = {}, [], [], [], set()
    for index, page in enumerate(document.pages):
        sizes.append((page.width * PX_TO_PT, page.height * PX_TO_PT))
        sources.append(_sources(page._page_box, started))
        for name, rectangle in page.anchors.items():
            if name not in elsewhere:
                anchors.setdefault(name, [index, *(v * PX_TO_PT for v in rectangle)])
        for kind, target, rectangle, _ in page.links:
            if kind == "internal":
                links.append([index, target, [v * PX_TO_PT for v in rectangle]])
    return {"pages": len(document.pages), "sizes": sizes, "anchors": anchors, "links": links, "sources": sources,
            "notes_off_page": [list(o) for o in off], "warnings": laid_out.messages, "files": files,
            "audit": found.summary(), "findings": found.findings}


def _sources(page_box, started: set) -> list[list]:
    """Where on the page each block that carries its source (``data-source``, from
    ``render/sourcelines.py``) starts: [top, left, "path:line"], pt from the page's top left,
    top to bottom; a block is listed on its first page only (``started``: the elements seen)."""
    found = []
    for box in page_box.descendants():
        element = box.element
        if (element is None or id(element) in started or not element.get("data-source")
                or "::" in box.element_tag):  # a note's call (::footnote-call), a list item's ::marker
            continue
        started.add(id(element))
        found.append([round(box.border_box_y() * PX_TO_PT, 2), round(box.border_box_x() * PX_TO_PT, 2), element.get("data-source")])
    return sorted(found, key=lambda start: (start[0], start[1]))


def _seams(document) -> list[list[str]]:
    """Per page, the elements (their tags, outermost first) that go over to it from the page
    before: a paragraph, a list, a section split by the page break. The structure tree has one
    element a page for each; ``tags.prepare`` joins them."""
    seams, before = [], set()
    for page in document.pages:
        root = page._page_box.children[0] if page._page_box.children else None
        on_page = _printed(root) if root is not None else set()
        chain, box = [], root
        while box is not None:
            if box.element is not None and box.element_tag not in ("html", "body") and id(box.element) in before \
                    and (not chain or chain[-1][1] is not box.element):
                chain.append((box.element_tag, box.element))
            box = next(iter(box.children), None) if isinstance(box, boxes.ParentBox) and not isinstance(box, boxes.LineBox) else None
        seams.append([tag for tag, _ in chain])
        before = on_page
    return seams


def _printed(root) -> set[int]:
    """The elements (their ids) with something printed on the page: the ancestors of its text and
    images. An element laid out at a page's foot with nothing in it has no element in the page's
    structure tree, so it does not go over from there."""
    found: set[int] = set()
    stack = [(root, ())]
    while stack:
        box, above = stack.pop()
        mine = (*above, id(box.element)) if box.element is not None else above
        if (isinstance(box, boxes.TextBox) and box.text.strip()) or isinstance(box, boxes.ReplacedBox):
            found.update(mine)
        stack.extend((child, mine) for child in getattr(box, "children", ()))
    return found


def _pieces(document) -> list[list[list]]:
    """Per page, of each piece of text, in the order WeasyPrint's structure tree holds them (its
    boxes depth first, the page margins left out), its language and its kind: "leader" for a
    leader's (the contents' dots), "entry" for a bibliography entry's, "" for the rest; as runs:
    [count, language, kind]. WeasyPrint knows nothing of these when it writes the tree; ``tags.prepare``
    sets /Lang, makes the dots artifacts and the entries a list (``pdf/pieces.py``)."""
    out = []
    for page in document.pages:
        runs: list[list] = []
        stack = [(page._page_box, "")]
        while stack:
            box, kind = stack.pop()
            box = getattr(box, "_box", box)  # an absolute box's placeholder: the box
            if isinstance(box, boxes.MarginBox):
                continue
            if box.is_leader:
                kind = "leader"
            elif not kind and box.element is not None and box.element_tag == "p" and "bib-entry" in (box.element.get("class") or "").split():
                kind = "entry"
            if isinstance(box, boxes.TextBox):
                lang = box.style["lang"] or ""
                if runs and runs[-1][1:] == [lang, kind]:
                    runs[-1][0] += 1
                else:
                    runs.append([1, lang, kind])
                continue
            kids = []
            for child in getattr(box, "children", ()):
                kids += child.children if isinstance(child, boxes.LineBox) else [child]
            stack.extend((kid, kind) for kid in reversed(kids))
        out.append(runs)
    return out


def _stand_ins(html_text: str) -> tuple[str, set[str]]:
    """``html_text`` with an empty stand-in, out of the flow, for each id it links to that another
    part holds (the contents' chapters): WeasyPrint writes a link only where it finds the target,
    and the merge points each to its place in the book (``merge._retarget_links``), where the
    part's structure tree has it. Returns the ids stood in for."""
    elsewhere = set(re.findall(r'href="#([^"]+)"', html_text)) - set(re.findall(r'\sid="([^"]+)"', html_text))
    stand_ins = "".join(f'<span id="{name}" style="position: absolute"></span>' for name in sorted(elsewhere))
    return (html_text.replace("</body>", stand_ins + "</body>", 1) if elsewhere else html_text), elsewhere


def _relative(path: Path, roots: list[str]) -> str:
    """A file the part read, as "N:path" under the N-th of ``roots`` it lies in (the cache checks it there)."""
    for number, root in enumerate(roots):
        if path.is_relative_to(Path(root).resolve()):
            return f"{number}:{path.relative_to(Path(root).resolve()).as_posix()}"
    return f"-:{path}"  # the fetcher serves nothing else; never found again, so never trusted


def render_pdf(html_text: str, base_url: Path, roots: list[Path]) -> bytes:
    """A small document's PDF bytes (the folio layers)."""
    document, _ = layout(html_text, base_url, roots)
    try:
        return document.write_pdf()
    finally:
        release(document)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(record.getMessage().strip())


def _capture_weasyprint_log() -> _Collect:
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    logger.propagate = False
    return handler


def _environment_notice(message: str) -> bool:
    """Messages about this machine or about refusals already reported, not about the content."""
    return "refused to" in message or "HarfBuzz-Subset" in message

