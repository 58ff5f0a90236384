"""The page audit (typeset/pages.py) on small documents whose flaws are known, and the fitting
of loose paragraphs; the shipped dossier's figures are checked in test_shipped.py."""
import re

import weasyprint

from dossier import audit
from dossier.typeset import fitting, mend, pages
from dossier.typeset.parts import locate

PAGE = "@page { size: 80mm 60mm; margin: 5mm } body { font: 12pt/16pt serif; margin: 0 } p { margin: 0 }"


def render(body: str):
    return weasyprint.HTML(string=f"<html lang=en><style>{PAGE}</style><body>{body}</body></html>").render()


def kinds(found: pages.Audit) -> list[str]:
    return [kind for kind, *_ in found.findings]


def test_a_block_that_cannot_fit_leaves_a_gap_and_the_last_page_is_exempt():
    found = pages.audit(render("<p>One short line.</p><div style='height: 45mm; break-inside: avoid'>x</div><p>end</p>"))
    assert found.findings == [["gap", 1, "One short line.", 7.9]]  # 7.9 lines of 16 pt blank under it
    assert found.pages[1][0] == 90  # the tall block fills its page


def test_a_full_page_has_no_gap():
    assert "gap" not in kinds(pages.audit(render("<p>" + "word " * 400 + "</p>")))


def test_a_hyphen_at_the_turn_of_a_page_is_found():
    turned = [f for f in pages.audit(render("<p style='hyphens: manual'>" + "word " * 37 + "dis\u00adestab\u00adlish\u00adment\u00adarian\u00adism "
                                            + "word " * 30 + "</p>")).findings if f[0] == "turn"]
    assert turned == [["turn", 1, "word word disestablishment\u2010", 0]]


def test_a_split_with_one_letter_on_a_side_a_fragment_and_an_overfull_line():
    found = pages.audit(render("<p style='width: 14mm; hyphens: manual'>a\u00adbcdefghij</p>"))
    assert ["split", 1, "a\u2010", 1] in found.findings and "overfull" in kinds(found)
    assert pages.audit(render("<p>Some words on a line, and<br>is.</p>")).findings == [["fragment", 1, "Some words on a line, and is.", "is."]]
    assert pages.audit(render("<p>Some words on a line, and<br>then.</p>")).findings == []  # four letters are enough


def test_word_spaces_of_justified_lines_are_measured_and_ragged_lines_are_not():
    text = "A line with many words and then Incomprehensibilities Incomprehensibilities and a few more words to end."
    justified = pages.audit(render(f"<p data-b='1' style='text-align: justify; width: 60mm; hyphens: manual'>{text}</p>"))
    assert justified.justified >= 2 and justified.widest > pages.WIDEST_SPACE and "space" in kinds(justified)
    assert len(justified.spaces["1"]) == justified.justified  # tied to the paragraph's number, line by line
    ragged = pages.audit(render(f"<p style='width: 60mm'>{text}</p>"))
    assert ragged.justified == 0 and ragged.widest == 0 and "space" not in kinds(ragged)


def test_paragraphs_and_list_items_are_numbered_and_fitted_by_number():
    html = fitting.number_paragraphs('<p>a</p><ul><li class="x">b</li></ul><pre>c</pre><p class="y">d</p>')
    assert html == '<p data-b="1">a</p><ul data-s="4"><li data-b="2" class="x">b</li></ul><pre>c</pre><p data-b="3" class="y">d</p>'
    assert fitting.with_fit(html, {"2": "fit-tight", "3": "fit-loose"}) == (
        '<p data-b="1">a</p><ul data-s="4"><li data-b="2" class="fit-tight x">b</li></ul><pre>c</pre><p data-b="3" class="fit-loose y">d</p>')
    nudged = audit.nudge('<p data-b="1">Text<span id="call-x-1"></span>.</p>', ["note-x-1"])  # its class comes first
    assert fitting.with_fit(nudged, {"1": "fit-tight"}) == '<p class="fit-tight note-break" data-b="1">Text<span id="call-x-1"></span>.</p>'


