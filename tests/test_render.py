"""One chapter: Markdown + citations + the author's notes -> HTML with inline notes."""
import re
from dataclasses import replace
from pathlib import Path

import pytest

from dossier.model import Chapter
from dossier.problems import Location
from dossier.render.markdown import render_chapter


class RecordingStyle:
    """Stands in for the citation style: records what it is asked, in order."""

    def __init__(self):
        self.calls = []

    def cite(self, citation):
        self.calls.append(citation)
        text = "; ".join(f"{i.prefix + ' ' if i.prefix else ''}{i.key}{', ' + i.locator if i.locator else ''}" for i in citation.items)
        return text if citation.in_note else text + "."

    def narrative(self, item):
        self.calls.append(item)
        return item.key.upper()


KEYS = {"a": 1, "b": 1, "senn1962": 1}


def chapter(body, body_line=5):
    return Chapter(Path("/p/content/01-x.md"), Location("content/01-x.md", body_line), "x", "01", "X", "X", "en", body, body_line)


def render(body, context=None, body_line=5):
    """The chapter rendered, without its blocks' source lines (tests/test_sourcelines.py has them)."""
    style = RecordingStyle()
    rendered, problems = render_chapter(chapter(body, body_line), style, KEYS, context)
    return without_sources(rendered), [str(p) for p in problems], style


def without_sources(rendered):
    return rendered and replace(rendered, html=re.sub(r' data-source="[^"]*"', "", rendered.html))


def notes(html):
    return re.findall(r'<span class="footnote" id="note-x-\d+"[^>]*>(.*?)</span>', html)


def test_citation_becomes_note_at_its_call_after_the_punctuation():
    rendered, problems, _ = render("The treaty was signed [@a, 45-47].\n")
    assert problems == []
    assert notes(rendered.html) == ["a, 45-47."]
    assert re.search(r'signed\.<a class="note-call" id="call-x-1"></a><span class="footnote"', rendered.html)


def test_notes_numbered_in_reading_order_with_authors_notes_between():
    body = "One [@a].[^n] Two [see @b, 3; @a].\n\n[^n]: My note, see [@b, 9].\n"
    rendered, problems, style = render(body)
    assert problems == []
    assert notes(rendered.html) == ["a.", "My note, see b, 9.", "see b, 3; a."]
    assert [c.in_note for c in style.calls] == [False, True, False]
    assert [c.items[0].key for c in style.calls] == ["a", "b", "b"]
    assert rendered.note_count == 3


def test_authors_note_keeps_its_markdown():
    rendered, problems, _ = render("Text.[^1]\n\n[^1]: An *emphatic* note\n    that continues.\n")
    assert problems == []
    assert notes(rendered.html) == ["An <em>emphatic</em> note that continues."]


def test_typography_quotes_and_dashes():
    rendered, _, _ = render('He said "yes" -- then 1918--1920 and \'no\'.\n')
    assert "&ldquo;yes&rdquo;" in rendered.html and "&ndash;" in rendered.html and "&lsquo;no&rsquo;" in rendered.html


def test_tables_and_attribute_lists():
    rendered, _, _ = render("## Terms {#terms}\n\n| A | B |\n|---|---|\n| 1 [@a] | 2 |\n")
    assert '<h2 id="terms">Terms</h2>' in rendered.html
    assert "<table>" in rendered.html and len(notes(rendered.html)) == 1
    assert rendered.headings == ((2, "terms", "Terms"),)


def test_heading_ids_carry_the_chapter_slug():
    rendered, _, _ = render("## The secret clause\n\ntext\n")
    assert rendered.headings == ((2, "x-the-secret-clause", "The secret clause"),)


@pytest.mark.parametrize(
    "body, message",
    [
        ("x\n\nsee [@sen1962, 4].\n", "content/01-x.md:7: unknown citation key 'sen1962' (did you mean 'senn1962'?)"),
        ("x\ny [@zzz]\n", "content/01-x.md:6: unknown citation key 'zzz'"),
        ("x\n\n\ntext.[^missing]\n", "content/01-x.md:8: note [^missing] is called but never defined"),
        ("x\n\n[^1]: one\n\n[^1]: two\n\ny[^1]\n", "content/01-x.md:9: note [^1] is defined twice (first at line 7)"),
        ("x\n\n{{ nothing }}\n", "content/01-x.md:7: data reference: 'nothing' is undefined"),
        ("x\n{% if %}\n", "content/01-x.md:6: template syntax: Expected an expression, got 'end of statement block'"),
    ],
)
def test_problems_name_file_and_line(body, message):
    _, problems, _ = render(body)
    assert message in problems


