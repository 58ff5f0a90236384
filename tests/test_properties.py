"""Property-based tests: the readers and the renderer, fed random input.

Whatever a chapter, a .bib file, the treaty data or ``pyproject.toml`` holds, reading it
(and rendering a chapter) must never raise anything but a ``BuildError`` carrying its
problems, and every problem must say where: a non-empty path naming the file read, and a
line from 0 (the whole file) to one past the file's last line. The locations that records
carry for later problems (a chapter's, a reference's, a treaty field's, a note call's) are
held to the same standard. Inputs that once failed are kept as ``@example``s.

Each example writes its files into a fresh temporary folder (Hypothesis runs a test body
many times per pytest fixture, so ``tmp_path`` would be shared between examples). The
examples are bounded in size, and nothing depends on timing (``deadline=None``).
"""
from __future__ import annotations

import datetime as dt
import json
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

from dossier.book import render_chapters
from dossier.cite import chicago
from dossier.problems import ERROR, WARNING, BuildError, Location, Problem
from dossier.project import Settings, load_settings
from dossier.read import treaties
from dossier.read.bibtex import load_bibliography
from dossier.read.chapters import FRONT_MATTER_KEYS, read_chapter, read_chapters
from test_treaties import GOOD as GOOD_TREATIES

PROPERTY = settings(
    deadline=None,  # no property depends on timing
    database=None,  # nothing written into the checkout; a failure prints its example
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # no slow "explain" phase
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
DEPTH = st.sampled_from([1, 2, 8, 120, 450, 1200, 6000])  # nesting: shallow, and past any recursion limit (Hypothesis raises the limit by 2,000)


# -- the property ---------------------------------------------------------------


@contextmanager
def project():
    """A fresh project folder for one example."""
    with tempfile.TemporaryDirectory(prefix="dossier-prop-") as folder:
        yield Path(folder).resolve()


def write(root: Path, name: str, data: str | bytes, files: dict[str, bytes]) -> Path:
    note(f"{name}: {data!r}")  # printed with a failing example, whatever strategy made it
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = data.encode("utf-8") if isinstance(data, str) else data
    path.write_bytes(data)
    files[name] = data
    return path


def line_count(data: bytes) -> int:
    """Lines of the file, counted generously: every line break any reader may count (CR, LS...)."""
    count = len(data.splitlines())
    try:
        count = max(count, len(data.decode("utf-8-sig").splitlines()))
    except UnicodeDecodeError:
        pass
    return count


def assert_located(problems, files: dict[str, bytes]) -> None:
    """Every problem is a Problem naming one of ``files`` and a line within it (or 0)."""
    assert isinstance(problems, (list, tuple)), f"problems are not a list: {problems!r}"
    for problem in problems:
        assert isinstance(problem, Problem), f"not a Problem: {problem!r}"
        location = problem.location
        assert isinstance(location, Location), f"problem without a Location: {problem!r}"
        assert isinstance(location.path, str) and location.path, f"problem without a path: {problem!r}"
        assert location.path in files, f"problem names {location.path!r}, not a file read ({sorted(files)}): {problem!r}"
        assert isinstance(location.line, int) and not isinstance(location.line, bool), f"line is not a number: {problem!r}"
        lines = line_count(files[location.path])
        assert 0 <= location.line <= lines + 1, f"line {location.line} outside the file's {lines} lines: {problem!r}"
        assert isinstance(problem.message, str) and problem.message.strip(), f"problem without a message: {problem!r}"
        assert problem.severity in (ERROR, WARNING), f"unknown severity: {problem!r}"


def assert_record_located(location: Location, files: dict[str, bytes], what: str) -> None:
    """A location a record carries for later problems (a chapter's, a field's, a note call's):
    held to the same standard, checked apart so that Hypothesis reports it as a bug of its own."""
    assert isinstance(location, Location) and location.path, f"{what} without a location: {location!r}"
    assert location.path in files, f"{what} names {location.path!r}, not a file read ({sorted(files)})"
    lines = line_count(files[location.path])
    assert 0 <= location.line <= lines + 1, f"{what} at line {location.line}, outside the file's {lines} lines"


def outcome(call):
    """``call()``'s result and no problems, or no result and the problems of its BuildError.

    Any other exception propagates: it is what the properties are looking for.
    """
    try:
        return call(), []
    except BuildError as exc:
        assert exc.problems, "a BuildError that carries no problems"
        return None, list(exc.problems)


def read(call):
    """For a reader that returns ``(value, problems)``: those, or no value and its BuildError's problems."""
    result, problems = outcome(call)
    if result is None:
        return None, problems
    assert isinstance(result, tuple) and len(result) == 2, f"not (value, problems): {result!r}"
    return result


# -- YAML fragments (front matter, treaty data) --------------------------------------------

YAML_KEYS = [*sorted(FRONT_MATTER_KEYS), "Title", "colour", "1", "-3", "2.5", "1e999", "null", "~", "true", "yes",
             "[a, b]", "{a: 1}", "? [x]", "? {y: 2}", "'title'", '"title"', "&k title", "*k", "<<", "title ",
             "title\t", "\ttitle", "!!int 7", "!!binary aGk=", "2020-01-01", "", "-", "?", "|", "@x", "`x", "%x",
             "treaties", "events", "id", "signed", "date", "label", "ratified", "sources"]
YAML_SCALARS = ["text", "", "'unclosed", '"unclosed', "'ok'", '"ok"', '"bad \\q escape"', '"\\u12"', '"\\x"', "'it''s'",
                "1" * 400, "-" + "9" * 60, "1e999", "-1e999", "-.inf", ".nan", ".NaN", "0x1F", "0xZZ", "0o17", "0b101",
                "1_000", "190:20:30", "1:20", "-0", "+12", "0", "3", "2020-01-01", "1920-08-11", "1920-13-11",
                "2020-02-30", "9999-12-31", "0000-01-01", "2001-12-14t21:59:43.10-05:00", "2020-01-01 25:61:61",
                "2020-1-1", "yes", "no", "on", "off", "null", "~", "NULL", "True", "!!int x", "!!float y", "!!bool maybe",
                "!!binary ===", "!!binary aGk=", "!!python/object:os.system x", "!!python/name:os.system",
                "!!timestamp nope", "!!map []", "!!seq {}", "!!set {a, b}", "!!omap [a: 1]", "!!str", "!foo bar",
                "!<tag:x> y", "|", ">-", "|9", "|-\n  block\n  text", ">\n folded", "@at", "`tick", "%pct",
                "[unclosed", "{unclosed", "[a, [b, {c: d}]]", "{a: [1, 2], b: {c: ~}}", "[]", "{}", "]", "}",
                "*alias", "*undefined", "&anchor value", "&a", "&a &b x", "\t", "a: b: c", "- item", ": colon",
                "#comment", "x #comment", "x#notcomment", '"\\""', "'\\'", "12:30:00", "=", "<<: *a",
                "\u2028", "\x85", "\x00", "\x07", "\ufeff", "Ž", "—", "\u200b", "[@a, 3]", "\"@web\"", "@web"]
YAML_SPECIAL_LINES = ["--- x", "... x", "%YAML 1.1", "%YAML 9.9", "%TAG ! tag:example.com,2000:", "%FOO bar",
                      "? complex key", ": complex value", "<<: *a", "<<: {title: t}", "<<: [*a, *b]",
                      "<<: {treaties: [{id: x}]}", "base: &b {treaties: []}", "<<: *b", "x: &r [*r]",
                      "? &s [*s]\n: v", "a: &a [1, 2]", "b: &b {k: v}", "c: *a", "d: *b", "e: [*a, *b, *a]",
                      "title: &t T", "short_title: *t", "\t- tab indent", "  - two", "    four: deep",
                      "- a\n- b\n  - c", "key:\n  - x\n  -\n  - y: z", "'unclosed: quote", '"unclosed: quote',
                      "title: 'a\n  b'", "title: \"a\n\nb\"", "!!python/object/apply:os.system ['true']",
                      "treaties:", "treaties: ~", "treaties: 3", "treaties: [1, [2], {id: 3}]", "events:",
                      "events: [{date: 1920-01-30, label: x}, {date: soon}, 5]", "  - id: &id x", "  - *id",
                      "    signed: 1920-13-11", "    articles: 0", "    articles: -1", "    articles: true",
                      "    ratified: {Latvia: 2 Sept}", "    ratified: [1920-01-01]", "    sources: {a: 1}",
                      "    ? [x]\n    : y", "    1: one", "    null: nothing", "    true: t"]


@st.composite
def yaml_line(draw, depth: int = 3) -> str:
    indent = "  " * draw(st.integers(0, depth)) + draw(st.sampled_from(["", "", "", "\t", " "]))
    kind = draw(st.integers(0, 10))
    if kind <= 3:
        key = draw(st.sampled_from(YAML_KEYS) | TEXT)
        value = draw(st.sampled_from(YAML_SCALARS) | TEXT)
        sep = draw(st.sampled_from([": ", ":", ":\t", " : ", ":  "]))
        return f"{indent}{key}{sep}{value}"
    if kind == 4:
        return f"{indent}- {draw(st.sampled_from(YAML_SCALARS) | TEXT)}"
    if kind == 5:
        return draw(st.sampled_from(YAML_SPECIAL_LINES))
    if kind == 6:  # anchors and aliases, a few levels of sharing (not a billion laughs)
        n = draw(st.integers(0, 6))
        refs = ", ".join(f"*a{draw(st.integers(0, 6))}" for _ in range(draw(st.integers(0, 3))))
        return f"{indent}a{n}: &a{n} [{refs}]"
    if kind == 7:
        return indent + draw(TEXT)
    if kind == 9:  # deep nesting, closed or not
        n = draw(DEPTH)
        opening, closing = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("- ", ""), ("[", "")]))
        return f"{draw(st.sampled_from(YAML_KEYS))}: {opening * n}x{closing * n}"
    if kind == 8:  # valid YAML of random data, non-string keys included
        return yaml.safe_dump(draw(yaml_data), sort_keys=False, allow_unicode=draw(st.booleans()),
                              default_flow_style=draw(st.sampled_from([None, True, False]))).rstrip("\n")
    return ""


