"""The treaty data: validation with file:line, printing, generated blocks."""
import datetime as dt
import re

import pytest

from dossier.read import treaties
from dossier.render import data

GOOD = """\
treaties:
  - id: latvia
    name: Latvian–Soviet Peace Treaty
    short: Riga 1920
    native_names: {}
    parties: [Latvia, Soviet Russia]
    place: Riga
    signed: 1920-08-11
    signatories:
      Soviet Russia: [A. Joffe]
    articles: 23
    recognition: Independence recognised
    territory: null
    money_property: null
    neutrality_secret: null
    ratified:
      Latvia: 1920-09-02
    ratifications_exchanged: null
    registered: null
    registration: null
    held: null
    talks: In Moscow, then Riga
    delegations: {}
    chapter: 03-latvia
    sources:
      name: "@web"
      parties: "@web"
      place: "@web"
      signed: "@web, 3"
      signatories: "@web"
      articles: "@web"
      recognition: "@web"
      ratified: "@other; @web"
      talks: "@web"
events:
  - date: 1920-01-30
    label: Secret ceasefire
    source: "@web"
"""


def load(tmp_path, text):
    path = tmp_path / "content" / "treaties.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return treaties.load(path, tmp_path)


def test_good_data_loads(tmp_path):
    loaded, problems = load(tmp_path, GOOD)
    assert problems == []
    latvia = loaded.by_id()["latvia"]
    assert latvia.signed == dt.date(1920, 8, 11) and latvia.articles == 23
    assert latvia.lines["signed"] == 8
    assert loaded.events[0].label == "Secret ceasefire"


@pytest.mark.parametrize(
    "change, message",
    [
        (("signed: 1920-08-11", "signed: 1920-13-11"), "content/treaties.yaml:8: signed: '1920-13-11' is not a valid date"),
        (("    articles: 23\n", ""), "content/treaties.yaml:2: treaty 'latvia' lacks the field 'articles'"),
        (("articles: 23", "articles: many"), "content/treaties.yaml:11: articles: 'many' is not a positive whole number"),
        (("Latvia: 1920-09-02", "Latvia: 2 Sept"), "content/treaties.yaml:17: ratified: '2 Sept' (Latvia) is not a valid date"),
        (("place: Riga", "place: null"), "content/treaties.yaml:7: place: a value is required here"),
        (("    held: null\n", "    held: null\n    colour: red\n"), "content/treaties.yaml:22: unknown field 'colour'"),
        (("  - date: 1920-01-30", "  - date: soon"), "content/treaties.yaml:36: an event needs a date"),
        (("signed: 1920", "signed: [1920"), "content/treaties.yaml:"),
    ],
)
def test_bad_data_names_file_and_line(tmp_path, change, message):
    _, problems = load(tmp_path, GOOD.replace(*change))
    assert any(str(p).startswith(message) for p in problems), [str(p) for p in problems]


def test_value_without_source_warns(tmp_path):
    _, problems = load(tmp_path, GOOD.replace('      articles: "@web"\n', ""))
    assert [str(p) for p in problems] == ["content/treaties.yaml:11: warning: articles: no source given in 'sources'"]


def test_finalize_prints_dates_in_words_and_refuses_null():
    assert data.finalize(dt.date(1920, 7, 12)) == "12 July 1920"
    assert data.finalize(23) == 23
    with pytest.raises(ValueError):
        data.finalize(None)


def test_generated_blocks_are_one_line_with_citations(tmp_path):
    loaded, _ = load(tmp_path, GOOD)
    latvia = loaded.by_id()["latvia"]
    box = data.key_facts(latvia)
    table = data.comparison_table(loaded)
    for block in (box, table):
        assert "\n" not in block
    assert "11 August 1920" in box and "Latvia: 2 September 1920" in box
    assert "[@web; @web, 3; @other]" in box or "[@web, 3;" in box or "@other" in box
    # A row all dashes (the data's one treaty is silent on territory) is left out; each treaty's
    # sources are one citation on the caption, not a row of their own.
    assert "Territory" not in table and "Sources" not in table
    shown = [key for key in data.COMPARISON_ROWS if latvia.values.get(key) not in (None, {}, [])]
    assert table.count("<th scope=\"row\">") == len(shown) > 3
    # Named treaties: the pair's rows (talks, delegations, signatories too), in the text's width.
    pair = data.comparison_table(loaded, "latvia")
    assert pair.startswith('<div class="pair">') and "<th scope=\"row\">Talks</th><td>In Moscow, then Riga</td>" in pair
    assert "Signatories" in pair and "Signatories" not in table
    assert '<th scope="col">Riga 1920</th>' in table
    assert re.search(r'<caption>[^<]*\[@[^\]]+\]</caption>', table)


