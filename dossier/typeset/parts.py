"""Typeset the dossier part by part, in parallel, with a cache; merge the parts into one PDF.

WeasyPrint's time grows faster than the page count, and it uses one core. So the front
matter, each chapter and the bibliography are typeset as separate documents, on as many
processes as the machine has cores, and merged with pypdf. A part does not depend on
where it falls in the book: every part starts on a right-hand page, note numbers restart
per chapter anyway, and folios are stamped on the merged pages afterwards. A part's PDF is
therefore cached under a hash of everything that goes into it (its HTML, which holds its
text and notes; the stylesheets, fonts and images it uses; the WeasyPrint version), and an
edit re-typesets only the part it touches. Bookmarks, links across parts and metadata are
written on the merged PDF from the data each part reports: which page each id landed on.

In: ``Part`` (HTML, the file it comes from, its notes with their source lines). Out: ``Laid``
(the cached PDF, pages, anchors, links) with the problems of its layout, each located in the
part's source file: a note printed off its call's page names the line of its call.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from concurrent.futures import as_completed
from contextlib import contextmanager
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Callable

from ..files import file_digest, write_bytes
from ..problems import Problem, warning
from .pool import Pool, in_worker

MAX_PAGES = 200  # a part longer than this is likely a mistake (a pasted file, a runaway loop): said, not refused
CACHE_VERSION = "11"  # bump when what a part's cache entry holds changes


@dataclass(frozen=True)
class Part:
    name: str  # "front", a chapter slug, "back"
    kind: str  # front, chapter, back
    html: str
    note_ids: tuple[tuple[str, str], ...] = ()  # (call id, note id) for the audit
    headings: tuple[tuple[int, str, str], ...] = ()  # (level, id, text) for bookmarks
    source: str = ""  # the file it comes from, as the user sees it: where its problems are reported
    note_lines: tuple[int, ...] = ()  # the source line of each note's call, in order
    text: tuple[int, str] = (1, "")  # (first line, text) of the source it was made from: where the audit's findings are looked up

    def problems(self, laid: Laid, first_page: int = 0, where: str = "") -> list[Problem]:
        """What its layout found, at the file and line that caused it; pages as printed."""
        found = [warning(self.source, 0, text) for text in laid.warnings]
        lines = {note_id: line for (_, note_id), line in zip(self.note_ids, self.note_lines)}
        for note_id, call_page, note_page in laid.notes_off_page:
            printed = f"printed on page {first_page + note_page}" if note_page else "missing from the PDF"
            found.append(warning(self.source, lines.get(note_id, 0),
                                 f"the note called here (on page {first_page + call_page}{where}) is {printed}"))
        if laid.pages > MAX_PAGES:
            found.append(warning(self.source, 0, f"runs to {laid.pages} pages, more than a chapter of a dossier "
                                                 f"({MAX_PAGES}): is all of it meant to be there?"))
        return found

    def findings(self, laid: Laid, first_page: int = 0, where: str = "") -> list[Problem]:
        """What the page audit found (``typeset/pages.py``), each at the line of the source that
        holds the text concerned; pages as printed."""
        return [warning(self.source, locate(self.text, text), "page audit: " + _FINDINGS[kind](first_page + page, where, text, figure))
                for kind, page, text, figure in laid.findings]


def _said(text: str) -> str:
    """A line of the page as quoted in a message: its end, where the trouble is."""
    text = text.replace("\u200b", "").replace("\xad", "").replace("\u2010", "-")
    return f"“…{text[-40:]}”" if len(text) > 40 else f"“{text}”"


_FINDINGS = {  # the page audit's findings (typeset/pages.py), in a reader's words
    "gap": lambda page, where, text, lines: f"page {page}{where} leaves {lines:g} lines blank above its notes or foot, after {_said(text)}",
    "turn": lambda page, where, text, _: f"a word is split across the turn of page {page}{where}: {_said(text)}",
    "split": lambda page, where, text, letters: f"a word split with {letters} letter{'s' if letters != 1 else ''} on one side on page {page}{where}: {_said(text)}",
    "fragment": lambda page, where, text, last: f"a paragraph ends with only “{last}” on its last line (page {page}{where})",
    "space": lambda page, where, text, em: f"word spaces of {em:g} em in a justified line on page {page}{where}: {_said(text)}",
    "overfull": lambda page, where, text, mm: f"a line {mm:g} mm wider than its measure on page {page}{where}: {_said(text)}",
    "short": lambda page, where, text, _: f"a line breaks off short inside a paragraph on page {page}{where}: {_said(text)}",
    "widow": lambda page, where, text, _: f"a paragraph's short last line stands alone at the top of page {page}{where}: {_said(text)}",
    "turned": lambda page, where, text, mm: (f"the table set turned on page {page}{where} is {mm:g} mm deeper than the "
                                            f"page is wide (wider than its measure): it needs fewer or shorter rows"),
}


def locate(source: tuple[int, str], text: str) -> int:
    """The line of ``source`` (first line number, text) that best holds ``text``: the one with the
    most of its words (of four letters or more), the first of equals; the first line if none."""
    first, body = source
    words = [word.lower() for word in re.findall(r"\w{4,}", text.replace("\u2010", "").replace("\u200b", ""))]
    best, most = first, 0
    for number, line in enumerate(body.split("\n")):
        line = line.lower()
        count = sum(word in line for word in words)
        if count > most:
            best, most = first + number, count
    return best


@dataclass
class Laid:
    """A typeset part: its PDF (in the cache) and what its layout reported."""

    pdf: Path
    pages: int
    sizes: list[tuple[float, float]]  # page width, height in points
    anchors: dict[str, list[float]]  # id -> [page index, x1, y1, x2, y2] of its box, pt from the top left
    links: list[list]  # [page index, target id, [x1, y1, x2, y2] pt from the top]
    notes_off_page: list[list]  # [note id, call page, note page], pages 1-based within the part
    warnings: list[str] = field(default_factory=list)
    findings: list[list] = field(default_factory=list)  # the page audit's: [kind, page, text, figure]
    sources: list[list] = field(default_factory=list)  # per page: [top, left, "path:line"] where each source block starts
    audit: dict = field(default_factory=dict)  # the page audit's figures (typeset/pages.py Audit.summary)
    cached: bool = False
    data: bytes = field(default=b"", repr=False)  # the PDF's bytes, as checked: what the merge reads


@dataclass
class Placed:
    """Where every page and id of the book ended up."""

    page_kinds: list[str]  # per merged page: "front", "body", "landscape", "pad"
    sizes: list[tuple[float, float]]
    offsets: list[int]  # first merged page index of each part
    anchors: dict[str, tuple[int, float, float, float, float]]  # id -> (merged page index, x1, y1, x2, y2 from the top left)
    sources: list[list] = field(default_factory=list)  # per merged page: [top, left, "path:line"] (watch's page view)


def place(parts: list[Part], laid: list[Laid]) -> Placed:
    """Lay the parts end to end; every part starts on a right-hand (odd) page."""
    kinds: list[str] = []
    sizes: list[tuple[float, float]] = []
    offsets, anchors, sources = [], {}, []
    for number, (part, result) in enumerate(zip(parts, laid)):
        offsets.append(len(kinds))
        sources += result.sources or [[] for _ in result.sizes]
        for width, height in result.sizes:
            kinds.append("front" if part.kind == "front" else ("landscape" if width > height else "body"))
            sizes.append((width, height))
        for name, (page, *box) in result.anchors.items():
            anchors.setdefault(name, (offsets[-1] + page, *box))
        if number < len(parts) - 1 and result.pages % 2:
            kinds.append("pad")
            sizes.append(pad_size(result))
            sources.append([])
    return Placed(kinds, sizes, offsets, anchors, sources)


def pad_size(result: Laid) -> tuple[float, float]:
    """The blank page after a part that ends on a right-hand page: portrait, as the part's."""
    return result.sizes[-1] if result.sizes[-1][0] < result.sizes[-1][1] else result.sizes[0]


