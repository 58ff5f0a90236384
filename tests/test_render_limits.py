"""Limits on what a chapter can make the build do: its data expressions' work and output, the
depth of its Markdown, and the templates' and handouts' errors, each a ``path:line`` problem."""
from pathlib import Path

import pytest

from dossier.model import Chapter
from dossier.problems import Location
from dossier.render.markdown import MAX_NESTING, data_environment, render_chapter
from test_render import without_sources


class Style:
    def cite(self, citation):
        return "a note."


def chapter(body, body_line=5):
    return Chapter(Path("/p/content/01-x.md"), Location("content/01-x.md", body_line), "x", "01", "X", "X", "en", body, body_line)


def render(body, context=None, env=None):
    rendered, problems = render_chapter(chapter(body), Style(), {"a": 1}, context, env)
    return without_sources(rendered), [str(p) for p in problems]


TOO_MUCH_WORK = "data reference: this expression repeats too much work: a chapter's data expressions may take 1,000,000 steps"
TOO_MUCH_TEXT = "data reference: this expression repeats too much work: a chapter's data expressions may write 5,000,000 characters"


def only(problems, start):
    assert len(problems) == 1 and problems[0].startswith(start), problems
    return problems[0]


# -- 1. a chapter's data expressions: bounded by work and output --------------------------------

def test_nested_loops_stop_at_the_limit_of_work_at_the_inner_loop():
    body = "x\n\n{% for i in range(100000) %}\n{% for j in range(100000) %}{% endfor %}\n{% endfor %}\n"
    _, problems = render(body)
    only(problems, f"content/01-x.md:8: {TOO_MUCH_WORK}")


@pytest.mark.parametrize(
    "body",
    [
        "{% for a in 'x' * 100000 %}{% for b in 'x' * 100000 %}{% endfor %}{% endfor %}",  # loops without range
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",  # 2**40 calls
        "{% for i in range(100000) %}{% for j in range(100) %}{% set a = 1 %}{% set b = 2 %}{% endfor %}{% endfor %}",
        "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set _ = ns.l.extend(ns.l) %}{% endfor %}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}",
        "{% set l = [1] * 100000 %}{% set m = [l] * 100000 %}{{ m | string | length }}",  # 10**10 items when printed
        "{% set l = [1] * 100000 %}{% for i in range(100000) %}{% if l == l[:] %}{% endif %}{% endfor %}",
        "{% set big = 'a' * 100000 %}{% for i in range(100000) %}{{ big.count('a') }}{% endfor %}",
        "{% set l = range(100000) | map('string') | list %}{% for i in range(100) %}{{ l | sort | length }}{% endfor %}",
        "{% for x in [1] recursive %}{{ loop(range(100000)) }}{% endfor %}",
        "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}",  # a namespace inside itself
    ],
)
def test_work_repeated_too_often_is_stopped_at_its_line(body):
    _, problems = render(f"x\n\n{body}\n")
    only(problems, f"content/01-x.md:7: {TOO_MUCH_WORK}")


@pytest.mark.parametrize(
    "body",
    [
        "{% for i in range(100000) %}" + "x" * 100 + "{% endfor %}",
        "{% macro m() %}{% for i in range(100000) %}" + "x" * 100 + "{% endfor %}{% endmacro %}{% set s = m() %}",
    ],
)
def test_text_written_is_bounded_even_where_it_is_not_printed(body):
    _, problems = render(f"x\n\n{body}\n")
    only(problems, f"content/01-x.md:7: {TOO_MUCH_TEXT}")


