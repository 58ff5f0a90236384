"""Cross-references, with Quarto's ids: ``{#sec-…}`` on a heading, ``{#fig-…}`` on an image,
``{#tbl-…}`` on a table's caption; ``@sec-x``, ``@fig-x``, ``@tbl-x`` in the text ("section 2.3",
"figure 1", "table 2"; ``@Fig-x`` with a capital), ``[-@fig-x]`` the number alone, and
``[@sec-x]{.page}`` the page it prints on ("p. 14").

Figures and tables are Pandoc's: an image alone in its paragraph, with words between its
brackets, is a figure with those words for caption; a table with a ``Table: …`` (or ``: …``)
line just before or after it has that caption. Both are numbered through the book.

A chapter is rendered with placeholders (``Refs``); ``resolve`` numbers the book's targets once
every chapter is rendered, so that a reference may point forward, and writes the words. Page
numbers come last, from the layout (``fill_pages``), as the page a target prints on is known
only then.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace

from ..cite.titles import capitalize_first
from ..problems import Location, Problem, did_you_mean, error
from ..words import term

# Placeholders (private-use characters; U+E000–E004 are render/markdown.py's, U+E010–E011 render/sourcelines.py's)
REF_OPEN, REF_CLOSE = "\ue020", "\ue021"
REF_RE = re.compile(f"{REF_OPEN}(\\d+){REF_CLOSE}")
PAGE_OPEN, PAGE_CLOSE = "\ue022", "\ue023"
PAGE_RE = re.compile(f"{PAGE_OPEN}([^{PAGE_CLOSE}]*){PAGE_CLOSE}")
CAPTION_OPEN, CAPTION_CLOSE = "\ue024", "\ue025"
KINDS = {"sec": "section", "fig": "figure", "tbl": "table"}
ID_RE = re.compile(r"(?i)(?:sec|fig|tbl)-[\w-]*\w")
# "Table: words {#tbl-x}" or ": words" on a line of its own (Pandoc's table caption)
CAPTION_RE = re.compile(r"^(?:Table)?:[ \t]+(?P<text>.*?)(?:[ \t]*\{#(?P<id>tbl-[\w-]*\w)\})?[ \t]*$")
TABLE_LINE_RE = re.compile(r"^[ ]{0,3}\|")
DELIMITER_RE = re.compile(r"^[ ]{0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
FIGURE_RE = re.compile(r'<p(?P<attributes>[^>]*)>(<img\b(?=[^>]*\balt="([^"]*?\S[^"]*?)")[^>]*>)</p>')


def is_crossref(key: str) -> bool:
    return bool(ID_RE.fullmatch(key))


@dataclass
class Refs:
    """A chapter's references and targets, in order, until the book resolves them."""

    uses: list[tuple[str, str, Location]] = field(default_factory=list)  # (id, form, where)
    targets: list[tuple[str, str, str, Location]] = field(default_factory=list)  # (kind, id, caption, where)
    listed: list[tuple[str, str, str, str]] = field(default_factory=list)  # resolved: (kind, id, "Figure 1.", caption)

    def use(self, id_: str, form: str, location: Location) -> str:
        """A placeholder for a reference; ``form``: "ref", "Ref" (capitalised), "number",
        "page", or "label" (a caption's own "Figure 1.")."""
        self.uses.append((id_[:1].lower() + id_[1:], form, location))  # "@Fig-map": the id is "fig-map"
        return f"{REF_OPEN}{len(self.uses) - 1}{REF_CLOSE}"


def bracketed(citation_inner: str, after: str) -> tuple[str, str, str, int] | None:
    """A bracketed cross-reference, ``[see @sec-x]``, ``[-@fig-x]`` or ``[@sec-x]{.page}``: its
    prefix, id, form and how much of ``after`` it takes (the ``{.page}``); None for a citation."""
    match = re.fullmatch(r"\s*(?P<prefix>[^@]*?)\s*(?P<minus>-?)@(?P<id>[\w-]+)\s*", citation_inner)
    if not match or not is_crossref(match.group("id")):
        return None
    if after.startswith("{.page}"):
        return match.group("prefix"), match.group("id"), "page", len("{.page}")
    form = "number" if match.group("minus") else narrative_form(match.group("id"))
    return match.group("prefix"), match.group("id"), form, 0


def narrative_form(id_: str) -> str:
    """"@fig-x" is "figure 1", "@Fig-x" "Figure 1"."""
    return "Ref" if id_[0].isupper() else "ref"


