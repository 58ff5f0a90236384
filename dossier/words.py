"""The words the build writes itself ("figure", "table", "section", "p."), in the book's language.

For now English only; the citation-style-language locales are to take over (same signature)."""
from __future__ import annotations

_ENGLISH = {
    ("figure", "long"): ("figure", "figures"),
    ("table", "long"): ("table", "tables"),
    ("section", "long"): ("section", "sections"),
    ("page", "long"): ("page", "pages"),
    ("page", "short"): ("p.", "pp."),
    ("open-quote", "long"): ("“", "“"),
    ("close-quote", "long"): ("”", "”"),
}


def term(language: str, name: str, form: str = "long", plural: bool = False) -> str:
    """The CSL term ``name`` in ``language`` (e.g. "lt", "lv-LV"), in ``form`` ("long", "short",
    "verb", "verb-short", "symbol"), singular or plural."""
    single, many = _ENGLISH[(name, form)]
    return many if plural else single
