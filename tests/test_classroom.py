"""The class material (content/classroom.yaml) and appendices: checks with file:line, and what prints."""
import re

import pytest

from dossier.model import Chapter, chapter_labels
from dossier.problems import Location
from dossier.read import classroom, treaties
from dossier.render import classroom as render
from projectrun import edit, run_build

GOOD = """\
glossary:
  - term: Constituent Assembly
    text: "The elected assembly that ratified the treaty."
    source: "@web"
people:
  - name: Georgy Chicherin
    sort: Chicherin
    role: "Proposed peace."
    source: "@web, 3"
vilnius:
  - from: 1920-10-09
    holder: Poland
    how: "Taken by Żeligowski."
    source: "@web"
  - from: 1919-04
    holder: Poland
    how: "Seized by the Poles."
    source: "@web"
  - from: 1920-07-14
    holder: Soviet Russia
    how: "The Red Army enters."
    source: "@other"
quotations:
  - text: "no war, no peace"
    who: "A description of interwar relations"
    source: "@web"
    questions:
      - "What does it mean?"
      - "Whose words are they?"
"""


def load(tmp_path, text):
    path = tmp_path / "content" / "classroom.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return classroom.load(path, tmp_path)


def short(source):
    return f"<i>{source}</i>"


def test_good_file_loads_with_lines_and_dates_as_precise_as_given(tmp_path):
    loaded, problems = load(tmp_path, GOOD)
    assert problems == []
    assert [e["term"] for e in loaded.glossary] == ["Constituent Assembly"]
    assert loaded.people[0].line == 6
    assert [e["from"] for e in loaded.vilnius] == [classroom.When(1920, 10, 9), classroom.When(1919, 4), classroom.When(1920, 7, 14)]
    assert render.when_text(classroom.When(1919, 4)) == "April 1919"
    assert render._from_text(classroom.When(1919)) == "1919 (no closer date can be given)"


def test_no_file_is_no_material(tmp_path):
    assert load.__name__ and classroom.load(tmp_path / "none.yaml", tmp_path) == (classroom.Classroom(), [])


def line_in(text, part):
    return text[:text.index(part)].count("\n") + 1


@pytest.mark.parametrize("old, new, at, message", [
    ("    role: \"Proposed peace.\"\n", "", "  - name: Georgy", "lacks 'role'"),
    ("from: 1919-04", "from: April 1919", "from: April", "not a date"),
    ("from: 1919-04", "from: 1919-13", "from: 1919-13", "not a date"),
    ("quotations:", "quotes:", "quotes:", "unknown list 'quotes'"),
    ("    sort: Chicherin\n", "    sort: Chicherin\n    born: 1872\n", "born:", "unknown field 'born'"),
    ("\n      - \"What does it mean?\"\n      - \"Whose words are they?\"\n", " what\n", "questions:", "a list of texts"),
    ("term: Constituent Assembly", "term: [a, b]", "term: [", "expected text"),
])
def test_bad_entries_name_their_line(tmp_path, old, new, at, message):
    assert old in GOOD
    text = GOOD.replace(old, new)
    line = line_in(text, at)
    _, problems = load(tmp_path, text)
    assert problems, "no problem found"
    assert any(p.location.line == line and message in p.message for p in problems), problems


def test_broken_yaml_names_its_line(tmp_path):
    text = GOOD.replace('    who: "A description of interwar relations"\n', '    who: [A description\n')
    _, problems = load(tmp_path, text)
    assert problems and problems[0].location.path.endswith("classroom.yaml")
    assert line_in(text, "who: [") <= problems[0].location.line <= line_in(text, "who: [") + 2, problems


def test_glossary_and_whos_who_say_where_the_chapters_use_each_entry(tmp_path):
    loaded, _ = load(tmp_path, GOOD)
    chapters = [("1", "The constituent assembly met."), ("2", "Chicherin wrote."), ("3", "Chicherin again; a Constituent Assemblyman.")]
    glossary = render.glossary(loaded, chapters, short)
    assert "\n" not in glossary
    assert re.search(r"<dt>Constituent Assembly</dt><dd>The elected assembly[^<]*<span class=\"used-in\">\(in chapter 1\)", glossary)
    who = render.whos_who(loaded, chapters, short)
    assert "(named in chapters 2, 3)" in who
    # The sources, once at the foot of each list, in the short form: not a note per entry.
    assert who.count("<i>@web, 3</i>") == 1 and "[@" not in who and "[@" not in glossary


