"""Reading chapters: file order, front matter, its errors."""
import pytest

from dossier.files import read_text
from dossier.read.chapters import read_chapters


def write(tmp_path, name, text):
    (tmp_path / "content").mkdir(exist_ok=True)
    (tmp_path / "content" / name).write_text(text, encoding="utf-8")


def test_chapters_ordered_by_file_name_with_front_matter_override(tmp_path):
    write(tmp_path, "02-b.md", "---\ntitle: Bee\nshort_title: B\nlang: lt\n---\nbody b\n")
    write(tmp_path, "01-a.md", "# Heading title\n\nbody a\n")
    write(tmp_path, "03-c.md", "---\ntitle: Sea\norder: 00-first\n---\nbody\n")
    chapters, problems = read_chapters(tmp_path / "content", tmp_path, "en")
    assert problems == []
    assert [c.title for c in chapters] == ["Sea", "Heading title", "Bee"]
    bee = chapters[2]
    assert (bee.short_title, bee.lang, bee.body, bee.body_line, bee.location.path) == ("B", "lt", "body b\n", 6, "content/02-b.md")
    assert chapters[1].short_title == "Heading title" and chapters[1].lang == "en"


@pytest.mark.parametrize(
    "text, message",
    [
        ("---\ntitle: [unclosed\n---\nbody\n", "content/01-x.md:3: broken front matter"),
        ("---\ntitle: x\nbody without end\n", "content/01-x.md:1: front matter opened with '---' is never closed"),
        ("---\ntitle: x\ncolour: red\n---\n", "content/01-x.md:3: unknown front matter key 'colour'"),
        ("---\n- a list\n---\n", "content/01-x.md:2: front matter must be a mapping"),
        ('---\ntitle: "Riga 1920\nshort_title: Riga\norder: 3\n---\nbody\n',
         "content/01-x.md:2: broken front matter: a quotation mark opened on this line is never closed"),
        ('---\nlang: en\ntitle: "The "Latvian" Treaty"\n---\nbody\n',
         "content/01-x.md:3: broken front matter: text goes on after a value's closing quotation mark"),
        ("---\ntitle: Riga: the treaty\n---\nbody\n", "content/01-x.md:2: broken front matter: a colon and a space inside a value"),
    ],
)
def test_front_matter_problems(tmp_path, text, message):
    write(tmp_path, "01-x.md", text)
    chapters, problems = read_chapters(tmp_path / "content", tmp_path, "en")
    assert chapters == []
    assert any(str(p).startswith(message) for p in problems), [str(p) for p in problems]


def test_numeric_order_sorts_among_numbered_files(tmp_path):
    write(tmp_path, "01-a.md", "a\n")
    write(tmp_path, "02-b.md", "b\n")
    write(tmp_path, "10-c.md", "c\n")
    write(tmp_path, "x.md", "---\norder: 3\n---\nx\n")
    chapters, problems = read_chapters(tmp_path / "content", tmp_path, "en")
    assert problems == []
    assert [c.path.name for c in chapters] == ["01-a.md", "02-b.md", "x.md", "10-c.md"]


def test_two_chapters_with_one_name_are_an_error(tmp_path):
    write(tmp_path, "01-intro.md", "a\n")
    write(tmp_path, "02-intro.md", "b\n")
    _, problems = read_chapters(tmp_path / "content", tmp_path, "en")
    assert [str(p) for p in problems] == ["content/02-intro.md:1: chapter name 'intro' is also that of content/01-intro.md: "
                                          "rename one file (its name without the leading number names its notes and sections)"]


def test_a_chapter_saved_as_utf16_or_with_a_utf8_mark_reads_as_its_text(tmp_path):
    """Windows editors save "Unicode" as UTF-16 with a byte-order mark, or UTF-8 with one: both read
    as the text they are (Lithuanian letters and all), not as an encoding error."""
    text = "# Taika\n\nŽeligowski, Naruševičius, Gaņeckis.\n"
    for name, data in (("utf16.md", text.encode("utf-16")), ("utf16be.md", b"\xfe\xff" + text.encode("utf-16-be")),
                       ("bom.md", b"\xef\xbb\xbf" + text.encode("utf-8"))):
        (tmp_path / name).write_bytes(data)
        assert read_text(tmp_path / name, tmp_path) == text, name