yaml_scalar_data = (st.none() | st.booleans() | st.integers() | st.integers(-(10 ** 400), 10 ** 400)
                    | st.floats() | TEXT | st.dates() | st.datetimes())
yaml_key_data = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT | st.dates()
yaml_data = st.recursive(
    yaml_scalar_data,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(yaml_key_data | st.sampled_from(YAML_KEYS), inner, max_size=3),
    max_leaves=8,
)


# -- front matter -> read_chapters, read_chapter -------------------------------------------

CHAPTER_NAMES = st.sampled_from(["01-intro.md", "02-intro.md", "intro.md", "README.md", "readme.md", "3.md",
                                 "10 a b.md", "ž.md", "01-.md", "0001.md", "-.md", "_x_.md"]) | st.from_regex(
    r"[0-9]{0,2}[-_ ]?[a-zA-Z0-9é ._-]{0,8}\.md", fullmatch=True).filter(lambda name: name not in (".md", "..md"))


@st.composite
def front_matter_chapter(draw) -> str:
    lines = draw(st.lists(yaml_line(), max_size=10))
    opening = draw(st.sampled_from(["---\n", "---\n", "---\n", "--- \n", "---\t\n", "----\n"]))
    closing = draw(st.sampled_from(["---\n", "---\n", "---\n", "...\n", "--- \t\n", "---", "", "-- \n"]))
    body = draw(st.lists(st.sampled_from(["# Heading", "Text.", "---", "...", "", "title: x"]) | TEXT, max_size=4))
    text = draw(st.sampled_from(["", "", "\ufeff"])) + opening + "\n".join(lines) + ("\n" if lines else "") + closing
    text += "\n".join(body)
    return text.replace("\n", draw(st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])))


