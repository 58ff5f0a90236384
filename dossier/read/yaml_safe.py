"""YAML as the project reads it (front matter, the treaty data): PyYAML's safe loader, without
aliases. An alias (``*name``) repeats a value written elsewhere; nested, a few lines of them
make billions of values ("billion laughs") and the build would never end. Nothing the project
writes needs one, so an alias is an error at its line, with what to write instead."""
from __future__ import annotations

import yaml

from ..files import ReadError, display_path, read_text
from ..problems import Problem, error


class Loader(yaml.SafeLoader):
    def construct_yaml_timestamp(self, node):
        """An impossible date (1920-13-11) stays text, for the checks to name it."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, AttributeError):
            return self.construct_scalar(node)

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"'*{event.anchor}' repeats a value written elsewhere (a YAML alias), which is not "
                "allowed here: write the value out", event.start_mark)
        return super().compose_node(parent, index)


Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)

# What reading a YAML text can raise besides YAMLError: a value its tag cannot be (!!int x, !!bool maybe),
# and nesting deeper than Python's stack.
ERRORS = (yaml.YAMLError, RecursionError, ValueError, TypeError, KeyError, AttributeError, OverflowError)


def describe(exc: Exception) -> tuple[int, str]:
    """The line (0-based, in the YAML text) and the reason of a YAML error, in plain words."""
    if isinstance(exc, RecursionError):
        return 0, "nested too deeply (more levels of lists or mappings than a file of facts needs)"
    if not isinstance(exc, yaml.YAMLError):
        return 0, f"a value its tag does not allow ({type(exc).__name__}: {exc})"
    mark = getattr(exc, "problem_mark", None)
    reason = getattr(exc, "problem", None) or str(exc)
    context, opened = getattr(exc, "context", None) or "", getattr(exc, "context_mark", None)
    if context.startswith("while scanning a quoted scalar") and opened is not None:
        return opened.line, ("a quotation mark opened on this line is never closed: end the value with the same "
                             "mark (\" or ')")
    if reason.startswith("expected <block end>, but found '<scalar>'"):
        return (mark.line if mark else 0), ("text goes on after a value's closing quotation mark: a quoted value must end "
                                            "with its mark (to quote inside it, use the other one: \"The 'Riga' treaty\")")
    if reason.startswith("mapping values are not allowed here"):
        return (mark.line if mark else 0), ("a colon and a space inside a value: put the value in quotation marks "
                                            "(title: \"Riga: the treaty\")")
    return (mark.line if mark else 0), reason


def load(text: str):
    """One YAML document; raises yaml.YAMLError or RecursionError (see ``describe``)."""
    loader = Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_data_file(path, root) -> tuple[object, object, list[Problem]]:
    """A data file of the project (``treaties.yaml``, ``classroom.yaml``): its document and its
    node tree (for each value's line), or the problem that stopped the reading at its line."""
    shown = display_path(path, root)
    try:
        loader = Loader(read_text(path, root))
        try:
            node = loader.get_single_node()
            return (loader.construct_document(node) if node is not None else {}), node, []
        finally:
            loader.dispose()
    except ReadError as exc:
        return None, None, [exc.problem]
    except ERRORS as exc:
        line, reason = describe(exc)
        return None, None, [error(shown, line + 1, f"broken data: {reason}")]
