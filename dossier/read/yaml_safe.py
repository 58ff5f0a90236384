"""YAML as the project reads it (front matter, the treaty data): PyYAML's safe loader, without
aliases. An alias (``*name``) repeats a value written elsewhere; nested, a few lines of them
make billions of values ("billion laughs") and the build would never end. Nothing the project
writes needs one, so an alias is an error at its line, with what to write instead."""
from __future__ import annotations

import yaml


class Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"'*{event.anchor}' repeats a value written elsewhere (a YAML alias), which is not "
                "allowed here: write the value out", event.start_mark)
        return super().compose_node(parent, index)


def describe(exc: Exception) -> tuple[int, str]:
    """The line (0-based, in the YAML text) and the reason of a YAML error, in plain words."""
    if isinstance(exc, RecursionError):
        return 0, "nested too deeply (more levels of lists or mappings than a file of facts needs)"
    mark = getattr(exc, "problem_mark", None)
    reason = getattr(exc, "problem", None) or str(exc)
    return (mark.line if mark else 0), reason


def load(text: str):
    """One YAML document; raises yaml.YAMLError or RecursionError (see ``describe``)."""
    loader = Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
