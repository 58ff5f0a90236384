"""build.py watch: rebuilds on save, serves a preview on 127.0.0.1 (the pages as they print beside the HTML)
with errors shown, stops on Ctrl-C."""
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pypdfium2 as pdfium

from browser import Browser

REPO = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8")


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def png(path):
    """A 1 x 1 white PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00\xff")) + chunk(b"IEND", b""))


def wait_for(predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("timed out")


PAGE_VIEW_LOADED = """(() => {
  const images = [...document.querySelectorAll("#pages img")];
  return images.length && images[0].complete && images[0].naturalWidth > 0
    ? {count: images.length, width: images[0].naturalWidth, declared: +images[0].getAttribute("width")} : null;
})()"""
SOURCE_SHOWN = "(b => b && b.value)(document.getElementById('__source'))"


def poll(browser, expression, seconds):
    """The expression's value once it is truthy (a page reloading meanwhile is waited out)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = browser.evaluate(expression)
            if value:
                return value
        except RuntimeError:  # the page went away under the expression: it is reloading
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s: {expression}")
        time.sleep(0.02)


def page_of(pdf, text):
    """The 1-based page of ``pdf`` holding ``text``, and the text's top left on it, pt from the top left."""
    document = pdfium.PdfDocument(pdf)
    try:
        for number in range(len(document)):
            page = document[number]
            textpage = page.get_textpage()
            found = textpage.search(text).get_next()
            if found:
                left, _, _, top = textpage.get_charbox(found[0])
                return number + 1, left, page.get_height() - top
    finally:
        document.close()
    raise AssertionError(f"{text!r} is on no page")


