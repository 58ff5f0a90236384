"""The URLs a chapter's HTML makes the typesetter read: checked, rewritten or cut out, tag by tag."""
import html

import pytest

from dossier.model import Chapter
from dossier.problems import Location
from dossier.render.resources import check_resources

WHERE = "content/02-second.md"


@pytest.fixture
def root(tmp_path):
    """A project with an image, a stylesheet and an SVG in it."""
    (tmp_path / "content" / "img").mkdir(parents=True)
    (tmp_path / "output").mkdir()
    for name in ("a.png", "a b.png", "icons.svg", "style.css"):
        (tmp_path / "content" / "img" / name).write_bytes(b"x")
    return tmp_path


def check(root, snippet, markdown=None):
    """Check ``snippet`` as the HTML of a chapter whose body has ``markdown`` (default: the snippet) on line 7."""
    body = f"Intro.\n\n{snippet if markdown is None else markdown}\n\nEnd.\n"
    chapter = Chapter(root / WHERE, Location(WHERE, 5), "second", "02", "Second", "Second", "en", body, 5)
    rendered, problems = check_resources(snippet, chapter, root, root / "output")
    return rendered, [str(p) for p in problems]


NETWORK = "(the typesetter reads nothing from the network)"
OUTSIDE = "(outside the project)"

# (HTML, the URL as reported, why it is refused, a string that must not be left in the HTML)
ESCAPES = [
    ('<img src="h&#116;tps://tracker.example/p.png">', "https://tracker.example/p.png", NETWORK, "tracker.example"),
    ('<img src="&#104;&#x74;tp&colon;//tracker.example/p.png">', "http://tracker.example/p.png", NETWORK, "tracker.example"),
    ("<img src=https://tracker.example/p.png>", "https://tracker.example/p.png", NETWORK, "tracker.example"),
    ("<img src='https://tracker.example/p.png'>", "https://tracker.example/p.png", NETWORK, "tracker.example"),
    ('<IMG SRC="HTTPS://tracker.example/p.png">', "HTTPS://tracker.example/p.png", NETWORK, "tracker.example"),
    ('<img src=" https://tracker.example/p.png ">', "https://tracker.example/p.png", NETWORK, "tracker.example"),
    ('<img src="https://tracker.example/p.png?a=1&amp;b=2">', "https://tracker.example/p.png?a=1&b=2", NETWORK, "tracker.example"),
    ('<img src="http://127.0.0.1:9/tracker.png">', "http://127.0.0.1:9/tracker.png", NETWORK, "127.0.0.1"),
    ('<img src="ftp://tracker.example/p.png">', "ftp://tracker.example/p.png", NETWORK, "tracker.example"),
    ('<img src="//tracker.example/p.png">', "//tracker.example/p.png", NETWORK, "tracker.example"),
    ('<img src="http://[::1">', "http://[::1", NETWORK, "[::1"),
    ('<img src="file://tracker.example/etc/passwd">', "file://tracker.example/etc/passwd", NETWORK, "etc/passwd"),
    ('<img src="file:///etc/passwd">', "file:///etc/passwd", OUTSIDE, "etc/passwd"),
    ('<img src="/etc/passwd">', "/etc/passwd", OUTSIDE, "etc/passwd"),
    ('<img src="../../etc/passwd">', "../../etc/passwd", OUTSIDE, "etc/passwd"),
    ('<img src="..&#x2F;..&#x2F;etc&#x2F;passwd">', "../../etc/passwd", OUTSIDE, "etc/passwd"),
    ('<img src="file:../../etc/passwd">', "file:../../etc/passwd", OUTSIDE, "etc/passwd"),
    ('<p style="background: url( https://tracker.example/bg.png )">text</p>', "https://tracker.example/bg.png", NETWORK, "tracker.example"),
    ("<p style='background:url(\"https://tracker.example/bg.png\")'>text</p>", "https://tracker.example/bg.png", NETWORK, "tracker.example"),
    ('<p style="background:url(h&#116;tps://tracker.example/bg.png)">text</p>', "https://tracker.example/bg.png", NETWORK, "tracker.example"),
    ('<p style="background:url(file:///etc/passwd)">text</p>', "file:///etc/passwd", OUTSIDE, "etc/passwd"),
    ('<p style="background:url(https://tracker.example/bg.png">text</p>', "https://tracker.example/bg.png", NETWORK, "tracker.example"),
    ('<img srcset="img/a.png 1x, https://tracker.example/b.png 2x">', "https://tracker.example/b.png", NETWORK, "tracker.example"),
    ('<picture><source srcset="https://tracker.example/b.png"><img src="img/a.png"></picture>', "https://tracker.example/b.png", NETWORK, "tracker.example"),
    ('<style>@import "https://tracker.example/a.css";</style>', "https://tracker.example/a.css", NETWORK, "tracker.example"),
    ("<style>@import url('../../etc/passwd') print; p { color: red }</style>", "../../etc/passwd", OUTSIDE, "etc/passwd"),
    ("<style>p { background: url(https://tracker.example/bg.png) }</style>", "https://tracker.example/bg.png", NETWORK, "tracker.example"),
    ("<style>@font-face { src: url('file:///etc/passwd') }</style>", "file:///etc/passwd", OUTSIDE, "etc/passwd"),
    ('<svg><image href="https://tracker.example/i.png"/></svg>', "https://tracker.example/i.png", NETWORK, "tracker.example"),
    ('<svg><image xlink:href="file:///etc/passwd"/></svg>', "file:///etc/passwd", OUTSIDE, "etc/passwd"),
    ('<svg><use href="https://tracker.example/s.svg#i"/></svg>', "https://tracker.example/s.svg#i", NETWORK, "tracker.example"),
    ('<svg><use xlink:href="https://tracker.example/s.svg#i"/></svg>', "https://tracker.example/s.svg#i", NETWORK, "tracker.example"),
    ('<object data="https://tracker.example/o.svg"></object>', "https://tracker.example/o.svg", NETWORK, "tracker.example"),
    ('<embed src="file:///etc/passwd">', "file:///etc/passwd", OUTSIDE, "etc/passwd"),
    ('<link rel="stylesheet" href="file:///etc/passwd">', "file:///etc/passwd", OUTSIDE, "etc/passwd"),
    ('<a rel="attachment" href="file:///etc/hostname">attached</a>', "file:///etc/hostname", OUTSIDE, "etc/hostname"),
    ('<a rel="Attachment" href="https://tracker.example/f.zip">attached</a>', "https://tracker.example/f.zip", NETWORK, "tracker.example"),
    ('<video poster="https://tracker.example/p.png"></video>', "https://tracker.example/p.png", NETWORK, "tracker.example"),
    ('<table background="https://tracker.example/t.png"><tr><td>x</td></tr></table>', "https://tracker.example/t.png", NETWORK, "tracker.example"),
]


