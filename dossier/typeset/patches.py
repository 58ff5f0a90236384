"""Footnote areas in linear time, for the pinned WeasyPrint (70.0).

Each time WeasyPrint places a note, it lays out the page's whole footnote area again to
learn its height: the n-th note of a page costs the layout of n notes. On this dossier,
with five to eight notes a page, that is about half of all layout time. Every note but the
new one is laid out exactly as the time before: the same box, at the same position, in the
same area. So the layout of each note in that measuring pass is remembered, keyed by
everything the layout reads (the box, its position and width, the page, the margins that
adjoin it), and a copy is handed back when the same layout is asked for again. The area
then costs one new note each time, and the result is the same layout, box for box: the
tests compare the PDFs built with and without this, byte for byte.

Installed once per process, and only on the WeasyPrint version it was written against and
only where the two functions it wraps have the signatures it was written for; anything else
runs as it comes. The remembered layouts are keyed by the objects they depend on, which each
entry holds, so that no key can match a freed object's reused ``id()``.
"""
from __future__ import annotations

import inspect
from math import inf

import weasyprint
from weasyprint.formatting_structure import boxes
from weasyprint.layout import LayoutContext, block

PATCHED_VERSION = "70.0"
SIGNATURES = {  # what WeasyPrint 70.0 has; a release that changes either is left alone
    "block_level_layout": "(context, box, bottom_space, skip_stack, containing_block, page_is_empty=True, "
                          "absolute_boxes=None, fixed_boxes=None, adjoining_margins=None, first_letter_style=None, "
                          "first_line_style=None, discard=False, max_lines=None)",
    "_update_footnote_area": "(self)",
}
stats = {"reused": 0, "laid out": 0}  # note layouts in measuring passes, for the tests
_originals: tuple | None = None


def applies() -> bool:
    """Whether this WeasyPrint is the one the patch was written for, function for function."""
    found = {"block_level_layout": block.block_level_layout, "_update_footnote_area": LayoutContext._update_footnote_area}
    return weasyprint.__version__ == PATCHED_VERSION and all(
        str(inspect.signature(function)) == SIGNATURES[name] for name, function in found.items())


def install() -> bool:
    """Patch WeasyPrint (once per process); returns whether the patch is in place."""
    global _originals
    if _originals is not None:
        return True
    if not applies():
        return False
    measure_area = LayoutContext._update_footnote_area
    lay_out_block = block.block_level_layout

    def _update_footnote_area(context):
        """WeasyPrint's own measuring pass, with the notes' layouts remembered."""
        context.dossier_measuring = True
        try:
            return measure_area(context)
        finally:
            context.dossier_measuring = False

    def block_level_layout(context, box, bottom_space, skip_stack, containing_block, page_is_empty=True,
                           absolute_boxes=None, fixed_boxes=None, adjoining_margins=None,
                           first_letter_style=None, first_line_style=None, discard=False, max_lines=None):
        arguments = (context, box, bottom_space, skip_stack, containing_block, page_is_empty, absolute_boxes,
                     fixed_boxes, adjoining_margins, first_letter_style, first_line_style, discard, max_lines)
        if not (getattr(context, "dossier_measuring", False) and isinstance(containing_block, boxes.FootnoteAreaBox)
                and bottom_space == -inf and skip_stack is None and box.element is not None
                and first_letter_style is None and first_line_style is None
                and not absolute_boxes and not fixed_boxes):
            return lay_out_block(*arguments)
        # box.style and the page are not hashable: keyed by id(), and kept alive by the entry.
        key = (box.element, box.element_tag, id(box.style), box.position_x, box.position_y,
               containing_block.width, containing_block.height, id(containing_block.page),
               page_is_empty, tuple(adjoining_margins or ()), context.current_page, context.forced_break,
               context.in_column, discard, max_lines)
        cache = context.__dict__.setdefault("dossier_note_layouts", {})
        if key in cache:
            stats["reused"] += 1
            new_box, resume_at, next_page, margins, through, lines, _alive = cache[key]
            return new_box.deepcopy(), resume_at, dict(next_page), list(margins), through, lines
        stats["laid out"] += 1
        result = lay_out_block(*arguments)
        new_box, resume_at, next_page, margins, through, lines = result
        if new_box is not None and resume_at is None and not absolute_boxes and not fixed_boxes:
            alive = (box.style, containing_block.page)
            cache[key] = (new_box.deepcopy(), resume_at, dict(next_page), list(margins), through, lines, alive)
        return result

    _originals = (measure_area, lay_out_block)
    LayoutContext._update_footnote_area = _update_footnote_area
    block.block_level_layout = block_level_layout
    return True


def uninstall() -> None:
    """Put WeasyPrint back as it came (the tests compare the two)."""
    global _originals
    if _originals is None:
        return
    LayoutContext._update_footnote_area, block.block_level_layout = _originals
    _originals = None