def test_an_image_without_words_for_a_screen_reader_is_a_warning_at_its_line():
    _, problems, _ = render("x\n\n![](map.png)\n\n![The 1920 border](map.png) <img src='a.png'> <img alt='' src='b.png'>\n")
    found = [p for p in problems if "no words for what it shows" in p]
    assert [p.split(": warning: the image ")[0] + " " + p.split("the image ")[1].split()[0] for p in found] == [
        "content/01-x.md:7 map.png", "content/01-x.md:9 a.png", "content/01-x.md:9 b.png"]


def test_a_misspelt_key_is_told_every_key_as_close_as_the_closest():
    """Two spellings as likely: both named (one alone sends the user to the wrong one half the time)."""
    _, found = render_chapter(chapter("x\n\nsee [@web-ltreaty].\n"), RecordingStyle(),
                              {"web-lvtreaty": 1, "web-lttreaty": 1, "senn1962": 1})
    assert [str(p) for p in found] == ["content/01-x.md:7: unknown citation key 'web-ltreaty' (did you mean 'web-lttreaty' or 'web-lvtreaty'?)"]


def test_all_problems_reported_together():
    _, problems, _ = render("[@nope1] and [@nope2]\n\n[^x]: never called\n")
    assert len([p for p in problems if "unknown citation key" in p]) == 2
    assert any("warning: note [^x] is defined but never called" in p for p in problems)


def test_data_expressions_are_filled_in():
    rendered, problems, _ = render("On {{ day }} [@a].\n", context={"day": "12 July 1920"})
    assert problems == []
    assert rendered.html.startswith("<p>On 12 July 1920.")


def test_data_expressions_keep_line_numbers():
    _, problems, _ = render("On {{ day }}.\n\nlater [@bad]\n", context={"day": "12 July 1920"})
    assert "content/01-x.md:7: unknown citation key 'bad'" in problems


def test_sandbox_blocks_python_internals():
    _, problems, _ = render("{{ ''.__class__.__mro__ }}\n")
    assert any("data reference" in p for p in problems)


@pytest.mark.parametrize(
    "note, expected",
    [
        ("[^1]: On this, see [@b, 9].", "On this, see b, 9."),
        ("[^1]: The copies differ [@b].", "The copies differ (b)."),
        ("[^1]: As the article puts it: [@b].", "As the article puts it: b."),
        ("[^1]: [@b] is the fullest account.", "b is the fullest account."),
        ("[^1]: One copy says so. [@b] has it otherwise.", "One copy says so. b has it otherwise."),
        ("[^1]: Two books by Łossowski [@b] tell it.", "Two books by Łossowski (b) tell it."),
        ("[^1]: See [@b] for the argument.", "See b for the argument."),
        ("[^1]: Not all agree (see [@b]).", "Not all agree (see b)."),
    ],
)
def test_citation_in_authors_note_bare_where_led_in_else_in_parentheses(note, expected):
    rendered, problems, _ = render(f"Text.[^1]\n\n{note}\n")
    assert problems == [] and notes(rendered.html) == [expected]


def test_period_after_an_in_note_citation_moves_inside_its_closing_quote():
    class QuotingStyle(RecordingStyle):
        def cite(self, citation):
            return "Wikipedia, “Soviet–Lithuanian Peace Treaty”" if citation.in_note else "x."

    rendered, problems = render_chapter(chapter("Text.[^1]\n\n[^1]: See [@a].\n"), QuotingStyle(), KEYS)
    assert notes(rendered.html) == ["See Wikipedia, “Soviet–Lithuanian Peace Treaty.”"]