def test_fitting_keeps_for_each_paragraph_the_setting_that_serves_it_best():
    """Loose paragraphs are tried a hair tighter (then looser); none comes out worse than plain."""
    css = ("<style>body { word-spacing: -0.08em } .fit-tight { word-spacing: -0.13em } .fit-loose { word-spacing: -0.03em }"
           ".fit-tighter { word-spacing: -0.17em } p { text-align: justify; hyphens: auto; hyphenate-limit-chars: 6 3 3; "
           "margin-bottom: 4mm }</style>")
    words = ("the treaty recognised independence and renounced for ever all sovereign rights over the people "
             "and territory of the state while the frontier ran along the river until it met the old line").split()
    body = "".join(f"<p>{' '.join(words[i:] + words[:i])}</p>" for i in range(len(words)))
    html = f"<html lang=en><head>{css}</head><body>{body}</body></html>"
    released = []

    def lay_out(text):
        return weasyprint.HTML(string=text).render(), None

    numbered = fitting.number_paragraphs(html)
    plain = pages.audit(lay_out(numbered)[0])
    fits, document, _, found = fitting.fit(numbered, lay_out, released.append)
    assert fitting.flawed(plain) and fits  # some paragraphs were loose, and some are set otherwise now
    assert set(fits) <= set(fitting.flawed(plain)) and set(fits.values()) <= set(fitting.FITS)
    assert pages.audit(lay_out(fitting.with_fit(numbered, fits))[0]).findings == found.findings  # what is returned is that layout
    for number in plain.spaces:
        assert fitting.score(found, number) <= fitting.score(plain, number)


def test_a_finding_is_located_at_the_source_line_holding_most_of_its_words():
    source = (10, "# Title\n\nThe frontier was disputed.\nLithuania claimed the lands of four governorates,\nand so on.")
    assert locate(source, "Lithuania claimed the lands of four gover\u2010") == 13
    assert locate(source, "nothing here") == 10


def test_a_gap_before_a_page_break_the_content_asks_for_is_not_a_finding():
    found = pages.audit(render("<p>One short line.</p><div style='break-before: page'>A new section.</div><p>end</p>"))
    assert "gap" not in kinds(found)
    # the break the build sets to keep a note with its call is the layout's: its gap is reported
    found = pages.audit(render("<p>One short line.</p><div class='note-break' style='break-before: page'>Its call.</div><p>end</p>"))
    assert kinds(found) == ["gap"]


def test_a_paragraph_cannot_end_on_a_scrap():
    """A short last word goes with the word before; a long one is split, if at all, with four letters to
    go over (no "ans." alone)."""
    assert fitting.tie_runt("as the exchange was?") == "as the exchange\u00a0was?"
    assert fitting.tie_runt("the Lithuanians.") == 'the <span class="whole">Lithuanians.</span>'
    assert fitting.tie_runt('ends <a href="x">here</a> it') == 'ends <a href="x">here</a>\u00a0it'  # after a tag too
    noted = 'as it was.<span class="footnote">A note <span>with</span> words in it.</span>'
    assert fitting.tie_runt(noted) == noted.replace("it was", "it\u00a0was")  # the note's words do not count


def test_a_table_set_turned_deeper_than_the_page_is_wide_is_reported():
    turned = ("<style>@page { size: 60mm 100mm; margin: 5mm }</style><div style='position: relative; height: 60mm'>"
              "<div style='position: absolute; width: 60mm; transform-origin: 0 0; "
              "transform: translate(0, 60mm) rotate(-90deg)'>ROWS</div></div>")
    deep = pages.audit(render(turned.replace("ROWS", "<p>row</p>" * 12)))  # 12 lines of 16 pt: 68 mm across a 50 mm measure
    assert [(kind, page, round(mm)) for kind, page, _, mm in deep.findings] == [("turned", 1, 18)]
    assert pages.audit(render(turned.replace("ROWS", "<p>row</p>" * 8))).findings == []


def test_a_page_left_short_gives_its_blank_to_the_space_above_its_headings():
    """Flush at the foot: what a heading with its two lines left blank goes to the headings above it,
    each taking at most its share (STRETCH); nothing moves to another page."""
    body = ("<h2 id='a' style='margin: 2pt 0 0; font-size: 12pt'>One</h2><p>A line.</p>"
            "<h2 id='b' style='margin: 2pt 0 0; font-size: 12pt'>Two</h2><p>A line.</p>"
            "<h2 id='c' style='margin: 2pt 0 0; font-size: 12pt'>Three</h2><p>A line.</p>"
            "<div id='d' style='height: 30mm; break-inside: avoid'>a block that goes over</div><p>end</p>")
    html = fitting.number_paragraphs(f"<html lang=en><style>{PAGE}</style><body>{body}</body></html>")
    document = weasyprint.HTML(string=html).render()
    found = pages.audit(document)
    assert pages.GAP_LINES < found.gaps[1] < pages.GAP_LINES + 2  # room for two more headings' worth
    stretched = mend.stretch(found, html)
    after = weasyprint.HTML(string=stretched).render()
    again = pages.audit(after)
    assert 1 not in again.gaps
    assert abs(again.pages[0][1] / pages.PX_TO_MM / again.body_line - mend.STRETCH_TO) < 0.1  # a line and a half left
    assert {a: i for i, p in enumerate(after.pages) for a in p.anchors} == {a: i for i, p in enumerate(document.pages) for a in p.anchors}
    assert stretched.count("margin-top:") == 2  # the page's first heading stays at its top: its space is cut there
    # a page whose headings cannot take the blank is left as it was
    short = re.sub(r"<h2[^>]*id='c'.*?</p>", "", html)
    assert mend.stretch(pages.audit(weasyprint.HTML(string=short).render()), short) is None