def test_watch_rebuilds_previews_reports_and_stops(tmp_path):
    """Over HTTP and in a real headless browser (Chromium, tests/browser.py): the page view at /
    shows the PDF's pages as images, reloads within 2 s of a save, scrolled to the page that
    changed; a click on a paragraph, in the reading HTML or on a page image, shows where it is
    written; a failed build's problems show over the pages; Ctrl-C stops."""
    root = tmp_path / "project"
    shutil.copytree(REPO / "tests" / "projects" / "minimal", root, ignore=shutil.ignore_patterns("output"))
    png(root / "content" / "images" / "map.png")
    port = free_port()
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "watch", "--root", str(root), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    browser = None
    try:
        status = lambda: json.loads(get(f"{base}/__status"))
        browser = Browser()  # starting while watch builds
        wait_for(lambda: status()["pages"] >= 1)
        first = status()
        assert first["errors"] == []
        page = get(f"{base}/output/dossier.html")
        assert "/__status" in page and "A later citation" in page
        assert "__status" not in (root / "output" / "dossier.html").read_text(encoding="utf-8")  # the file stays clean
        assert status_of(f"{base}/content/images/map.png") == 404  # named by no output

        browser.open(f"{base}/")
        shown = poll(browser, PAGE_VIEW_LOADED, 10)
        pdf = root / "output" / "dossier.pdf"
        assert shown["count"] == len(pdfium.PdfDocument(pdf)) == 9
        assert shown["width"] == shown["declared"] == 794  # A4 at 96 dpi
        assert browser.evaluate("document.querySelector('iframe').contentDocument.body.innerText").count("A later citation") == 1
        browser.evaluate("document.getElementById('pages').scrollTop = 1e6")  # the last page, loaded lazily
        poll(browser, "(i => i.complete && i.naturalWidth > 0)([...document.querySelectorAll('#pages img')].pop())", 5)

        # A save: the page view reloads with the new page, scrolled to it, within 2 s of the save.
        chapter = root / "content" / "02-second.md"
        chapter.write_text(chapter.read_text(encoding="utf-8").replace("A later citation", "An edited citation")
                           + "\n![A map](images/map.png)\n", encoding="utf-8")
        saved = time.monotonic()
        changed = poll(browser, f"""(() => {{
          const page = document.getElementById("page-" + document.body.dataset.changed);
          return document.body.dataset.pages !== "{first['pages']}" && page && page.complete && page.naturalWidth > 0
            && document.getElementById("pages").scrollTop > 0 ? +document.body.dataset.changed : 0;
        }})()""", 10)
        latency = time.monotonic() - saved
        number, left, top = page_of(pdf, "An edited citation")
        assert changed == number == 7
        assert latency < 2.0, f"the page view showed the edit {latency:.2f} s after the save"
        print(f"page view reloaded {latency:.2f} s after the save")
        scrolled, offset = browser.evaluate(f"[document.getElementById('pages').scrollTop, document.getElementById('page-{number}').offsetTop]")
        assert abs(scrolled - (offset - 12)) < 2  # to the changed page
        assert status()["version"] > first["version"] and "An edited citation" in get(f"{base}/output/dossier.html")
        assert status_of(f"{base}/content/images/map.png") == 200  # the rebuilt HTML names it: served from then on

        # A click on the paragraph in the reading HTML, then on its line in the page image: its source.
        poll(browser, "document.querySelector('iframe').contentDocument.body.innerText.includes('An edited citation')", 5)
        x, y = browser.evaluate("""(() => {
          const frame = document.querySelector("iframe");
          const paragraph = [...frame.contentDocument.querySelectorAll("p")].find(p => p.textContent.includes("An edited citation"));
          paragraph.scrollIntoView();
          const box = paragraph.getBoundingClientRect(), outer = frame.getBoundingClientRect();
          return [outer.left + box.left + 5, outer.top + box.top + box.height / 2];
        })()""")
        browser.click(x, y)
        assert poll(browser, SOURCE_SHOWN, 5) == "content/02-second.md:7"
        browser.evaluate("document.getElementById('__source').value = ''")
        x, y = browser.evaluate(f"""(() => {{
          const image = document.getElementById("page-{number}"), box = image.getBoundingClientRect();
          const scale = box.width / +image.dataset.width;
          return [box.left + {left + 20} * scale, box.top + {top + 4} * scale];
        }})()""")
        browser.click(x, y)
        assert poll(browser, SOURCE_SHOWN, 5) == "content/02-second.md:7"

        # A failed build: its problems in the terminal and over the page view; the last good preview stays.
        chapter.write_text(chapter.read_text(encoding="utf-8").replace("[@senn1962, 503]", "[@sen1962, 503]"), encoding="utf-8")
        errors = wait_for(lambda: status()["errors"])
        assert errors == ["content/02-second.md:7: unknown citation key 'sen1962' (did you mean 'senn1962'?)"]
        shown = poll(browser, """(() => {
          const box = document.getElementById("__build_errors");
          return box && document.elementFromPoint(20, 20) === box ? box.textContent : null;
        })()""", 5)
        assert errors[0] in shown
        assert browser.evaluate("!document.querySelector('iframe').contentDocument.getElementById('__build_errors')")
        assert "An edited citation" in get(f"{base}/output/dossier.html")  # the last good preview stays
    finally:
        if browser is not None:
            browser.close()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output and "stopped" in output
    assert "content/02-second.md:7: unknown citation key 'sen1962'" in output