@settings(PROPERTY, max_examples=60)
@given(st.lists(st.tuples(CHAPTER_NAMES, front_matter_chapter()), min_size=1, max_size=3, unique_by=lambda c: c[0]),
       st.sampled_from(["en", "lt", ""]))
# Minimal failing inputs found so far, kept so that they are always tried:
@example([("01-a.md", "---\nlang: !!timestamp nope\n---\n")], "en")
@example([("01-a.md", "---\nx: 1920-13-11\n---\n")], "en")
@example([("01-a.md", "---\nx: 2020-02-30\n---\n")], "en")
@example([("01-a.md", "---\nx: !!int x\n---\n")], "en")
@example([("01-a.md", "---\nx: !!float x\n---\n")], "en")
@example([("01-a.md", "---\nx: !!bool maybe\n---\n")], "en")
def test_random_front_matter_gives_located_problems(chapters, language):
    with project() as root:
        files: dict[str, bytes] = {}
        for name, text in chapters:
            write(root, f"content/{name}", text, files)
        chapters_read, problems = read(lambda: read_chapters(root / "content", root, language))
        assert_located(problems, files)
        for chapter in chapters_read or []:  # what was read is a chapter whose location is as good as a problem's
            assert_record_located(chapter.location, files, "chapter")
            assert isinstance(chapter.title, str) and isinstance(chapter.lang, str) and isinstance(chapter.treaty, str)


@settings(PROPERTY, max_examples=60)
@given(st.binary(max_size=60) | st.builds(lambda t, enc: t.encode(enc, "replace"), TEXT, st.sampled_from(["cp1257", "cp1251", "utf-16", "latin-1"]))
       | st.builds(lambda head, tail: b"---\n" + head + b"\n---\n" + tail, st.binary(max_size=20), st.binary(max_size=20)))
def test_random_bytes_chapter_gives_located_problems(data):
    with project() as root:
        files: dict[str, bytes] = {}
        path = write(root, "content/01-bytes.md", data, files)
        _, problems = read(lambda: read_chapter(path, root, "en"))
        assert_located(problems, files)


# -- BibTeX -> load_bibliography ---------------------------------------------------------

BIB_TYPES = ["article", "book", "incollection", "inbook", "collection", "mvbook", "periodical", "proceedings",
             "inproceedings", "misc", "online", "Book", "ARTICLE", "string", "String", "comment", "Comment",
             "preamble", "PREAMBLE", "", "1x", "bad type", "ärticle", "book{", "@"]
BIB_KEYS = ["a", "b", "c", "senn1962", "a:b", "A", "key with space", "", ",", "ü", "{k}", "k}", "k=v", "dup", "DUP",
            "x,y", '"q"', "k#k", "@k", "%k"]
BIB_FIELDS = ["author", "editor", "title", "booktitle", "maintitle", "year", "date", "month", "crossref", "xdata",
              "url", "doi", "journal", "journaltitle", "publisher", "location", "pages", "note", "translator",
              "bookauthor", "AUTHOR", "Title", "ids", "shorttitle", "", "bad name", "x-y", "1", "é", "title title"]
LATEX = ["\\v{Z}", "{\\v Z}", "{\\'{\\i}}", "\\'{\\i}", "\\'\\i", "\\\"o", "{\\\"o}", "\\url{http://x_y~z}", "\\url",
         "$x^2$", "$unclosed", "%", "\\%", "&", "\\&", "~", "\\~", "\\~{}", "--", "---", "``", "''", "!`", "?`",
         " and ", " AND ", " and others", "others", "von ", "de la ", "Jr.", ", ", ",", "{", "}", "{{", "}}", "\\",
         "\\\\", "\\relax", "\\S", "\\pounds", "\\glqq", "\\textbf{", "\\textit{x}", "\\begin{x}", "\\end{y}",
         "\\verb|x|", "\\newcommand{\\x}{y}\\x", "@", "=", '"', "#", "\n", "\t", "  ", "Žalys", "Senn, Alfred Erich",
         "{League of Nations}", "{\\i}", "\\c{c}", "\\~n", "\\k{a}", "\\L", "\\o", "\\ss", "\\'", "\\^", "^", "_",
         "{" * 30, "}" * 30, "\\" * 7, "\\c", "\\H{o}", "\\d", "\\b", "\\r{a}", "\\.{}", "\\=", "\\u", "\\i\\j",
         "\\verb", "\\verb*", "\\url{}", "\\url{", "\\item", "\\\\[2pt]", "\\(", "\\)", "\\[", "\\]"]
