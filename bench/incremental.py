#!/usr/bin/env python3
"""Benchmark of the editing loop, on the shipped dossier and on one ten times its size.

    .venv/bin/python bench/incremental.py [--runs 3] [--scale 10]

For each project, each command a fresh `build.py` process, as a user runs it; medians over
the runs:
  full       a build from an empty cache
  one call   WeasyPrint alone, one call on the whole output/dossier.html
  no-op      a rebuild with nothing changed
  edit       a rebuild after one sentence changed in one chapter
  warm edit  the same inside a process that has built before (what `watch` does on a save)
  memory     peak resident memory of a clean build, all its processes together (sampled, in
             a run of its own: sampling would slow the timed runs)
These go through the build server that the first build leaves running (dossier/server.py),
as every build after a user's first does; it is started before the timing, in a socket folder
of the benchmark's own, and stopped after. "full, alone" and "edit, alone" are the same
builds with --no-server: a first build's case, everything loaded in the build's own processes.
The memory is a build's alone (a served build's processes are the server's, not its own).
Prints figures, and the ratios the targets are stated in; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ONE_CALL = "import sys, weasyprint; weasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])"
# The watch loop's case: one process that has already built once, then rebuilds after an edit.
WARM_EDIT = r"""
import sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/bench"]
from pathlib import Path
from dossier.project import load_settings
from dossier.pipeline import build
from dossier.workers import Workers
from incremental import edit_one_sentence
root = Path(sys.argv[2])
with Workers() as workers:  # as `watch` keeps them, from one save to the next
    build(root, ("dossier",), settings=load_settings(root), workers=workers)
    edit_one_sentence(root)
    start = time.perf_counter()
    build(root, ("dossier",), settings=load_settings(root), workers=workers)
    print(time.perf_counter() - start)
"""


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * 4096
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def timed(command: list[str], cwd: Path, memory: bool = False) -> tuple[float, int]:
    """Wall time of one command, and (``memory``) its peak memory, process tree included. The
    sampling costs CPU on a small machine, so a timed run does not sample."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0

    def sample():
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    if memory:
        sampler.start()
    _, err = process.communicate()
    if memory:
        sampler.join()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()}")
    return time.perf_counter() - start, peak


def make_project(scale: int, into: Path) -> Path:
    """A copy of the shipped project, its chapters repeated ``scale`` times."""
    root = into / f"dossier-x{scale}"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(".git", ".venv", "output", "tests", "bench", "__pycache__"))
    chapters = sorted((root / "content").glob("*.md"))
    for copy in range(2, scale + 1):
        for chapter in chapters:
            stem = re.sub(r"^\d+-", "", chapter.stem)
            target = root / "content" / f"{copy:02d}{chapter.stem[:2]}-{stem}-{copy}.md"
            target.write_text(chapter.read_text(encoding="utf-8"), encoding="utf-8")
    return root


def edit_one_sentence(root: Path) -> None:
    """Change one word of one sentence in one chapter, to the next of three, so that an edit
    never brings back a text whose parts are still in the cache from earlier in the run."""
    words = ("thinnest", "slightest", "scantiest")
    chapter = next(p for p in sorted((root / "content").glob("*.md")) if any(w in p.read_text(encoding="utf-8") for w in words))
    text = chapter.read_text(encoding="utf-8")
    old = next(w for w in words if w in text)
    chapter.write_text(text.replace(old, words[(words.index(old) + 1) % len(words)], 1), encoding="utf-8")


def start_server(root: Path) -> None:
    """A build that starts the server; then wait until it answers."""
    from dossier import server

    timed([PYTHON, str(REPO / "build.py"), "html", "--root", str(root)], root)
    # Its socket's name depends on how build.py's Python is set up, not this script's: any
    # socket in the benchmark's own folder is the one.
    folder = Path(os.environ["DOSSIER_SERVER_DIR"])
    deadline = time.monotonic() + 60
    while not any(server._answers(str(p)) for p in folder.glob("*.sock")) and time.monotonic() < deadline:
        time.sleep(0.1)


