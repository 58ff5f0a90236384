"""dossier.bib: BibTeX text in, Reference records and problems out."""
from __future__ import annotations

from pathlib import Path

import pytest

from dossier.read.bibtex import ET_AL, decode_latex, load_bibliography, parse_names
from dossier.problems import ERROR, WARNING
from dossier.model import Person
from dossier.problems import Location

NBSP = "\u00a0"


def load(tmp_path: Path, *texts: str):
    """Write each text to bib/<n>.bib under tmp_path and load them in order."""
    (tmp_path / "bib").mkdir(exist_ok=True)
    paths = []
    for n, text in enumerate(texts, 1):
        path = tmp_path / "bib" / f"{n}.bib"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return load_bibliography(paths, tmp_path)


def one(tmp_path: Path, text: str):
    refs, problems = load(tmp_path, text)
    assert problems == []
    (ref,) = refs.values()
    return ref


@pytest.mark.parametrize(
    "latex, text",
    [
        (r"{\v{Z}}alys", "Žalys"),
        (r"\L{}ossowski", "Łossowski"),
        (r"{\L}ossowski", "Łossowski"),
        (r"\v{C}ep\.{e}nas", "Čepėnas"),
        (r"Su\v{z}ied\.{e}lis", "Sužiedėlis"),
        (r"{\'E}tudes", "Études"),
        (r"1920--1921", "1920–1921"),
        (r"yes---no", "yes—no"),
        (r"p.~45", f"p.{NBSP}45"),
        (r"Smith \& Sons", "Smith & Sons"),
        (r"Peace & War", "Peace & War"),
        (r"50\%", "50%"),
        (r"``quoted''", "“quoted”"),
        (r"{K}onflikt polsko-litewski", "{K}onflikt polsko-litewski"),
        (r"{{League of Nations}}", "{{League of Nations}}"),
        (r"The {USSR} and {\"O}sterreich", "The {USSR} and Österreich"),
        ("Мирный договор", "Мирный договор"),
    ],
)
def test_decode_latex(latex: str, text: str) -> None:
    assert decode_latex(latex) == text


def test_entry_fields_decoded_raw_kept_and_located(tmp_path: Path) -> None:
    ref = one(tmp_path, """
% a comment line
@Book{zalys1990,
  author    = {{\\v{Z}}alys, Vytautas},
  title     = {{K}onflikt polsko-litewski, 1920--1921},
  year      = 1990,
  url       = {https://example.org/a_b~c},
}
""")
    assert ref.key == "zalys1990"
    assert ref.type == "book"
    assert ref.location == Location("bib/1.bib", 3)
    assert ref.fields["title"] == "{K}onflikt polsko-litewski, 1920–1921"
    assert ref.raw["title"] == "{K}onflikt polsko-litewski, 1920--1921"
    assert ref.fields["year"] == "1990"
    assert ref.fields["url"] == "https://example.org/a_b~c"
    assert ref.field_lines == {"author": 4, "title": 5, "year": 6, "url": 7}
    assert ref.names["author"] == (Person(family="Žalys", given="Vytautas"),)


def test_strings_concatenation_and_months(tmp_path: Path) -> None:
    ref = one(tmp_path, """
@string{ks = "Kaunas"}
@misc{k, address = ks # { and } # "Vilnius", month = mar, note = "multi
   line   value"}
""")
    assert ref.fields["address"] == "Kaunas and Vilnius"
    assert ref.fields["month"] == "March"
    assert ref.fields["note"] == "multi line value"


@pytest.mark.parametrize(
    "names, people",
    [
        ("Čepėnas, Pranas", (Person(family="Čepėnas", given="Pranas"),)),
        ("Alfred Erich Senn", (Person(family="Senn", given="Alfred Erich"),)),
        (r"\L{}ossowski, Piotr and Sužiedėlis, Saulius",
         (Person(family="Łossowski", given="Piotr"), Person(family="Sužiedėlis", given="Saulius"))),
        ("von Rauch, Georg", (Person(family="Rauch", given="Georg", particle="von"),)),
        ("King, Jr., Martin Luther",
         (Person(family="King", given="Martin Luther", suffix="Jr."),)),
        ("{League of Nations}", (Person(literal="League of Nations"),)),
        ("{Smith and Sons} and Doe, J.",
         (Person(literal="Smith and Sons"), Person(family="Doe", given="J."))),
        ("Doe, Jane and others", (Person(family="Doe", given="Jane"), ET_AL)),
    ],
)
def test_parse_names(names: str, people: tuple[Person, ...]) -> None:
    assert parse_names(names) == people