BIB_MACROS = ["jan", "feb", "jun", "dec", "JUN", "undefinedmacro", "foo", "and", "cup", "s1"]
bib_content = st.lists(st.sampled_from(LATEX) | TEXT, max_size=6).map("".join)


@st.composite
def bib_value(draw) -> str:
    atoms = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 5))
        content = draw(bib_content)
        if kind == 5:  # deep braces, closed or not
            n = draw(DEPTH)
            atoms.append("{" * n + content + "}" * draw(st.sampled_from([n, 0, n // 2])))
        elif kind == 0:
            atoms.append("{" + content + "}")
        elif kind == 1:
            atoms.append('"' + content + '"')
        elif kind == 2:
            atoms.append(draw(st.sampled_from(["1920", "0", "99999999999999999999999999", "-1", "1e5"])))
        elif kind == 3:
            atoms.append(draw(st.sampled_from(BIB_MACROS) | st.from_regex(r"[a-zA-Z][a-zA-Z0-9_:.-]{0,5}", fullmatch=True)))
        else:
            atoms.append(content)
    joined = draw(st.sampled_from([" # ", "#", "  #\n  ", " "])).join(atoms)
    return draw(st.sampled_from(["", "", "", "# ", "#"])) + joined + draw(st.sampled_from(["", "", "", " #", "#"]))


@st.composite
def bib_block(draw) -> str:
    kind = draw(st.integers(0, 7))
    ws = draw(st.sampled_from(["", " ", "\n", "\t"]))
    if kind <= 3:  # an entry: half of them well formed, so that the values' reading is reached
        if draw(st.booleans()):
            kind_name, (opening, closing), key = draw(st.sampled_from(BIB_TYPES[:11])), ("{", "}"), draw(st.sampled_from(BIB_KEYS[:6]))
            names, equals, sep, trail, ws = st.sampled_from(BIB_FIELDS[:24]), st.just(" = "), ",\n  ", draw(st.sampled_from(["", ","])), ""
        else:
            kind_name = draw(st.sampled_from(BIB_TYPES) | st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True))
            opening, closing = draw(st.sampled_from([("{", "}"), ("(", ")"), ("{", ")"), ("(", "}"), ("{", ""), ("{", "}}")]))
            key = draw(st.sampled_from(BIB_KEYS) | TEXT)
            names = st.sampled_from(BIB_FIELDS) | st.from_regex(r"[a-z]{1,6}", fullmatch=True)
            equals = st.sampled_from([" = ", "=", " ", " == "])
            sep = draw(st.sampled_from([",\n  ", ",", ", ", "\n  ", ",,"]))
            trail = draw(st.sampled_from(["", ",", ",\n", "\n"]))
        fields = []
        for _ in range(draw(st.integers(0, 5))):
            name = draw(names)
            if name in ("crossref", "xdata"):
                value = "{" + draw(st.sampled_from(BIB_KEYS)) + draw(st.sampled_from(["", ",b", ", c", " a"])) + "}"
            else:
                value = draw(bib_value())
            fields.append(f"{name}{draw(equals)}{value}")
        return f"@{ws}{kind_name}{ws}{opening}{key}{sep if fields else ''}{sep.join(fields)}{trail}{closing}"
    if kind == 4:  # @string
        name = draw(st.sampled_from(BIB_MACROS) | st.from_regex(r"[a-zA-Z][a-z0-9]{0,4}", fullmatch=True) | TEXT)
        opening, closing = draw(st.sampled_from([("{", "}"), ("(", ")"), ("{", ""), ("{", ")")]))
        return f"@{draw(st.sampled_from(['string', 'STRING', 'String']))}{ws}{opening}{name} = {draw(bib_value())}{closing}"
    if kind == 5:  # @comment, @preamble
        what = draw(st.sampled_from(["comment", "Comment", "preamble", "PREAMBLE"]))
        shape = draw(st.integers(0, 2))
        if shape == 0:
            return f"@{what}{{{draw(bib_content)}}}"
        if shape == 1:
            return f"@{what}({draw(bib_value())})"
        return f"@{what} {draw(TEXT)}"
    if kind == 6:  # stray text, a % comment
        return draw(st.sampled_from(["%", "% comment", "@", "@@", "}", "{", "text", "@ book", "=", ""]) | TEXT)
    return draw(bib_content)


@st.composite
def bib_file(draw) -> str:
    return draw(st.sampled_from(["\n", "\n\n", "", " ", "\r\n"])).join(draw(st.lists(bib_block(), max_size=6)))


@settings(PROPERTY, max_examples=60)
@given(st.lists(bib_file(), min_size=1, max_size=2))
# Minimal failing inputs found so far, kept so that they are always tried:
@example(["@book{a, title = {\\verb}}"])
@example(["@book{a, title = {" + "{" * 6000 + "}" * 6000 + "}}"])
def test_random_bibtex_gives_located_problems(texts):
    with project() as root:
        files: dict[str, bytes] = {}
        paths = [write(root, f"bib/refs{i}.bib", text, files) for i, text in enumerate(texts)]
        references, problems = read(lambda: load_bibliography(paths, root))
        assert_located(problems, files)
        for key, ref in (references or {}).items():
            assert ref.key == key
            assert_record_located(ref.location, files, f"reference {key!r}")


@settings(PROPERTY, max_examples=60)
@given(st.binary(max_size=60) | st.builds(lambda t, enc: t.encode(enc, "replace"), bib_content, st.sampled_from(["cp1257", "cp1251", "utf-16", "latin-1"])))
def test_random_bytes_bibtex_gives_located_problems(data):
    with project() as root:
        files: dict[str, bytes] = {}
        path = write(root, "bib/refs.bib", data, files)
        _, problems = read(lambda: load_bibliography([path], root))
        assert_located(problems, files)


# -- treaty data -> treaties.load ----------------------------------------------------------

TREATY_FIELDS = list(treaties.FIELDS)


def good_value(kind: str):
    """A value of the right kind, so that the checks past the first one run too."""
    return {
        "id": TEXT | st.sampled_from(["latvia", "lithuania"]),
        "text": TEXT,
        "names": st.dictionaries(TEXT, TEXT, max_size=2),
        "list": st.lists(TEXT, max_size=2),
        "date": st.dates(),
        "people": st.dictionaries(TEXT, st.lists(TEXT, max_size=2), max_size=2),
        "int": st.integers(1, 10 ** 30),
        "dates": st.dictionaries(TEXT, st.dates(), max_size=2),
        "sources": st.dictionaries(st.sampled_from(TREATY_FIELDS) | TEXT, TEXT, max_size=3),
    }[kind]


@st.composite
def treaty_data(draw):
    treaty_list = []
    for _ in range(draw(st.integers(0, 3))):
        treaty = {}
        for key, (kind, _) in treaties.FIELDS.items():
            choice = draw(st.integers(0, 9))
            if choice == 0:
                continue  # missing
            treaty[key] = draw(yaml_data) if choice == 1 else None if choice == 2 else draw(good_value(kind))
        for _ in range(draw(st.integers(0, 1))):
            treaty[draw(yaml_key_data)] = draw(yaml_data)
        treaty_list.append(treaty if draw(st.integers(0, 9)) else draw(yaml_data))
    if treaty_list and draw(st.booleans()):
        treaty_list.append(treaty_list[0])  # the same treaty twice: an anchor and an alias
    events = draw(st.lists(st.fixed_dictionaries({}, optional={"date": st.dates() | yaml_data, "label": TEXT | yaml_data,
                                                                "source": TEXT | yaml_data}) | yaml_data, max_size=3))
    document = {"treaties": treaty_list if draw(st.integers(0, 9)) else draw(yaml_data)}
    if draw(st.booleans()):
        document["events"] = events
    if not draw(st.integers(0, 9)):
        document[draw(yaml_key_data)] = draw(yaml_data)
    if not draw(st.integers(0, 14)):
        document = draw(yaml_data)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=draw(st.booleans()),
                          default_flow_style=draw(st.sampled_from([False, False, None, True])))
    lines = text.splitlines()
    for _ in range(draw(st.integers(0, 3))):  # damage: insert, replace or delete lines
        at = draw(st.integers(0, len(lines)))
        action = draw(st.integers(0, 2))
        if action == 0 or at == len(lines):
            lines.insert(at, draw(yaml_line()))
        elif action == 1:
            lines[at] = draw(yaml_line())
        else:
            del lines[at]
    return draw(st.sampled_from(["", "", "\ufeff", "%YAML 1.1\n---\n", "---\n"])) + "\n".join(lines) + draw(
        st.sampled_from(["\n", "", "\n...\n", "\n---\n", "\n--- x\n"]))


@settings(PROPERTY, max_examples=60)
@given(treaty_data())
# Minimal failing inputs found so far, kept so that they are always tried:
@example("treaties:\n- {}\n")
@example("treaties:\n- id: []\n")
@example("treaties: []\nx: !!timestamp nope\n")
@example("treaties: []\nx: !!int x\n")
def test_random_treaty_data_gives_located_problems(text):
    with project() as root:
        files: dict[str, bytes] = {}
        path = write(root, "content/treaties.yaml", text, files)
        data, problems = read(lambda: treaties.load(path, root))
        assert_located(problems, files)
        if data is None:
            return
        for treaty in data.treaties:
            for key, line in treaty.lines.items():
                assert_record_located(Location(data.path, line), files, f"treaty field {key!r}")
        for event in data.events:
            assert isinstance(event.date, dt.date)
            assert_record_located(Location(data.path, event.line), files, "event")


@settings(PROPERTY, max_examples=60)
@given(st.binary(max_size=60) | st.builds(lambda t, enc: ("treaties:\n  - id: " + t).encode(enc, "replace"), TEXT, st.sampled_from(["cp1257", "cp1251", "utf-16", "latin-1"])))
def test_random_bytes_treaty_data_gives_located_problems(data):
    with project() as root:
        files: dict[str, bytes] = {}
        path = write(root, "content/treaties.yaml", data, files)
        _, problems = read(lambda: treaties.load(path, root))
        assert_located(problems, files)


# -- Markdown bodies with citations -> render_chapters ------------------------------------

BIB = """\
@book{a, author = {Senn, Alfred Erich}, title = {The Great Powers, Lithuania and the Vilna Question}, publisher = {Brill}, location = {Leiden}, year = {1966}}
@article{b, author = {{League of Nations}}, title = {Treaty of Peace}, journaltitle = {Treaty Series}, volume = {3}, year = {1921}, pages = {105--131}}
@book{senn1962, author = {Senn, Alfred Erich}, title = {The Emergence of Modern Lithuania}, publisher = {Columbia University Press}, year = {1959}}
@misc{web, title = {A web page}, url = {https://example.org/a_b}, urldate = {2024-01-01}}
@incollection{a:b.c, author = {Doe, Jane}, title = {A Chapter}, booktitle = {A Book}, editor = {Roe, R.}, publisher = {P}, year = {2000}, pages = {1--2}}
"""
# The treaty data of test_treaties, with a native name and other works cited.
TREATIES = (GOOD_TREATIES.replace("native_names: {}", "native_names: {lv: Latvijas–Krievijas miera līgums}")
            .replace('      name: "@web"\n', '      name: "@web"\n      native_names: "@web"\n')
            .replace('signed: "@web, 3"', 'signed: "@a, 3"').replace('ratified: "@other; @web"', 'ratified: "@b; @web"'))


@lru_cache(maxsize=1)
def fixtures():
    """The small bibliography and treaty data every rendered chapter may cite (read once)."""
    with project() as root:
        (root / "bib").mkdir()
        (root / "bib" / "refs.bib").write_text(BIB, encoding="utf-8")
        references, problems = load_bibliography([root / "bib" / "refs.bib"], root)
        assert not [p for p in problems if p.severity == ERROR], problems
        (root / "content").mkdir()
        (root / "content" / "treaties.yaml").write_text(TREATIES, encoding="utf-8")
        data, problems = treaties.load(root / "content" / "treaties.yaml", root)
        assert problems == [], problems
    return references, data


CITE_KEYS = ["a", "b", "senn1962", "web", "a:b.c", "unknown", "A", "sen1962", "a:b", "b.", "_x", "1"]
CITATIONS = ["[@a]", "[@b, 12]", "[-@a, 12]", "[see @a; @b]", "[see @a, pp. 3-4 and passim; compare @b, ch. 2]",
             "[@unknown]", "[@senn1962]", "[@]", "[@a;]", "[; @a]", "[@a, {iv--v}]", "[-@b]", "[@a [nested]]",
             "[@a](http://x)", "[@a][ref]", "@a", "[@a, p. 1 2 3]", "[@a]: http://link", "[text @a]", "[@a.]",
             "[@a, 45-47]", "[@a; @a; @a]", "[@web]", "[@a:b.c, 5]", "[see @]", "[@a, §§ 3–4]", "[@a, vol. 2:355]",
             "[-@]", "[--@a]", "[@a @b]", "[@a, pp. ]", "[@a,]", "[ @a ]", "[@a\n, 3]", "[see\n@b]", "[@a; see]"]
NOTES = ["[^1]", "[^n]", "[^undefined]", "[^1]:", "[^ x]", "[^]", "[^1][^n]", "[^1].", "[^n][@a]",
         "\n[^1]: A note [@a].\n", "\n[^n]: note\n    continued [see @b, 3].\n", "\n[^1]: defined twice\n",
         "\n[^a]: [see @b, 3].\n", "\n[^n]: [@unknown]\n", "\n[^1]:\n", "\n[^x]: never called\n",
         "\n[^1]: a\n\n    second paragraph\n", "\n[^n]: {{ 1 + 1 }}\n", "\n[^n]: [^1]\n"]
JINJA = ["{{ 1 + 2 }}", "{{ x }}", "{{", "}}", "{%", "%}", "{% if true %}yes{% endif %}", "{% if %}", "{% endif %}",
         "{% for i in range(3) %}\n- {{ i }} [@a]\n{% endfor %}", "{% for i in range(3) %}[@unknown]\n{% endfor %}",
         "{{ treaties.latvia.signed }}", "{{ treaties.latvia.nothing }}", "{{ treaties.nowhere }}", "{{ 1/0 }}",
         "{{ 'a' * 200000 }}", "{{ 'ab' * 50 }}", "{{ 10 ** 10000 }}", "{{ 2 ** 64 }}", "{# comment #}",
         "{# unclosed", "{% raw %}{{ x }}{% endraw %}", "{% raw %}", "{{ key_facts('latvia') }}",
         "{{ key_facts('nope') }}", "{{ key_facts() }}", "{{ ''.__class__.__mro__ }}", "{{ range(10**9) | list }}",
         "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "{{ comparison_table() }}", "{{ timeline() }}",
         "{% set x = 1 %}{{ x }}", "{{ '\n\n[@a]\n' }}", "{{ '{{' }}", "{{ [@a] }}", "{{ '[@unknown]' }}",
         "{% include 'x' %}", "{% extends 'x' %}", "{{ 'x' | nofilter }}", "{{ none.attr }}", "{{ -1 * 'a' }}"]
MARKDOWN = ["- item", "  - nested", "    - deeper", "1. one", "   1. nested", "> quote", "> > nested quote",
            ">     code in quote", "# Heading", "## Heading [@a]", "## Heading {#id}", "Heading\n===", "```\ncode [@a]\n```",
            "```", "~~~", "    indented code [@a]", "| a | b |\n|---|---|\n| [@a] | c |", "<div>[@a]</div>",
            '<img src="missing.png">', '<img src="http://example.org/y.png">', "![alt](missing.png)",
            "![alt](../../../etc/passwd)", "[link](http://x)", "[link]: http://x", "*emph*", "**strong", "`code [@a]`",
            "{: .class }", "\\[@a]", "&amp;", "&#0;", "<!-- [@a] -->", "<style>@import url(x.css);</style>",
            '<a rel="attachment" href="x.pdf">x</a>', "---", "***", "\t", "\u2028", "\r", "\x00", "\ue000",
            "\ue0010\ue001", "\ue002", "Text.", "treaty", ",", ".", "(", ")", "[", "]", "<", ">", "&"]
SEPARATORS = ["", " ", " ", "\n", "\n\n", "\n  ", "\n    ", "\n> ", "\n- "]


@st.composite
def markdown_body(draw) -> str:
    pieces = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 6))
        if kind == 6:  # deep nesting: quotes, lists, brackets, template blocks
            n = draw(DEPTH)
            pieces.append(draw(st.sampled_from([
                "> " * n + "[@a]", "".join("  " * i + "- x\n" for i in range(min(n, 300))), "[" * n + "@a" + "]" * n,
                "{% if true %}" * n + "x" + "{% endif %}" * n, "{{ " + "(" * n + "1" + ")" * n + " }}",
                "*" * n + "x" + "*" * n, "<div>" * n, "[^1]" * n])))
        elif kind == 0:
            pieces.append(draw(st.sampled_from(CITATIONS)))
        elif kind == 1:  # a citation assembled from parts
            items = []
            for _ in range(draw(st.integers(1, 3))):
                prefix = draw(st.sampled_from(["", "see ", "cf. ", "compare ", "e.g., ", "-"]))
                locator = draw(st.sampled_from(["", ", 12", ", pp. 3-4", ", chap. 2", ", 12 and passim", ", {x}",
                                                ", n. 4", ", 1, 3-5", " 12", ", iv"]))
                items.append(f"{prefix}@{draw(st.sampled_from(CITE_KEYS))}{locator}")
            pieces.append("[" + draw(st.sampled_from(["; ", ";", " ; "])).join(items) + "]")
        elif kind == 2:
            pieces.append(draw(st.sampled_from(NOTES)))
        elif kind == 3:
            pieces.append(draw(st.sampled_from(JINJA)))
        elif kind == 4:
            pieces.append(draw(st.sampled_from(MARKDOWN)))
        else:
            pieces.append(draw(TEXT))
        pieces.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(pieces)