def measure(root: Path, runs: int) -> dict[str, list[float]]:
    build = [PYTHON, str(REPO / "build.py"), "pdf", "--root", str(root)]  # the dossier, as the one call makes
    alone = [*build, "--no-server"]
    figures: dict[str, list[float]] = {"full": [], "one call": [], "no-op": [], "edit": [], "warm edit": [], "memory": [],
                                       "full, alone": [], "edit, alone": []}
    start_server(root)
    for run in range(runs):
        shutil.rmtree(root / "output", ignore_errors=True)
        figures["full"].append(timed(build, root)[0])
        figures["one call"].append(timed([PYTHON, "-c", ONE_CALL, str(root / "output" / "dossier.html"), "/dev/null"], root)[0])
        figures["no-op"].append(timed(build, root)[0])
        edit_one_sentence(root)
        figures["edit"].append(timed(build, root)[0])
        shutil.rmtree(root / "output", ignore_errors=True)
        figures["full, alone"].append(timed(alone, root)[0])
        edit_one_sentence(root)
        figures["edit, alone"].append(timed(alone, root)[0])
        warm = subprocess.run([PYTHON, "-c", WARM_EDIT, str(REPO), str(root)], capture_output=True, text=True, check=True)
        figures["warm edit"].append(float(warm.stdout.strip().splitlines()[-1]))
    shutil.rmtree(root / "output", ignore_errors=True)
    figures["memory"].append(timed(alone, root, memory=True)[1])  # a clean build, sampled
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    # As `make` leaves it: the pipeline's bytecode compiled (see the Makefile).
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "dossier")], check=True)
    sys.path.insert(0, str(REPO))
    sockets = tempfile.mkdtemp(prefix="bench-")  # the server's, short: a socket's path has a length limit
    os.environ.update({"DOSSIER_SERVER_DIR": f"{sockets}/s", "DOSSIER_SERVER": "1"})
    os.environ.pop("CI", None)
    try:
        results = run_all(args)
    finally:
        subprocess.run([PYTHON, str(REPO / "build.py"), "--stop-server"], capture_output=True)
        shutil.rmtree(sockets, ignore_errors=True)
    report(results, args)


def run_all(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        results = {}
        for scale in dict.fromkeys((1, args.scale)):  # --scale 1: the shipped dossier alone
            root = make_project(scale, Path(scratch))
            figures = measure(root, args.runs)
            results[scale] = {k: statistics.median(v) for k, v in figures.items()}
            # The machine's speed drifts; a run's edit and full build were measured minutes apart.
            results[scale]["edit ratios"] = sorted(e / f for e, f in zip(figures["edit"], figures["full"]))
            results[scale]["alone ratios"] = sorted(e / f for e, f in zip(figures["edit, alone"], figures["full, alone"]))
            pages = subprocess.run(["pdfinfo", str(root / "output" / "dossier.pdf")], capture_output=True, text=True).stdout
            results[scale]["pages"] = int(re.search(r"Pages:\s+(\d+)", pages).group(1)) if "Pages" in pages else 0
    return results


def report(results: dict, args) -> None:
    print(f"medians of {args.runs} runs, fresh processes, {sys.platform}, wall-clock seconds")
    print(f"{'':>6} {'pages':>6} {'full':>7} {'one call':>9} {'no-op':>7} {'edit':>7} {'warm edit':>10} {'memory':>9}"
          f" {'full, alone':>12} {'edit, alone':>12}")
    for scale, r in results.items():
        print(f"{'x' + str(scale):>6} {r['pages']:>6} {r['full']:7.2f} {r['one call']:9.2f} {r['no-op']:7.2f} {r['edit']:7.2f} {r['warm edit']:10.2f} {r['memory'] / 2**20:5.0f} MiB"
              f" {r['full, alone']:12.2f} {r['edit, alone']:12.2f}")
    for scale, r in results.items():
        print(f"x{scale}: full / one call = {r['full'] / r['one call']:.2f} (target ≤ 0.70); "
              f"no-op / full = {r['no-op'] / r['full']:.1%} (≤ 5 %); edit / full = {r['edit'] / r['full']:.1%}, "
              f"warm {r['warm edit'] / r['full']:.1%} (≤ 35 %); edit / full run by run "
              f"{r['edit ratios'][0]:.1%}–{r['edit ratios'][-1]:.1%}; alone (no server) "
              f"{r['edit, alone'] / r['full, alone']:.1%}, run by run {r['alone ratios'][0]:.1%}–{r['alone ratios'][-1]:.1%}")
    small, large = results[1], results[args.scale]
    print(f"x{args.scale} content: {large['full'] / small['full']:.1f}× the time (target ≤ {args.scale + 1}×), "
          f"peak memory {large['memory'] / 2**30:.2f} GiB (target < 1.5 GiB)")


if __name__ == "__main__":
    main()