@pytest.mark.parametrize("snippet, url, reason, needle", ESCAPES)
def test_escape_is_warned_with_its_line_and_cut_out(root, snippet, url, reason, needle):
    rendered, problems = check(root, snippet)
    assert problems == [f"{WHERE}:7: warning: not included: {url} {reason}"]
    assert needle not in rendered and needle not in html.unescape(rendered), rendered


def test_markdown_image_outside_is_warned_with_its_markdown_line(root):
    rendered, problems = check(root, '<p><img alt="secret" src="../../etc/passwd" /></p>', "![secret](../../etc/passwd)")
    assert problems == [f"{WHERE}:7: warning: not included: ../../etc/passwd {OUTSIDE}"]
    assert rendered == '<p><img alt="secret" src="" /></p>'


def test_symlink_out_of_the_project_is_cut_out(root):
    (root / "content" / "map.png").symlink_to("/etc/passwd")
    rendered, problems = check(root, '<img src="map.png">')
    assert problems == [f"{WHERE}:7: warning: not included: map.png {OUTSIDE}"]
    assert rendered == '<img src="">'


@pytest.mark.parametrize("snippet, expected", [
    ('<img src="img/a.png">', '<img src="../content/img/a.png">'),
    ("<img src=img/a.png>", '<img src="../content/img/a.png">'),
    ("<img src='img/a.png'>", '<img src="../content/img/a.png">'),
    ('<p><img alt="A &amp; B" src="img/a.png" /></p>', '<p><img alt="A &amp; B" src="../content/img/a.png" /></p>'),
    ('<img src="img/a.png?x=&amp;y">', '<img src="../content/img/a.png">'),
    ('<img src="./img/../img/a.png">', '<img src="../content/img/a.png">'),
    ('<img src="img/a%20b.png">', '<img src="../content/img/a%20b.png">'),
    ('<img srcset="img/a.png 1x, img/a%20b.png 2x">', '<img srcset="../content/img/a.png 1x, ../content/img/a%20b.png 2x">'),
    ('<svg><use href="img/icons.svg#map"/></svg>', '<svg><use href="../content/img/icons.svg#map" /></svg>'),
    ('<link rel="stylesheet" href="img/style.css">', '<link rel="stylesheet" href="../content/img/style.css">'),
    ('<p style="background: url( img/a.png )">t</p>', '<p style="background: url( ../content/img/a.png )">t</p>'),
    ("<style>@import 'img/style.css'; p { background: url(\"img/a.png\") }</style>",
     "<style>@import '../content/img/style.css'; p { background: url(\"../content/img/a.png\") }</style>"),
])
def test_file_inside_the_project_is_rewritten_relative_to_the_output_folder(root, snippet, expected):
    assert check(root, snippet) == (expected, [])


