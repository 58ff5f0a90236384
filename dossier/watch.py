"""``build.py watch``: rebuild on every save, with a live preview on localhost.

The loop looks at the inputs (chapters, bibliography, data, templates, styles, settings)
a few times a second. On a change it rebuilds the HTML first, so the reading view reloads at
once, then the PDF, incrementally, then renders the pages that changed for the page view at
``/`` (``preview.py``). A build that fails prints its problems in the terminal and shows them
over the preview; the last good outputs stay as they were. Ctrl-C stops.

The preview server listens on 127.0.0.1 only, answers only requests addressed to it by
that name, and serves exactly the outputs (``dossier.html``, the PDFs; not the cache) and the
files they name: the ``href``/``src`` of the HTML, the ``url()`` and ``@import`` of its styles
and of the stylesheets it links, each resolved from the file that names it, as the browser and
the typesetter resolve it; never the chapters, the data or anything else in the project. That
list is made anew after every rebuild. Each page it serves gets a small script that asks
``/__status`` for the build's version and reloads when it changes. The page view, its page
images, their sizes and a point's source are generated (``/``, ``/__pages/<n>.png``,
``/__pages.json``, ``/__source``), never read from a file.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import threading
import time
from functools import lru_cache, partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from .book import cache_dir
from .fingerprint import input_files
from .pipeline import build
from .preview import Pages, page_view
from .files import TOOL_FOLDERS, clear_damaged_cache
from .problems import BuildError, error
from .project import Settings, line_of, load_settings
from .render.resources import CSS_URL_RE, SRCSET_RE
from .typeset.pool import Pool

RELOAD_SCRIPT = """<script>
(function () {
  var seen = null, key = "%(key)s";
  function show(errors) {
    var box = document.getElementById("__build_errors");
    if (!errors.length || window.top !== window) { if (box) box.remove(); return; }  // a frame: its page shows them
    if (!box) { box = document.createElement("pre"); box.id = "__build_errors"; document.body.prepend(box); }
    box.style.cssText = "position:fixed;top:0;left:0;right:0;margin:0;padding:1em;background:#fff3f3;border-bottom:3px solid #b00;color:#600;font:13px monospace;white-space:pre-wrap;z-index:9999";
    box.textContent = "The last build failed; this preview shows the last good one.\\n\\n" + errors.join("\\n");
  }
  function poll() {
    fetch("/__status").then(function (r) { return r.json(); }).then(function (s) {
      if (seen !== null && s[key] !== seen) { location.reload(); return; }
      seen = s[key]; show(s.errors);
    }).catch(function () {}).finally(function () { setTimeout(poll, 150); });
  }
  poll();
})();
</script>"""

# A click on a block that carries its source (data-source="content/02-lithuania.md:14") shows
# where it is written, in a box to copy it from; the page view calls __showSource too.
SOURCE_SCRIPT = """<script>
(function () {
  window.__showSource = function (where) {
    var box = document.getElementById("__source");
    if (!box) {
      box = document.createElement("input"); box.id = "__source"; box.readOnly = true;
      box.style.cssText = "position:fixed;bottom:12px;left:12px;width:30em;padding:.4em .6em;background:#ffd;border:1px solid #997;font:13px monospace;z-index:9998";
      document.body.append(box);
    }
    box.value = where; box.focus(); box.select();
  };
  document.addEventListener("click", function (event) {
    var block = event.target.closest && event.target.closest("[data-source]");
    var top = window.top !== window && window.top.__showSource ? window.top : window;
    if (block && !event.target.closest("a[href]")) top.__showSource(block.dataset.source);
  });
})();
</script>"""


class Status:
    """The build's version (the reading HTML reloads when it changes), the page images' version
    (the page view reloads), and the last build's problems."""

    def __init__(self):
        self.version = 0
        self.pages = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps({"version": self.version, "pages": self.pages, "errors": self.errors}).encode()


