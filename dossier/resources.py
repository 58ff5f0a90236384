"""Files a chapter asks the typesetter to read: images, stylesheets, attachments.

Checked before typesetting, so that each problem names the chapter's file and line:
a missing image is an error; anything outside the project, or on the network, is a
warning and is cut out of the HTML (the confined URL fetcher is the second guard).
Paths inside the project are rewritten relative to the output folder.
"""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import Problem, error, warning
from .model import Chapter

# Attributes whose URL the typesetter fetches (plain <a href> links are not fetched).
FETCHED = {("img", "src"), ("image", "href"), ("image", "xlink:href"), ("link", "href"), ("object", "data"),
           ("embed", "src"), ("video", "poster"), ("source", "src"), ("iframe", "src"), ("input", "src"),
           ("use", "href"), ("use", "xlink:href"), ("feimage", "href")}
CSS_URL_RE = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""", re.I)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            if (tag, name) in FETCHED or (tag == "a" and name == "href" and "attachment" in (attributes.get("rel") or "")):
                self.urls.append((tag, name, value))
            if name == "style":
                self.urls += [("style", "url", m.group(2) or m.group(4)) for m in CSS_URL_RE.finditer(value)]
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self._in_style:
            self.urls += [("style", "url", m.group(2) or m.group(4)) for m in CSS_URL_RE.finditer(data)]

    def handle_endtag(self, tag):
        self._in_style = False


def check_resources(html_text: str, chapter: Chapter, root: Path, output_dir: Path) -> tuple[str, list[Problem]]:
    collector = _Collector()
    collector.feed(html_text)
    problems: list[Problem] = []
    root = root.resolve()
    for tag, attribute, url in dict.fromkeys(collector.urls):
        line = _source_line(chapter, url)
        path = chapter.location.path
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            continue
        if scheme not in ("", "file"):
            problems.append(warning(path, line, f"not included: {url} (the typesetter reads nothing from the network)"))
            html_text = _cut(html_text, url)
            continue
        target = Path(unquote(parts.path))
        target = (target if target.is_absolute() else chapter.path.parent / target).resolve()
        if not target.is_relative_to(root):
            problems.append(warning(path, line, f"not included: {url} (outside the project)"))
            html_text = _cut(html_text, url)
            continue
        if not target.exists():
            kind = "image" if tag in ("img", "image") else "file"
            problems.append(error(path, line, f"missing {kind} '{url}'"))
            continue
        relative = Path(os.path.relpath(target, output_dir.resolve())).as_posix()
        html_text = html_text.replace(f'"{url}"', f'"{relative}"').replace(f"'{url}'", f"'{relative}'")
    return html_text, problems


def _cut(html_text: str, url: str) -> str:
    """Remove every reference to ``url``; an attribute keeps its name with an empty value."""
    return html_text.replace(f'"{url}"', '""').replace(f"'{url}'", "''").replace(f"url({url})", "url()")


def _source_line(chapter: Chapter, url: str) -> int:
    at = chapter.body.find(url)
    if at < 0:
        at = chapter.body.find(url.replace("&", "&amp;"))
    return chapter.body_line + chapter.body[:at].count("\n") if at >= 0 else chapter.location.line