@pytest.mark.parametrize(
    "expression, message",
    [
        ("lipsum(10**6)", "'lipsum' is undefined"),
        ("'x'.center(10**9)", "padding too large: 1,000,000,000 items or characters (at most 100,000)"),
        ("'x'.rjust(10**9)", "padding too large: 1,000,000,000 items or characters"),
        ("'x'.zfill(10**9)", "padding too large: 1,000,000,000 items or characters"),
        ("'x' | center(1000000000)", "padding too large: 1,000,000,000 items or characters"),
        ("'%*s' % (10**9, 'x')", "formatting too large: 1,000,000,013 items or characters"),
        ("'%.1000000000f' % 1.5", "formatting too large: 1,000,000,021 items or characters"),
        ("'%*s' | format(10**9, 'x')", "formatting too large: 1,000,000,013 items or characters"),
        ("'{:>1000000000}'.format(1)", "formatting too large: 1,000,000,015 items or characters"),
        ("'{:{}}'.format(1, 10**9)", "formatting too large: 1,000,000,015 items or characters"),
        ("('{0}' * 30000).format('x' * 100)", "formatting too large: 3,090,000 items or characters"),
        ("('x' * 100000).join('y' * 100000)", "joining too large: 10,000,000,000 items or characters"),
        ("range(100000) | join('x' * 100000)", "joining too large: 10,000,425,688 items or characters"),
        ("('a' * 100000).replace('a', 'b' * 100000)", "replacement too large: 10,000,000,000 items or characters"),
        ("('a' * 100000) | replace('', 'b' * 100000)", "replacement too large: 10,000,200,000 items or characters"),
        ("('x\\n' * 50000) | indent(100000)", "indenting too large: 5,000,200,000 items or characters"),
        ("[1] | batch(10**9, 'x') | list", "filling too large: 1,000,000,000 items or characters"),
        ("[1] | slice(10**9) | list", "slicing too large: 1,000,000,000 items or characters"),
        ("5 | round(-10**9)", "number too large: round to at most 3,000 places"),
        ("[[1]] | sum(start=[])", "sum adds numbers only"),
        ("range(0, 2305843009213693951 * 20000, 2305843009213693951) | unique | list", "range: numbers up to 1,000,000,000,000,000 only"),
        ("'x'.encode('punycode')", "'encode' of a str cannot be used in a chapter"),
        ("'x'.expandtabs(10**9)", "'expandtabs' of a str cannot be used in a chapter"),
        ("(10).to_bytes(10**9, 'big')", "'to_bytes' of a int cannot be used in a chapter"),
        ("dict.fromkeys(range(100000), 'x' * 100000)", "'fromkeys' of a dict cannot be used in a chapter"),
        ("day.strftime('%c' * 50000)", "date format too large: 1,200,000 items or characters"),
    ],
)
def test_one_step_that_would_make_too_much_is_refused_before_it_runs(expression, message):
    import datetime

    _, problems = render(f"x\n\ntext\n{{{{ {expression} }}}}\n", context={"day": datetime.date(1920, 7, 12)})
    only(problems, f"content/01-x.md:8: data reference: {message}")


@pytest.mark.parametrize("name", ["urlize", "wordwrap", "pprint", "tojson"])
def test_filters_whose_work_is_not_bounded_are_gone(name):
    _, problems = render(f"x\n{{{{ 'a' | {name} }}}}\n")
    assert problems == [f"content/01-x.md:6: template syntax: No filter named '{name}'."]


def test_ordinary_expressions_still_work():
    import datetime

    body = ("{{ day.strftime('%d %B %Y') }} {{ '{:,}'.format(1234567) }} {{ 'ab' | center(6) }}|"
            " {{ [1, 2, 3] | join(', ') }} {{ 'a-b' | replace('-', '–') }} {{ 'abc'[::-1] }} {{ 'x' ~ 1 }}"
            " {% for x in [3, 1, 2] if x > 1 %}{{ loop.index }}/{{ loop.length }} {% endfor %}"
            "{% for x in [[1, [2]], [3]] recursive %}[{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}]{% endfor %}"
            " {% set ns = namespace(n=0, l=[]) %}{% for i in range(10) %}{% set ns.n = ns.n + i %}{% set _ = ns.l.append(i) %}{% endfor %}"
            "{{ ns.n }} {{ ns.l | sum }} {{ range(5) | sum }} {{ 2.555 | round(2) }} {{ 'b' in 'abc' }} {{ [].pop() if false else 'ok' }}\n")
    rendered, problems = render(body, context={"day": datetime.date(1920, 7, 12)})
    assert problems == []
    assert rendered.html == ("<p>12 July 1920 1,234,567   ab  | 1, 2, 3 a–b cba x1 1/2 2/2 [[1][[2]]][[3]] 45 45 10 2.56 True ok</p>")