@pytest.mark.parametrize("snippet, message", [
    ('<img src="img/map.png">', "missing image 'img/map.png'"),
    ('<svg><image href="img/map.png"/></svg>', "missing image 'img/map.png'"),
    ('<link rel="stylesheet" href="style/print.css">', "missing file 'style/print.css'"),
    ("<style>p { background: url(img/map.png) }</style>", "missing file 'img/map.png'"),
])
def test_missing_file_is_an_error_with_its_line(root, snippet, message):
    rendered, problems = check(root, snippet)
    assert problems == [f"{WHERE}:7: {message}"]
    assert rendered == snippet


def test_markdown_image_missing_is_an_error_with_its_line(root):
    rendered, problems = check(root, '<p><img alt="A map" src="img/map.png" /></p>', "![A map](img/map.png)")
    assert problems == [f"{WHERE}:7: missing image 'img/map.png'"]


def test_each_problem_names_the_line_of_its_own_tag(root):
    markdown = 'See https://tracker.example/p.png below.\n\n<img src="https://tracker.example/p.png">\n\n<img src="img/map.png">'
    snippet = '<p>See https://tracker.example/p.png below.</p>\n<img src="https://tracker.example/p.png">\n<img src="img/map.png">'
    rendered, problems = check(root, snippet, markdown)
    assert problems == [
        f"{WHERE}:9: warning: not included: https://tracker.example/p.png {NETWORK}",
        f"{WHERE}:11: missing image 'img/map.png'",
    ]
    assert rendered == '<p>See https://tracker.example/p.png below.</p>\n<img src="">\n<img src="img/map.png">'


def test_several_edits_on_several_lines_land_on_their_tags(root):
    snippet = 'Žalys — ü\n<p>ž <img src="img/a.png"></p>\n<style>\np { background: url(http://tracker.example/x.png) }\n</style>\n«<img src=http://tracker.example/y.png>»'
    rendered, problems = check(root, snippet)
    assert rendered == 'Žalys — ü\n<p>ž <img src="../content/img/a.png"></p>\n<style>\np { background: none }\n</style>\n«<img src="">»'
    assert problems == [
        f"{WHERE}:10: warning: not included: http://tracker.example/x.png {NETWORK}",
        f"{WHERE}:12: warning: not included: http://tracker.example/y.png {NETWORK}",
    ]


@pytest.mark.parametrize("snippet", [
    "<p><code>img/a.png</code> and <code>https://tracker.example/p.png</code></p>",
    '<p>"img/a.png" and \'https://tracker.example/p.png\' and url(https://tracker.example/p.png)</p>',
    '<!-- <img src="https://tracker.example/p.png"> -->',
    '<p><a href="https://example.org/">a link</a> <a href="img/a.png">the image</a></p>',
    '<svg><use href="#icon"/><image href="#"/></svg>',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    '<img srcset="data:image/png;base64,iVBORw0KGgo= 1x">',
    "<style>p { background: url(data:image/png;base64,iVBORw0KGgo=) }</style>",
    '<p style="background: url(\'data:image/svg+xml,%3Csvg/%3E\')">t</p>',
])
def test_left_as_written(root, snippet):
    assert check(root, snippet) == (snippet, [])


def test_text_equal_to_a_rewritten_url_is_left_as_written(root):
    snippet = '<p><code>img/a.png</code> "img/a.png"</p><img src="img/a.png"><style>p { background: url(img/a.png) }</style>'
    rendered, problems = check(root, snippet)
    assert problems == []
    assert rendered == ('<p><code>img/a.png</code> "img/a.png"</p><img src="../content/img/a.png">'
                        "<style>p { background: url(../content/img/a.png) }</style>")


def test_cut_attribute_values_are_escaped_and_other_attributes_kept(root):
    rendered, _ = check(root, """<img title='say "hi" &amp; <bye>' src=http://tracker.example/p.png data-x>""")
    assert rendered == '<img title="say &quot;hi&quot; &amp; &lt;bye&gt;" src="" data-x>'


def test_unclosed_style_element_is_checked_to_the_end(root):
    rendered, problems = check(root, '<style>@import "https://tracker.example/a.css";')
    assert problems == [f"{WHERE}:7: warning: not included: https://tracker.example/a.css {NETWORK}"]
    assert "tracker.example" not in rendered


def test_a_base_element_is_cut_out(root):
    rendered, problems = check(root, '<base href="http://evil.example/">')
    assert "evil.example" not in rendered
    assert problems == ['content/02-second.md:7: warning: not included: <base href="http://evil.example/"> (a chapter cannot move the document\'s base)']
