"""The footnote-area speed-up must not change a single byte of the PDF."""
from __future__ import annotations

import random

import pytest

weasyprint = pytest.importorskip("weasyprint")

from dossier.typeset import patches as notes_speedup  # noqa: E402

STYLE = """
@page { size: A5; margin: 15mm; @footnote { border-top: 0.4pt solid; padding-top: 2mm; margin-top: 3mm; max-height: 55%; } }
body { font: 10pt/1.35 serif; widows: 2; orphans: 2; }
.footnote { float: footnote; footnote-policy: line; font-size: 8pt; line-height: 1.3; }
.policy-auto .footnote { footnote-policy: auto; }
h2 { break-after: avoid; }
"""


def dense_document(seed: int) -> str:
    """Paragraphs with several notes each, short and long, as the dossier's are, plus a page
    whose notes cannot all fit, so that WeasyPrint moves lines and notes on."""
    rng = random.Random(seed)
    words = "treaty border peace Moscow Riga Tartu recognition Soviet delegation ratified article sovereignty".split()
    parts = [f"<style>{STYLE}</style>"]
    for section in range(6):
        parts.append(f"<h2>Section {section}</h2>")
        for _ in range(4):
            sentences = []
            for _ in range(rng.randint(3, 7)):
                text = " ".join(rng.choice(words) for _ in range(rng.randint(6, 18)))
                note = " ".join(rng.choice(words) for _ in range(rng.choice((4, 12, 40, 90))))
                sentences.append(f'{text}.<span class="footnote">{note}.</span>')
            parts.append(f"<p>{' '.join(sentences)}</p>")
    long_note = " ".join(rng.choice(words) for _ in range(260))
    parts.append(f'<div class="policy-auto"><p>A call whose note is long.<span class="footnote">{long_note}.</span> '
                 f'Another.<span class="footnote">{long_note}.</span> And more text after both.</p></div>')
    return "\n".join(parts)


def render(html: str) -> tuple[bytes, int]:
    document = weasyprint.HTML(string=html).render()
    return document.write_pdf(pdf_identifier=b"test"), len(document.pages)


@pytest.mark.parametrize("seed", [2])
def test_same_pdf_with_and_without_the_speed_up(seed):
    html = dense_document(seed)
    notes_speedup.uninstall()
    try:
        plain, pages = render(html)
        assert notes_speedup.install()
        before = dict(notes_speedup.stats)
        fast, _ = render(html)
    finally:
        notes_speedup.install()  # as the rest of the suite runs
    assert pages >= 4
    assert fast == plain
    # And it did its work: most note layouts in the measuring passes were reused.
    reused = notes_speedup.stats["reused"] - before["reused"]
    laid_out = notes_speedup.stats["laid out"] - before["laid out"]
    assert reused > laid_out > 0


def test_only_on_the_version_it_was_written_for(monkeypatch):
    notes_speedup.uninstall()
    monkeypatch.setattr(weasyprint, "__version__", "71.0")
    try:
        assert notes_speedup.install() is False
        from weasyprint.layout import block
        assert block.block_level_layout.__module__ == "weasyprint.layout.block"
    finally:
        monkeypatch.undo()
        notes_speedup.install()


def test_only_where_the_functions_it_wraps_have_the_signatures_it_was_written_for(monkeypatch):
    from weasyprint.layout import block

    notes_speedup.uninstall()
    original = block.block_level_layout

    def changed(context, box, bottom_space, skip_stack, containing_block, page_is_empty=True, new_argument=None):
        return original(context, box, bottom_space, skip_stack, containing_block, page_is_empty)

    monkeypatch.setattr(block, "block_level_layout", changed)
    try:
        assert notes_speedup.install() is False
        assert block.block_level_layout is changed
    finally:
        monkeypatch.undo()
        notes_speedup.install()


def test_remembered_layouts_keep_the_objects_their_keys_name_alive():
    """A key holds id(box.style) and id(page): the entry must hold the objects themselves, so
    that no freed object's id can be reused to match it."""
    notes_speedup.install()
    captured = {}
    original = weasyprint.layout.LayoutContext._update_footnote_area

    def spy(context):
        result = original(context)
        captured.update(context.__dict__.get("dossier_note_layouts", {}))
        return result

    weasyprint.layout.LayoutContext._update_footnote_area = spy
    try:
        render(dense_document(1))
    finally:
        weasyprint.layout.LayoutContext._update_footnote_area = original
    assert captured
    for key, entry in captured.items():
        style, page = entry[-1]
        assert id(style) == key[2] and id(page) == key[7]