def table_captions(lines: list[str], path: str, first_line: int, refs: Refs, render_inline) -> dict[int, tuple[str, str]]:
    """Take each table's caption line out of ``lines`` (blanked, so lines keep their numbers),
    and mark the table's first cell with a placeholder; returns the captions' HTML by number."""
    captions: dict[int, tuple[str, str]] = {}  # number -> (the table's id, its caption's HTML)
    tables = _tables(lines)
    for start, end in tables:
        # the caption: just before or after the table, or a blank line away
        for index in (start - 1, start - 2, end + 1, end + 2):
            between = range(min(index, start) + 1, start) if index < start else range(end + 1, index)
            if not (0 <= index < len(lines)) or any(lines[i].strip() for i in between):
                continue
            match = CAPTION_RE.match(lines[index])
            if match and match.group("text") and not any(a <= index <= b for a, b in tables):
                location = Location(path, first_line + index)
                id_ = match.group("id") or f"tbl-{first_line + start}"
                caption = render_inline(match.group("text"))
                refs.targets.append(("tbl", id_, html.unescape(re.sub(r"<[^>]+>", "", caption)), location))
                label = refs.use(id_, "label", location)
                mark = f"{CAPTION_OPEN}{len(captions)}{CAPTION_CLOSE}"
                captions[len(captions)] = (id_, f'<caption>{label} {caption}</caption>')
                lines[index] = ""
                lines[start] = re.sub(r"\|([ \t]*)", lambda m: "|" + m.group(1) + mark, lines[start], count=1) \
                    if "|" in lines[start] else mark + lines[start]
                break
    return captions