def test_vilnius_strip_orders_the_holders_and_says_how_precise_each_date_is(tmp_path):
    loaded, _ = load(tmp_path, GOOD)
    strip = render.vilnius_strip(loaded, short)
    items = re.findall(r"<li>(.*?)</li>", strip)
    assert [re.search(r"<strong>(.*?)</strong>", i).group(1) for i in items] == ["Poland", "Soviet Russia", "Poland"]
    assert "April 1919 (the sources give no day)" in items[0] and "From 14 July 1920:" in items[1]
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="\d+" width="([\d.]+)"', strip)]
    assert len(widths) == 3 and widths[0] > widths[1] > 0  # 15 months held, then six weeks
    assert strip.count("<i>@web</i>") == 1 and "<i>@other</i>" in strip


def test_sources_pack_prints_each_quotation_with_its_source_and_questions(tmp_path):
    loaded, _ = load(tmp_path, GOOD)
    pack = render.sources_pack(loaded, short)
    assert "“no war, no peace”" in pack
    assert "A description of interwar relations, as quoted in <i>@web</i>." in pack
    assert pack.count("<li>") == 2
    two, _ = load(tmp_path, GOOD.replace('    source: "@web"\n    questions:', '    source: "@web; @other, 4"\n    questions:'))
    assert "as quoted in <i>@web</i>; <i>@other, 4</i>." in render.sources_pack(two, short)  # each work its short form
    marked, _ = load(tmp_path, GOOD.replace('who: "A description of interwar relations"', 'who: "Its mark (..) kept"'))
    assert "Its mark (..) kept, as quoted in" in render.sources_pack(marked, short)  # not tidied to "(.)"
    own, _ = load(tmp_path, GOOD.replace('    source: "@web"\n    questions:', '    source: "@web"\n    own_words: true\n    questions:'))
    assert "A description of interwar relations: <i>@web</i>." in render.sources_pack(own, short)
    _, problems = load(tmp_path, GOOD.replace('    source: "@web"\n    questions:', '    source: "@web"\n    own_words: maybe\n    questions:'))
    assert any("own_words: write true or false" in p.message for p in problems)


def test_chronology_has_events_outside_the_figure_and_every_treaty_step(tmp_path):
    from test_treaties import GOOD as TREATIES
    path = tmp_path / "treaties.yaml"
    path.write_text(TREATIES + "events:\n  - date: 1919-04-01\n    label: An event in April\n    source: \"@web\"\n"
                    "    figure: false\n", encoding="utf-8")
    data, problems = treaties.load(path, tmp_path)
    assert not [p for p in problems if p.severity == "error"]
    rows = render.chronology_rows(data)
    labels = [label for _, label, _ in rows]
    assert "An event in April" in labels
    assert "Latvian–Soviet Peace Treaty ratified by Latvia" in labels
    assert [treaty for _, _, treaty in rows].count(True) == 1
    from dossier.render.timeline import timeline_svg
    assert "An event in April" not in timeline_svg(data)
    assert '<tr class="year"><th colspan="2" scope="rowgroup">1919</th></tr>' in render.chronology(data, short)


def test_appendices_are_lettered_after_the_numbered_chapters():
    def chapter(slug, appendix=False):
        return Chapter(path=None, location=Location("x.md", 1), slug=slug, order=(0, slug), title=slug,
                       short_title=slug, lang="en", body="", body_line=1, appendix=appendix)
    labels = chapter_labels([chapter("a"), chapter("b"), chapter("x", True), chapter("y", True)])
    assert labels == {"a": ("Chapter", "1"), "b": ("Chapter", "2"), "x": ("Appendix", "A"), "y": ("Appendix", "B")}


