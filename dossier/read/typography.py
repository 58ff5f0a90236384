"""Typographic quotes and apostrophes in text the build prints without Markdown: titles from
front matter and settings, the treaty data, the class material. (Chapter bodies get theirs from
Python-Markdown's ``smarty``.) "Neighbours' Treaties" becomes “Neighbours’ Treaties”."""
from __future__ import annotations

import re

# An opening quote follows the start, a space, an opening bracket or a dash; any other is closing.
_OPENS_AFTER = r"(?:^|(?<=[\s(\[{\u2014\u2013/-]))"
_DOUBLE_OPEN = re.compile(_OPENS_AFTER + '"')
_SINGLE_OPEN = re.compile(_OPENS_AFTER + "'(?=\\w)")


def smart_quotes(text: str) -> str:
    """Straight quotes and apostrophes to curly ones: ' in a word (Lithuania's, ’90s) is an
    apostrophe; a quote after a space or an opening bracket opens, any other closes."""
    if "'" not in text and '"' not in text:
        return text
    text = _DOUBLE_OPEN.sub("\u201c", text).replace('"', "\u201d")
    text = re.sub(r"(?<=\w)'(?=\w)", "\u2019", text)  # Lithuania's, don't
    text = re.sub(r"'(?=\d\ds\b)", "\u2019", text)  # the '90s
    return _SINGLE_OPEN.sub("\u2018", text).replace("'", "\u2019")


def smart_values(value):
    """``smart_quotes`` through the texts of a YAML value (mappings, lists); other values as they are."""
    if isinstance(value, str):
        return smart_quotes(value)
    if isinstance(value, (list, tuple)):
        return type(value)(smart_values(v) for v in value)
    if isinstance(value, dict):
        return {k: smart_values(v) for k, v in value.items()}
    return value