def test_the_counts_start_again_with_each_chapter():
    env = data_environment()
    body = "x\n{% for i in range(50000) %}{% for j in range(2) %}{% endfor %}{% endfor %}\n"
    for _ in range(3):
        assert render(body, env=env)[1] == []
        assert env.steps > 600_000  # most of a chapter's steps, each time


def test_the_real_data_functions_fit_well_within_the_limits():
    from dossier.read import treaties
    from dossier.render import data

    root = Path(__file__).resolve().parent.parent
    treaty_data, _ = treaties.load(root / "content" / "treaties.yaml", root)
    env = data_environment(data.finalize)
    body = "{{ comparison_table() }}\n\n{{ timeline() }}\n\n{% for t in treaties.values() %}{{ t.signed }}; {% endfor %}\n"
    rendered, problems = render(body, data.chapter_context(treaty_data), env)
    assert rendered is not None and env.steps < 100_000 and env.written < 100_000


# -- 2. Markdown nested too deeply -----------------------------------------------------------------

@pytest.mark.parametrize(
    "text, line, depth",
    [
        ("> " * 2000 + "x", 7, 2000),
        ("\n".join("    " * i + "- x" for i in range(2000)), 7 + MAX_NESTING, MAX_NESTING + 1),
        ("\n".join(">" * i + " x" for i in range(1, 2001)), 6 + MAX_NESTING + 1, MAX_NESTING + 1),
        ("- " * 2000 + "x", 7, 2000),
        ("1. " * 2000 + "x", 7, 2000),
    ],
)
def test_markdown_nested_too_deeply_is_an_error_at_the_line_it_goes_too_deep(text, line, depth):
    rendered, problems = render(f"x\n\n{text}\n")
    assert rendered is None
    assert problems == [f"content/01-x.md:{line}: quotes or lists nested {depth:,} levels deep on this line (at most {MAX_NESTING})"]


def test_nesting_below_the_limit_is_laid_out():
    text = "\n".join("    " * i + "- x" for i in range(MAX_NESTING - 1)) + "\n\n" + "> " * (MAX_NESTING - 1) + "quoted\n"
    rendered, problems = render(f"x\n\n{text}")
    assert problems == [] and rendered.html.count("<ul>") == MAX_NESTING - 1 and rendered.html.count("<blockquote>") == MAX_NESTING - 1


def test_what_the_depth_check_cannot_foresee_is_an_error_at_the_chapter():
    rendered, problems = render("x\n\n" + "*a " * 2000 + "b" + "*" * 2000 + "\n")  # emphasis inside emphasis
    assert rendered is None
    assert problems == ["content/01-x.md:5: Markdown cannot lay out this chapter: something in it (quotes, lists or "
                        "emphasis inside one another) is nested too deeply"]


def test_a_note_nested_too_deeply_is_an_error_at_its_definition():
    _, problems = render("Text.[^1]\n\n[^1]: " + "> " * 2000 + "\n")
    assert problems == [f"content/01-x.md:7: quotes or lists nested 2,000 levels deep in this note (at most {MAX_NESTING})"]
    _, problems = render("Text.[^1]\n\n[^1]: " + "*a " * 2000 + "b" + "*" * 2000 + "\n")
    assert problems == ["content/01-x.md:7: Markdown cannot lay out this note: something in it (quotes, lists or "
                        "emphasis inside one another) is nested too deeply"]


# -- 3. an error inside a project's template -------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def build(root, *args):
    """A whole build, in this process, as ``build.py --root root`` runs it: (status, stdout, stderr)."""
    import contextlib
    import io

    from dossier import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["--root", str(root), *args])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path):
    import shutil

    root = tmp_path / "minimal"
    shutil.copytree(REPO / "tests" / "projects" / "minimal", root, ignore=shutil.ignore_patterns("output"))
    (root / "output").mkdir()
    (root / "output" / "dossier.html").write_text("the last good one", encoding="utf-8")
    (root / "templates").mkdir()
    return root


def override_chapter_template(root, *lines):
    """The project's own chapter.html.j2: the built-in one, with ``lines`` after its first line."""
    built_in = (REPO / "templates" / "chapter.html.j2").read_text(encoding="utf-8").split("\n")
    (root / "templates" / "chapter.html.j2").write_text("\n".join([built_in[0], *lines, *built_in[1:]]), encoding="utf-8")