def test_a_built_appendix_with_class_material(project):
    (project / "content" / "09-class.md").write_text(
        "---\ntitle: For the Class\nappendix: true\n---\n\n## Words\n\n{{ glossary() }}\n", encoding="utf-8")
    bib = next((project / "bib").glob("*.bib")).read_text(encoding="utf-8")
    key = re.search(r"@\w+\{([^,]+),", bib).group(1)
    first = (project / "content" / "01-first.md").read_text(encoding="utf-8")
    word = re.findall(r"[A-Za-z]{6,}", first.split("\n---\n", 1)[-1])[0]
    (project / "content" / "classroom.yaml").write_text(
        f"glossary:\n  - term: {word}\n    text: A word of the first chapter.\n    source: \"@{key}\"\n"
        f"  - term: Nowhereword\n    text: Used nowhere.\n    source: \"@{key}\"\n", encoding="utf-8")
    result = run_build(project, "html")
    assert result.returncode == 0, result.stderr
    assert "content/classroom.yaml:5: warning: the glossary term 'Nowhereword' appears in no chapter" in result.stderr
    html = (project / "output" / "dossier.html").read_text(encoding="utf-8")
    assert "Appendix A" in html and '<span class="toc-number">A</span>' in html
    assert f"<dt>{word}</dt>" in html and "(in chapter 1" in html
    edit(project / "content" / "classroom.yaml", f"\"@{key}\"\n  - term", "\"@nosuchkey\"\n  - term")
    result = run_build(project, "html")
    assert result.returncode == 1
    assert "content/classroom.yaml:2: source: unknown citation key 'nosuchkey'" in result.stderr
    edit(project / "content" / "classroom.yaml", "\"@nosuchkey\"", f"\"{key}\"")  # no @: not a citation
    result = run_build(project, "html")
    assert result.returncode == 1
    assert f"content/classroom.yaml:2: source: cannot read citation item '{key}' (expected '@key')" in result.stderr


def test_source_keys_read_sources_as_citations_are_read(tmp_path):
    loaded, _ = load(tmp_path, GOOD.replace('source: "@web, 3"', 'source: "@web, pp. 3-4; @other"'))
    keys = [(line, key) for line, key, problem in render.source_keys(loaded) if not problem]
    assert (loaded.people[0].line, "web") in keys and (loaded.people[0].line, "other") in keys


def test_names_sort_as_a_reader_expects():
    names = ["Wrangel", "Łossowski", "Šalkauskis", "Lenin", "Senn"]
    people = classroom.Classroom(people=tuple(classroom.Entry({"name": n, "sort": n, "role": "-", "source": "@x"}, 1) for n in names))
    listed = re.findall(r"<dt>(.*?)</dt>", render.whos_who(people, [], short))
    assert listed == ["Lenin", "Łossowski", "Šalkauskis", "Senn", "Wrangel"]


def test_an_event_dated_by_its_month_goes_into_the_chronology_but_not_the_figure(tmp_path):
    from test_treaties import GOOD as TREATIES
    path = tmp_path / "treaties.yaml"
    month = "events:\n  - date: 1918-12\n    label: Invasion (late December)\n    source: \"@web\"\n"
    path.write_text(TREATIES + month + "    figure: false\n", encoding="utf-8")
    data, problems = treaties.load(path, tmp_path)
    assert not [p for p in problems if p.severity == "error"]
    assert '<td class="day">December</td><td>Invasion (late December)</td>' in render.chronology(data, short)
    path.write_text(TREATIES + month, encoding="utf-8")
    _, problems = treaties.load(path, tmp_path)
    assert any("cannot be drawn in the timeline: add 'figure: false'" in p.message for p in problems)


def test_a_list_given_twice_or_under_a_number_is_reported_at_its_line(tmp_path):
    text = GOOD + "glossary:\n  - term: X\n    text: Y\n    source: \"@web\"\n1920:\n  - a\n"
    _, problems = load(tmp_path, text)
    messages = [(p.location.line, p.message) for p in problems]
    twice = text.count("\n", 0, text.rindex("glossary:")) + 1
    assert (twice, "the list 'glossary' is given twice: put its entries under one 'glossary:'") in messages
    assert any(line == twice + 4 and "unknown list '1920'" in message for line, message in messages)


def test_a_term_with_an_apostrophe_is_found_in_the_chapters():
    assert render.chapters_using("Neighbours’ Treaties", [("4", "The Neighbours' Treaties")]) == ["4"]


def test_the_strip_reaches_past_1920_when_the_data_does(tmp_path):
    loaded, _ = load(tmp_path, GOOD.replace("from: 1920-10-09", "from: 1921-03-18"))
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="\d+" width="([\d.]+)"', render.vilnius_strip(loaded, short))]
    assert len(widths) == 3 and min(widths) > 0