def test_preview_serves_the_outputs_and_the_files_they_name_only_and_to_its_own_host_only(tmp_path):
    import http.client
    import re
    import threading
    from functools import partial
    from http.server import ThreadingHTTPServer
    from urllib.parse import urljoin, urlsplit

    from dossier.pipeline import build
    from dossier.project import load_settings
    from dossier.watch import PreviewHandler, Served, Status

    root = tmp_path / "project"
    shutil.copytree(REPO / "tests" / "projects" / "minimal", root, ignore=shutil.ignore_patterns("output"))
    png(root / "content" / "images" / "map.png")
    png(root / "content" / "images" / "unused.png")
    chapter = root / "content" / "01-first.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\n![A map](images/map.png)\n", encoding="utf-8")
    settings = load_settings(root)
    build(settings, ())  # output/dossier.html only: nothing typeset
    shutil.copy(REPO / "content" / "treaties.yaml", root / "content" / "treaties.yaml")
    output = root / "output"
    (output / "dossier.pdf").write_bytes(b"%PDF-1.7 the dossier")
    (output / "handouts").mkdir()
    (output / "handouts" / "sheet.pdf").write_bytes(b"%PDF-1.7 a handout")
    (output / ".cache" / "parts").mkdir(parents=True)
    (output / ".cache" / "parts" / "0123.pdf").write_bytes(b"%PDF-1.7 a cached part")
    (output / "escape").symlink_to("/etc")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("secret", encoding="utf-8")
    served = Served()
    served.refresh(settings)
    handler = partial(PreviewHandler, directory=str(root), status=Status(), served=served)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    def fetch(path, host=f"127.0.0.1:{port}"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()

    def resolved(base, reference):  # as a browser resolves it: the path of the URL it asks for
        return urlsplit(urljoin(f"http://127.0.0.1:{port}{base}", reference)).path

    try:
        status, body = fetch("/output/dossier.html")
        assert status == 200 and b"Vilnius and Riga" in body and b"/__status" in body
        page = body.decode("utf-8")
        # What the page names, asked for as a browser asks: resolved against the URL of the file that names it.
        stylesheet = resolved("/output/dossier.html", re.search(r'<link rel="stylesheet" href="([^"]+)"', page)[1])
        status, css = fetch(stylesheet)
        assert status == 200 and b"@font-face" in css
        font = resolved(stylesheet, re.search(r'url\("([^"]+\.ttf)"\)', css.decode("utf-8"))[1])
        status, data = fetch(font)
        assert status == 200 and data[:4] == b"\x00\x01\x00\x00"  # a TrueType font
        image = resolved("/output/dossier.html", re.search(r'<img [^>]*src="([^"]+)"', page)[1])
        assert image == "/content/images/map.png"
        status, data = fetch(image)
        assert status == 200 and data.startswith(b"\x89PNG")
        assert fetch("/output/dossier.pdf") == (200, b"%PDF-1.7 the dossier")
        assert fetch("/output/handouts/sheet.pdf")[0] == 200
        for private in ("/content/01-first.md", "/content/02-second.md", "/content/treaties.yaml", "/bib/refs.bib",
                        "/pyproject.toml", "/content/images/unused.png", "/content/images/", "/output/.cache/parts/0123.pdf",
                        "/output/escape/passwd", "/.git/config", "/output/", "/__pages/1.png", "/__pages/../pyproject.toml",
                        "/__pages/x.png", "/__pages/0.png"):
            assert fetch(private)[0] == 404, private
        status, body = fetch("/")  # the page view, generated: no pages rendered here
        assert status == 200 and b"<iframe" in body and b"<img" not in body
        assert fetch("/output/dossier.html", host="evil.example")[0] == 403

        chapter.write_text(chapter.read_text(encoding="utf-8").replace("images/map.png", "images/unused.png"), encoding="utf-8")
        build(settings, ())
        served.refresh(settings)  # as watch does after each rebuild
        assert fetch("/content/images/unused.png")[0] == 200
        assert fetch("/content/images/map.png")[0] == 404  # no longer named
    finally:
        server.shutdown()
        server.server_close()


def test_a_point_on_a_page_finds_the_block_starting_nearest_above_it_in_its_part():
    from dossier.preview import Pages

    pages = Pages()
    pages.sources = [
        [],  # the contents: no block written in Markdown
        [[100.0, 80.0, "content/01-a.md:2"], [300.0, 80.0, "content/01-a.md:6"], [700.0, 80.0, "content/01-a.md:6"]],
        [[400.0, 80.0, "content/01-a.md:9"]],  # the paragraph of line 6 goes on above it
        [[140.0, 80.0, "content/02-b.md:2"], [500.0, 80.0, "content/02-b.md:7"], [500.0, 300.0, "content/02-b.md:8"]],
    ]
    pages.part_starts = [0, 1, 3]
    assert pages.source_at(2, 90, 310) == "content/01-a.md:6"
    assert pages.source_at(2, 90, 299) == "content/01-a.md:2"
    assert pages.source_at(3, 90, 50) == "content/01-a.md:6"  # from the page before
    assert pages.source_at(4, 90, 100) is None  # above the part's first block: nothing of the part before
    assert pages.source_at(4, 320, 520) == "content/02-b.md:8" and pages.source_at(4, 200, 520) == "content/02-b.md:7"
    assert pages.source_at(1, 90, 400) is None and pages.source_at(9, 0, 0) is None