class Served:
    """What the preview serves: URL path -> file, made anew after each rebuild (``refresh``)."""

    def __init__(self, files: dict[str, Path] | None = None):
        self.files = files or {}
        self.lock = threading.Lock()

    def refresh(self, settings: Settings) -> None:
        files = preview_files(settings)
        with self.lock:
            self.files = files

    def get(self, url_path: str) -> Path | None:
        with self.lock:
            return self.files.get(url_path)


def preview_files(settings: Settings) -> dict[str, Path]:
    """The outputs (``dossier.html``, the PDFs under the output folder, not in the cache) by the
    URL the preview gives them, and every file they name, by the URL the browser asks for it
    with: resolved from the file that names it, the stylesheets' own references followed. A
    named file must lie (links resolved) in the project or the tool's templates and fonts, and
    not in the cache."""
    root, out = settings.root, settings.path("output_dir")
    real_out, cache = out.resolve(), cache_dir(settings).resolve()
    folders = [folder.resolve() for folder in (root, settings.path("templates_dir"), *TOOL_FOLDERS)]
    outputs = [out / "dossier.html"]
    for directory, subfolders, names in os.walk(out):  # links to folders are not followed
        subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
        outputs += [Path(directory, name) for name in sorted(names) if name.endswith(".pdf") and not name.startswith(".")]
    files: dict[str, Path] = {}
    pending: list[tuple[str, Path, str]] = []  # (URL, file, "html" or "css"): files whose references are to be read
    for path in outputs:
        real = path.resolve()
        if real.is_file() and real.is_relative_to(real_out) and not real.is_relative_to(cache):
            try:
                url = "/" + path.relative_to(root).as_posix()
            except ValueError:  # an output folder outside the project: not under the preview's root
                continue
            files[url] = real
            if path.suffix == ".html":
                pending.append((url, real, "html"))
    while pending:
        url, real, kind = pending.pop()
        for reference, is_css in _references(real, kind):
            parts = urlsplit(reference.strip())
            if parts.scheme or parts.netloc or not parts.path:
                continue  # the network, data: and file: URLs, a place in the page ("#id")
            named = unquote(parts.path)
            target_url = posixpath.normpath(posixpath.join(posixpath.dirname(url), named))  # as the browser resolves it
            try:
                target = (real.parent / named).resolve()  # as the typesetter reads it
                if (target_url in files or not target.is_file() or target.is_relative_to(cache)
                        or not any(target.is_relative_to(folder) for folder in folders)):
                    continue
            except (OSError, ValueError):
                continue
            files[target_url] = target
            if is_css or target.suffix.lower() == ".css":
                pending.append((target_url, target, "css"))
    return files


def _references(path: Path, kind: str) -> tuple[tuple[str, bool], ...]:
    """The URLs a file names, each with whether it is a stylesheet's (read once per version of the file)."""
    try:
        info = path.stat()
        return _read_references(path, kind, info.st_mtime_ns, info.st_size)
    except (OSError, ValueError):
        return ()


@lru_cache(maxsize=256)
def _read_references(path: Path, kind: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, bool], ...]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if kind == "css":
        return _css_references(text)
    found = _HTMLReferences()
    found.feed(text)
    found.close()
    return tuple(found.references)


def _css_references(css: str) -> tuple[tuple[str, bool], ...]:
    found = []
    for match in CSS_URL_RE.finditer(css):
        if match["url"] is not None:
            found.append((match["url"], False))
        else:
            found.append((match["import_url"] if match["import_url"] is not None else match["import_string"], True))
    return tuple(found)