def cache_key(part: Part, assets: bytes, base_url: Path | None = None, root: Path | None = None) -> str:
    """What a part's PDF depends on, besides the files it reads (those are checked on use). The
    HTML names the project's files relative to where it is written (``base_url``): that path is
    not part of the key, so that a build into another folder (the tests') reuses the parts."""
    html = part.html
    if base_url is not None and root is not None:
        html = html.replace(f'"{os.path.relpath(root, base_url.parent)}/', '"<project>/')
    digest = hashlib.sha256()
    for piece in (CACHE_VERSION, _environment(), html):
        digest.update(piece.encode("utf-8"))
        digest.update(b"\0")
    digest.update(assets)
    return digest.hexdigest()[:40]


@lru_cache(maxsize=1)
def _environment() -> str:
    """The typesetting code and libraries: a change to either makes every cached part stale."""
    here = Path(__file__).resolve().parent
    code = b"".join(path.read_bytes() for path in (*sorted(here.glob("*.py")), here.parent / "audit.py"))
    libraries = ",".join(f"{name} {version(name)}" for name in ("weasyprint", "pydyf", "pyphen", "tinycss2", "fonttools"))
    return f"{libraries};{hashlib.sha256(code).hexdigest()}"


def asset_digest(files: list[Path]) -> bytes:
    """What the parts share: stylesheets and fonts, by content."""
    digest = hashlib.sha256()
    for path in sorted(set(files)):
        digest.update(str(path.name).encode())
        digest.update(file_digest(path).encode())  # memoised: the fonts are read once per version
    return digest.digest()