@settings(PROPERTY, max_examples=50)
@given(markdown_body(), st.sampled_from(["", "---\ntitle: T\n---\n", "---\ntreaty: latvia\n---\n",
                                         "---\ntreaty: nowhere\n---\n", "---\ntitle: T\n\n\n---\n\n"]))
# Minimal failing inputs found so far, kept so that they are always tried:
@example("{% for i in range(3) %}\n{% endfor %}[^1]", "")
@example("{% for i in range(3) %}\n[@a]\n{% endfor %}", "")
@example("{{ '\\n\\n' }}[@unknown]", "")
def test_random_markdown_renders_with_located_problems(body, front_matter):
    references, data = fixtures()
    with project() as root:
        files: dict[str, bytes] = {}
        path = write(root, "content/01-chapter.md", front_matter + body, files)
        chapter, problems = read(lambda: read_chapter(path, root, "en"))
        assert_located(problems, files)
        if chapter is None:
            return
        style = chicago.NoteStyle(references, chicago.StyleOptions())
        rendered, problems = read(lambda: render_chapters([chapter], style, references, data, Settings(root=root)))
        assert_located(problems, files)
        for part in rendered or []:
            assert isinstance(part.html, str)
            for line in part.note_lines:
                assert_record_located(Location(chapter.location.path, line), files, "note call")