class _HTMLReferences(HTMLParser):
    """The ``href``, ``src`` (and ``srcset``, ``data``, ``poster``, ``background``) of every tag,
    and the ``url()`` of ``style`` attributes and ``<style>`` elements."""

    NAMES = {"href", "src", "data", "poster", "background", "xlink:href"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.references: list[tuple[str, bool]] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        stylesheet = tag == "link" and any(n == "rel" and "stylesheet" in (v or "").lower().split() for n, v in attrs)
        for name, value in attrs:
            if value is None:
                continue
            if name == "href" and tag in ("a", "area"):
                continue  # a link the reader may follow, not a file the page uses (a chapter's source, say)
            if name in self.NAMES:
                self.references.append((value, stylesheet and name == "href"))
            elif name == "srcset":
                self.references += [(url, False) for url, _ in SRCSET_RE.findall(value) if url]
            elif name == "style":
                self.references += _css_references(value)
        self._in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.references += _css_references(data)


class PreviewHandler(SimpleHTTPRequestHandler):
    """Serves what ``served`` lists (the outputs and the files they name), nothing else.

    A request names a file by its URL path exactly (no listings, no other file of the project);
    the file must still be, links resolved, the one listed; and a request must name this server
    as its host, so that a web page cannot reach it under another name (DNS rebinding).
    """

    def __init__(self, *args, status: Status, served: Served, pages: Pages | None = None, reading_url: str = "",
                 **kwargs):
        self.status = status
        self.served = served
        self.pages = pages or Pages()
        self.reading_url = reading_url
        super().__init__(*args, **kwargs)

    def do_GET(self):
        port = self.server.server_address[1]
        if self.headers.get("Host") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return self.send_error(403, "unknown host")
        if self.path == "/__status":
            return self._send(200, "application/json", self.status.as_json())
        try:
            url = posixpath.normpath(unquote(urlsplit(self.path).path, errors="strict"))
        except (ValueError, UnicodeDecodeError):
            return self.send_error(404)
        if url in ("/", "/__pages.json", "/__source") or url.startswith("/__pages/"):
            return self._generated(url)
        path = self.served.get(url)
        try:
            if path is None or path.resolve() != path or not path.is_file():
                return self.send_error(404)
            if path.suffix == ".html":
                scripts = RELOAD_SCRIPT.replace("%(key)s", "version") + SOURCE_SCRIPT
                text = path.read_text(encoding="utf-8", errors="replace").replace("</body>", scripts + "</body>", 1)
                return self._send(200, "text/html; charset=utf-8", text.encode("utf-8"))
            body = path.read_bytes()
        except OSError:  # gone since the list was made
            return self.send_error(404)
        return self._send(200, self.guess_type(str(path)), body)

    def _generated(self, url: str):
        """What no file holds: the page view, its page images, their sizes, a point's source."""
        if url == "/":
            with self.status.lock:
                version = self.status.pages
            scripts = RELOAD_SCRIPT.replace("%(key)s", "pages") + SOURCE_SCRIPT
            return self._send(200, "text/html; charset=utf-8", page_view(self.pages, self.reading_url, version, scripts))
        if url == "/__pages.json":
            return self._send(200, "application/json", self.pages.as_json())
        if url == "/__source":
            query = parse_qs(urlsplit(self.path).query)
            try:
                page, x, y = int(query["page"][0]), float(query["x"][0]), float(query["y"][0])
            except (KeyError, ValueError):
                return self.send_error(400)
            return self._send(200, "application/json", json.dumps({"source": self.pages.source_at(page, x, y)}).encode())
        name = url.removeprefix("/__pages/")
        image = self.pages.image(int(name[:-4])) if re.fullmatch(r"[1-9][0-9]{0,5}\.png", name) else None
        if image is None:
            return self.send_error(404)
        return self._send(200, "image/png", image)

    def do_HEAD(self):
        self.send_error(405)

    def _send(self, code: int, kind: str, body: bytes):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # the terminal is for the build's own messages
        pass


def snapshot(settings: Settings) -> dict[str, tuple[int, int]]:
    """Modification time and size of every input file (the same files the up-to-date check reads)."""
    state = {}
    for _, path in input_files(settings):
        try:
            info = path.stat()
            state[str(path)] = (info.st_mtime_ns, info.st_size)
        except OSError:
            continue
    return state


def watch(settings: Settings, port: int, say: Callable[[str], None], overrides: dict | None = None,
          pool: Pool | None = None, strict: bool = False, interval: float = 0.1, stop: threading.Event | None = None) -> None:
    """Rebuild on every change until Ctrl-C (or ``stop``); ``pool``'s workers stay warm between saves."""
    status, served = Status(), Served()
    served.refresh(settings)  # the last build's outputs, until this one's are there
    html = settings.path("output_dir") / "dossier.html"
    if not html.resolve().is_relative_to(settings.root):
        raise BuildError([error("pyproject.toml", line_of(settings.root / "pyproject.toml", "output_dir"),
                                "watch previews the outputs from the project folder: output_dir must lie inside it")])
    reading_url = "/" + html.resolve().relative_to(settings.root).as_posix()
    pages = Pages()
    handler = partial(PreviewHandler, directory=str(settings.root), status=status, served=served, pages=pages,
                      reading_url=reading_url)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise BuildError([error("", 0, f"the preview cannot listen on 127.0.0.1:{port} ({exc.strerror}): "
                                       "choose another port with --port")]) from None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    say(f"preview: http://127.0.0.1:{server.server_address[1]}/ (the pages as they print, beside {reading_url[1:]})")
    say("watching content, bibliography, data, templates and styles; Ctrl-C stops")
    stop = stop or threading.Event()
    seen: dict = {}
    try:
        while not stop.is_set():
            current = snapshot(settings)
            if current != seen:
                seen = current
                _rebuild(settings.root, overrides, status, served, pages, say, pool, strict)
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        say("stopped")


def _rebuild(root: Path, overrides: dict | None, status: Status, served: Served, pages: Pages, say,
             pool: Pool | None, strict: bool) -> None:
    """HTML first (the reading view reloads), then the PDFs, then the dossier's changed pages are
    rendered (the page view reloads); problems go to the terminal and the preview. What the
    preview serves is listed anew after each (the HTML may name new files).

    Nothing that goes wrong in one rebuild ends the loop: the next save tries again.
    """
    started = time.perf_counter()
    kept = "the last good outputs are unchanged"
    try:
        settings = load_settings(root, overrides)  # the settings may have been edited too
        clear_damaged_cache(settings.path("output_dir"))
        build(settings, (), strict=strict)
        served.refresh(settings)  # before the preview reloads and asks for them
        _publish(status, [])
        kept = "the preview shows the new text; the last good PDFs are unchanged"
        result = build(settings, ("dossier", "handouts"), pool, strict)
    except BuildError as exc:
        lines = [str(p) for p in exc.problems]
    except Exception as exc:  # a file vanishing mid-save, and the like
        lines = [f"the build stopped: {type(exc).__name__}: {exc}"]
    else:
        served.refresh(settings)  # the PDFs it wrote
        _render_pages(settings, pages, (result.page_sources, result.part_starts), status, say)
        for warning in result.warnings:
            say(str(warning))
        lines = [str(p) for p in result.failed]
        if not lines:
            say(f"rebuilt in {time.perf_counter() - started:.1f} s: {result.pages} pages, {result.typeset_parts} of {result.parts} parts typeset")
            return
    for line in lines:
        say(line)
    say(f"build failed; {kept}")
    _publish(status, lines)


def _render_pages(settings: Settings, pages: Pages, sources: tuple[list, list], status: Status, say) -> None:
    """The dossier's pages that changed, rendered for the page view, which then reloads; where
    each block starts on them and where each part starts (``sources``), for a click on a page."""
    started = time.perf_counter()
    try:
        changed = pages.update(settings.path("output_dir") / "dossier.pdf", sources if sources[0] else None)
    except Exception as exc:  # a PDF pdfium or qpdf cannot read: the page view keeps the last pages
        say(f"the page view could not render the PDF: {type(exc).__name__}: {exc}")
        return
    if changed:
        say(f"rendered {pages.rendered} of {len(pages.sizes)} pages for the preview in {time.perf_counter() - started:.2f} s")
        with status.lock:
            status.pages += 1


def _publish(status: Status, errors: list[str]) -> None:
    with status.lock:
        status.errors = errors
        status.version += 1
