"""``build.py watch``: rebuild on every save, with a live HTML preview on localhost.

The loop looks at the inputs (chapters, bibliography, data, templates, styles, settings)
a few times a second. On a change it rebuilds the HTML first, so the preview reloads at
once, then the PDF, incrementally. A build that fails prints its problems in the terminal
and shows them over the preview; the last good outputs stay as they were. Ctrl-C stops.

The preview server listens on 127.0.0.1 only, answers only requests addressed to it by
that name, and serves the outputs and the files they use (styles, fonts, the chapters'
images), nothing else. Each page it serves gets a small script that asks ``/__status``
for the build's version and reloads when it changes.
"""
from __future__ import annotations

import json
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from .fingerprint import input_files
from .pipeline import build
from .problems import BuildError
from .project import TOOL_ROOT, Settings, load_settings
from .typeset.pool import Pool

RELOAD_SCRIPT = """<script>
(function () {
  var seen = null;
  function show(errors) {
    var box = document.getElementById("__build_errors");
    if (!errors.length) { if (box) box.remove(); return; }
    if (!box) { box = document.createElement("pre"); box.id = "__build_errors"; document.body.prepend(box); }
    box.style.cssText = "position:fixed;top:0;left:0;right:0;margin:0;padding:1em;background:#fff3f3;border-bottom:3px solid #b00;color:#600;font:13px monospace;white-space:pre-wrap;z-index:9999";
    box.textContent = "The last build failed; this preview shows the last good one.\\n\\n" + errors.join("\\n");
  }
  function poll() {
    fetch("/__status").then(function (r) { return r.json(); }).then(function (s) {
      if (seen !== null && s.version !== seen) { location.reload(); return; }
      seen = s.version; show(s.errors);
    }).catch(function () {}).finally(function () { setTimeout(poll, 150); });
  }
  poll();
})();
</script>"""


class Status:
    def __init__(self):
        self.version = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps({"version": self.version, "errors": self.errors}).encode()


class PreviewHandler(SimpleHTTPRequestHandler):
    """Serves the outputs and the files they use (styles, fonts, images), nothing else.

    Paths are resolved (symbolic links followed) and must land inside one of ``allowed``;
    there are no directory listings; and a request must name this server as its host, so
    that a web page cannot reach it under another name (DNS rebinding).
    """

    def __init__(self, *args, status: Status, allowed: list[Path], **kwargs):
        self.status = status
        self.allowed = allowed
        super().__init__(*args, **kwargs)

    def do_GET(self):
        port = self.server.server_address[1]
        if self.headers.get("Host") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return self.send_error(403, "unknown host")
        if self.path == "/__status":
            return self._send(200, "application/json", self.status.as_json())
        path = Path(self.translate_path(self.path)).resolve()
        if not path.is_file() or not any(path.is_relative_to(folder) for folder in self.allowed):
            return self.send_error(404)
        if path.suffix == ".html":
            text = path.read_text(encoding="utf-8").replace("</body>", RELOAD_SCRIPT + "</body>", 1)
            return self._send(200, "text/html; charset=utf-8", text.encode("utf-8"))
        return self._send(200, self.guess_type(str(path)), path.read_bytes())

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
    status = Status()
    allowed = [settings.path(name).resolve() for name in ("output_dir", "content_dir", "templates_dir")]
    allowed += [(TOOL_ROOT / "templates").resolve(), (TOOL_ROOT / "fonts").resolve()]
    handler = partial(PreviewHandler, directory=str(settings.root), status=status, allowed=allowed)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    html = settings.path("output_dir") / "dossier.html"
    say(f"preview: http://127.0.0.1:{server.server_address[1]}/{html.relative_to(settings.root).as_posix()}")
    say("watching content, bibliography, data, templates and styles; Ctrl-C stops")
    stop = stop or threading.Event()
    seen: dict = {}
    try:
        while not stop.is_set():
            current = snapshot(settings)
            if current != seen:
                seen = current
                _rebuild(settings.root, overrides, status, say, pool, strict)
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        say("stopped")


def _rebuild(root: Path, overrides: dict | None, status: Status, say, pool: Pool | None, strict: bool) -> None:
    """HTML first (the preview reloads), then the PDFs; problems go to the terminal and the preview.

    Nothing that goes wrong in one rebuild ends the loop: the next save tries again.
    """
    started = time.perf_counter()
    try:
        settings = load_settings(root, overrides)  # the settings may have been edited too
        build(settings, (), strict=strict)
        _publish(status, [])
        result = build(settings, ("dossier", "handouts"), pool, strict)
    except BuildError as exc:
        lines = [str(p) for p in exc.problems]
    except Exception as exc:  # a file vanishing mid-save, and the like
        lines = [f"the build stopped: {type(exc).__name__}: {exc}"]
    else:
        for warning in result.warnings:
            say(str(warning))
        lines = [str(p) for p in result.failed]
        if not lines:
            say(f"rebuilt in {time.perf_counter() - started:.1f} s: {result.pages} pages, {result.typeset_parts} of {result.parts} parts typeset")
            return
    for line in lines:
        say(line)
    say("build failed; the last good outputs are unchanged")
    _publish(status, lines)


def _publish(status: Status, errors: list[str]) -> None:
    with status.lock:
        status.errors = errors
        status.version += 1
