"""The page view of ``build.py watch``: the dossier PDF's pages as images, beside the reading HTML.

After each build that wrote ``dossier.pdf``, ``Pages.update`` reads it once, hashes each page's
content (its content streams and the forms and images it draws, not the fonts: WeasyPrint keeps
the glyph ids when it subsets, and the merge joins the subsets, so a font's program changes
whenever any part gains a glyph while no page drawn with it changes), and renders with pdfium,
at 96 dpi, only the pages whose hash changed. The PNGs stay in memory, in this process; the
preview server hands them out as ``/__pages/<n>.png``. ``page_view`` is the page at ``/``: the
page images, lazily loaded, on the left, the reading HTML in a frame on the right; it scrolls
to the first page that changed after it reloads.
"""
from __future__ import annotations

import bisect
import hashlib
import html
import io
import json
import threading
from pathlib import Path

import pikepdf
import pypdfium2

DPI = 96


class Pages:
    """The rendered pages of the last dossier PDF (1-based page -> PNG), their sizes in points,
    the first page that changed in the last update and, per page, where each source block
    starts on it (``sources``: for ``source_at``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.images: list[bytes] = []
        self.sizes: list[tuple[float, float]] = []
        self.digests: list[str] = []
        self.changed = 0  # the first page that changed in the last update (1-based), 0: none yet
        self.rendered = 0  # pages rendered in the last update
        self.sources: list[list[tuple[float, float, str]]] = []  # per page: (top, left, "path:line"), top to bottom
        self.part_starts: list[int] = [0]  # the first page (0-based) of each part
        self._read: tuple[int, int] | None = None  # the PDF's (mtime, size) at the last update

    def update(self, pdf: Path, sources: tuple[list, list[int]] | None = None) -> bool:
        """Render the pages of ``pdf`` that changed since the last update; whether any did.
        ``sources``: per page, where each block starts on it, and the first page of each part."""
        try:
            info = pdf.stat()
            if (info.st_mtime_ns, info.st_size) == self._read and sources is None:
                return False
            data = pdf.read_bytes()
        except OSError:
            return False
        digests, sizes = page_digests(data)
        with self.lock:
            old = list(self.digests)
        changed = [n for n, digest in enumerate(digests) if n >= len(old) or old[n] != digest]
        images = {}
        if changed:
            document = pypdfium2.PdfDocument(data)
            try:
                for n in changed:
                    images[n] = render(document[n])
            finally:
                document.close()
        with self.lock:
            self.images = [images.get(n) or self.images[n] for n in range(len(digests))]
            self.sizes, self.digests, self._read = sizes, digests, (info.st_mtime_ns, info.st_size)
            if sources is not None:
                self.sources, self.part_starts = sources
            self.rendered = len(changed)
            if changed or len(digests) < len(old):
                self.changed = (changed[0] if changed else len(digests) - 1) + 1
                return True
        return False

    def image(self, number: int) -> bytes | None:
        with self.lock:
            return self.images[number - 1] if 1 <= number <= len(self.images) else None

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps({"changed": self.changed, "sizes": self.sizes, "digests": self.digests, "dpi": DPI}).encode()

    def source_at(self, number: int, x: float, y: float) -> str | None:
        """The source location of the block nearest above the point (pt from the page's top left)
        of page ``number``: the last block starting above it on the page (nearest the point's
        column where two start at one height), else the last block of an earlier page of its
        part (one going on from there); none on a page where no block starts (the contents, the
        bibliography: not written in Markdown)."""
        with self.lock:
            if not 1 <= number <= len(self.sources) or not self.sources[number - 1]:
                return None
            first = max(start for start in [0, *self.part_starts] if start < number) + 1  # its part's first page
            for page in range(number, first - 1, -1):
                starts = self.sources[page - 1]
                if page < number:
                    if starts:
                        return starts[-1][2]
                    continue
                index = bisect.bisect_right([top for top, _, _ in starts], y)
                if index:
                    top = starts[index - 1][0]
                    same = [s for s in starts[:index] if s[0] == top]
                    return min(same, key=lambda s: (s[1] > x, abs(s[1] - x)))[2]
        return None


def page_digests(data: bytes) -> tuple[list[str], list[tuple[float, float]]]:
    """A digest of what each page draws, and its size in points."""
    digests, sizes = [], []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            box = [float(v) for v in page.mediabox]
            sizes.append((round(box[2] - box[0], 2), round(box[3] - box[1], 2)))
            digest = hashlib.sha256(repr((box, int(page.obj.get("/Rotate", 0)))).encode())
            _hash_drawing(page.obj, digest, set())
            digests.append(digest.hexdigest())
    return digests, sizes


def _hash_drawing(holder, digest, seen: set) -> None:
    """Hash the content streams of a page or form, then the forms and images it names, in turn."""
    contents = holder.get("/Contents") if "/Contents" in holder else None
    streams = [holder] if isinstance(holder, pikepdf.Stream) else []
    if contents is not None:
        streams += list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    for stream in streams:
        digest.update(stream.read_raw_bytes())
    resources = holder.get("/Resources")
    objects = resources.get("/XObject") if resources is not None else None
    for name, xobject in (sorted(objects.items()) if objects is not None else ()):
        key = xobject.objgen
        digest.update(name.encode())
        if key != (0, 0) and key in seen:
            continue
        seen.add(key)
        _hash_drawing(xobject, digest, seen)


def render(page) -> bytes:
    """One page as a PNG at DPI (quick to write, not the smallest)."""
    bitmap = page.render(scale=DPI / 72)
    buffer = io.BytesIO()
    bitmap.to_pil().save(buffer, "PNG", compress_level=1)
    page.close()
    return buffer.getvalue()


PAGE_VIEW_STYLE = """
html, body { margin: 0; height: 100vh; overflow: hidden; }
body { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); font: 14px sans-serif; }
#pages { position: relative; height: 100vh; box-sizing: border-box; overflow-y: auto; background: #777; padding: 12px 0; }
#pages img { display: block; margin: 0 auto 12px; max-width: calc(100% - 24px); height: auto;
             background: #fff; box-shadow: 0 1px 4px #0006; cursor: crosshair; }
