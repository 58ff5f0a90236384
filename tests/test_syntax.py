"""Pandoc citation syntax -> CiteItem."""
import pytest

from dossier.cite.syntax import find_citations, parse_citation
from dossier.problems import Location

HERE = Location("content/x.md", 3)


def items(inner):
    citation, problems = parse_citation(inner, HERE)
    assert problems == []
    return [(i.prefix, i.key, i.label, i.locator, i.suffix, i.suppress_author) for i in citation.items]


@pytest.mark.parametrize(
    "inner, expected",
    [
        ("@senn1962", [("", "senn1962", "page", "", "", False)]),
        ("@senn1962, 45-47", [("", "senn1962", "page", "45-47", "", False)]),
        ("@senn1962, pp. 45–47", [("", "senn1962", "page", "45–47", "", False)]),
        ("@cepenas1986, vol. 2", [("", "cepenas1986", "volume", "2", "", False)]),
        ("@a, chap. 3", [("", "a", "chapter", "3", "", False)]),
        ("@a, sec. 4", [("", "a", "section", "4", "", False)]),
        ("@a, no. 7", [("", "a", "number", "7", "", False)]),
        ("@a, n. 12", [("", "a", "note", "12", "", False)]),
        ("@a, 2:355-59", [("", "a", "page", "2:355-59", "", False)]),
        ("@a, 12, 15-17", [("", "a", "page", "12, 15-17", "", False)]),
        ("@a, xii", [("", "a", "page", "xii", "", False)]),
        ("@a, 33 and passim", [("", "a", "page", "33", "and passim", False)]),
        ("@a, 80, emphasis added", [("", "a", "page", "80", ", emphasis added", False)]),
        ("@a, and elsewhere", [("", "a", "page", "", ", and elsewhere", False)]),
        ("@a, {Art. 2}", [("", "a", "page", "Art. 2", "", False)]),
        ("-@a, 9", [("", "a", "page", "9", "", True)]),
        ("see @a, 12; compare @b, 3", [("see", "a", "page", "12", "", False), ("compare", "b", "page", "3", "", False)]),
        ("@web-lttreaty", [("", "web-lttreaty", "page", "", "", False)]),
        ("@a; @b", [("", "a", "page", "", "", False), ("", "b", "page", "", "", False)]),
    ],
)
def test_items(inner, expected):
    assert items(inner) == expected


def test_citation_keeps_its_location_and_note_flag():
    citation, _ = parse_citation("@a", HERE, in_note=True)
    assert citation.location == HERE and citation.in_note and citation.items[0].location == HERE


@pytest.mark.parametrize(
    "text, found",
    [
        ("as shown [@a, 3].", ["@a, 3"]),
        ("two [@a] and [see @b; @c]", ["@a", "see @b; @c"]),
        ("a link [text](http://x) and [^1] note", []),
        ("mail me at [x@y.org] please", []),
        ("code `[@a]` is not a citation", []),
        ("[@a](http://example.org) is a link", []),
        ("divided among six commissions [@a]: military", ["@a"]),
        ("[@a]: http://example.org/a link definition", []),
    ],
)
def test_find_citations(text, found):
    assert [m.group(1) for m in find_citations(text)] == found


def test_each_work_once_keeps_the_item_that_says_more():
    from dossier.cite.syntax import each_work_once
    assert each_work_once(["@a", "@b; @a", "@a, whose date is flagged", ""]) == ["@b", "@a, whose date is flagged"]
    assert each_work_once(["@a", "@a"]) == ["@a"]
    assert each_work_once([]) == []
