"""A fresh process gets WeasyPrint ready faster, and nothing it loads or lays out changes."""
import json
import subprocess
import sys
from pathlib import Path

import pyphen
import pytest

from dossier.warmstart import cache_hyphenation


LOADED = r"""
import ctypes.util, json, re, sys
sys.path.insert(0, sys.argv[1])
asked = []
search = ctypes.util.find_library
ctypes.util.find_library = lambda name: asked.append(name) or search(name)
if sys.argv[2] == "ours":
    from dossier.warmstart import load_weasyprint
    load_weasyprint()
else:
    import weasyprint
from weasyprint.text import ffi
maps = open("/proc/self/maps").read()
libraries = sorted(set(re.findall(r"/\S*lib(?:gobject|pango|pangoft2|harfbuzz|harfbuzz-subset|harfbuzz-vector|fontconfig)[-.]\S*", maps)))
print(json.dumps({"asked": asked, "libraries": libraries,
                  "optional": [ffi.harfbuzz_subset is not None, ffi.harfbuzz_vector is not None]}))
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="Linux only")
def test_weasyprint_loads_the_same_libraries_without_searching_for_them():
    import json
    import subprocess
    import sys

    repo = str(Path(__file__).resolve().parent.parent)
    stock, ours = (json.loads(subprocess.run([sys.executable, "-c", LOADED, repo, how], capture_output=True, text=True,
                                             check=True).stdout) for how in ("stock", "ours"))
    assert stock["asked"]  # WeasyPrint alone asks ctypes.util.find_library (which runs ldconfig, gcc, ld)...
    assert ours["asked"] == []  # ... we ask the dynamic linker directly
    assert ours["libraries"] == stock["libraries"] and ours["optional"] == stock["optional"]
    assert any("pango" in path for path in ours["libraries"])


WORDS = ["hyphenation", "plenipotentiaries", "ratification", "demarcation", "independence", "nationalisation",
         "Latgale", "sovereignty", "compensation", "extraordinary", "a", "Moscow"]


@pytest.fixture
def restore_pyphen(monkeypatch):
    monkeypatch.setattr(pyphen, "HyphDict", pyphen.HyphDict)
    monkeypatch.setattr(pyphen, "hdcache", {})


def test_hyphenation_patterns_read_back_from_the_cache_are_the_same(tmp_path, restore_pyphen):
    path = pyphen.LANGUAGES[pyphen.language_fallback("en_GB")]
    parsed = pyphen.HyphDict(path)
    cache_hyphenation(tmp_path)
    first = pyphen.HyphDict(path)  # parsed, and written to the cache
    [cached] = tmp_path.glob("hyphenation-*.json")
    again = pyphen.HyphDict(path)  # read from it
    assert again.patterns == first.patterns == parsed.patterns and again.maxlen == parsed.maxlen
    assert [again.positions(w) for w in WORDS] == [parsed.positions(w) for w in WORDS]
    # It is the cache that is read: change it, and the patterns change with it.
    cached.write_text(json.dumps({"xy": [1, [1]]}), encoding="utf-8")
    assert pyphen.HyphDict(path).patterns == {"xy": (1, (1,))}
    # A damaged cache is parsed again, and rewritten.
    for damaged in ("{", "[]", "null", '{"xy": 3}'):
        cached.write_text(damaged, encoding="utf-8")
        assert pyphen.HyphDict(path).patterns == parsed.patterns
        assert pyphen.HyphDict(path).patterns == parsed.patterns


def test_patterns_with_alternative_hyphenations_are_not_cached(tmp_path, restore_pyphen):
    path = pyphen.LANGUAGES[pyphen.language_fallback("hu_HU")]
    cache_hyphenation(tmp_path)
    parsed = pyphen.HyphDict(path)
    assert any(type(v) is not int for _, values in parsed.patterns.values() for v in values)
    assert list(tmp_path.glob("hyphenation-*.json")) == []
    assert pyphen.Pyphen(lang="hu_HU").inserted("asszonnyal") == pyphen.Pyphen(filename=path, cache=False).inserted("asszonnyal")


def test_the_hyphenation_cache_outlives_the_pruning_of_parts(tmp_path, restore_pyphen):
    from dossier.parts import prune_cache, typeset_one

    cache = tmp_path / "parts"
    html = '<html lang="en-GB"><body><p style="hyphens: auto; width: 3em">Plenipotentiaries ratification</p></body></html>'
    typeset_one(html, str(tmp_path / "x.html"), [str(tmp_path)], [], str(cache / "abc.pdf"))
    assert (cache / "abc.pdf").exists()
    [patterns] = (cache / "hyphenation").glob("hyphenation-*.json")
    prune_cache(cache, keep=[])  # what a build of everything does with parts it did not use
    assert not (cache / "abc.pdf").exists() and patterns.exists()
