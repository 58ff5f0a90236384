"""Settings from pyproject.toml: defaults, and every wrong value named with its line."""
import pytest

from dossier.project import Settings, load_settings
from dossier.problems import BuildError

GOOD = """\
[project]
name = "x"
authors = [{ name = "Not a dossier author" }]

[tool.dossier]
title = "Peace with Moscow"
subtitle = "Five treaties"
authors = ["Ada Editor", "Ben Editor"]
language = "en"
paper = "Letter"
subject = "Treaties"
keywords = "treaties"
content-dir = "chapters"
ibid = true
nocite = ["senn1962"]

[tool.other]
paper = 5
"""


def settings(tmp_path, text, overrides=None):
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return load_settings(tmp_path, overrides)


def problems(tmp_path, text):
    with pytest.raises(BuildError) as caught:
        settings(tmp_path, text)
    return [str(p) for p in caught.value.problems]


def test_good_table_is_read(tmp_path):
    s = settings(tmp_path, GOOD)
    assert (s.title, s.authors, s.keywords, s.nocite) == ("Peace with Moscow", ("Ada Editor", "Ben Editor"), ("treaties",), ("senn1962",))
    assert (s.paper, s.page_size, s.content_dir, s.ibid) == ("Letter", "8.5in 11in", "chapters", True)


@pytest.mark.parametrize("text", ["", "[tool.dossier]\n", "[project]\nname = 'x'\n"])
def test_empty_or_missing_table_gives_the_defaults(tmp_path, text):
    s = settings(tmp_path, text)
    default = Settings(root=tmp_path.resolve())
    assert (s.title, s.authors, s.paper, s.ibid, s.output_dir) == (default.title, (), "A4", False, "output")


def test_missing_file_gives_the_defaults(tmp_path):
    assert load_settings(tmp_path).title == Settings(root=tmp_path).title


@pytest.mark.parametrize(
    "line, message",
    [
        ("title = 5", "title must be a string, not an integer"),
        ("subtitle = ['a']", "subtitle must be a string, not an array"),
        ("content-dir = { x = 1 }", "content-dir must be a string, not a table"),
        ("language = 1920-08-11", "language must be a string, not a date or time"),
        ("authors = 5", "authors must be a string or a list of strings, not an integer"),
        ("keywords = ['a', 2.5]", "keywords must be a string or a list of strings, not an array holding a number"),
        ("nocite = true", "nocite must be a string or a list of strings, not a boolean"),
        ("ibid = 'yes'", "ibid must be true or false, not a string"),
        ("paper = 'B5'", "paper must be A4 or Letter, not 'B5'"),
        ("paper = 4", "paper must be A4 or Letter, not an integer"),
        ("colour = 'red'", "unknown setting 'colour' in [tool.dossier]"),
        ("papr = 'A4'", "unknown setting 'papr' in [tool.dossier] (did you mean 'paper'?)"),
    ],
)
def test_wrong_setting_is_named_with_its_line(tmp_path, line, message):
    assert problems(tmp_path, f"[project]\nauthors = []\n\n[tool.dossier]\ntitle_page = 1\n{line}\n")[-1] == f"pyproject.toml:6: {message}"


def test_all_wrong_settings_are_reported_together(tmp_path):
    found = problems(tmp_path, "[tool.dossier]\nauthors = 5\nibid = 1\npaper = 'B5'\n")
    assert found == [
        "pyproject.toml:2: authors must be a string or a list of strings, not an integer",
        "pyproject.toml:3: ibid must be true or false, not an integer",
        "pyproject.toml:4: paper must be A4 or Letter, not 'B5'",
    ]


def test_dossier_not_a_table_is_an_error(tmp_path):
    assert problems(tmp_path, "[tool]\ndossier = 5\n") == ["pyproject.toml: tool.dossier must be a table, not an integer"]


def test_override_is_checked_like_the_file(tmp_path):
    assert settings(tmp_path, GOOD, {"paper": "A4"}).paper == "A4"
    with pytest.raises(BuildError, match="paper must be A4 or Letter, not 'B5'"):
        settings(tmp_path, GOOD, {"paper": "B5"})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[tool.dossier]\ntitle = \n", "pyproject.toml:2: invalid TOML: Invalid value"),
        ("[tool.dossier]\ntitle = 'x'\nauthors\n", "pyproject.toml:3: invalid TOML: Expected '=' after a key in a key/value pair"),
    ],
)
def test_invalid_toml_is_named_with_its_line(tmp_path, text, expected):
    assert problems(tmp_path, text) == [expected]


def test_a_project_folder_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(BuildError) as caught:
        load_settings(tmp_path / "no-such-dossier")
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / 'no-such-dossier'}: no such project folder"]
    assert not (tmp_path / "no-such-dossier").exists()
