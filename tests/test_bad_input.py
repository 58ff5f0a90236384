"""Bad input, applied to a copy of a well-built project: each case ends with exit 1 (0 where the
input is merely odd and the build is right), one ``path:line: message`` in plain words, no
traceback and no internal error, the last good outputs byte for byte as they were, and no byte of
a file outside the project in any output."""
from __future__ import annotations

import os
import shutil

import pytest

from projectrun import REPO, edit, run_build

SECRET = "OUTSIDE-THE-PROJECT-7f3a"
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9))


@pytest.fixture
def outside(tmp_path):
    """A file outside the project, which nothing may read."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.md").write_text(f"---\ntitle: Secret\n---\n{SECRET}\n", encoding="utf-8")
    (folder / "secret.bib").write_text(f"@book{{secret, title = {{{SECRET}}}, year = 2000}}\n", encoding="utf-8")
    (folder / "secret.j2").write_text(f"<p>{SECRET}</p>\n", encoding="utf-8")
    (folder / "secret.yaml").write_text(f"treaties: []\nnote: {SECRET}\n", encoding="utf-8")
    return folder


def link(path, target):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


def front_matter(project, old: str, new: str):
    edit(project / "content/02-second.md", old, new)


CASES = {
    # name: (change(project, outside), expected message in stderr, exit status)
    "chapter linked outside": (lambda p, o: link(p / "content/03-secret.md", o / "secret.md"),
                               "content/03-secret.md: is a link to", 1),
    "bib file linked outside": (lambda p, o: link(p / "bib/secret.bib", o / "secret.bib"), "bib/secret.bib: is a link to", 1),
    "data linked outside": (lambda p, o: link(p / "content/treaties.yaml", o / "secret.yaml"),
                            "content/treaties.yaml: is a link to", 1),
    "template linked outside": (lambda p, o: link(p / "templates/title-page.html.j2", o / "secret.j2"),
                                "templates/title-page.html.j2: is a link to", 1),
    "template in Windows-1257": (lambda p, o: (p / "templates").mkdir() or (p / "templates/title-page.html.j2").write_bytes("<p>Šiauliai</p>".encode("cp1257")),
                                 "templates/title-page.html.j2:1: is not saved as UTF-8 text", 1),
    "content folder outside": (lambda p, o: (p / "pyproject.toml").write_text(
        (p / "pyproject.toml").read_text(encoding="utf-8") + f'content_dir = "{os.path.relpath(o, p)}"\n', encoding="utf-8"),
        "pyproject.toml:7: content_dir names", 1),
    "dangling link": (lambda p, o: link(p / "content/03-gone.md", o / "no-such-file.md"),
                      "content/03-gone.md: is a link to", 1),
    "folder named like a chapter": (lambda p, o: (p / "content/03-folder.md").mkdir(), "content/03-folder.md: is a folder", 1),
    "alias bomb in the data": (lambda p, o: (p / "content/treaties.yaml").write_text(ALIAS_BOMB, encoding="utf-8"),
                               "content/treaties.yaml:2: broken data: '*a' repeats a value written elsewhere", 1),
    "alias bomb in front matter": (lambda p, o: front_matter(p, "title: Second Chapter", "title: Second Chapter\n" + ALIAS_BOMB.replace("a:", "x:", 1)),
                                   "content/02-second.md:4: broken front matter: '*a' repeats a value written elsewhere", 1),
    "@string bomb": (lambda p, o: (p / "bib/bomb.bib").write_text(
        '@string{s0 = "0123456789"}\n' + "".join(f"@string{{s{i} = s{i - 1} # s{i - 1}}}\n" for i in range(1, 40)), encoding="utf-8"),
        "the @string macros here expand to more than 100,000 characters", 1),
    "chapter in Windows-1257": (lambda p, o: (p / "content/03-baltic.md").write_bytes("Šiauliai, Klaipėda, Rīga, ąžuolas\n".encode("cp1257")),
                                "content/03-baltic.md:1: is not saved as UTF-8 text (it looks like Windows-1257 (Baltic))", 1),
    "bib in Latin-1": (lambda p, o: (p / "bib/latin.bib").write_bytes("@book{x, title = {Café}, year = 1}\n".encode("latin-1")),
                       "bib/latin.bib:1: is not saved as UTF-8 text", 1),
    "data in Latin-1": (lambda p, o: (p / "content/treaties.yaml").write_bytes("treaties: []\n# café\n".encode("latin-1")),
                        "content/treaties.yaml:2: is not saved as UTF-8 text", 1),
    "settings in Latin-1": (lambda p, o: (p / "pyproject.toml").write_bytes((p / "pyproject.toml").read_bytes().replace(b"Ada Editor", "Adà Editor".encode("latin-1"))),
                            "pyproject.toml:3: is not saved as UTF-8 text", 1),
    "title as a list": (lambda p, o: front_matter(p, "title: Second Chapter", "title: [Part one, Part two]"),
                        "content/02-second.md:2: title must be a single text, not a list", 1),
    "title as a mapping": (lambda p, o: front_matter(p, "title: Second Chapter", "title: {a: 1}"),
                           "content/02-second.md:2: title must be a single text, not a mapping", 1),
    "nocite unknown": (lambda p, o: (p / "pyproject.toml").write_text(
        (p / "pyproject.toml").read_text(encoding="utf-8") + 'nocite = ["nobody2000"]\n', encoding="utf-8"),
        "pyproject.toml:7: nocite: unknown citation key 'nobody2000'", 1),
    "a chapter of 3 million characters": (lambda p, o: (p / "content/03-huge.md").write_text("word " * 600_000, encoding="utf-8"),
                                          "content/03-huge.md:1: the chapter is 3,000,000 characters long", 1),
    "a file linked to a device": (lambda p, o: link(p / "content/notes.txt", "/dev/zero"), "", 0),
    "a damaged record of the last build": (lambda p, o: (p / "output/.cache/manifest.json").write_text("[1, 2", encoding="utf-8"), "", 0),
    "a record of the last build naming files outside": (lambda p, o: (p / "output/.cache/manifest.json").write_text(
        '{"inputs": "x", "outputs": {"../../elsewhere/secret.md": "y"}, "warnings": 3}', encoding="utf-8"), "", 0),
    "the cache a file": (lambda p, o: __import__("shutil").rmtree(p / "output/.cache") or (p / "output/.cache").write_text("x"), "", 0),
    "the fonts' coverage a folder": (lambda p, o: [path.unlink() or path.mkdir() for path in (p / "output/.cache").glob("coverage-*.json")], "", 0),
    "a byte-order mark": (lambda p, o: (p / "content/02-second.md").write_bytes(b"\xef\xbb\xbf" + (p / "content/02-second.md").read_bytes()),
                          "", 0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(project, outside, name):
    change, message, status = CASES[name]
    outputs = {path: path.read_bytes() for path in (project / "output").rglob("*") if path.is_file() and ".cache" not in path.parts}
    change(project, outside)
    result = run_build(project, "pdf")
    assert result.returncode == status, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for path, data in outputs.items():
        if status:
            assert path.read_bytes() == data, f"{path.name} changed"
        assert SECRET.encode() not in path.read_bytes()
    if status:
        problems = [line for line in result.stderr.splitlines() if not line.startswith("build failed")]
        assert problems and all(":" in line.split(" ")[0] for line in problems), problems


def test_a_handout_linked_outside_is_skipped_and_the_others_are_written(project, outside):
    handouts = project / "content" / "handouts"
    handouts.mkdir()
    (handouts / "good.md").write_text("---\ntitle: A good handout\n---\nThe treaty was signed in Moscow.\n", encoding="utf-8")
    link(handouts / "secret.md", outside / "secret.md")
    result = run_build(project, "handouts")
    assert result.returncode == 1
    assert "content/handouts/secret.md: is a link to" in result.stderr and "Traceback" not in result.stderr
    assert (project / "output" / "handouts" / "good.pdf").exists()
    assert not (project / "output" / "handouts" / "secret.pdf").exists()
    for path in (project / "output").rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes()


def test_a_copied_project_reads_its_own_images(project, tmp_path):
    """The cache names the files a part read relative to the project: a copy whose image differs
    typesets that part anew, with its own image."""
    edit(project / "content/02-second.md", "A later citation", "![A map](map.png)\n\nA later citation")
    (project / "content/map.png").write_bytes((REPO / "tests/projects/citations/content/map.png").read_bytes()
                                              if (REPO / "tests/projects/citations/content/map.png").exists() else _png(1))
    assert run_build(project, "pdf").returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    (copy / "content/map.png").write_bytes(_png(2))
    result = run_build(copy, "pdf", "-v")
    assert result.returncode == 0 and "parts typeset: 1 of 4" in result.stdout, result.stdout


def _png(shade: int) -> bytes:
    """A 1×1 PNG of one grey."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes([0, shade]))) + chunk(b"IEND", b""))


