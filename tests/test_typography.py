"""Typographic quotes in text printed without Markdown (titles, settings, data)."""
import pytest

from dossier.read.typography import smart_quotes, smart_values


@pytest.mark.parametrize("text, expected", [
    ("Tartu and Riga: The Neighbours' Treaties", "Tartu and Riga: The Neighbours’ Treaties"),
    ("Chicherin's peace note", "Chicherin’s peace note"),
    ('The "crucial step" of 1920', "The “crucial step” of 1920"),
    ("'Tartu peace', it means", "‘Tartu peace’, it means"),
    ('("no war, no peace")', "(“no war, no peace”)"),
    ("the '90s", "the ’90s"),
    ("Already “curly” and ’", "Already “curly” and ’"),
    ("no quotes at all", "no quotes at all"),
])
def test_straight_quotes_become_curly(text, expected):
    assert smart_quotes(text) == expected


def test_values_through_lists_mappings_and_tuples():
    assert smart_values({"a": ["it's", ("don't",)], "n": 3}) == {"a": ["it’s", ("don’t",)], "n": 3}
