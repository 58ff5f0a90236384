"""The cache (output/.cache/) is only a cache: whatever is wrong with an entry (a part's PDF cut
short, overwritten or another part's; its JSON not JSON or missing fields; a folio layer; the
fonts' coverage; half-written files a stopped process left), the next build throws it away and
typesets anew, and the PDF is the one a good build makes. Never an internal error."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from dossier import audit
from dossier.typeset import parts as typeset
import pdfcheck
from projectrun import PROJECT, SAME_DATE, run_build


def build(root: Path, *args: str) -> tuple[int, str, str]:
    """``build.py pdf --root ROOT ARGS`` in this process, every build with the same date on its title
    page (the dossier alone: the booklet's parts are cached the same way)."""
    ran = run_build(root, "pdf", *args, env=SAME_DATE)
    return ran.returncode, ran.stdout, ran.stderr


def texts(root: Path) -> list[str]:
    return pdfcheck.texts(root / "output" / "dossier.pdf")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """The minimal project after one good build, and its PDF's text."""
    root = tmp_path_factory.mktemp("good") / "minimal"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("output"))
    status, _, err = build(root)
    assert status == 0, err
    return root, texts(root)


@pytest.fixture
def copy(good, tmp_path):
    root = tmp_path / "minimal"
    shutil.copytree(good[0], root)
    return root


def parts_dir(root: Path) -> Path:
    return root / "output" / ".cache" / "parts"


def entries(root: Path, kind: str) -> list[tuple[Path, Path]]:
    """(JSON, PDF) of every cached part ("part") or folio layer ("layer")."""
    found = []
    for meta in sorted(parts_dir(root).glob("*.json")):
        is_part = "pages" in json.loads(meta.read_text(encoding="utf-8"))
        if is_part == (kind == "part"):
            found.append((meta, meta.with_suffix(".pdf")))
    assert found, f"no cached {kind}"
    return found


def rewrite_json(meta: Path, change) -> None:
    data = json.loads(meta.read_text(encoding="utf-8"))
    change(data)
    meta.write_text(json.dumps(data), encoding="utf-8")


def cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00not a PDF\xff" * (path.stat().st_size // 11 + 1))


def folder(path: Path) -> None:
    path.unlink()
    (path / "inside").mkdir(parents=True)


def rotate(paths: list[Path]) -> None:
    """Each file gets the next one's bytes: sound PDFs, each in another part's place."""
    contents = [path.read_bytes() for path in paths]
    for path, data in zip(paths, contents[1:] + contents[:1]):
        path.write_bytes(data)


# What can be wrong with one part's entry (its JSON, its PDF); each build below damages its four
# parts in four different ways at once, and one folio layer, and more of the cache.
PART_DAMAGE = {
    "pdf-cut-short": lambda meta, pdf: cut_short(pdf),
    "pdf-garbage": lambda meta, pdf: garbage(pdf),
    "pdf-missing": lambda meta, pdf: pdf.unlink(),
    "pdf-a-folder": lambda meta, pdf: folder(pdf),
    "json-not-json": lambda meta, pdf: meta.write_bytes(b"{\"pages\": 3, \xff"),
    "json-empty": lambda meta, pdf: meta.write_bytes(b""),
    "json-a-list": lambda meta, pdf: meta.write_text("[1, 2]"),
    "json-missing-sizes": lambda meta, pdf: rewrite_json(meta, lambda d: d.pop("sizes")),
    "json-wrong-shapes": lambda meta, pdf: rewrite_json(meta, lambda d: d.update(pages="3", anchors=[], links={})),
    "json-anchor-off-the-part": lambda meta, pdf: rewrite_json(meta, lambda d: d["anchors"].update(x=[99, 0, 0, 1, 1])),
    "json-without-digest": lambda meta, pdf: rewrite_json(meta, lambda d: d.pop("pdf_sha256")),
    "json-a-folder": lambda meta, pdf: folder(meta),
}
LAYER_DAMAGE = [lambda meta, pdf: cut_short(pdf), lambda meta, pdf: garbage(pdf), lambda meta, pdf: folder(pdf),
                lambda meta, pdf: meta.write_text("garbage")]
