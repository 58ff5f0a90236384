"""Files a chapter asks the typesetter to read: images, stylesheets, attachments.

Checked before typesetting, so that each problem names the chapter's file and line:
a missing image is an error; anything outside the project, or on the network, is a
warning and is cut out of the HTML (the confined URL fetcher is the second guard).
Paths inside the project are rewritten relative to the output folder.

The HTML is parsed, not searched: each start tag that carries such a URL (an
attribute, a ``srcset``, CSS ``url()`` in a ``style`` attribute) is written anew from
its decoded attributes, and the CSS of each ``<style>`` element is edited in place.
Text outside tags is never changed, so a URL mentioned in the prose stays as written.
"""
from __future__ import annotations

import os
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import SplitResult, quote, unquote, urlsplit

from ..model import Chapter
from ..problems import Problem, error, warning

# Attributes whose URL the typesetter fetches; also "background" on any element and the
# href of <a rel="attachment"> (plain <a href> links are not fetched).
FETCHED = {("img", "src"), ("image", "src"), ("image", "href"), ("image", "xlink:href"), ("link", "href"),
           ("object", "data"), ("embed", "src"), ("video", "poster"), ("source", "src"), ("iframe", "src"),
           ("input", "src"), ("use", "href"), ("use", "xlink:href"), ("feimage", "href"), ("feimage", "xlink:href")}
# One image candidate of a srcset: a URL (which may hold commas) and its descriptors.
SRCSET_RE = re.compile(r"[\s,]*(\S+?)(?:,+(?=\s|$)|\s+([^,]*)|$)")
# An @import rule (its URL a string or a url()), or a url(); an unclosed one runs to the end, as CSS reads it.
CSS_URL_RE = re.compile(r"""
    @import (?:\s|/\*.*?\*/)* (?: url\(\s*(?P<iq>["']?)(?P<import_url>.*?)(?:(?P=iq)\s*\)|$)
                                | (?P<sq>["'])(?P<import_string>.*?)(?:(?P=sq)|$) ) [^;]*;?
  | url\(\s*(?P<q>["']?)(?P<url>.*?)(?:(?P=q)\s*\)|$)
""", re.I | re.S | re.X)


def check_resources(html_text: str, chapter: Chapter, root: Path, output_dir: Path) -> tuple[str, list[Problem]]:
    """Check every URL in the chapter's HTML; return the HTML with them rewritten or cut out, and the problems."""
    check = _Check(chapter, root, output_dir)
    parsed = _Parsed(html_text)
    edits = []
    for start, raw, tag, attributes, closed in parsed.start_tags:
        checked = [(name, check.attribute(tag, name, value, attributes, raw)) for name, value in attributes]
        if checked != attributes:
            edits.append((start, start + len(raw), _start_tag(tag, checked, closed)))
    for start, end in parsed.styles:
        edits.append((start, end, check.css(html_text[start:end], html_text[start:end])))
    for start, end, text in sorted(edits, reverse=True):
        html_text = html_text[:start] + text + html_text[end:]
    return html_text, sorted(dict.fromkeys(check.problems), key=lambda problem: problem.location.line)


class _Parsed(HTMLParser):
    """The start tags of an HTML text, and where the text of each <style> element lies."""

    def __init__(self, html_text: str):
        super().__init__(convert_charrefs=True)
        self.start_tags: list[tuple[int, str, str, list, bool]] = []  # (offset, raw text, tag, attributes, self-closing)
        self.styles: list[tuple[int, int]] = []  # (start, end) offsets of CSS text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", html_text)]
        self._style_start: int | None = None
        self.feed(html_text)
        self.close()
        if self._style_start is not None:  # an unclosed <style> runs to the end
            self.styles.append((self._style_start, len(html_text)))

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs, closed=False):
        raw, start = self.get_starttag_text(), self._offset()
        self.start_tags.append((start, raw, tag, attrs, closed))
        if tag == "style" and not closed:
            self._style_start = start + len(raw)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs, closed=True)

    def handle_endtag(self, tag):
        if tag == "style" and self._style_start is not None:
            self.styles.append((self._style_start, self._offset()))
            self._style_start = None


