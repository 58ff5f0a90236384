"""A real headless browser for the tests: Debian's Chromium, driven over the Chrome DevTools
Protocol with a websocket (``websockets``, no browser download). ``make test`` installs
Chromium with apt where it is missing; ``CHROMIUM`` names another executable."""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

from websockets.sync.client import connect

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def executable() -> str | None:
    return os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, NAMES)), None)


class Browser:
    """One headless Chromium with one page; ``evaluate`` runs JavaScript in it."""

    def __init__(self, width: int = 1400, height: int = 900):
        path = executable()
        if path is None:
            raise RuntimeError("no Chromium to test the preview with: install Debian's (apt-get install chromium; "
                               "`make test` does it) or name one in CHROMIUM")
        self.profile = tempfile.mkdtemp(prefix="dossier-chromium-")
        self.closing = contextlib.ExitStack()
        self.process = subprocess.Popen(
            [path, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            port = self._port()
            threading.Thread(target=self.process.stderr.read, daemon=True).start()  # its chatter, unread, never blocks it
            deadline = time.monotonic() + 20
            while True:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
                    targets = [t for t in json.load(response) if t["type"] == "page"]
                if targets or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.socket = self.closing.enter_context(connect(targets[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=10))
        except BaseException:
            self.close()
            raise
        self.ids = itertools.count(1)

    def _port(self) -> int:
        """The port Chromium chose, from the line it writes on starting (within 20 s)."""
        deadline = time.monotonic() + 20
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            seen.append(line)
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if match:
                return int(match.group(1))
        raise RuntimeError("Chromium did not start:\n" + "".join(seen[-20:]))

    def send(self, method: str, **params):
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def click(self, x: float, y: float) -> None:
        """A real mouse click at (x, y), CSS pixels from the window's top left."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def close(self) -> None:
        self.closing.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
