"""The shipped dossier itself, built once: what the issues promise a reader."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from dossier.config import load_settings
from dossier.pipeline import build

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    out = tmp_path_factory.mktemp("shipped")
    settings = load_settings(REPO, {"output_dir": str(out)})
    result = build(REPO, settings=settings)
    return out, result


def test_no_note_leaves_its_calls_page(shipped):
    _, result = shipped
    assert result.notes_off_page == []


def test_size_notes_and_bibliography(shipped):
    out, result = shipped
    reader = PdfReader(out / "dossier.pdf")
    assert len(reader.pages) >= 25
    html = (out / "dossier.html").read_text(encoding="utf-8")
    assert html.count('class="footnote"') == result.notes >= 60
    assert html.count('class="bib-entry"') == result.bibliography >= 12


def test_no_errors_and_no_missing_glyphs(shipped):
    _, result = shipped
    assert not [w for w in result.warnings if "no glyph" in str(w) or "typesetter" in str(w)]


def test_comparison_table_is_on_a_landscape_page_and_timeline_is_vector(shipped):
    out, _ = shipped
    reader = PdfReader(out / "dossier.pdf")
    landscape = [i for i, page in enumerate(reader.pages) if page.mediabox.width > page.mediabox.height]
    assert landscape, "no landscape page"
    text = reader.pages[landscape[0]].extract_text()
    for short in ("Moscow 1920", "Riga 1920", "Tartu 1920 (Estonia)", "Tartu 1920 (Finland)", "Riga 1921"):
        assert short in text
    html = (out / "dossier.html").read_text(encoding="utf-8")
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="timeline"' in html


def test_prose_carries_no_copied_runs_from_the_seeds():
    seeds = REPO.parent / "shared" / "seeds"
    tool = REPO.parent / "shared" / "tools" / "seed_overlap.py"
    if not tool.exists():
        pytest.skip("the seed sources are not beside this checkout")
    chapters = sorted(str(p) for p in (REPO / "content").glob("*.md"))
    done = subprocess.run([sys.executable, str(tool), str(seeds), *chapters], capture_output=True, text=True)
    assert re.search(r"^0 runs of", done.stdout.strip().splitlines()[-1]), done.stdout[-2000:]