def test_citation_in_mid_sentence_of_a_note_goes_in_parentheses_where_it_stands():
    rendered, problems, _ = render("Text.[^1]\n\n[^1]: As the newspaper [@b] reported, it rained.\n")
    assert problems == [] and notes(rendered.html) == ["As the newspaper (b) reported, it rained."]


def test_unknown_treaty_in_key_facts_is_an_error_naming_the_known_ones():
    from dossier.read.treaties import Treaty, TreatyData
    from dossier.render.data import chapter_context

    context = chapter_context(TreatyData(treaties=(Treaty({"id": "latvia"}, {}), Treaty({"id": "estonia"}, {}))))
    _, problems, _ = render("x\n\n{{ key_facts('nope') }}\n", context=context)
    assert problems == ["content/01-x.md:7: data reference: no treaty 'nope' in the data (known: latvia, estonia)"]


@pytest.mark.parametrize(
    "expression, message",
    [
        ("1/0", "data reference: division by zero"),
        ("[].pop()", "data reference: IndexError: pop from empty list"),
        ("'a' * 10**10", "data reference: repetition too large: 10,000,000,000 items or characters (at most 100,000)"),
        ("10 * [1, 2] * 10**5", "data reference: repetition too large: 2,000,000 items or characters (at most 100,000)"),
        ("10 ** 1000000000", "data reference: number too large: ** would give more than 3,000 digits"),
        ("(10**10) ** (10**10)", "data reference: number too large: ** would give more than 3,000 digits"),
    ],
)
def test_failing_or_oversized_expression_is_an_error_at_its_line(expression, message):
    _, problems, _ = render(f"x\n\ntext\n{{{{ {expression} }}}}\n")
    assert problems == [f"content/01-x.md:8: {message}"]


def test_squaring_in_a_loop_stops_at_the_digit_limit():
    body = "x\n{% set ns = namespace(n=7) %}\n{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}\n"
    _, problems, _ = render(body)
    assert problems == ["content/01-x.md:7: data reference: number too large: * would give more than 3,000 digits"]


def test_ordinary_arithmetic_and_repetition_still_work():
    rendered, problems, _ = render("{{ 2 * 3 }} {{ 3 * '=' }} {{ 2 ** 10 }} {{ 1.5 ** 2 }} {{ 10 ** -2 }} {{ ('ab' * 50000) | length }}\n")
    assert problems == []
    assert rendered.html.startswith("<p>6 === 1024 2.25 0.01 100000")


def test_narrative_citation_names_in_text_and_note_at_that_point():
    rendered, problems, style = render("As @senn1962 [45] argues, and @a.\n")
    assert problems == []
    text = re.sub(r'<span class="footnote".*?</span>', "N", rendered.html)
    assert 'As <span class="citation" data-cites="senn1962">SENN1962</span><a class="note-call" id="call-x-1"></a>N argues' in text
    assert text.endswith('and <span class="citation" data-cites="a">A</span>.<a class="note-call" id="call-x-2"></a>N</p>')
    assert notes(rendered.html) == ["senn1962, 45.", "a."]
    assert [c.items[0].suppress_author for c in style.calls if hasattr(c, "items")] == [True, True]


def test_at_signs_that_are_no_citation_are_left_alone():
    body = "Write to press@example.org, or @ alone, or \\@handle; `@code` and\n\n```\n@fenced\n```\n"
    rendered, problems, _ = render(body)
    assert problems == [] and notes(rendered.html) == []
    for kept in ("press@example.org", "or @ alone", "or @handle;", "<code>@code</code>", "@fenced"):
        assert kept in rendered.html


def test_narrative_citation_with_an_unknown_key_is_an_error_with_suggestions():
    _, problems, _ = render("Intro.\n\nAs @senn1926 argues.\n")
    assert problems == ["content/01-x.md:7: '@senn1926' reads as a citation, but no work in the bibliography "
                        "has the key 'senn1926' (did you mean 'senn1962'?); to print an @ sign there, write \\@"]


def test_narrative_citation_in_an_authors_note_is_the_whole_citation():
    rendered, problems, _ = render("Text.[^1]\n\n[^1]: As @a [12] shows.\n")
    assert problems == [] and notes(rendered.html) == ["As a, 12 shows."]