# -- pyproject.toml [tool.dossier] -> load_settings -----------------------------------------

SETTING_KEYS = ["title", "subtitle", "authors", "language", "paper", "subject", "keywords", "content_dir",
                "content-dir", "bib_dir", "bib-dir", "templates_dir", "output_dir", "ibid", "strict", "nocite",
                "date", "root", "unknown", "Title", '"title"', "'title'", '"ti tle"', "title.sub", "ti tle", "",
                '""', "1", "true", "paper.size", "-", "_", "é", '"é"', '"\\u00e9"', "'a\"b'"]
TOML_VALUES = ['""', '"text"', '"Peace with Moscow, 1920–1921"', "'literal \\ string'", '"""multi\nline"""',
               "'''multi\nliteral'''", '"\\u00e9"', '"\\U0001F600"', '"\\uD800"', '"\\x41"', '"bad \\q"',
               '"unclosed', "'unclosed", '"""unclosed', '"A4"', '"a4"', '"Letter"', '"LETTER"', '"A5"', '" A4"',
               "0", "1", "-1", "+1", "9" * 30, "-" + "9" * 30, "0x1F", "0o17", "0b101", "1_000", "1__0", "0x",
               "01", "1.5", "1e400", "-1e400", "inf", "-inf", "nan", "+nan", "1.", ".5", "true", "false", "True",
               "tru", "1979-05-27", "1979-05-27T07:32:00Z", "1979-05-27 07:32:00.999999-07:00", "07:32:00",
               "1979-13-45", "1979-02-30", "[]", "[1, 2]", '["a", "b"]', '["a", 1]', '["a", ["b"]]', '[{a = 1}]',
               '["a",]', "[1, 2", "[,]", "{}", "{a = 1}", '{ title = "x" }', "{a = }", "{a = 1,}", "", "=", "x",
               '"a" "b"', "# comment", '"x" # comment', "\t1"]
