"""Render one chapter: Jinja data expressions, citations and notes, then Markdown to HTML.

Order of work for a chapter, all of it keeping source lines intact so that every
problem names ``content/<file>.md:<line>``:

1. the body is rendered as a sandboxed Jinja template against the treaty data
   (``{{ treaties.latvia.signed }}``), its work and output bounded (``DataSandbox``);
   generated blocks come back as one-line HTML;
2. the author's note definitions (``[^1]: ...``) are lifted out; citations and note
   calls are then taken in document order, each becoming one note held aside under a
   placeholder (the citation style sees citations in reading order: first, later, ibid.);
3. Python-Markdown renders the body; each placeholder becomes
   ``<span class="footnote">note</span>`` at its call, which WeasyPrint floats to the
   foot of the page.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Protocol

import jinja2
import markdown
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ..cite.syntax import find_citations, find_narrative, narrative_item, parse_citation
from ..model import Chapter, Citation, CiteItem, RenderedChapter
from ..problems import Location, Problem, did_you_mean, error, warning
from ..read.chapters import slugify
from . import crossref, sourcelines
from .sandbox import DataSandbox

NOTE_OPEN, NOTE_CLOSE = "\ue000", "\ue001"
CITATION_END = "\ue002"  # marks where an in-note citation ends, for the punctuation rule
HELD_OPEN, HELD_CLOSE = "\ue003", "\ue004"  # HTML held aside from Markdown (a narrative citation's names)
HELD_RE = re.compile(f"{HELD_OPEN}(\\d+){HELD_CLOSE}")
NOTE_TOKEN_RE = re.compile(f"{NOTE_OPEN}(\\d+){NOTE_CLOSE}")
DEF_RE = re.compile(r"^\[\^([^\]\s]+)\]:[ \t]?(.*)$")
CALL_RE = re.compile(r"\[\^([^\]\s]+)\](?!:)")
MARKDOWN_EXTENSIONS = ["tables", "attr_list", "smarty", "sane_lists", "toc"]
# Python-Markdown lays out quotes and lists inside one another by recursion, and slower and
# slower the deeper they go (2,000 levels: minutes, then a RecursionError): a line may open
# MAX_NESTING levels at most.
MAX_NESTING = 50
NESTING_RE = re.compile(r"[ \t]*(?:>|(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$))")
TOO_DEEP = ("Markdown cannot lay out this chapter: something in it (quotes, lists or emphasis inside "
            "one another) is nested too deeply")


class NoteStyle(Protocol):
    def cite(self, citation: Citation) -> str: ...

    def narrative(self, item: CiteItem) -> str: ...


@dataclass
class ChapterNotes:
    """The notes of one chapter, in order of their calls."""

    html: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the source line of each call
    held: list[str] = field(default_factory=list)  # HTML for the running text, kept from Markdown

    def hold(self, html_text: str) -> str:
        self.held.append(html_text)
        return f"{HELD_OPEN}{len(self.held) - 1}{HELD_CLOSE}"

    def add(self, note_html: str, line: int) -> str:
        self.html.append(note_html)
        self.lines.append(line)
        return f"{NOTE_OPEN}{len(self.html) - 1}{NOTE_CLOSE}"


def data_environment(finalize: Callable | None = None) -> SandboxedEnvironment:
    """Jinja for chapter bodies: sandboxed (content is not code), strict about names and sizes."""
    env = DataSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=finalize,  # how a data value prints (dates in words)
    )
    return env


def render_chapter(
    chapter: Chapter,
    style: NoteStyle,
    known_keys: Mapping[str, object],
    context: Mapping[str, object] | None = None,
    env: SandboxedEnvironment | None = None,
) -> tuple[RenderedChapter | None, list[Problem]]:
    """The chapter as HTML with its notes, and the problems found, each at a line of its file.

    Lines that data expressions wrote (a loop's, say) have no line of their own in the file:
    what is found in them is reported at the nearest line the file has."""
    rendered, problems = _render_chapter(chapter, style, known_keys, context, env)
    last = chapter.body_line + chapter.body.count("\n")

    def within(line: int) -> int:
        return min(max(line, 1), last) if line else line

    problems = [replace(p, location=replace(p.location, line=within(p.location.line)))
                if p.location.path == chapter.location.path else p for p in problems]
    if rendered is not None:
        rendered = replace(rendered, note_lines=tuple(within(line) for line in rendered.note_lines))
    return rendered, problems


def _render_chapter(chapter, style, known_keys, context, env) -> tuple[RenderedChapter | None, list[Problem]]:
    problems: list[Problem] = []
    body, found = _render_data(chapter, context or {}, env or data_environment())
    problems += found
    if body is None:
        return None, problems
    lines = body.split("\n")
    too_deep = _too_deep(lines, chapter)
    if too_deep:
        return None, problems + too_deep
    definitions, found = _lift_definitions(lines, chapter)
    problems += found + _images_without_words(lines, chapter)
    notes = ChapterNotes()
    converter = _markdown(chapter)
    refs = crossref.Refs()
    captions = crossref.table_captions(lines, chapter.location.path, chapter.body_line, refs, lambda text: _inline(converter, text))
    body_text, called, found = _take_notes("\n".join(lines), chapter, definitions, notes, style, known_keys, converter, refs)
    problems += found
    for name, (line, _) in definitions.items():
        if name not in called:
            problems.append(warning(chapter.location.path, line, f"note [^{name}] is defined but never called"))
    converter.reset()
    sourcelines.register(converter, chapter)  # data-source="path:line" on the body's blocks (not the notes' own)
    try:
        out = converter.convert(body_text)
    except RecursionError:  # what _too_deep does not foresee
        return None, problems + [error(chapter.location.path, chapter.body_line, TOO_DEEP)]
    headings = tuple(_flatten_toc(converter.toc_tokens))
    out = crossref.figures(crossref.place_captions(out, captions), chapter.location.path, chapter.body, chapter.body_line, refs)
    chapter_id = chapter.slug
    # Two calls side by side read as one number ("²³"): set a comma between them.
    out = re.sub(f"(?<={NOTE_CLOSE})(?={NOTE_OPEN})", '<span class="note-sep">,</span>', out)
    out = NOTE_TOKEN_RE.sub(lambda m: note_html(chapter_id, int(m.group(1)) + 1, notes.html[int(m.group(1))]), out)
    out = HELD_RE.sub(lambda m: notes.held[int(m.group(1))], out).replace("\\@", "@")
    out = sourcelines.notes(out, converter, chapter_id)
    rendered = RenderedChapter(chapter=chapter, html=out, headings=headings, note_count=len(notes.html),
                               note_lines=tuple(notes.lines), refs=refs)
    return rendered, problems


def note_html(chapter_id: str, number: int, text: str) -> str:
    """A note at its call: an empty marker (so the audit can find the call's page), then the note."""
    return f'<a class="note-call" id="call-{chapter_id}-{number}"></a><span class="footnote" id="note-{chapter_id}-{number}">{text}</span>'


# ![](file), or <img …> whose alt is missing or blank: no words for what the image shows
EMPTY_IMAGE_RE = re.compile(r"!\[\s*\]\(\s*<?([^)\s>]*)")
IMG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
ALT_RE = re.compile(r"""\balt\s*=\s*(?:"[^"]*[^"\s]|'[^']*[^'\s]|[^\s>"'])""", re.IGNORECASE)
SRC_RE = re.compile(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", re.IGNORECASE)


def _images_without_words(lines: list[str], chapter: Chapter) -> list[Problem]:
    """A warning for each image with no alternative text: a screen reader says nothing of it,
    and the tagged PDF asks for it (PDF/UA)."""
    found = []
    for number, line in enumerate(lines):
        names = [match.group(1) for match in EMPTY_IMAGE_RE.finditer(line)]
        names += [(SRC_RE.search(tag.group(0)) or [None, ""])[1] for tag in IMG_RE.finditer(line) if not ALT_RE.search(tag.group(0))]
        found += [warning(chapter.location.path, chapter.body_line + number,
                          f"the image {name} has no words for what it shows, so a screen reader skips it: write them "
                          "between the brackets, as in ![a map of the 1920 border](map.png)") for name in names]
    return found


def _too_deep(lines: list[str], chapter: Chapter) -> list[Problem]:
    """The first line that opens more levels of quotes and lists than Markdown can lay out."""
    for number, line in enumerate(lines):
        depth = _nesting(line)
        if depth > MAX_NESTING:
            return [error(chapter.location.path, chapter.body_line + number,
                          f"quotes or lists nested {depth:,} levels deep on this line (at most {MAX_NESTING})")]
    return []


def _nesting(line: str) -> int:
    """The levels of quotes and lists the start of ``line`` opens: one for each ``>`` and each
    list marker, and for a list marker one more for every four columns indenting it."""
    depth, pos = 0, 0
    while match := NESTING_RE.match(line, pos):
        marker = match.group(0)
        indent = marker[: len(marker) - len(marker.lstrip(" \t"))]
        depth += 1 + (len(indent.expandtabs(4)) // 4 if marker[-1] != ">" else 0)
        pos = match.end()
    return depth


def _render_data(chapter: Chapter, context, env) -> tuple[str | None, list[Problem]]:
    """Fill in the chapter's data expressions; any failure is the chapter's, at its line."""
    if "{{" not in chapter.body and "{%" not in chapter.body:
        return chapter.body, []
    path = chapter.location.path
    if isinstance(env, DataSandbox):
        env.begin()  # this chapter's counts
    try:
        return env.from_string(chapter.body).render(**context), []
    except jinja2.TemplateSyntaxError as exc:
        return None, [error(path, chapter.body_line + (exc.lineno or 1) - 1, f"template syntax: {exc.message}")]
    except Exception as exc:  # content is data, not code: whatever an expression raises is the author's to fix
        return None, [error(path, chapter.body_line + _template_line(exc) - 1, f"data reference: {_describe(exc)}")]


def _describe(exc: Exception) -> str:
    """The exception's message, led by its kind where the message alone would not say ("KeyError: 'x'")."""
    if isinstance(exc, (jinja2.TemplateError, ZeroDivisionError, TypeError, ValueError)) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _template_line(exc: BaseException) -> int:
    """The chapter line (1-based, in the body) being rendered when ``exc`` was raised."""
    tb, line = exc.__traceback__, 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _lift_definitions(lines: list[str], chapter: Chapter) -> tuple[dict[str, tuple[int, str]], list[Problem]]:
    """Remove ``[^name]: text`` paragraphs from ``lines`` (blanked, so lines keep their numbers)."""
    definitions: dict[str, tuple[int, str]] = {}
    problems = []
    i = 0
    while i < len(lines):
        match = DEF_RE.match(lines[i])
        if not match:
            i += 1
            continue
        name, text, start = match.group(1), [match.group(2)], i
        lines[i] = ""
        i += 1
        while i < len(lines) and (lines[i].startswith(("    ", "\t")) or (lines[i].strip() and not DEF_RE.match(lines[i]) and text[-1].strip())):
            text.append(lines[i].strip())
            lines[i] = ""
            i += 1
        line = chapter.body_line + start
        if name in definitions:
            problems.append(error(chapter.location.path, line, f"note [^{name}] is defined twice (first at line {definitions[name][0]})"))
            continue
        definitions[name] = (line, " ".join(t for t in text if t))
    return definitions, problems


def _take_notes(text, chapter, definitions, notes, style, known_keys, converter, refs):
    """Replace citations and note calls, in reading order, by note placeholders."""
    problems: list[Problem] = []
    called: set[str] = set()
    tokens = sorted(_citations(text) + [(m.start(), m.end(), "call", m) for m in CALL_RE.finditer(text)], key=lambda t: t[0])
    out, pos = [], 0
    for start, end, kind, match in tokens:
        if start < pos:
            continue
        line = chapter.body_line + text.count("\n", 0, start)
        location = Location(chapter.location.path, line)
        xref = _crossref(kind, match, text[end:], known_keys)
        if xref:
            prefix, id_, form, taken = xref
            out.append(text[pos:start] + (prefix + " " if prefix else "") + refs.use(id_, form, location))
            pos = start + taken if taken else end
            continue
        if kind in ("cite", "narrative"):
            if kind == "cite":
                note, found = _cite(match.group(1), location, style, known_keys, in_note=False)
                names = ""
            else:
                names, note, found = _narrative(match, location, style, known_keys)
            problems += found
            if note is None:
                out.append(text[pos:end])
                pos = end
                continue
            token = notes.add(note, line)
            before, after_punct = text[pos:start], re.match(r"[.,;:!?]+", text[end:])
            if names:  # the names stand where the "@key" was, the note after them
                if after_punct and after_punct.group(0) in ".," and names.endswith("”</span>"):
                    names = names[: -len("”</span>")] + after_punct.group(0) + "”</span>"  # CMOS 6.9
                    end, after_punct = end + 1, None
                before += notes.hold(names)
            if after_punct and (names or before.endswith((" ", "\t"))):
                # Chicago: the note number follows the punctuation ("treaty [@key]." -> "treaty.¹").
                out.append((before if names else before.rstrip()) + after_punct.group(0) + token)
                pos = end + after_punct.end()
            else:
                out.append(before + token)
                pos = end
        else:
            name = match.group(1)
            if name not in definitions:
                problems.append(error(location.path, line, f"note [^{name}] is called but never defined"))
                out.append(text[pos:end])
                pos = end
                continue
            called.add(name)
            def_line, def_text = definitions[name]
            note_html, found = _author_note(def_text, Location(location.path, def_line), style, known_keys, converter, refs)
            problems += found
            out.append(text[pos:start] + notes.add(note_html, line))
            pos = end
    out.append(text[pos:])
    return "".join(out), called, problems


def _cite(inner, location, style, known_keys, in_note):
    citation, syntax = parse_citation(inner, location, in_note=in_note)
    problems = [error(location.path, location.line, message) for message in syntax]
    if citation is None:
        return None, problems
    for item in citation.items:
        if item.key not in known_keys:
            problems.append(error(location.path, location.line, f"unknown citation key '{item.key}'{did_you_mean(item.key, known_keys)}"))
    if problems:
        return None, problems
    return style.cite(citation), []


def _citations(text: str) -> list[tuple[int, int, str, re.Match]]:
    """The bracketed ("cite") and narrative citations of a piece of Markdown: (start, end, kind,
    match); an "@key" inside a bracketed citation is among them too, for the caller to skip."""
    return ([(m.start(), m.end(), "cite", m) for m in find_citations(text)]
            + [(m.start(), m.end(), "narrative", m) for m in find_narrative(text)])


def _crossref(kind, match, after, known_keys) -> tuple[str, str, str, int] | None:
    """A cross-reference where a citation would be: (prefix, id, form, the characters it takes
    from the start of the match, or 0 for the match's own); None for a citation."""
    if kind == "cite":
        found = crossref.bracketed(match.group(1), after)
        if found and found[1] not in known_keys:
            prefix, id_, form, extra = found
            return prefix, id_, form, (match.end() - match.start() + extra) if extra else 0
    elif kind == "narrative" and crossref.is_crossref(match.group("key")) and match.group("key") not in known_keys:
        return "", match.group("key"), crossref.narrative_form(match.group("key")), match.end("key") - match.start()
    return None


def _narrative(match, location, style, known_keys):
    """"@key" in the running text, as Pandoc sets it with a notes style: the author's name in the
    text (in full the first time, the family name after), the rest of the citation in a note."""
    item = narrative_item(match, location)
    if item.key not in known_keys:
        return "", None, [error(location.path, location.line, unknown_narrative(item.key, known_keys))]
    names = style.narrative(item)
    return f'<span class="citation" data-cites="{html.escape(item.key)}">{names}</span>', style.cite(Citation((replace(item, suppress_author=True),), location)), []


def unknown_narrative(key: str, known_keys) -> str:
    return (f"'@{key}' reads as a citation, but no work in the bibliography has the key '{key}'"
            f"{did_you_mean(key, known_keys)}; to print an @ sign there, write \\@")


def _author_note(text, location, style, known_keys, converter, refs):
    """An author's own note: its citations join its text (no note of their own). A citation that
    opens a sentence of the note, or that a lead-in word ("see", "compare", "in") brings in,
    stands bare ("…, see Senn, “Formation,” 505."); one after other words goes in parentheses,
    as Pandoc sets it ("two books by Łossowski (Konflikt …; Litwa …)")."""
    problems = []
    inline: list[str] = []
    pieces, pos = [], 0
    for start, end, kind, match in sorted(_citations(text), key=lambda t: t[0]):
        if start < pos:
            continue  # an "@key" inside a bracketed citation
        narrative = kind == "narrative"
        xref = _crossref(kind, match, text[end:], known_keys)
        if xref:
            prefix, id_, form, taken = xref
            pieces.append(text[pos:start] + (prefix + " " if prefix else "") + refs.use(id_, form, location))
            pos = start + taken if taken else match.end()
            continue
        if narrative:  # in a note, "@key [12]" is the whole citation, in the author's sentence (Pandoc)
            item = narrative_item(match, location)
            if item.key not in known_keys:
                problems.append(error(location.path, location.line, unknown_narrative(item.key, known_keys)))
                html_text = None
            else:
                html_text = style.cite(Citation((item,), location, in_note=True))
        else:
            html_text, found = _cite(match.group(1), location, style, known_keys, in_note=True)
            problems += found
        pieces.append(text[pos : match.start()])
        if html_text is None:
            pieces.append(match.group(0))
        else:
            inline.append(html_text if narrative or _bare(text[: match.start()], text[match.end():]) else f"({html_text})")
            pieces.append(f"{NOTE_OPEN}{len(inline) - 1}{NOTE_CLOSE}")
        pos = match.end()
    pieces.append(text[pos:])
    depth = _nesting(text)
    if depth > MAX_NESTING:
        return html.escape(text), problems + [error(location.path, location.line, f"quotes or lists nested {depth:,} levels deep in this note (at most {MAX_NESTING})")]
    converter.reset()
    try:
        rendered = converter.convert("".join(pieces)).strip()
    except RecursionError:
        return html.escape(text), problems + [error(location.path, location.line, TOO_DEEP.replace("this chapter", "this note"))]
    rendered = re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.S).replace("</p>\n<p>", " ")
    # Chicago: a period or comma after a citation that ends in a closing quote goes inside it.
    rendered = NOTE_TOKEN_RE.sub(lambda m: inline[int(m.group(1))] + CITATION_END, rendered)
    rendered = re.sub(f"”((?:</[a-z]+>)*){CITATION_END}([.,])", r"\2”\1", rendered)
    return rendered.replace(CITATION_END, "").replace("\\@", "@"), problems


# Words after which a citation continues the author's sentence ("see Senn, ...").
LEAD_INS = {"see", "cf.", "compare", "also", "in", "by", "from", "and", "or", "e.g.,", "esp.", "especially", "following", "after", "with", "to"}


def _bare(before: str, after: str) -> bool:
    """Whether an in-note citation stands bare: it opens its sentence, or a lead-in word (or a
    colon, a dash, an opening parenthesis) brings it in."""
    sentence = re.split(r"(?<=[.!?])\s+", before.strip())[-1] if before.strip() else ""
    if not sentence or sentence[-1] in ".!?(":
        return True
    return sentence.split()[-1].lower().lstrip("(“\"'") in LEAD_INS or sentence[-1] in ":–—"


def _inline(converter: markdown.Markdown, text: str) -> str:
    """A line of Markdown as inline HTML (a caption)."""
    converter.reset()
    return re.sub(r"^<p>(.*)</p>$", r"\1", converter.convert(text).strip(), flags=re.S)


def _markdown(chapter: Chapter) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=MARKDOWN_EXTENSIONS,
        extension_configs={"toc": {"slugify": lambda value, sep: f"{chapter.slug}-{slugify(value)}"}},
        output_format="html",
    )


def _flatten_toc(tokens, out=None):
    out = [] if out is None else out
    for token in tokens:
        out.append((token["level"], token["id"], html.unescape(re.sub(r"<[^>]+>", "", token["name"]))))
        _flatten_toc(token.get("children", []), out)
    return out


def one_line(html_text: str) -> Markup:
    """Generated HTML for a chapter body: on one line, so the chapter keeps its line numbers."""
    return Markup(re.sub(r"\s*\n\s*", " ", str(html_text)).strip())
