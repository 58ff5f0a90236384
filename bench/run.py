#!/usr/bin/env python3
"""Benchmark: the build's targets, measured side by side in one run.

    .venv/bin/python bench/run.py [--runs 3] [--scale 10]

Everything runs on scratch copies of the project in a temporary folder (the repository
minus .git, .venv, output, tests, bench, docs and caches), with their own copy of the code,
so that edits made in the checkout meanwhile do not change the code under test; its bytecode
is compiled first, as `make` does. Every build is a fresh process, `build.py ... --root COPY`
run by this Python (the repository's .venv). Each run measures, in this order:

  clean pdf     `build.py pdf` from an empty output/
  one call      one stock WeasyPrint call on that output/dossier.html, in a fresh process
  clean make    `build.py all` from an empty output/
  no-op make    `build.py all` again, nothing changed
  edit make     `build.py all` after one word of one sentence of 02-lithuania.md changed
  watch         a `build.py watch --port 0` process, started for the run: the same kind of
                edit, timed from the file's save to the preview's /__status version
                changing, and to its "rebuilt in" line (the PDF written)
  xN clean make `build.py all` from an empty output/ on a copy whose chapters are repeated
                --scale times

then, in a run of its own, the peak memory of the xN clean make, its whole process tree
summed, sampled from /proc. Each edit puts a word never used before in the run into the
sentence, so that no edit finds its text in the cache. Prints the figures (medians over
the runs) and the ratios the targets are stated in; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
IGNORE = shutil.ignore_patterns(".git", ".venv", "output", "tests", "bench", "docs", "__pycache__", ".*_cache")
ONE_CALL = "import sys, weasyprint; weasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])"

EDITED = "content/02-lithuania.md"  # the largest chapter
SENTENCE = re.compile(r"(For Lithuania the treaty was a )(\S+)( milestone on the way to international recognition\.)")
WORDS = ("critical", "pivotal", "crucial", "vital", "landmark", "notable", "historic", "momentous",
         "telling", "weighty", "definite", "signal")


# The projects

def make_project(into: Path, scale: int = 1) -> Path:
    """A copy of the project, its chapters repeated ``scale`` times under new names."""
    root = into / f"dossier-x{scale}"
    shutil.copytree(REPO, root, ignore=IGNORE)
    chapters = sorted((root / "content").glob("*.md"))
    for copy in range(2, scale + 1):
        for chapter in chapters:
            stem = re.sub(r"^\d+-", "", chapter.stem)
            target = root / "content" / f"{copy:02d}{chapter.stem[:2]}-{stem}-{copy}.md"
            shutil.copyfile(chapter, target)
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(root / "dossier")], check=True)  # as `make` does
    return root


class Editor:
    """Changes one word of one sentence of the largest chapter, to a new word each time."""

    def __init__(self):
        self.count = 0

    def __call__(self, root: Path) -> None:
        word = WORDS[self.count % len(WORDS)] + (str(self.count // len(WORDS)) if self.count >= len(WORDS) else "")
        self.count += 1
        path = root / EDITED
        text, found = SENTENCE.subn(lambda m: m[1] + word + m[3], path.read_text(encoding="utf-8"), count=1)
        if not found:
            raise SystemExit(f"bench: the sentence to edit is no longer in {EDITED}: {SENTENCE.pattern}")
        path.write_text(text, encoding="utf-8")


def code_version() -> str:
    """The checkout's commit, and the files of the code that differ from it (others' edits in progress)."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "--", "build.py", "dossier", "templates", "fonts"],
                             capture_output=True, text=True).stdout.split("\n")
    changed = [line[3:] for line in changed if line.strip()]
    return head + (f", with uncommitted changes to {', '.join(changed)}" if changed else "")


# Fresh processes

