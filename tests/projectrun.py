"""Builds of small test projects: in this process (fast: the typesetting processes fork from a
fork server that has WeasyPrint loaded already) or as a user runs them, in a process of their own."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dossier import cli

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "tests" / "projects" / "minimal"


def run_process(root, *args, env=None):
    """``build.py`` as a user runs it, in a process of its own."""
    return subprocess.run([sys.executable, str(REPO / "build.py"), "--root", str(root), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_build(root, *args, env=None):
    """The same command in this process (cli.main, its outputs captured): the typesetting
    processes fork from a server that has WeasyPrint loaded already, so that a test does not
    wait for a new interpreter to load it again."""
    out, err = io.StringIO(), io.StringIO()
    saved = {name: os.environ.get(name) for name in env or {}}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(["--root", str(root), *args])
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    return Ran(status, out.getvalue(), err.getvalue())


SAME_DATE = {"SOURCE_DATE_EPOCH": "1600000000"}  # the title page's date, as the first build had it


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
