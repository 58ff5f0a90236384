"""render/sourcelines.py: each paragraph, heading, list item and note of a chapter carries the
``path:line`` it is written at (``data-source``), and nothing else of the HTML changes."""
import re

from test_render import KEYS, RecordingStyle, chapter, without_sources

from dossier.render.markdown import render_chapter

BODY = """\
## A section {#sec-a}

"Quoted" opening, with a citation [@a, 4].

- one item
- another[^n]

> A quotation
> over two lines.

| A | B |
| - | - |
| 1 | 2 |

<div class="box">raw</div>

    some code

1. first

   its second paragraph

---

Last paragraph,
going on.

[^n]: The author's note, on line 32.
"""


def sources(body, body_line=5):
    rendered, problems = render_chapter(chapter(body, body_line), RecordingStyle(), KEYS)
    assert problems == []
    return rendered.html, re.findall(r'<(\w+)[^>]*? data-source="([^"]+)"', rendered.html)


def test_each_block_names_its_line():
    html, found = sources(BODY)
    assert found == [
        ("h2", "content/01-x.md:5"),
        ("p", "content/01-x.md:7"), ("span", "content/01-x.md:7"),  # the citation's note: its own line
        ("li", "content/01-x.md:9"), ("li", "content/01-x.md:10"), ("span", "content/01-x.md:32"),  # the author's note: its text's
        ("p", "content/01-x.md:12"),  # in the quotation; the table, raw HTML, code and rule carry none
        ("li", "content/01-x.md:23"), ("p", "content/01-x.md:25"),
        ("p", "content/01-x.md:29"),
    ]
    assert "\ue010" not in html and "\ue011" not in html  # no marker left, in the code block or anywhere


def test_nothing_else_changes():
    html, _ = sources(BODY)
    rendered, _ = render_chapter(chapter(BODY), RecordingStyle(), KEYS)
    assert '<h2 id="sec-a">A section</h2>' in without_sources(rendered).html  # attr_list and toc read the text unmarked
    assert "<p>&ldquo;Quoted&rdquo; opening" in without_sources(rendered).html  # smarty too
    assert "<pre><code>some code\n</code></pre>" in html
    assert '<div class="box">raw</div>' in html


def test_a_loose_list_item_names_its_paragraph_and_lines_follow_the_body_start():
    _, found = sources("Text.\n\n- a\n\n- b\n", body_line=12)
    assert found == [("p", "content/01-x.md:12"), ("p", "content/01-x.md:14"), ("p", "content/01-x.md:16")]