CACHE_DAMAGE = [
    lambda root: [path.write_bytes(b"\xff garbage") for path in (root / "output" / ".cache").glob("coverage-*.json")],
    lambda root: (root / "output" / ".cache" / "manifest.json").write_text("{garbage"),
    lambda root: [path.write_text("42") for path in (root / "output" / ".cache").glob("coverage-*.json")],
    lambda root: None,
]


def damage_group(number: int):
    def damage(root: Path) -> None:
        names = list(PART_DAMAGE)[4 * number: 4 * number + 4]
        parts, (layer, *_) = entries(root, "part"), entries(root, "layer")  # read before anything is damaged
        for name, (meta, pdf) in zip(names, parts):
            PART_DAMAGE[name](meta, pdf)
        LAYER_DAMAGE[number](*layer)
        CACHE_DAMAGE[number](root)
    return damage


DAMAGE = {
    **{f"parts-{'-'.join(list(PART_DAMAGE)[4 * n: 4 * n + 4])}": damage_group(n) for n in range(3)},
    "parts-each-in-another-parts-place": lambda root: (rotate([pdf for _, pdf in entries(root, "part")]), damage_group(3)(root)),
    "parts-folder-a-file": lambda root: (shutil.rmtree(parts_dir(root)), parts_dir(root).write_text("garbage")),
}


def assert_sound(root: Path) -> None:
    """Every entry left in the cache is whole: its JSON names it and its PDF's digest."""
    for meta in parts_dir(root).glob("*.json"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        assert data["key"] == meta.stem
        assert data["pdf_sha256"] == hashlib.sha256(meta.with_suffix(".pdf").read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_cache_entry_is_typeset_anew(good, copy, damage, monkeypatch):
    monkeypatch.setattr(audit, "_COVERAGE", {})  # this process remembers the coverage: make it read the file again
    DAMAGE[damage](copy)
    status, out, err = build(copy, "--force", "-v")
    assert status == 0 and "internal error" not in err and "Traceback" not in err, err
    assert texts(copy) == good[1]
    assert_sound(copy)
    if damage.startswith("parts-"):
        assert "parts typeset: 4 of 4" in out
    status, out, err = build(copy)  # and the next build knows there is nothing to do
    assert status == 0 and "up to date" in out, err


def test_half_written_files_are_removed_by_the_next_build(copy):
    left = [parts_dir(copy) / ".0123.pdf.k2j4h1.part", parts_dir(copy) / ".0123.json.x9y8z7.part"]
    for path in left:
        path.write_bytes(b"half a PDF")  # as a typesetting process stopped mid-write leaves it
    status, _, err = build(copy, "--force")
    assert status == 0, err
    assert list(parts_dir(copy).glob("*.part")) == []


def test_an_interrupted_typesetting_removes_its_half_written_files(tmp_path, monkeypatch):
    cache = tmp_path / "cache"

    def stopped_mid_write(_name, _html, _base, _roots, _notes, pdf_path):
        Path(pdf_path).with_name(f".{Path(pdf_path).name}.abc123.part").write_bytes(b"half a PDF")
        raise KeyboardInterrupt  # Ctrl-C, or SIGTERM, which the build turns into it

    monkeypatch.setattr(typeset, "in_worker", stopped_mid_write)
    with pytest.raises(KeyboardInterrupt):
        typeset.typeset_parts([typeset.Part("first", "chapter", "<p>x</p>")], tmp_path / "x.html", [tmp_path], cache, b"")
    assert list(cache.glob("*.part")) == []


def test_a_manifest_of_another_shape_means_build_again(copy):
    (copy / "output" / ".cache" / "manifest.json").write_text("[]")
    status, out, err = build(copy)
    assert status == 0 and "internal error" not in err and "wrote" in out, err