def test_names_of_every_role(tmp_path: Path) -> None:
    ref = one(tmp_path, """@book{x, author = {A, Ann}, editor = {B, Bob},
  translator = {C, Cy}, bookauthor = {D, Di}, title = {T}}""")
    assert {k: v[0].family for k, v in ref.names.items()} == {
        "author": "A", "editor": "B", "translator": "C", "bookauthor": "D"}


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("@book{ok, title={x}}\n\n@article{foo,\n  title = {Unclosed {brace},\n}\n@misc{bar, title={y}}\n",
         3, "unclosed brace in entry 'foo'"),
        ("@book{foo,\n  title = {never closed\n", 1, "unclosed brace in entry 'foo'"),
        ('@book{foo, title = "open quote}\n@misc{bar, title={y}}\n', 1, "unclosed quote in entry 'foo'"),
        ("@book{foo title = {x}}\n", 1, "cannot parse entry 'foo': Expected comma after entry key, but found ="),
        ("@book{ok, title={x}}\n\n@book{senn1962,\n  title = {The Emergence},\n  year = {1962},\n\n@article{rauch1974,\n"
         "  title = {Other},\n}\n", 3, "entry 'senn1962' is never closed: a '}' is missing before line 7, where the next entry begins"),
    ],
)
def test_parse_failures_are_problems(tmp_path: Path, text: str, line: int, message: str) -> None:
    refs, problems = load(tmp_path, text)
    assert [(p.location, p.message, p.severity) for p in problems] == [
        (Location("bib/1.bib", line), message, ERROR)]


def test_parse_failure_does_not_hide_later_entries(tmp_path: Path) -> None:
    refs, problems = load(tmp_path, "@book{a, title={x}\n@book{b, title={y}}\n@book{c, title={z}}\n")
    assert len(problems) == 1
    assert set(refs) == {"b", "c"}


def test_duplicate_key_in_one_file(tmp_path: Path) -> None:
    refs, problems = load(tmp_path, "@book{x, title={One}}\n\n@book{x, title={Two}}\n")
    assert [str(p) for p in problems] == [
        "bib/1.bib:3: duplicate citation key 'x' (first defined at bib/1.bib:1)"]
    assert refs["x"].fields["title"] == "One"


def test_duplicate_key_across_files(tmp_path: Path) -> None:
    refs, problems = load(tmp_path, "@book{x, title={One}}\n", "\n@misc{y, title={Y}}\n@book{x, title={Two}}\n")
    assert [str(p) for p in problems] == [
        "bib/2.bib:3: duplicate citation key 'x' (first defined at bib/1.bib:1)"]
    assert set(refs) == {"x", "y"}


def test_duplicate_field(tmp_path: Path) -> None:
    refs, problems = load(tmp_path, "@book{x,\n title={One},\n title={Two}}\n")
    assert [str(p) for p in problems] == ["bib/1.bib:1: duplicate field 'title' in entry 'x'"]
    assert refs["x"].fields["title"] == "One"


def test_undefined_string_is_a_warning(tmp_path: Path) -> None:
    refs, problems = load(tmp_path, "@book{x,\n publisher = nowhere}\n")
    assert [(str(p.location), p.message, p.severity) for p in problems] == [
        ("bib/1.bib:2", "undefined string 'nowhere'", WARNING)]
    assert refs["x"].fields["publisher"] == "nowhere"


def test_type_names_lower_cased(tmp_path: Path) -> None:
    assert one(tmp_path, "@InCollection{x, title={T}}").type == "incollection"


def _all_field_values():
    import bibtexparser

    repo = Path(__file__).resolve().parent.parent
    values = []
    for path in [repo / "bib" / "dossier.bib", *sorted((repo / "tests").rglob("*.bib"))]:
        library = bibtexparser.parse_string(path.read_text(encoding="utf-8"))
        values += [str(field.value) for entry in library.entries for field in entry.fields]
    return values


TRICKY = ["pp. 12--15", "``quoted''", "it's", "Why?` no", "a  b", " lead", "trail ", "line\nbreak", "100%",
          "A & B", "x_1", "a~b", "$x$", "Wait!`", "tab\there", "don''t", "-", "a - b", "Eidintas, Alfonsas"]


def test_plain_fields_skip_the_latex_parser_and_read_the_same():
    from dossier.read.bibtex import _PLAIN, _parse_latex, decode_latex

    values = _all_field_values() + TRICKY
    plain = [v for v in values if _PLAIN.fullmatch(v) and v == v.strip()]
    assert len(values) > 500 and len(plain) > len(values) / 2  # the shortcut is taken, mostly
    for value in values:
        assert decode_latex(value) == _parse_latex(value), value