class _Check:
    """Decides, URL by URL, what to write in its place; collects the problems found."""

    def __init__(self, chapter: Chapter, root: Path, output_dir: Path):
        self.chapter = chapter
        self.root = root.resolve()
        self.output_dir = output_dir.resolve()
        self.problems: list[Problem] = []

    def attribute(self, tag: str, name: str, value: str | None, attributes: list, context: str) -> str | None:
        """The value to write for one attribute of a start tag (``context``: the tag as written)."""
        if value is None:
            return None
        if name == "style":
            return self.css(value, context)
        if tag == "base" and name == "href":  # it would move every relative URL of the book
            self.problems.append(warning(self.chapter.location.path, _source_line(self.chapter, value, context),
                                         f"not included: <base href=\"{value}\"> (a chapter cannot move the document's base)"))
            return ""
        if name == "srcset" and tag in ("img", "source"):
            kept = [f"{new} {descriptors}".strip() for url, descriptors in SRCSET_RE.findall(value)
                    if (new := self.url(url, context, image=tag == "img"))]
            return ", ".join(kept)
        attachment = tag == "a" and any(n == "rel" and "attachment" in (v or "").lower() for n, v in attributes)
        if (tag, name) in FETCHED or name == "background" or (attachment and name == "href"):
            return self.url(value, context, image=tag in ("img", "image"))
        return value

    def css(self, css: str, context: str) -> str:
        """The CSS with each url() rewritten or cut out, and each refused @import rule dropped.

        A url() is cut out as ``none``: an empty ``url()`` would make the typesetter read the document itself.
        """

        def edit(match: re.Match) -> str:
            group = next(g for g in ("url", "import_url", "import_string") if match[g] is not None)
            new = self.url(match[group], context)
            if new == match[group]:
                return match[0]
            if not new:
                return "none" if group == "url" else ""
            start, end = match.start(group) - match.start(), match.end(group) - match.start()
            return match[0][:start] + new + match[0][end:]

        return CSS_URL_RE.sub(edit, css)

    def url(self, value: str, context: str, image: bool = False) -> str:
        """What to write for ``value``: rewritten relative to the output folder, unchanged, or "" to cut it out."""
        url = value.strip()
        try:
            parts = urlsplit(url)
        except ValueError:  # a malformed host, as in "http://[::1": a network URL all the same
            parts = SplitResult("http", url, "", "", "")
        if parts.scheme == "data" or not (parts.scheme or parts.netloc or parts.path):
            return value  # inline data, or a place in this document ("#id")
        path, line = self.chapter.location.path, _source_line(self.chapter, url, context)
        if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
            self.problems.append(warning(path, line, f"not included: {url} (the typesetter reads nothing from the network)"))
            return ""
        try:
            target = (self.chapter.path.parent / unquote(parts.path)).resolve()
        except (OSError, ValueError):  # not a name the system can look up (a NUL byte, too long)
            target = None
        if target is not None and not target.is_relative_to(self.root):
            self.problems.append(warning(path, line, f"not included: {url} (outside the project)"))
            return ""
        if target is None or not target.exists():
            self.problems.append(error(path, line, f"missing {'image' if image else 'file'} '{url}'"))
            return value
        relative = quote(Path(os.path.relpath(target, self.output_dir)).as_posix())
        return relative + (f"#{parts.fragment}" if parts.fragment else "")


def _start_tag(tag: str, attributes: list, closed: bool) -> str:
    written = "".join(f" {name}" if value is None else f' {name}="{escape(value, quote=True)}"' for name, value in attributes)
    return f"<{tag}{written}{' /' if closed else ''}>"


def _source_line(chapter: Chapter, url: str, context: str) -> int:
    """The line of ``url`` in the chapter's Markdown: within ``context`` (its tag or CSS, as written) if found."""
    body = chapter.body
    at = body.find(context)
    if at >= 0:
        at = max(at, body.find(url, at, at + len(context)))
    else:
        at = body.find(url)
        if at < 0:
            at = body.find(url.replace("&", "&amp;"))
    return chapter.body_line + body[:at].count("\n") if at >= 0 else chapter.location.line