NOTES = (".footnote { float: footnote; footnote-policy: line; font-size: 10pt; line-height: 12pt }"
         " ::footnote-call { content: counter(footnote) } ::footnote-marker { content: counter(footnote) '. ' }"
         " .footnote-continued { footnote-policy: auto; counter-increment: footnote -1 }"
         " .footnote-continued::footnote-call, .footnote-continued::footnote-marker { content: none }")


def test_a_long_note_whose_call_went_over_is_split_across_the_pages_as_tex_does():
    """Its first lines go under the call, the rest to the top of the next page's notes, without a
    number; the gap closes; the notes after it keep their numbers."""
    long_note = " ".join(f"note{n}" for n in range(30))
    body = ("<p>" + "word " * 60 + f"the call<a id='call-x-1'></a><span class='footnote' id='note-x-1'>{long_note} <i>in italics</i>"
            " end.</span> and more words " + "word " * 30 + "<span class='footnote' id='note-x-2'>Second.</span> end.</p>")
    html = fitting.number_paragraphs(f"<html lang=en><style>{PAGE} @page {{ size: 80mm 100mm }} {NOTES}</style><body>{body}</body></html>")
    document = weasyprint.HTML(string=html).render()
    found = pages.audit(document)
    assert found.gaps.get(1, 0) > pages.GAP_LINES  # the call's line went over with its note
    split = mend.split_notes(document, found, html, 1)
    assert split.count('class="footnote footnote-continued"') == 1
    after = weasyprint.HTML(string=split).render()
    assert 1 not in pages.audit(after).gaps
    first, second = (page._page_box for page in after.pages[:2])
    text = [" ".join(box.text for box in page.descendants() if isinstance(box, pages.boxes.TextBox)) for page in (first, second)]
    assert "the call" in text[0] and "note0" in text[0] and "note29" in text[1] and "end." in text[1]
    assert "2. Second." in " ".join(text) or "2.Second." in " ".join(text).replace(" ", "")


def test_a_note_is_split_at_a_word_its_open_elements_closed_and_opened_again():
    html = ('<p>T<span class="footnote" id="note-x-1">So the <i>Wikipedia article</i> (&ldquo;Soviet&rdquo;, '
            'under <span lang="lt">Kauno m&#279;n</span> more) ends.</span> after.</p>')
    assert mend._split_note(html, "note-x-1", "So the Wikipedia ") == (
        '<p>T<span class="footnote" id="note-x-1">So the <i>Wikipedia</i></span><span class="footnote footnote-continued">'
        '<i>article</i> (&ldquo;Soviet&rdquo;, under <span lang="lt">Kauno m&#279;n</span> more) ends.</span> after.</p>')
    # a word cut by the line's hyphen stays whole, on the next page
    assert '(&ldquo;Soviet&rdquo;, under</span><span class="footnote footnote-continued"><span lang="lt">Kauno' in (
        mend._split_note(html, "note-x-1", "So the Wikipedia article (“Soviet”, under Kau"))
    assert mend._split_note(html, "note-x-1", "Not its text") == html


def test_a_short_last_line_alone_at_the_top_of_a_page_is_a_widow():
    lines = "a line<br>" * 8  # a page holds eight
    widow = pages.audit(render(f"<p style='widows: 1'>{lines}ending.</p>"))
    assert [kind for kind, *_ in widow.findings] == ["widow"]
    assert "widow" not in kinds(pages.audit(render(f"<p>{lines}ending.</p>")))  # two lines go over together