def typeset_parts(parts: list[Part], base_url: Path, roots: list[Path], cache_dir: Path, assets: bytes,
                  workers: Pool | None = None, ready: Callable[[int, Laid], None] | None = None,
                  progress: Callable[[int, list[str]], None] | None = None) -> list[Laid]:
    """Typeset every part not already in the cache (on ``workers``, else here); keep results in
    order. ``ready(index, laid)`` is called for each part as soon as it is there, cached ones
    first, so that the caller can use the time the workers take; ``progress(done, left)`` as the
    typesetting starts and as each part is done (``left``: the parts still to do, by name)."""
    with _in_use(cache_dir) as alone:
        try:
            return _typeset_parts(parts, base_url, roots, cache_dir, assets, workers, ready, progress)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM: stop the workers now, then remove what they left
            if workers:             # half-written, unless another build is at work in this cache
                workers.close(wait=False)
            if alone():
                remove_leftovers(cache_dir)
            raise


def _typeset_parts(parts, base_url, roots, cache_dir, assets, workers, ready, progress) -> list[Laid]:
    keys = [cache_key(part, assets, base_url, roots[0]) for part in parts]
    results: list[Laid | None] = [_from_cache(cache_dir, key, roots) for key in keys]
    todo = [i for i, laid in enumerate(results) if laid is None]
    # Longest first, so that no core sits idle at the end waiting for the biggest chapter.
    todo.sort(key=lambda i: -len(parts[i].html))
    jobs = {i: (parts[i].html, str(base_url), [str(r) for r in roots], list(parts[i].note_ids), str(cache_dir / f"{keys[i]}.pdf")) for i in todo}
    futures = {workers.submit(in_worker, "typeset_one", *jobs[i]): i for i in todo} if workers else {}
    for i, laid in enumerate(results):
        if laid is not None and ready:
            ready(i, laid)
    left = {i: {"front": "title page and contents", "back": "bibliography"}.get(parts[i].kind, parts[i].source or parts[i].name)
            for i in todo}
    if progress and todo:
        progress(0, list(left.values()))

    def finished():  # (index, what typeset_one returned), in the order the parts get done
        if workers:
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except BrokenProcessPool:
                    raise RuntimeError(f"the process typesetting {parts[futures[future]].source or parts[futures[future]].name} "
                                       "stopped before it was done") from None
        else:
            yield from ((i, in_worker("typeset_one", *jobs[i])) for i in todo)

    for i, laid in finished():
        pdf = cache_dir / f"{keys[i]}.pdf"
        data = pdf.read_bytes()
        entry = {**laid, "key": keys[i], "pdf_sha256": hashlib.sha256(data).hexdigest()}
        write_bytes(cache_dir / f"{keys[i]}.json", json.dumps(entry).encode("utf-8"))
        results[i] = _laid(entry, pdf, data, cached=False)
        if ready:
            ready(i, results[i])
        left.pop(i, None)
        if progress:
            progress(len(todo) - len(left), list(left.values()))
    return results  # type: ignore[return-value]


