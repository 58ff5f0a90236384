"""build.py watch: rebuilds on save, serves a preview on 127.0.0.1 with errors shown, stops on Ctrl-C."""
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8")


def wait_for(predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_watch_rebuilds_previews_reports_and_stops(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(REPO / "tests" / "projects" / "minimal", root, ignore=shutil.ignore_patterns("output"))
    port = free_port()
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "watch", "--root", str(root), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        status = lambda: json.loads(get(f"{base}/__status"))
        wait_for(lambda: (root / "output" / "dossier.pdf").exists())
        first = status()
        assert first["errors"] == []
        page = get(f"{base}/output/dossier.html")
        assert "/__status" in page and "A later citation" in page
        assert "__status" not in (root / "output" / "dossier.html").read_text(encoding="utf-8")  # the file stays clean

        chapter = root / "content" / "02-second.md"
        chapter.write_text(chapter.read_text(encoding="utf-8").replace("A later citation", "An edited citation"), encoding="utf-8")
        wait_for(lambda: status()["version"] > first["version"] and "An edited citation" in get(f"{base}/output/dossier.html"))

        chapter.write_text(chapter.read_text(encoding="utf-8").replace("[@senn1962, 503]", "[@sen1962, 503]"), encoding="utf-8")
        errors = wait_for(lambda: status()["errors"])
        assert errors == ["content/02-second.md:7: unknown citation key 'sen1962' (did you mean 'senn1962'?)"]
        assert "An edited citation" in get(f"{base}/output/dossier.html")  # the last good preview stays
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output and "stopped" in output
    assert "content/02-second.md:7: unknown citation key 'sen1962'" in output


def test_preview_serves_outputs_only_and_to_its_own_host_only(tmp_path):
    import http.client
    import threading
    from functools import partial
    from http.server import ThreadingHTTPServer

    from dossier.watch import PreviewHandler, Status

    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "dossier.html").write_text("<html><body>ok</body></html>", encoding="utf-8")
    (tmp_path / "output" / "escape").symlink_to("/etc")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("secret", encoding="utf-8")
    handler = partial(PreviewHandler, directory=str(tmp_path), status=Status(), allowed=[(tmp_path / "output").resolve()])
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    def fetch(path, host=f"127.0.0.1:{port}"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()

    try:
        status, body = fetch("/output/dossier.html")
        assert status == 200 and b"ok" in body and b"/__status" in body
        assert fetch("/output/escape/passwd")[0] == 404  # a link out of the folder
        assert fetch("/.git/config")[0] == 404
        assert fetch("/output/")[0] == 404  # no listings
        assert fetch("/output/dossier.html", host="evil.example")[0] == 403
    finally:
        server.shutdown()
        server.server_close()
