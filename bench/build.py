#!/usr/bin/env python3
"""Benchmark: the whole (clean) build's time and the share of it spent inside WeasyPrint.

    .venv/bin/python bench/build.py [--runs 5] [--root DIR]

Each run is a fresh process (imports included, as a user's `make` pays them); the
figures are medians over the runs. Prints figures only; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
start = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from dossier.project import load_settings
from dossier.pipeline import build
settings = load_settings(__import__("pathlib").Path(sys.argv[2]), {"output_dir": sys.argv[3]})
result = build(settings.root, ("dossier",), settings=settings)
print(json.dumps({"total": time.perf_counter() - start, "stages": result.timings, "pages": result.pages}))
"""


def one_run(root: Path, output_dir: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(REPO), str(root), output_dir],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--root", type=Path, default=REPO)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-") as out:  # a clean build: no cache
            runs.append(one_run(args.root, out))
    total = statistics.median(r["total"] for r in runs)
    typeset = statistics.median(r["stages"]["typeset"] for r in runs)
    others = {stage: statistics.median(r["stages"][stage] for r in runs) for stage in runs[0]["stages"]}
    print(f"project: {args.root}  ({runs[0]['pages']} pages, {args.runs} runs, medians)")
    print(f"whole build (process start to PDF written): {total:6.2f} s")
    for stage, seconds in others.items():
        print(f"  {stage:<12} {seconds:6.2f} s  {seconds / total:6.1%}")
    print(f"  {'start-up':<12} {total - sum(others.values()):6.2f} s  {(total - sum(others.values())) / total:6.1%}  (interpreter and imports)")
    print(f"inside WeasyPrint (the typeset stage, parts in parallel): {typeset:.2f} s = {typeset / total:.1%} of the whole build")


if __name__ == "__main__":
    main()