TOML_HEADERS = ["[tool.dossier]", "[tool.dossier]", "[tool.dossier]", "[ tool . dossier ]", "[tool.'dossier']",
                '[tool."dossier"]', "[tool]", "[tool.other]", "[project]", "[tool.dossier.sub]", "[[tool.dossier]]",
                "[[tool]]", "[tool.dossier", "[tool.dossier] x", "[]", "[tool.dossier.title]", "[tool.dossier]\n[tool.dossier]"]
TOML_SPECIAL = ["tool.dossier = 1", "tool = 1", 'tool.dossier.title = "x"', "tool.dossier = {}",
                'tool.dossier = {title = "x", paper = 3}', "[tool]\ndossier = \"x\"", "[tool]\ndossier = []",
                "[tool]\ndossier.paper = 1", "[tool.dossier]\ntitle = 1\ntitle = 2", "title = 1\ntitle = 2",
                "[tool.dossier]\nauthors = [1]", "[tool.dossier]\nkeywords = [[]]", "[tool.dossier]\nnocite = {a = 1}",
                "\ufeff", "\x00", "\r", "\r\n", "\x7f", "\u2028"]


@st.composite
def toml_value(draw, depth: int = 2) -> str:
    kind = draw(st.integers(0, 6))
    if kind == 6:  # deep nesting, closed or not
        n = draw(DEPTH)
        opening, closing = draw(st.sampled_from([("[", "]"), ("{a = ", "}"), ("[", "")]))
        return opening * n + "1" + closing * n
    if kind <= 1 or depth == 0:
        return draw(st.sampled_from(TOML_VALUES))
    if kind == 2:
        return json.dumps(draw(TEXT), ensure_ascii=draw(st.booleans()))
    if kind == 3:
        return "[" + ", ".join(draw(st.lists(toml_value(depth - 1), max_size=3))) + draw(st.sampled_from(["]", "]", ",]", ""])) 
    if kind == 4:
        return "{" + ", ".join(f"{draw(st.sampled_from(SETTING_KEYS))} = {draw(toml_value(depth - 1))}"
                               for _ in range(draw(st.integers(0, 2)))) + "}"
    return str(draw(st.integers() | st.floats(allow_nan=False, allow_infinity=False)))