def build(root: Path, output: str, clean: bool = False) -> tuple[float, str]:
    """Wall time of `build.py OUTPUT --root ROOT` (from an empty output/ if ``clean``), and what it printed."""
    if clean:
        shutil.rmtree(root / "output", ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run([PYTHON, str(root / "build.py"), output, "--root", str(root)], cwd=root,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"bench: build.py {output} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds, done.stdout


def one_call(root: Path) -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", ONE_CALL, str(root / "output" / "dossier.html"), str(root.parent / "one-call.pdf")],
                   cwd=root, check=True)
    return time.perf_counter() - start


def pages(printed: str) -> int:
    match = re.search(r"wrote \S*dossier\.pdf \((\d+) pages", printed)
    return int(match[1]) if match else 0


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def peak_memory(root: Path) -> int:
    """Peak memory of a clean `build.py all`, its process tree sampled every 20 ms."""
    shutil.rmtree(root / "output", ignore_errors=True)
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen([PYTHON, str(root / "build.py"), "all", "--root", str(root)], cwd=root,
                                   stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.02)
        if process.returncode:
            errors.seek(0)
            raise SystemExit(f"bench: build.py all failed ({process.returncode}):\n{errors.read()}")
    return peak


# watch

class Watch:
    """A `build.py watch --port 0` process; always stopped (SIGINT, then SIGKILL to its whole
    process group if it has not ended within 30 s) when the ``with`` block ends."""

    def __init__(self, root: Path):
        self.root = root
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()  # (time it arrived, line)
        self.process = subprocess.Popen([PYTHON, str(root / "build.py"), "watch", "--port", "0", "--root", str(root)],
                                        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for localhost

    def __enter__(self) -> Watch:
        try:
            first = self._next_line(60)
            match = re.match(r"preview: http://127\.0\.0\.1:(\d+)/", first)
            if not match:
                raise SystemExit(f"bench: watch started with {first!r}")
            self.port = int(match[1])
            self._wait_rebuilt(300)  # the build it starts with
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def edit(self, editor: Editor) -> tuple[float, float]:
        """Seconds from one edit's save to the preview's new version, and to the PDF rebuilt."""
        while not self.lines.empty():
            self.lines.get()
        version = self.status()["version"]
        editor(self.root)
        saved = time.perf_counter()
        deadline = saved + 300
        while (status := self.status())["version"] == version:
            if time.perf_counter() > deadline or self.process.poll() is not None:
                raise SystemExit("bench: the preview's version did not change after an edit")
            time.sleep(0.02)
        previewed = time.perf_counter()
        if status["errors"]:
            raise SystemExit("bench: watch: the build failed:\n" + "\n".join(status["errors"]))
        return previewed - saved, self._wait_rebuilt(300) - saved

    def status(self) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/__status", headers={"Host": f"127.0.0.1:{self.port}"})
        with self.opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        try:  # anything of its group still there (a worker, its fork server)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.reader.join(10)  # it has read to the end

    def _read(self) -> None:
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put((time.perf_counter(), line.rstrip("\n")))
        self.lines.put((time.perf_counter(), ""))  # it ended

    def _next_line(self, timeout: float) -> str:
        try:
            line = self.lines.get(timeout=timeout)[1]
        except queue.Empty:
            raise SystemExit(f"bench: watch printed nothing for {timeout} s") from None
        if not line and self.process.poll() is not None:
            raise SystemExit(f"bench: watch ended ({self.process.returncode})")
        return line

    def _wait_rebuilt(self, timeout: float) -> float:
        """The time the next "rebuilt in" line arrived."""
        deadline = time.perf_counter() + timeout
        seen = []
        while True:
            try:
                arrived, line = self.lines.get(timeout=max(deadline - time.perf_counter(), 0.01))
            except queue.Empty:
                raise SystemExit(f"bench: watch did not rebuild within {timeout} s") from None
            seen.append(line)
            if line.startswith("rebuilt in"):
                return arrived
            if line.startswith("build failed") or (not line and self.process.poll() is not None):
                raise SystemExit("bench: watch: the build failed:\n" + "\n".join(seen))


# The run

def measure(args, scratch: Path) -> tuple[dict[str, list[float]], dict]:
    info = {"code": code_version()}
    root = make_project(scratch)
    large = make_project(scratch, args.scale) if args.scale > 1 else root
    edit = Editor()
    figures: dict[str, list[float]] = {}

    def add(name, value):
        figures.setdefault(name, []).append(value)

    for run in range(1, args.runs + 1):
        print(f"run {run} of {args.runs}...", file=sys.stderr, flush=True)
        seconds, printed = build(root, "pdf", clean=True)
        add("clean pdf", seconds)
        info["pages"] = pages(printed)
        add("one call", one_call(root))
        add("clean make", build(root, "all", clean=True)[0])
        add("no-op make", build(root, "all")[0])
        edit(root)
        add("edit make", build(root, "all")[0])
        with Watch(root) as watch:
            to_preview, to_pdf = watch.edit(edit)
        add("watch: preview", to_preview)
        add("watch: pdf", to_pdf)
        seconds, printed = build(large, "all", clean=True)
        add("large make", seconds)
        info["large pages"] = pages(printed)
    print("peak memory...", file=sys.stderr, flush=True)
    info["memory"] = peak_memory(large)
    return figures, info


def report(args, figures: dict[str, list[float]], info: dict) -> None:
    m = {name: statistics.median(values) for name, values in figures.items()}
    version = subprocess.run([PYTHON, "-c", "import weasyprint; print(weasyprint.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    x = f"x{args.scale}"
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"WeasyPrint {version}; wall-clock seconds, {args.runs} runs and their median")
    print(f"code: the checkout at {info['code']} (copied at the start)")
    print(f"project x1: {info['pages']} pages; {x}: {info['large pages']} pages")
    rows = [("clean pdf", "build.py pdf, from an empty output/"),
            ("one call", "one stock WeasyPrint call on output/dossier.html"),
            ("clean make", "build.py all, from an empty output/"),
            ("no-op make", "build.py all, nothing changed"),
            ("edit make", "build.py all, after a one-word edit"),
            ("watch: preview", "watch: save -> /__status version changed"),
            ("watch: pdf", 'watch: save -> "rebuilt in" (PDF written)'),
            ("large make", f"{x}: build.py all, from an empty output/")]
    print(f"{'':<50}" + "".join(f"{'run ' + str(i + 1):>8}" for i in range(args.runs)) + f"{'median':>9}")
    for name, label in rows:
        print(f"{label:<50}" + "".join(f"{v:8.2f}" for v in figures[name]) + f"{m[name]:9.2f}")
    print(f"{x + ': peak memory of build.py all, all processes':<50}{info['memory'] / 2**30:8.2f} GiB (a run of its own)")
    print("targets (ratios of the medians)")
    targets = [("1. clean pdf / one WeasyPrint call", f"{m['clean pdf'] / m['one call']:.2f}", "≤ 0.65"),
               ("2a. watch: save -> preview", f"{m['watch: preview']:.2f} s", "≤ 0.5 s"),
               ("2b. watch: save -> PDF / clean make", f"{m['watch: pdf'] / m['clean make']:.1%}", "≤ 50 %"),
               ("3. edit make / clean make", f"{m['edit make'] / m['clean make']:.1%}", "≤ 70 %"),
               ("4. no-op make / clean make", f"{m['no-op make'] / m['clean make']:.1%}", "≤ 5 %"),
               (f"5. {x} clean make / x1 clean make", f"{m['large make'] / m['clean make']:.2f}", f"≤ {args.scale}"),
               (f"   {x} peak memory", f"{info['memory'] / 2**30:.2f} GiB", "< 1.5 GiB")]
    for label, value, target in targets:
        print(f"{label:<40}{value:>10}   (target {target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped as by Ctrl-C: its watch process too
    try:
        with tempfile.TemporaryDirectory(prefix="dossier-bench-") as scratch:
            figures, info = measure(args, Path(scratch))
    except KeyboardInterrupt:
        raise SystemExit("bench: interrupted") from None
    report(args, figures, info)


if __name__ == "__main__":
    main()