def test_on_a_small_page_the_turned_table_goes_over_two_pages_its_head_repeated(tmp_path):
    loaded, _ = load(tmp_path, GOOD)
    table = data.comparison_table(loaded)
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", table)
    split = data.split_turned(f"<p>Before.</p>{table}<p>After.</p>")
    halves = re.findall(r'<div class="comparison">.*?</div>', split)
    assert len(halves) == 2 and split.startswith("<p>Before.</p>") and split.endswith("<p>After.</p>")
    assert re.findall(r"<tr><th scope=\"row\">.*?</tr>", split) == rows  # every row once, in order
    assert all(re.search(r"<tr><th scope=\"row\">", half) for half in halves)  # neither half empty
    head = re.search(r"<thead>.*?</thead>", table).group(0)
    assert all(head in half for half in halves)
    assert "[@" in halves[0] and "[@" not in halves[1] and "side by side, continued</caption>" in halves[1]
    pair = data.comparison_table(loaded, "latvia")
    assert data.split_turned(pair) == pair  # a table in the text's width stays whole


def test_table_sources_are_one_note_with_treaties_of_the_same_sources_together():
    def treaty(short, sources):
        return treaties.Treaty({"short": short, "sources": {"signed": sources}}, {})
    rows = ["signed"]
    assert data.table_sources([treaty("A", "@x"), treaty("B", "@x")], rows) == "[@x]"
    assert data.table_sources([treaty("A", "@x"), treaty("B", "@y; @z, 4"), treaty("C", "@x")], rows) == \
        "[A and C: @x; B: @y; @z, 4]"


def test_timeline_is_vector_svg_with_every_event(tmp_path):
    from dossier.render.timeline import timeline_svg

    loaded, _ = load(tmp_path, GOOD)
    svg = timeline_svg(loaded)
    assert "<svg" in svg and "\n" not in svg
    assert "Secret ceasefire" in svg and "Latvian–Soviet Peace Treaty signed" in svg


@pytest.mark.parametrize(
    "targets, expected",
    [
        ([10, 50, 90], [10, 50, 90]),  # room for all: each at its target
        ([50, 50, 50], [40, 50, 60]),  # a crowd centres on its mean
        ([0, 1], [0, 10]),  # never above the top
        ([40, 50, 55, 100], [38 + 1 / 3, 48 + 1 / 3, 58 + 1 / 3, 100]),  # mean of 40, 50, 55 is 48⅓
    ],
)
def test_timeline_labels_keep_apart_and_near_their_dates(targets, expected):
    from dossier.render.timeline import place_labels

    placed = place_labels(targets, 10, 0)
    assert placed == pytest.approx(expected)
    assert all(b - a >= 10 - 1e-9 for a, b in zip(placed, placed[1:]))


def test_key_facts_in_a_chapter_finds_a_treaty_by_id_or_names_the_known_ones(tmp_path):
    import jinja2

    loaded, _ = load(tmp_path, GOOD)
    key_facts = data.chapter_context(loaded)["key_facts"]
    assert key_facts("latvia") == data.key_facts(loaded.by_id()["latvia"])
    with pytest.raises(jinja2.UndefinedError, match=r"^no treaty 'nope' in the data \(known: latvia\)$"):
        key_facts("nope")
    with pytest.raises(jinja2.UndefinedError, match=r"\(known: none\)"):
        data.chapter_context(treaties.TreatyData())["key_facts"]("latvia")