def _tables(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line index of each pipe table: a header row, a delimiter row, its rows."""
    found, i = [], 0
    while i + 1 < len(lines):
        if TABLE_LINE_RE.match(lines[i]) and DELIMITER_RE.match(lines[i + 1]) and "-" in lines[i + 1]:
            end = i + 1
            while end + 1 < len(lines) and lines[end + 1].strip() and "|" in lines[end + 1]:
                end += 1
            found.append((i, end))
            i = end + 1
        else:
            i += 1
    return found


def place_captions(out: str, captions: dict[int, tuple[str, str]]) -> str:
    """Each marked table gets its caption, and the id it is referred to by."""
    def one(match: re.Match) -> str:
        id_, caption = captions[int(match.group(2))]
        return f'<table id="{html.escape(id_)}">\n{caption}' + match.group(1)
    return re.sub(f"<table>((?:(?!</table>).)*?){CAPTION_OPEN}(\\d+){CAPTION_CLOSE}", one, out, flags=re.S)


def figures(out: str, path: str, body: str, first_line: int, refs: Refs) -> str:
    """Pandoc's implicit figures: an image alone in its paragraph, with words for it, is a
    numbered figure captioned with those words."""
    seen: list[str] = []

    def one(match: re.Match) -> str:
        image, caption = match.group(2), match.group(3)
        id_match = re.search(r'\bid="([^"]+)"', image)
        src = re.search(r'\bsrc="([^"]*)"', image)
        needle = "](" + html.unescape(src.group(1)) if src else "!["
        location = Location(path, _line_of(body, needle, first_line, seen.count(needle)))
        seen.append(needle)
        line = location.line
        id_ = id_match.group(1) if id_match else f"fig-{line}"
        image = re.sub(r'\s\bid="[^"]+"', "", image)
        refs.targets.append(("fig", id_, html.unescape(caption), location))
        label = refs.use(id_, "label", location)
        return (f'<figure class="figure" id="{html.escape(id_)}"{match.group("attributes")}>{image}'
                f'<figcaption>{label} {caption}</figcaption></figure>')
    return FIGURE_RE.sub(one, out)


def _line_of(body: str, needle: str, first_line: int, nth: int = 0) -> int:
    """The line of the ``nth`` place (from 0) ``needle`` is written in ``body``."""
    index = -1
    for _ in range(nth + 1):
        found = body.find(needle, index + 1)
        if found < 0:
            break
        index = found
    return first_line + (body.count("\n", 0, index) if index >= 0 else 0)


def resolve(rendered: list, labels: dict[str, tuple[str, str]], language: str,
            numbered: bool = False) -> tuple[list, list[Problem]]:
    """Number the book's sections, figures and tables; write every reference's words (page
    numbers left for ``fill_pages``). Unknown and twice-used ids are errors at their lines.
    ``numbered`` (the setting number_sections): sections print their numbers ("2.3") and are
    referred to by them; otherwise a reference names the section's title."""
    problems: list[Problem] = []
    numbers: dict[str, str] = {}  # heading id -> "2.3"
    found: dict[str, tuple[str, str, str, Location]] = {}  # id -> (kind, number, title, where)
    counts = {"fig": 0, "tbl": 0}
    for part in rendered:
        number = labels.get(part.chapter.slug, ("", ""))[1]
        section = [0, 0]
        targets = []
        for level, id_, text in part.headings:
            if level == 2:
                section = [section[0] + 1, 0]
            elif level == 3:
                section[1] += 1
            shown = ".".join(str(n) for n in ([number] if number else []) + section[: level - 1])
            if level in (2, 3):
                numbers[id_] = shown
            if id_.lower().startswith("sec-"):
                nth = sum(1 for target in targets if target[1] == id_)
                targets.append(("sec", id_, shown, text, Location(part.chapter.location.path, _line_of(
                    part.chapter.body, "{#" + id_, part.chapter.body_line, nth))))
        part.refs.listed.clear()
        for kind, id_, caption, location in part.refs.targets:
            counts[kind] += 1
            targets.append((kind, id_, str(counts[kind]), caption, location))
            part.refs.listed.append((KINDS[kind], id_, _label(language, kind, str(counts[kind])), caption))
        for kind, id_, shown, title, location in targets:
            if id_ in found:
                problems.append(error(location.path, location.line, f"the id '{id_}' is given twice: first at "
                                      f"{found[id_][3].path}:{found[id_][3].line}; each must be different"))
            else:
                found[id_] = (kind, shown, title, location)
    resolved = []
    for part in rendered:
        words: list[str] = []
        for id_, form, location in part.refs.uses:
            target = found.get(id_)
            if target is None:
                known = [i for i in found if i.split("-")[0] == id_.split("-")[0].lower()]
                problems.append(error(location.path, location.line, f"'@{id_}' refers to no {KINDS.get(id_.split('-')[0].lower(), 'place')} "
                                      f"of the book: no heading, figure or table has the id '{id_}'{did_you_mean(id_, known)}"))
                words.append(html.escape("@" + id_))
                continue
            words.append(_words(id_, form, target, language, numbered))
        html_text = REF_RE.sub(lambda m: words[int(m.group(1))], part.html)
        headings = part.headings
        if numbered:
            html_text = re.sub(r'(<h[23]\b[^>]*?\bid="([^"]+)"[^>]*>)', lambda m: m.group(1) + (
                f'<span class="section-number">{numbers[html.unescape(m.group(2))]}</span> '
                if html.unescape(m.group(2)) in numbers else ""), html_text)
            headings = tuple((level, id_, f"{numbers[id_]} {text}" if id_ in numbers else text) for level, id_, text in headings)
        resolved.append(replace(part, html=html_text, headings=headings))
    return resolved, problems


def _words(id_: str, form: str, target, language: str, numbered: bool) -> str:
    kind, shown, title, _ = target
    if kind == "sec" and not numbered:  # no number printed to refer to: the section's title
        shown = term(language, "open-quote") + title + term(language, "close-quote")
    name = term(language, KINDS[kind])
    if form == "label":
        return f'<span class="{KINDS[kind]}-label">{html.escape(_label(language, kind, shown))}</span>'
    if form == "page":
        return f'<a class="page-ref" href="#{html.escape(id_)}">{html.escape(term(language, "page", "short"))}\u00a0{PAGE_OPEN}{html.escape(id_)}{PAGE_CLOSE}</a>'
    if form == "number":
        text = shown
    else:
        text = f"{capitalize_first(name) if form == 'Ref' else name}\u00a0{shown}"
    return f'<a class="xref" href="#{html.escape(id_)}">{html.escape(text)}</a>'


def _label(language: str, kind: str, number: str) -> str:
    """A caption's label, "Figure 1." (in the list of figures and tables too)."""
    return f"{capitalize_first(term(language, KINDS[kind]))} {number}."


def page_targets(html_text: str) -> list[str]:
    """The ids whose page a piece of HTML prints, in order."""
    return [html.unescape(m.group(1)) for m in PAGE_RE.finditer(html_text)]


def fill_pages(html_text: str, pages: dict[str, int]) -> str:
    """The page references' numbers: the page each target prints on, as laid out (a target
    not laid out yet, as in the reading HTML before the first PDF, shows a dash)."""
    return PAGE_RE.sub(lambda m: str(pages.get(html.unescape(m.group(1)), "–")), html_text)