@st.composite
def pyproject(draw) -> str:
    lines = []
    if draw(st.integers(0, 9)):
        lines.append(draw(st.sampled_from(["", '[project]\nname = "x"', '[tool.pytest.ini_options]\naddopts = "-q"'])))
        lines.append(draw(st.sampled_from(TOML_HEADERS)))
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 9))
        if kind <= 5:
            key = draw(st.sampled_from(SETTING_KEYS) | st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True))
            sep = draw(st.sampled_from([" = ", "=", "  =  ", " =", "\t=\t", " : "]))
            indent = draw(st.sampled_from(["", "", "", "  ", "\t"]))
            lines.append(f"{indent}{key}{sep}{draw(toml_value())}")
        elif kind == 6:
            lines.append(draw(st.sampled_from(TOML_HEADERS)))
        elif kind == 7:
            lines.append(draw(st.sampled_from(TOML_SPECIAL)))
        elif kind == 8:
            lines.append(draw(TEXT))
        else:
            lines.append("# " + draw(TEXT))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))


@settings(PROPERTY, max_examples=60)
@given(pyproject())
# Minimal failing inputs found so far, kept so that they are always tried:
@example('[tool.dossier]\ncontent_dir = "\\u0000"\n')
@example("title = " + "[" * 6000 + "]" * 6000)
@example("title = " + "{a = " * 6000 + "1" + "}" * 6000)
def test_random_pyproject_gives_located_problems(text):
    with project() as root:
        files: dict[str, bytes] = {}
        write(root, "pyproject.toml", text, files)
        loaded, problems = outcome(lambda: load_settings(root))
        assert_located(problems, files)
        if loaded is not None:
            assert isinstance(loaded, Settings)
            assert isinstance(loaded.title, str) and all(isinstance(a, str) for a in loaded.authors)
            assert loaded.paper.upper() in ("A4", "LETTER")


@settings(PROPERTY, max_examples=60)
@given(st.binary(max_size=60) | st.builds(lambda t, enc: ('[tool.dossier]\ntitle = "' + t + '"\n').encode(enc, "replace"),
                                           TEXT, st.sampled_from(["cp1257", "cp1251", "utf-16", "latin-1"])))
def test_random_bytes_pyproject_gives_located_problems(data):
    with project() as root:
        files: dict[str, bytes] = {}
        write(root, "pyproject.toml", data, files)
        _, problems = outcome(lambda: load_settings(root))
        assert_located(problems, files)