#pages p { color: #fff; text-align: center; }
iframe { border: 0; border-left: 1px solid #999; width: 100%; height: 100vh; box-sizing: border-box; }
"""

PAGE_VIEW_SCRIPT = """<script>
(function () {
  var view = document.getElementById("pages"), frame = document.querySelector("iframe");
  var version = document.body.dataset.pages, seen = sessionStorage.getItem("__pages_seen");
  var changed = document.getElementById("page-" + document.body.dataset.changed);
  if (seen !== null && seen !== version && changed) view.scrollTop = changed.offsetTop - 12;
  else view.scrollTop = +(sessionStorage.getItem("__pages_top") || 0);
  sessionStorage.setItem("__pages_seen", version);
  frame.addEventListener("load", function () {
    frame.contentWindow.scrollTo(0, +(sessionStorage.getItem("__reading_top") || 0));
  });
  window.addEventListener("beforeunload", function () {
    sessionStorage.setItem("__pages_top", view.scrollTop);
    try { sessionStorage.setItem("__reading_top", frame.contentWindow.scrollY); } catch (e) {}
  });
  view.addEventListener("click", function (event) {
    var img = event.target;
    if (img.tagName !== "IMG") return;
    var box = img.getBoundingClientRect(), scale = +img.dataset.width / box.width;
    var x = (event.clientX - box.left) * scale, y = (event.clientY - box.top) * scale;
    fetch("/__source?page=" + img.dataset.page + "&x=" + x.toFixed(1) + "&y=" + y.toFixed(1))
      .then(function (r) { return r.json(); })
      .then(function (s) { window.__showSource(s.source || "no source found here"); });
  });
})();
</script>"""


def page_view(pages: Pages, reading_url: str, version: int, scripts: str) -> bytes:
    """The page at ``/``: the page images beside the reading HTML; ``scripts`` reload it and show
    the build's problems and a clicked block's source."""
    with pages.lock:
        sizes, digests, changed = list(pages.sizes), list(pages.digests), pages.changed
    images = [
        f'<img id="page-{n}" data-page="{n}" data-width="{w}" src="/__pages/{n}.png?{digests[n - 1][:12]}" '
        f'width="{round(w * DPI / 72)}" height="{round(h * DPI / 72)}" loading="lazy" alt="page {n}">'
        for n, (w, h) in enumerate(sizes, 1)]
    body = "\n".join(images) or "<p>The pages appear here once the PDF is built.</p>"
    text = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Preview</title>'
            f"<style>{PAGE_VIEW_STYLE}</style></head>"
            f'<body data-pages="{version}" data-changed="{changed}"><div id="pages">{body}</div>'
            f'<iframe src="{html.escape(reading_url)}" title="The reading HTML"></iframe>'
            f"{scripts}{PAGE_VIEW_SCRIPT}</body></html>")
    return text.encode("utf-8")
