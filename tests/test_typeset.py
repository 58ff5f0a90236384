"""The typesetter reads project files only, and never leaves a half-written PDF."""
from pathlib import Path

import pytest

from dossier.typeset.fetcher import ConfinedFetcher
from dossier.files import write_atomically
from dossier.typeset.weasy import layout, write_pdf


def test_fetcher_reads_inside_the_project_only(tmp_path):
    (tmp_path / "inside.css").write_text("p { color: black }")
    (tmp_path / "escape.css").symlink_to("/etc/passwd")
    fetcher = ConfinedFetcher([tmp_path])
    assert fetcher.fetch((tmp_path / "inside.css").as_uri()).read() == b"p { color: black }"
    for url in ["file:///etc/passwd", (tmp_path / "escape.css").as_uri(), (tmp_path / ".." / "x").as_uri(),
                "http://127.0.0.1:9/x.png", "https://example.org/a.css", "ftp://example.org/x"]:
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,hi").read() == b"hi"


def test_escape_attempts_never_reach_the_pdf(tmp_path):
    html = ('<html><head><link rel="stylesheet" href="file:///etc/passwd"></head><body>'
            '<p>x<img src="file:///etc/passwd"><a rel="attachment" href="file:///etc/hostname">h</a></p></body></html>')
    pdf = tmp_path / "out.pdf"
    document, result = layout(html, tmp_path / "out.html", [tmp_path])
    write_pdf(document, html, pdf)
    data = pdf.read_bytes()
    assert b"root:x:0:0" not in data and b"EmbeddedFile" not in data
    assert "file:///etc/passwd" in result.refused
    hostname = Path("/etc/hostname").read_bytes().strip()
    assert not hostname or hostname not in data
    assert any("not included: file:///etc/passwd" in message for message in result.messages)


def test_failed_write_leaves_the_last_good_file(tmp_path):
    target = tmp_path / "dossier.pdf"
    target.write_bytes(b"last good")

    def broken(handle):
        handle.write(b"half a pdf")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_atomically(target, broken)
    assert target.read_bytes() == b"last good"
    assert [p.name for p in tmp_path.iterdir()] == ["dossier.pdf"]


def test_fetcher_refuses_a_file_url_with_a_host_without_looking_it_up(tmp_path, monkeypatch):
    import socket

    (tmp_path / "inside.css").write_text("p {}")
    looked_up = []
    monkeypatch.setattr(socket, "gethostbyname", lambda host: looked_up.append(host) or "127.0.0.1")
    fetcher = ConfinedFetcher([tmp_path])
    with pytest.raises(ValueError):
        fetcher.fetch(f"file://exfil.example{(tmp_path / 'inside.css').as_posix()}")
    assert looked_up == []


def test_outputs_are_readable_like_ordinary_files(tmp_path):
    import os
    import stat

    target = tmp_path / "out.pdf"
    write_atomically(target, lambda handle: handle.write(b"x"))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_problems_of_a_layout_name_the_source_file_and_the_line_of_the_call(tmp_path):
    from dossier.typeset.parts import Laid, Part

    part = Part("second", "chapter", "", note_ids=(("call-second-1", "note-second-1"), ("call-second-2", "note-second-2")),
                source="content/02-second.md", note_lines=(7, 12))
    laid = Laid(pdf=tmp_path / "x.pdf", pages=3, sizes=[], anchors={}, links=[],
                notes_off_page=[["note-second-2", 2, 3]], warnings=["typesetter: something about the layout"])
    found = [str(p) for p in part.problems(laid, first_page=10)]
    assert found == ["content/02-second.md: warning: typesetter: something about the layout",
                     "content/02-second.md:12: warning: the note called here (on page 12) is printed on page 13"]


def test_a_part_of_more_pages_than_a_chapter_has_is_a_warning(tmp_path):
    from dossier.typeset.parts import MAX_PAGES, Laid, Part

    part = Part("long", "chapter", "", source="content/03-long.md")
    laid = Laid(pdf=tmp_path / "x.pdf", pages=MAX_PAGES + 1, sizes=[], anchors={}, links=[], notes_off_page=[], warnings=[])
    assert [str(p) for p in part.problems(laid)] == [
        f"content/03-long.md: warning: runs to {MAX_PAGES + 1} pages, more than a chapter of a dossier ({MAX_PAGES}): "
        "is all of it meant to be there?"]
    assert part.problems(Laid(pdf=tmp_path / "x.pdf", pages=MAX_PAGES, sizes=[], anchors={}, links=[],
                              notes_off_page=[], warnings=[])) == []


def test_a_block_sent_to_a_new_page_takes_the_headings_above_it():
    from dossier import audit
    html = ('<p>Before.</p><h2 id="a">Section</h2><h3 id="b">Subsection</h3>'
            '<p>Text<span id="call-x-1"></span>.</p>')
    moved = audit.nudge(html, ["note-x-1"])
    assert '<h2 class="note-break" id="a">' in moved and "<h3 id=\"b\">" in moved and "<p>Text" in moved
    stray = '<div>Stray</h3>\n<p>Text<span id="call-x-1"></span>.</p>'  # a closing tag with no heading
    assert audit.nudge(stray, ["note-x-1"]).endswith('<p class="note-break">Text<span id="call-x-1"></span>.</p>')
    plain = '<p>Before.</p><p>Text<span id="call-x-1"></span>.</p>'
    assert audit.nudge(plain, ["note-x-1"]) == '<p>Before.</p><p class="note-break">Text<span id="call-x-1"></span>.</p>'


def test_a_note_that_went_over_first_sends_what_follows_its_call_over():
    """The block after the one holding the call (with its heading) starts the next page, leaving
    the note room; a call in a table cell has no such block."""
    from dossier import audit
    html = '<p>Text<span id="call-x-1"></span>.</p><h3 id="h">Next</h3><p>More.</p>'
    assert audit.nudge(html, [], after=["note-x-1"]) == (
        '<p>Text<span id="call-x-1"></span>.</p><h3 class="note-break" id="h">Next</h3><p>More.</p>')
    cell = '<table><tr><td>A<span id="call-x-1"></span></td><td>B</td></tr></table><p>More.</p>'
    assert audit.nudge(cell, [], after=["note-x-1"]) == cell