@pytest.mark.parametrize(
    "lines, message",
    [
        (["{{ 1 / 0 }}"], "templates/chapter.html.j2:2: template: division by zero (laying out content/01-first.md)"),
        (["", '{% include "missing.html.j2" %}'],
         "templates/chapter.html.j2:3: template not found: missing.html.j2 (laying out content/01-first.md)"),
        (['{% if part.chapter.slug == "second" %}', "{{ part.nothing.more }}", "{% endif %}"],
         "templates/chapter.html.j2:3: template: 'dossier.model.RenderedChapter object' has no attribute 'nothing' "
         "(laying out content/02-second.md)"),
        (["{{ [].pop() }}"], "templates/chapter.html.j2:2: template: IndexError: pop from empty list (laying out content/01-first.md)"),
    ],
)
def test_an_error_inside_a_template_names_its_file_line_and_chapter(project, lines, message):
    override_chapter_template(project, *lines)
    status, _, err = build(project, "html")
    assert status == 1 and "internal error" not in err and "Traceback" not in err
    assert message in err, err
    assert (project / "output" / "dossier.html").read_text(encoding="utf-8") == "the last good one"


def test_an_error_in_a_template_outside_any_chapter_names_the_template_alone(project):
    built_in = (REPO / "templates" / "title-page.html.j2").read_text(encoding="utf-8")
    (project / "templates" / "title-page.html.j2").write_text("{{ settings.title.nothing() }}\n" + built_in, encoding="utf-8")
    status, _, err = build(project, "html")
    assert status == 1 and "internal error" not in err
    assert "templates/title-page.html.j2:1: template: 'str object' has no attribute 'nothing'\n" in err, err


# -- 4. a handout naming no template there is ------------------------------------------------------

def test_a_handout_naming_no_template_is_an_error_at_its_template_line_and_the_rest_is_written(project):
    handouts = project / "content" / "handouts"
    handouts.mkdir()
    (handouts / "good.md").write_text("---\ntitle: Good\n---\nA good handout [@senn1962, 501].\n", encoding="utf-8")
    (handouts / "bad.md").write_text("---\ntitle: Bad\ntemplate: poster\n---\nA bad handout.\n", encoding="utf-8")
    (handouts / "broken.md").write_text("---\ntemplate: handout-broken\ntitle: Broken\n---\nA broken one.\n", encoding="utf-8")
    (project / "templates" / "handout-broken.html.j2").write_text("<p>\n{{ 1 / 0 }}\n</p>\n", encoding="utf-8")
    status, out, err = build(project)
    assert status == 1 and "internal error" not in err, err
    assert "content/handouts/bad.md:3: no handout template 'poster' (there are: handout, handout-broken, handout-sheet)" in err
    assert "templates/handout-broken.html.j2:2: template: division by zero (laying out content/handouts/broken.md)" in err
    assert "build incomplete: 2 errors" in err
    output = project / "output"
    assert (output / "handouts" / "good.pdf").exists() and (output / "dossier.pdf").exists()
    assert not (output / "handouts" / "bad.pdf").exists() and not (output / "handouts" / "broken.pdf").exists()
    assert "output/handouts/good.pdf" in out and "output/dossier.pdf (" in out


# -- the whole build -------------------------------------------------------------------------------

def test_a_build_with_runaway_expressions_and_deep_nesting_fails_at_their_lines(project):
    first, second = project / "content" / "01-first.md", project / "content" / "02-second.md"
    first.write_text(first.read_text(encoding="utf-8") + "\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
                     encoding="utf-8")
    second.write_text(second.read_text(encoding="utf-8") + "\n" + "> " * 2000 + "x\n", encoding="utf-8")
    lines = [len(path.read_text(encoding="utf-8").splitlines()) for path in (first, second)]
    status, _, err = build(project, "html")
    assert status == 1 and "internal error" not in err, err
    assert f"content/01-first.md:{lines[0]}: {TOO_MUCH_WORK}" in err
    assert f"content/02-second.md:{lines[1]}: quotes or lists nested 2,000 levels deep on this line (at most {MAX_NESTING})" in err
    assert (project / "output" / "dossier.html").read_text(encoding="utf-8") == "the last good one"