def test_a_figure_that_went_over_floats_up_and_a_page_of_figures_alone_is_no_hole():
    figure = "<figure style='margin: 0; break-inside: avoid'><div style='height: 40mm'></div><figcaption>The caption.</figcaption></figure>"
    body = f"<p style='break-after: page'>The part's opening page.</p><p>One short line.</p>{figure}<p>More text.</p>"
    html = fitting.number_paragraphs(f"<html lang=en><style>{PAGE}</style><body>{body}</body></html>")
    document = weasyprint.HTML(string=html).render()
    found = pages.audit(document)
    assert list(found.gaps) == [2]  # the text's page; the figure's own page is not a hole
    # where no text follows the figure, the page before it is the part's last with text: not a hole
    assert pages.audit(render(body.removesuffix("<p>More text.</p>"))).gaps == {}
    floated = mend.float_figure(document, html, 2)
    assert floated and floated[0].index("<figure") < floated[0].index("One short")
    assert pages.audit(weasyprint.HTML(string=floated[0]).render()).gaps == {}


def test_a_note_sent_off_its_page_gets_room_by_the_least_that_goes_over():
    """WeasyPrint carries the note over, its call's line staying; what follows the call (here a
    heading and its paragraph) starts the next page instead, and the note stays with its call."""
    note = " ".join(f"note{n}" for n in range(12))
    body = ("<p>" + "word " * 46 + f"the call<a id='call-x-1'></a><span class='footnote' id='note-x-1'>{note}</span>.</p>"
            "<h2 id='h' style='break-after: avoid; margin: 0'>Next</h2><p>" + "more " * 60 + "</p>")
    style = f"{PAGE} @page {{ size: 80mm 100mm }} {NOTES} .note-break {{ break-before: page }}"
    html = fitting.number_paragraphs(f"<html lang=en><style>{style}</style><body>{body}</body></html>")
    ids = [("call-x-1", "note-x-1")]

    def off(document):
        return audit.notes_off_page({a: i for i, p in enumerate(document.pages) for a in p.anchors}, ids)

    document = weasyprint.HTML(string=html).render()
    assert off(document) == [("note-x-1", 1, 2)]
    made = mend.make_room(document, pages.audit(document), "note-x-1", 1)
    assert made == ("break", "data-s", re.search(r'<h2 data-s="(\d+)"', html).group(1))  # before the heading
    assert off(weasyprint.HTML(string=mend.with_room(html, [made])).render()) == []
    # the two kinds of change, as made in the HTML
    assert mend.with_room('<p data-b="3" style="color: red">x</p>', [("widows", "3", 4)]) == '<p data-b="3" style="color: red; widows: 4">x</p>'
    assert mend.with_room('<h3 data-s="5">x</h3>', [("break", "data-s", "5")]) == '<h3 class="note-break" data-s="5">x</h3>'


def test_a_heading_that_went_over_comes_back_when_a_paragraph_is_set_a_line_shorter():
    """A heading and the paragraph it keeps with leave three lines blank on the page before; the
    page's paragraph set tighter loses its last line (one word), and they come back."""
    fits = ".fit-tight { word-spacing: -0.11em } .fit-tighter { word-spacing: -0.14em } .fit-shorter { word-spacing: -0.14em; letter-spacing: -0.01em }"
    body = ("<p style='text-align: justify'>" + " ".join(["word"] * 30) + ".</p>"
            "<h2 class='note-break' style='font-size: 12pt; margin: 0; break-after: avoid'>Next</h2><p>" + "more " * 20 + "</p>")
    style = f"{PAGE} {fits} .note-break {{ break-before: page }}"
    html = fitting.number_paragraphs(f"<html lang=en><head><style>{style}</style></head><body>{body}</body></html>")
    document = weasyprint.HTML(string=html).render()
    found = pages.audit(document)
    assert list(found.gaps) == [1] and found.line_count["1"] == 6

    def lay_out(text):
        return weasyprint.HTML(string=text).render(), None

    trials = list(mend.pull_back(document, found, html, 1, lay_out, lambda document: None))
    assert trials and 'class="fit-shorter"' in trials[0]
    assert "note-break" not in re.search(r"<h2[^>]*>", trials[0]).group(0)  # the break set for a note dropped
    pulled = weasyprint.HTML(string=trials[0]).render()
    assert pages.audit(pulled).gaps == {}
    assert any(box.element_tag == "h2" for box in pulled.pages[0]._page_box.descendants())  # it came back
    assert list(mend.pull_back(document, found, html, 2, lay_out, lambda document: None)) == []  # no page after
