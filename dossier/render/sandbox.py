"""The sandbox a chapter's data expressions run in: Jinja's, bounded by work and output (``DataSandbox``)."""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
import string
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from typing import Callable

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.compiler import operators as COMPARE_OPERATORS
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment, safe_range
from jinja2.utils import Namespace

MAX_REPEAT = 100_000  # items or characters one step may make from little ("-" * 20, padding, joining, formatting)
MAX_DIGITS = 3_000  # digits of a whole number a chapter may compute (below Python's printing limit)
MAX_STEPS = 1_000_000  # steps a chapter's data expressions may take in all (see DataSandbox)
MAX_OUTPUT = 5_000_000  # characters they may write in all
MAX_RANGE_NUMBER = 10**15  # the largest start, stop or step of a range

TOO_MUCH_WORK = (f"this expression repeats too much work: a chapter's data expressions may take {MAX_STEPS:,} steps "
                 "in all (each round of a loop, each call, each character or item they go through)")
TOO_MUCH_TEXT = (f"this expression repeats too much work: a chapter's data expressions may write {MAX_OUTPUT:,} "
                 "characters in all")

# Filters and globals a chapter has no use for, and whose work is not bounded by their input.
REMOVED_FILTERS = {"urlize", "wordwrap", "pprint", "tojson"}
REMOVED_GLOBALS = {"lipsum"}
# Methods a chapter may call, by the kind of value they belong to.
TEXT_METHODS = {
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii", "isdecimal",
    "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper", "striptags", "unescape",
}
TEXT_PADDING = {"center", "ljust", "rjust", "zfill"}
SEQUENCE_METHODS = {"count", "index"}
LIST_METHODS = {"count", "index", "remove", "copy", "reverse", "insert", "sort", "append", "extend", "pop", "clear"}
MAPPING_METHODS = {"get", "items", "keys", "values", "copy", "pop", "popitem", "setdefault", "update", "clear"}
NUMBER_METHODS = {"is_integer", "bit_length"}
DATE_METHODS = {"isoformat", "weekday", "isoweekday", "isocalendar", "toordinal", "ctime", "strftime"}
# Filters whose work is in the number of items, not in their size; those that sort, more.
SHALLOW_FILTERS = {"list", "length", "count", "first", "last", "reverse", "default", "d", "items", "batch", "slice",
                   "map", "select", "reject", "selectattr", "rejectattr", "attr", "random", "sum", "abs", "int",
                   "float", "round", "filesizeformat"}
SORTING_FILTERS = {"sort", "dictsort", "groupby"}
CHEAP_TESTS = {"defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number", "string",
               "mapping", "iterable", "sequence", "callable", "sameas", "odd", "even", "divisibleby", "filter",
               "test", "escaped"}
PLAIN_VALUES = (str, bytes, bytearray, int, float, complex, list, tuple, dict, set, frozenset, range,
                dt.date, dt.time, dt.timedelta, type)
SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset, range, KeysView, ValuesView, ItemsView)
PERCENT_FIELD_RE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)