def test_dot_files_are_not_chapters_and_pipes_are_not_read(project):
    os.symlink("user@host.4242:1700000000", project / "content/.#02-second.md")  # an editor's lock file
    (project / "content/.03-draft.md").write_text("A draft.\n", encoding="utf-8")
    os.mkfifo(project / "content/04-pipe.md")
    result = run_build(project, "html")
    assert result.returncode == 1 and "content/04-pipe.md: is not an ordinary file" in result.stderr, result.stderr
    assert ".#02" not in result.stderr and ".03-draft" not in result.stderr


def test_a_link_into_the_tools_own_folder_is_outside_the_project(project):
    os.symlink(REPO / "pyproject.toml", project / "content/03-tool.md")
    result = run_build(project, "html")
    assert result.returncode == 1 and "content/03-tool.md: is a link to" in result.stderr


def test_strict_reports_a_handouts_errors_with_the_warnings(project):
    handouts = project / "content" / "handouts"
    handouts.mkdir()
    (handouts / "bad.md").write_text("---\ntitle: Bad\n---\nSee [@nosuchkey].\n", encoding="utf-8")
    edit(project / "content/02-second.md", "A later citation", "A runic ᚠ letter.\n\nA later citation")
    result = run_build(project, "all", "--strict")
    assert result.returncode == 1
    assert "content/handouts/bad.md:4: unknown citation key 'nosuchkey'" in result.stderr
    assert "content/02-second.md:7: the book face has no glyph" in result.stderr


def test_a_build_stopped_after_it_wrote_the_dossier_leaves_every_output_as_it_was(project, monkeypatch):
    from dossier.pdf import impose

    before = {path: path.read_bytes() for path in (project / "output").glob("*.*") if path.is_file()}
    edit(project / "content/02-second.md", "A later citation", "A later and longer citation")

    def stopped(*_args):
        raise KeyboardInterrupt  # Ctrl-C once dossier.pdf is made, while the print variant is

    monkeypatch.setattr(impose, "print_variant", stopped)
    result = run_build(project, "print")
    assert result.returncode == 130
    assert {path: path.read_bytes() for path in (project / "output").glob("*.*") if path.is_file()} == before
    assert list((project / "output").rglob("*.part")) == []
