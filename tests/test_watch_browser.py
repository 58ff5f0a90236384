"""build.py watch in a real headless browser (Chromium, tests/browser.py): the page view at / shows
the PDF's pages as images, reloads after a save within 2 s, scrolls to the page that changed,
shows a failed build's problems over the pages, and a click on a paragraph, in the reading HTML
or on a page image, shows where it is written."""
import json
import shutil
import signal
import subprocess
import sys
import time

import pypdfium2 as pdfium

from browser import Browser
from test_watch import REPO, free_port, get, wait_for

PAGE_VIEW_LOADED = """(() => {
  const images = [...document.querySelectorAll("#pages img")];
  return images.length && images[0].complete && images[0].naturalWidth > 0
    ? {pages: document.body.dataset.pages, count: images.length, width: images[0].naturalWidth,
       declared: +images[0].getAttribute("width")} : null;
})()"""


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
            searcher = textpage.search(text)
            found = searcher.get_next()
            if found:
                left, _, _, top = textpage.get_charbox(found[0])
                return number + 1, left, page.get_height() - top
    finally:
        document.close()
    raise AssertionError(f"{text!r} is on no page")


def test_page_view_in_a_browser(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(REPO / "tests" / "projects" / "minimal", root, ignore=shutil.ignore_patterns("output"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    watch = subprocess.Popen([sys.executable, str(REPO / "build.py"), "watch", "--root", str(root), "--port", str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    browser = None
    try:
        status = lambda: json.loads(get(f"{base}/__status"))
        browser = Browser()  # starting while watch builds
        wait_for(lambda: status()["pages"] >= 1)
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
        before = status()["pages"]
        chapter.write_text(chapter.read_text(encoding="utf-8").replace("A later citation", "An edited citation"), encoding="utf-8")
        saved = time.monotonic()
        changed = poll(browser, f"""(() => {{
          const page = document.getElementById("page-" + document.body.dataset.changed);
          return document.body.dataset.pages !== "{before}" && page && page.complete && page.naturalWidth > 0
            && document.getElementById("pages").scrollTop > 0 ? +document.body.dataset.changed : 0;
        }})()""", 10)
        latency = time.monotonic() - saved
        number, left, top = page_of(pdf, "An edited citation")
        assert changed == number == 7
        assert latency < 2.0, f"the page view showed the edit {latency:.2f} s after the save"
        view = browser.evaluate(f"""(() => {{
          const view = document.getElementById("pages"), page = document.getElementById("page-{number}");
          return [view.scrollTop, page.offsetTop];
        }})()""")
        assert abs(view[0] - (view[1] - 12)) < 2  # scrolled to the changed page
        print(f"page view reloaded {latency:.2f} s after the save")

        # A click on the paragraph in the reading HTML, then on its line in the page image: its source.
        poll(browser, "document.querySelector('iframe').contentDocument.body.innerText.includes('An edited citation')", 5)
        x, y = browser.evaluate("""(() => {
          const frame = document.querySelector("iframe"), document_ = frame.contentDocument;
          const paragraph = [...document_.querySelectorAll("p")].find(p => p.textContent.includes("An edited citation"));
          paragraph.scrollIntoView();
          const box = paragraph.getBoundingClientRect(), outer = frame.getBoundingClientRect();
          return [outer.left + box.left + 5, outer.top + box.top + box.height / 2];
        })()""")
        browser.click(x, y)
        assert poll(browser, "(b => b && b.value)(document.getElementById('__source'))", 5) == "content/02-second.md:7"
        browser.evaluate("document.getElementById('__source').value = ''")
        x, y = browser.evaluate(f"""(() => {{
          const image = document.getElementById("page-{number}"), box = image.getBoundingClientRect();
          const scale = box.width / +image.dataset.width;
          return [box.left + {left + 20} * scale, box.top + {top + 4} * scale];
        }})()""")
        browser.click(x, y)
        assert poll(browser, "(b => b && b.value)(document.getElementById('__source'))", 5) == "content/02-second.md:7"

        # A failed build: its problem is shown over the page view.
        chapter.write_text("---\nbogus: 1\n---\nText.\n", encoding="utf-8")
        errors = poll(browser, """(() => {
          const box = document.getElementById("__build_errors");
          return box && document.elementFromPoint(20, 20) === box ? box.textContent : null;
        })()""", 10)
        assert "content/02-second.md:2" in errors
        assert browser.evaluate("!document.querySelector('iframe').contentDocument.getElementById('__build_errors')")
    finally:
        if browser is not None:
            browser.close()
        watch.send_signal(signal.SIGINT)
        output, _ = watch.communicate(timeout=30)
    assert watch.returncode == 0, output
    assert "Traceback" not in output