def prune_cache(cache_dir: Path, keep: list[Laid], also: tuple[str, ...] = ()) -> None:
    """Drop cached parts that this build did not use, unless another build is at work in the cache
    (what it has just written is in use)."""
    used = {laid.pdf.stem for laid in keep} | set(also)
    with _in_use(cache_dir) as alone:
        if alone():
            for path in cache_dir.glob("*"):
                if path.stem not in used and path.suffix in (".pdf", ".json"):
                    _discard(path)


def remove_leftovers(cache_dir: Path) -> None:
    """Remove the temporary files (``.NAME.*.part``) of writes that a stopped process never finished."""
    for path in cache_dir.glob(".*.part"):
        _discard(path)


@contextmanager
def _in_use(cache_dir: Path):
    """While a build typesets into ``cache_dir``: the folder made (a file in its place removed),
    and a shared lock held on it. Only a build that finds no other one at work there (it gets the
    lock alone) removes the half-written files: another build's may still be being written."""
    if not cache_dir.is_dir():
        _discard(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    lock = cache_dir / ".lock"
    if lock.is_dir() and not lock.is_symlink():
        _discard(lock)
    with open(lock, "ab") as handle:

        def alone() -> bool:
            """Whether no other build holds the cache (then this one holds it alone until it asks again)."""
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if alone():
            remove_leftovers(cache_dir)
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield alone  # the lock goes when the file is closed


def _discard(path: Path) -> None:
    """Remove a cache entry, whatever it is (a folder where a file belongs, too)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _from_cache(cache_dir: Path, key: str, roots: list[Path]) -> Laid | None:
    """The cached part, if its entry is whole and its PDF the one it records; else None. A
    damaged entry is removed (a folder in a file's place would stop the new one being written)."""
    meta, pdf = cache_dir / f"{key}.json", cache_dir / f"{key}.pdf"
    if not _present(meta, pdf):
        return None
    try:
        data = json.loads(meta.read_bytes())
        payload = pdf.read_bytes()
        if data["key"] != key or data["pdf_sha256"] != hashlib.sha256(payload).hexdigest():
            raise ValueError("not this part's PDF")
        laid = _laid(data, pdf, payload, cached=True)
        files = data["files"]
        if not all(isinstance(digest, str) for digest in files.values()):
            raise ValueError("files")
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        _discard(meta)
        _discard(pdf)
        return None
    # Every file the part read (images, stylesheets, fonts) must still be as it was.
    try:
        # Every file the part read (images, stylesheets, fonts), named relative to the folder it was
        # read from ("0:content/map.png": the project), must still be as it was: in a copied
        # project, its own copy.
        read = [(_under(roots, name), digest) for name, digest in files.items()]
        if any(path is None or not path.is_file() or file_digest(path) != digest for path, digest in read):
            return None  # a sound entry, out of date: the new one is written over it
    except (OSError, ValueError):
        return None
    return laid


def _under(roots: list[Path], name: str) -> Path | None:
    folder, _, relative = name.partition(":")
    return roots[int(folder)] / relative if folder.isdigit() and int(folder) < len(roots) else None


def _present(*paths: Path) -> bool:
    """Whether the entry's files are all there; a folder in place of one is removed."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            _discard(path)
    return all(path.is_file() for path in paths)


def _laid(data: dict, pdf: Path, payload: bytes, cached: bool) -> Laid:
    """The entry's record as a ``Laid``; ``ValueError`` (or ``TypeError``, ``KeyError``) if any
    field is missing or not of its shape, so that the merge never meets a malformed one."""
    pages = data["pages"]
    if type(pages) is not int or pages < 1:
        raise ValueError("pages")
    sizes = [(_number(w), _number(h)) for w, h in data["sizes"]]
    anchors = {_text(name): [_page(page, pages), *map(_number, box)] for name, (page, *box) in data["anchors"].items()}
    links = [[_page(page, pages), _text(target), [_number(v) for v in box]] for page, target, box in data["links"]]
    notes = [[_text(note), _page(call - 1, pages) + 1, note_page] for note, call, note_page in data["notes_off_page"]]
    warnings = [_text(text) for text in data["warnings"]]
    sources = [[[_number(top), _number(left), _text(where)] for top, left, where in page] for page in data["sources"]]
    findings = [[_text(kind), _page(page - 1, pages) + 1, _text(text), _number(figure) if kind not in ("fragment",) else _text(figure)]
                for kind, page, text, figure in data["findings"]]
    if any(kind not in _FINDINGS for kind, *_ in findings) or not isinstance(data["audit"], dict):
        raise ValueError("findings")
    if (len(sizes) != pages or len(sources) != pages or any(len(box) != 5 for box in anchors.values())
            or any(len(box) != 4 for _, _, box in links) or any(type(n) is not int for *_, n in notes)):
        raise ValueError("malformed")
    return Laid(pdf=pdf, pages=pages, sizes=sizes, anchors=anchors, links=links, notes_off_page=notes,
                warnings=warnings, findings=findings, audit=data["audit"], sources=sources, cached=cached, data=payload)


def _number(value) -> float:
    if type(value) not in (int, float):
        raise TypeError("not a number")
    return value


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _page(value, pages: int) -> int:
    if type(value) is not int or not 0 <= value < pages:
        raise ValueError("not a page of the part")
    return value


def render_cached(html_text: str, base_url: Path, roots: list[Path], cache_dir: Path, assets: bytes,
                  workers: Pool | None = None) -> tuple[Callable[[], bytes], str]:
    """A small document (the folios), cached like a part: started now (on a worker, while this
    process goes on); returns a function that gives its PDF bytes when they are needed, and
    the cache key. Its JSON records its key and its PDF's digest, checked as a part's are."""
    key = cache_key(Part("folios", "folios", html_text), assets, base_url, roots[0])
    path, meta = cache_dir / f"{key}.pdf", cache_dir / f"{key}.json"
    cached = _layer_from_cache(path, meta, key)
    if cached is not None:
        return lambda: cached, key
    pending = workers.submit(in_worker, "render_pdf", html_text, base_url, roots) if workers else None

    def result() -> bytes:
        data = pending.result() if pending else in_worker("render_pdf", html_text, base_url, roots)
        write_bytes(path, data)
        write_bytes(meta, json.dumps({"key": key, "pdf_sha256": hashlib.sha256(data).hexdigest()}).encode("utf-8"))
        return data

    return result, key


def _layer_from_cache(path: Path, meta: Path, key: str) -> bytes | None:
    if not _present(meta, path):
        return None
    try:
        data, record = path.read_bytes(), json.loads(meta.read_bytes())
        if record["key"] == key and record["pdf_sha256"] == hashlib.sha256(data).hexdigest():
            return data
    except (OSError, ValueError, KeyError, TypeError):
        pass
    _discard(path)
    _discard(meta)
    return None