class DataSandbox(SandboxedEnvironment):
    """Jinja's sandbox, with the work and the output of a chapter's data expressions bounded.

    Jinja's sandbox keeps a template away from Python's internals and bounds ``range`` to
    100,000 items a call, but not the work a template does in all: nested loops, a macro that
    calls itself twice, ``"x".center(10**9)``, ``"%*s" % (10**9, "")``, ``", ".join(...)`` of
    long texts or ``{{ 10 ** 10**9 }}`` would hang the build or exhaust its memory. Here no
    time limit is needed, for every kind of work is counted or bounded before it is done:

    - steps, at most MAX_STEPS for the chapter: each round of a loop and each run of a macro's
      or a block's body (as many steps as the body has parts), each call, each number a range
      gives, and each character or item a step goes through (nested lists and mappings counted
      in full, as printing or comparing them would) or makes;
    - a step that could make much from little (repetition, padding, joining, replacing,
      formatting, ``*`` and ``**`` on numbers) has its result's size worked out first: more
      than MAX_REPEAT items or characters (MAX_DIGITS digits) is refused;
    - text written, into the chapter or into a macro's or a block's result: at most MAX_OUTPUT
      characters;
    - methods of texts, lists, mappings, numbers and dates: only those named above, each
      counted as it works (a list that grows, by its new items); ``lipsum`` and the filters in
      REMOVED_FILTERS are gone.

    The counts start again with each chapter (``begin``). A limit passed is a SecurityError,
    raised inside the template, so that it names the chapter line of the expression.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("optimized", False)  # nothing evaluated while compiling, outside the counts
        super().__init__(*args, **kwargs)
        self.code_generator_class = _CountingCodeGenerator
        for name in REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = self._range
        self.filters = {name: self._guard_filter(name, f) for name, f in self.filters.items() if name not in REMOVED_FILTERS}
        self.tests = {name: self._guard_test(name, f) for name, f in self.tests.items()}
        self.begin()

    def begin(self) -> None:
        """Start the counts afresh, for a new chapter."""
        self.steps = 0
        self.written = 0
        self._sizes: dict[int, tuple[object, int]] = {}  # printed size of other objects, by id (kept alive)

    # -- the counts ------------------------------------------------------------------------

    def charge(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise jinja2.exceptions.SecurityError(TOO_MUCH_WORK)

    def consume(self, *values) -> None:
        """Count the steps of going through ``values``."""
        for value in values:
            self.charge(self.weight(value))

    def make(self, size: int, what: str) -> None:
        """Count a step that makes ``size`` items or characters, refusing too large a one."""
        if size > MAX_REPEAT:
            raise jinja2.exceptions.SecurityError(f"{what} too large: {size:,} items or characters (at most {MAX_REPEAT:,})")
        self.charge(size)

    def weight(self, value) -> int:
        """About how many characters ``value`` prints as, nested lists and mappings in full (each
        item at least one). Counting stops once it passes the steps left."""
        limit, total, stack = MAX_STEPS - self.steps, 0, [value]
        while stack and total <= limit:
            item = stack.pop()
            if isinstance(item, str):
                total += max(1, len(item))
            elif isinstance(item, bool) or item is None:
                total += 1
            elif isinstance(item, int):
                total += item.bit_length() * 30103 // 100000 + 1
            elif isinstance(item, float):
                total += 8
            elif isinstance(item, dict):
                total += 1 + len(item)
                stack.extend(item.items())
            elif isinstance(item, (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)):
                total += 1 + len(item)
                if total <= limit:
                    stack.extend(item)
            elif isinstance(item, Namespace):
                stack.append(object.__getattribute__(item, "_Namespace__attrs"))
            else:  # a treaty, a date, a range, a macro: as long as it prints
                known = self._sizes.get(id(item))
                if known is None:
                    try:
                        known = self._sizes[id(item)] = (item, len(repr(item)))
                    except Exception:
                        known = (item, 1)
                total += known[1]
        return total

    # -- what the compiled template calls (see _CountingCodeGenerator) ----------------------

    def looped(self, iterable, steps: int):
        """The items of a loop, each round ``steps`` steps."""
        for item in iterable:
            self.charge(steps)
            yield item

    def emit(self, text: str) -> str:
        self.written += len(text)
        if self.written > MAX_OUTPUT:
            raise jinja2.exceptions.SecurityError(TOO_MUCH_TEXT)
        return text

    def read(self, value):
        """``value`` (printed, compared or joined by ``~``), once its size is counted."""
        self.consume(value)
        return value

    def sliced(self, value, start, stop, step):
        result = value[start:stop:step]
        self.charge(1 + _length(result))
        return result

    def _range(self, *args):
        if any(isinstance(a, int) and abs(a) > MAX_RANGE_NUMBER for a in args):
            raise jinja2.exceptions.SecurityError(f"range: numbers up to {MAX_RANGE_NUMBER:,} only")
        numbers = safe_range(*args)
        self.charge(len(numbers))
        return numbers

    # -- operators, calls, filters, tests ----------------------------------------------------

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            sequence, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                self.make(len(sequence) * times, "repetition")
            elif isinstance(left, int) and isinstance(right, int):
                if _log10(left) + _log10(right) > MAX_DIGITS:
                    raise jinja2.exceptions.SecurityError(f"number too large: * would give more than {MAX_DIGITS:,} digits")
                self.charge(1 + int(_log10(left) + _log10(right)))
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if right * _log10(left) > MAX_DIGITS:
                    raise jinja2.exceptions.SecurityError(f"number too large: ** would give more than {MAX_DIGITS:,} digits")
                self.charge(1 + int(right * _log10(left)))
        elif operator == "+":
            self.charge(1 + _length(left) + _length(right))
        elif operator == "%" and isinstance(left, str):
            self.consume(right)
            values = list(right.values()) if isinstance(right, dict) else list(right) if isinstance(right, tuple) else [right]
            self.make(self._format_size(left, values, percent=True), "formatting")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own names, free for the call's)
        self = __self
        given = {k: v for k, v in kwargs.items() if k not in ("_loop_vars", "_block_vars")}
        method = _attribute(__obj, "__wrapped__") or __obj  # str.format comes wrapped by the sandbox
        owner = _attribute(method, "__self__")
        self.charge(1)
        plain = owner is not None and (isinstance(owner, PLAIN_VALUES) or type(owner).__module__ == "builtins")
        if plain:
            args = self._check_method(owner, getattr(method, "__name__", ""), args, given)
            before = _length(owner)
        else:
            self.consume(*args, *given.values())
            if isinstance(__obj, LoopContext) and args:  # loop(children) in a recursive loop
                args = (self.looped(args[0], 1), *args[1:])
        result = super().call(__context, __obj, *args, **kwargs)
        self.charge(_length(result) + (max(0, _length(owner) - before) if plain else 0))  # what it made, or added
        return result

    def _check_method(self, owner, name: str, args: tuple, kwargs: dict) -> tuple:
        """Refuse a method a chapter may not call; count the work of one it may."""
        if isinstance(owner, str) and name in TEXT_METHODS | TEXT_PADDING | {"join", "replace", "format", "format_map"}:
            self.consume(owner, *args, *kwargs.values())
            if name in TEXT_PADDING:
                width = args[0] if args else kwargs.get("width", 0)
                self.make(max(len(owner), width if isinstance(width, int) else 0), "padding")
            elif name == "join" and len(args) == 1:
                items = list(args[0])
                self.make(self._joined_size(items, owner), "joining")
                args = (items,)
            elif name == "replace" and len(args) >= 2:
                self.make(_replaced_size(owner, args[0], args[1], args[2] if len(args) > 2 else -1), "replacement")
            elif name == "format":
                self.make(self._format_size(owner, [*args, *kwargs.values()]), "formatting")
            elif name == "format_map":
                values = list(args[0].values()) if len(args) == 1 and isinstance(args[0], dict) else list(args)
                self.make(self._format_size(owner, values), "formatting")
            return args
        if isinstance(owner, (tuple, range)) and name in SEQUENCE_METHODS:
            self.consume(owner, *args)
        elif isinstance(owner, list) and name in LIST_METHODS:
            if name in ("count", "index", "remove"):
                self.consume(owner, *args)
            elif name in ("copy", "reverse", "insert"):
                self.charge(len(owner))
            elif name == "sort":
                self.charge(self.weight(owner) * max(1, len(owner).bit_length()))
        elif isinstance(owner, dict) and name in MAPPING_METHODS:
            self.consume(*args)
            if name == "copy":
                self.charge(len(owner))
        elif isinstance(owner, (int, float)) and name in NUMBER_METHODS:
            pass
        elif isinstance(owner, dt.date) and name in DATE_METHODS:
            if name == "strftime" and args and isinstance(args[0], str):
                self.make(12 * len(args[0]), "date format")  # %c, the longest, is 24 characters
        else:
            kind = type(owner).__name__ if not isinstance(owner, type) else owner.__name__
            raise jinja2.exceptions.SecurityError(f"'{name}' of a {kind} cannot be used in a chapter")
        return args

    def _guard_filter(self, name: str, function):
        skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0
        check = FILTER_CHECKS.get(name)

        @functools.wraps(function)
        def guarded(*args, **kwargs):
            head, rest = args[:skip], list(args[skip:])
            self.charge(1)
            if rest:
                if isinstance(rest[0], Iterator):  # items made one by one (by map, select...): each counted here too
                    rest[0] = self.looped(rest[0], 1)
                if name in SHALLOW_FILTERS:
                    self.charge(_length(rest[0]))
                else:
                    self.consume(rest[0])
                if name in SORTING_FILTERS:
                    self.charge(self.weight(rest[0]) * max(1, _length(rest[0]).bit_length()))
                self.consume(*rest[1:], *kwargs.values())
                if check is not None:
                    rest[0] = check(self, *rest, **kwargs)
            result = function(*head, *rest, **kwargs)
            self.charge(_length(result))
            return result

        return guarded

    def _guard_test(self, name: str, function):
        skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

        @functools.wraps(function)
        def guarded(*args, **kwargs):
            self.charge(1)
            if name not in CHEAP_TESTS:
                self.consume(*args[skip:], *kwargs.values())
            return function(*args, **kwargs)

        return guarded

    def _joined_size(self, items: list, separator: str) -> int:
        self.charge(len(items))
        return sum(self.weight(item) for item in items) + len(str(separator)) * max(0, len(items) - 1)

    def _format_size(self, text: str, values: list, percent: bool = False) -> int:
        """The most characters formatting ``text`` with ``values`` could make: its own text, and
        for each field the largest value at the largest width or precision asked for."""
        if percent:
            fields = [(width, precision) for width, precision, kind in PERCENT_FIELD_RE.findall(text) if kind != "%"]
            numbers = [n for field in fields for n in field if n]
        else:
            fields = [spec or "" for _, name, spec, _ in string.Formatter().parse(text) if name is not None]
            numbers = [n for spec in fields for n in re.findall(r"\d+|\{", spec)]
        widths = [int(n) for n in numbers if n.isdigit()]
        if any(n in ("*", "{") for n in numbers):  # a width given among the values
            widths += [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        largest = max((self.weight(v) for v in values), default=0)
        return len(text) + len(fields) * (largest + max(widths, default=0))


def _check_center(env: DataSandbox, value, width=80):
    env.make(max(env.weight(value), width if isinstance(width, int) else 0), "padding")
    return value


def _check_indent(env: DataSandbox, s, width=4, first=False, blank=False):
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    lines = s.count("\n") + 1 if isinstance(s, str) else 1
    env.make(env.weight(s) + lines * max(0, pad), "indenting")
    return s


def _check_format(env: DataSandbox, value, *args, **kwargs):
    env.make(env._format_size(str(value), list(kwargs.values()) or list(args), percent=True), "formatting")
    return value


def _check_join(env: DataSandbox, value, d="", attribute=None):
    items = list(value)
    env.make(env._joined_size(items, d), "joining")
    return items


def _check_replace(env: DataSandbox, s, old, new, count=None):
    env.make(_replaced_size(str(s), old, new, -1 if count is None else count), "replacement")
    return s


def _check_batch(env: DataSandbox, value, linecount, fill_with=None):
    env.make(linecount if fill_with is not None and isinstance(linecount, int) else 0, "filling")
    return value


def _check_slice(env: DataSandbox, value, slices, fill_with=None):
    env.make(slices if isinstance(slices, int) else 0, "slicing")
    return value


def _check_sum(env: DataSandbox, iterable, attribute=None, start=0):
    if not isinstance(start, (int, float)):
        raise jinja2.exceptions.SecurityError("sum adds numbers only")
    return iterable


def _check_round(env: DataSandbox, value, precision=0, method="common"):
    if isinstance(precision, int) and abs(precision) > MAX_DIGITS:
        raise jinja2.exceptions.SecurityError(f"number too large: round to at most {MAX_DIGITS:,} places")
    return value


FILTER_CHECKS: dict[str, Callable] = {
    "center": _check_center, "indent": _check_indent, "format": _check_format, "join": _check_join,
    "replace": _check_replace, "batch": _check_batch, "slice": _check_slice, "sum": _check_sum, "round": _check_round,
}


def _replaced_size(text: str, old, new, count) -> int:
    old, new = str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def _length(value) -> int:
    """The number of items or characters of a value that has them (0 otherwise)."""
    return len(value) if isinstance(value, SIZED) else 0


def _attribute(obj, name: str):
    try:
        return getattr(obj, name, None)
    except Exception:  # an undefined value, that answers no name
        return None


def _log10(number: int) -> float:
    """About one less than the number of decimal digits of ``number`` (0 for zero)."""
    return math.log10(abs(number)) if number else 0.0


def _parts(body) -> int:
    return sum(1 + sum(1 for _ in node.find_all(nodes.Node)) for node in body)


class _CountingCodeGenerator(CodeGenerator):
    """Jinja's code for a template, with the counts of DataSandbox: each loop's items, each
    run of a loop's, macro's or block's body, text written, values printed, compared, joined
    with ``~`` or sliced."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loop_items: dict[int, int] = {}  # id of a loop's iterable -> steps of each round
        self._body_steps: dict[int, int] = {}  # id of a counting statement -> steps of its body

    def visit_Template(self, node, frame=None):
        loops = list(node.find_all(nodes.For))
        bodies = loops + list(node.find_all((nodes.Macro, nodes.CallBlock, nodes.Block)))
        sizes = [_parts(n.body) for n in bodies]
        for loop in loops:
            self._loop_items[id(loop.iter)] = 1 + (_parts([loop.test]) if loop.test else 0)
        for n, size in zip(bodies, sizes):
            counter = nodes.ExprStmt(nodes.Const(None, lineno=n.lineno), lineno=n.lineno)
            self._body_steps[id(counter)] = size
            n.body.insert(0, counter)
        super().visit_Template(node, frame)

    def visit(self, node, *args, **kwargs):
        steps = self._loop_items.get(id(node))
        if steps is None:
            return super().visit(node, *args, **kwargs)
        self.write("environment.looped(")
        super().visit(node, *args, **kwargs)
        self.write(f", {steps})")

    def visit_ExprStmt(self, node, frame):
        steps = self._body_steps.get(id(node))
        if steps is None:
            return super().visit_ExprStmt(node, frame)
        self.writeline(f"environment.charge({steps})", node)

    def _output_const_repr(self, group):
        return f"environment.emit({super()._output_const_repr(group)})"

    def _output_child_pre(self, node, frame, finalize):
        self.write("environment.emit(")
        super()._output_child_pre(node, frame, finalize)
        self.write("environment.read(")

    def _output_child_post(self, node, frame, finalize):
        self.write(")")
        super()._output_child_post(node, frame, finalize)
        self.write(")")

    def visit_Concat(self, node, frame):
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"{join}((")
        for part in node.nodes:
            self.write("environment.read(")
            self.visit(part, frame)
            self.write("), ")
        self.write("))")

    def visit_Compare(self, node, frame):
        self.write("(environment.read(")
        self.visit(node.expr, frame)
        self.write(")")
        for operand in node.ops:
            self.visit(operand, frame)
        self.write(")")

    def visit_Operand(self, node, frame):
        self.write(f" {COMPARE_OPERATORS[node.op]} environment.read(")
        self.visit(node.expr, frame)
        self.write(")")

    def visit_Getitem(self, node, frame):
        if not isinstance(node.arg, nodes.Slice):
            return super().visit_Getitem(node, frame)
        self.write("environment.sliced(")
        self.visit(node.node, frame)
        for part in (node.arg.start, node.arg.stop, node.arg.step):
            self.write(", ")
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
        self.write(")")
