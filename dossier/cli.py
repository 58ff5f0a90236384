"""The command line: ``python build.py`` and ``python -m dossier`` both run ``main``.

Exit status: 0 success; 1 problems in the input (or warnings, with ``--strict``); 2 an internal
error; 130 interrupted (143 on SIGTERM, 129 on SIGHUP). Problems print as ``path:line: message``; on failure the previous
outputs stay as they were.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from . import fingerprint
from .files import clear_damaged_cache
from .problems import ERROR, BuildError, Location, Problem
from .project import TOOL_ROOT, load_settings
from .typeset.pool import Pool

if TYPE_CHECKING:
    from .pipeline import BuildResult

TARGETS_OF = {"all": ("dossier", "handouts", "booklet"), "pdf": ("dossier",), "html": (),
              "handouts": ("handouts",), "booklet": ("booklet",), "print": ("print",)}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Build the dossier from content/*.md, bib/*.bib and templates/.",
        epilog="Settings live in pyproject.toml under [tool.dossier]. "
               "Exit status: 0 success, 1 problems in the input, 2 internal error, 130 interrupted.",
    )
    parser.add_argument("output", nargs="?", default="all", choices=[*TARGETS_OF, "watch"],
                        help="what to build: all (the dossier PDF, the handouts and the booklet; the default), "
                             "pdf (the dossier PDF alone), html (output/dossier.html alone, no typesetting), "
                             "handouts (output/handouts/), booklet (output/dossier-booklet.pdf), "
                             "print (output/dossier-print.pdf, with bleed and crop marks for a print shop), "
                             "or watch (rebuild on every save, with a live preview on localhost)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the time each stage took")
    parser.add_argument("--strict", action="store_true", help="fail (exit status 1) on any warning, as on an error")
    parser.add_argument("--audit", action="store_true", help="report what the page audit finds (holes above notes, hyphens at a "
                                                               "page turn, loose lines…) as warnings; -v lists it in any case")
    parser.add_argument("--archival", action="store_true", help="write PDF/A-2a files (for an archive), as well as "
                                                                  "accessible ones (PDF/UA-1)")
    parser.add_argument("--root", type=Path, default=TOOL_ROOT, help="the project folder (default: this tool's folder)")
    parser.add_argument("--paper", choices=["A4", "Letter"], help="paper size, overriding the setting")
    parser.add_argument("--port", type=int, default=8000, help="watch: the preview's port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--force", action="store_true", help="build even if nothing changed since the last build")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    strict = args.strict
    overrides = {**({"paper": args.paper} if args.paper else {}), **({"page_audit": True} if args.audit else {}),
                 **({"archival": True} if args.archival else {})} or None
    try:
        settings = load_settings(args.root, overrides)
        strict = args.strict or settings.strict
        if args.output == "watch":
            with Pool() as pool:
                from .watch import watch  # imported only when wanted, as the pipeline is (below)

                watch(settings, args.port, _say, overrides, pool=pool, strict=strict)
            return 0
        targets = TARGETS_OF[args.output]
        if args.output == "all" and not settings.booklet:  # the setting leaves it out of a full build
            targets = tuple(target for target in targets if target != "booklet")
        output_dir = settings.path("output_dir")
        clear_damaged_cache(output_dir)
        digest = fingerprint.inputs_digest(settings, {"output": args.output, "paper": settings.paper, "archival": settings.archival})
        last = None if args.force else fingerprint.up_to_date(output_dir, digest)
        if last is not None:
            outputs, warnings = last
            if strict and warnings:  # as the strict build would end: these warnings are errors
                raise BuildError([Problem(Location(""), text.replace(": warning: ", ": ", 1)) for text in warnings])
            for text in warnings:
                print(text, file=sys.stderr)
            for path in outputs:
                print(f"up to date: {_shown(path)}")
            return 0
        with Pool() if targets else nullcontext() as pool:  # it loads WeasyPrint while this process reads the book
            # Imported only now: a build that is up to date (above) is done in a tenth of a second,
            # and these imports overlap the typesetting processes' own loading.
            from .pipeline import build

            with Progress(sys.stderr) as progress:
                result = build(settings, targets, pool, strict, progress)
        if not result.failed:
            fingerprint.record(output_dir, digest, result.outputs, [str(p) for p in result.warnings])
    except BuildError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = sum(1 for p in exc.problems if p.severity == ERROR)
        print(f"build failed: {count} error{'s' if count != 1 else ''}{' (warnings are errors: --strict)' if strict else ''}; "
              "nothing was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the previous outputs are unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # what reads our report has gone (| head): run() ends quietly
        raise
    except Exception as exc:  # an internal error, not the user's: say so plainly
        if args.debug:
            traceback.print_exc()
        else:
            print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 2
    return report(result, args.verbose)


def report(result: BuildResult, verbose: bool) -> int:
    """Print what the build wrote and found; the exit status."""
    for problem in result.warnings:
        print(problem, file=sys.stderr)
    for path in result.outputs:
        described = f" ({result.described[path]})" if path in result.described else ""
        print(f"wrote {_shown(path)}{described}")
    for problem in result.failed:
        print(problem, file=sys.stderr)
    if verbose:
        total = sum(result.timings.values())
        for stage, seconds in result.timings.items():
            print(f"  {stage:<12} {seconds:6.2f} s  ({seconds / total:5.1%})")
        print(f"  {'total':<12} {total:6.2f} s")
        if result.parts:
            print(f"  parts typeset: {result.typeset_parts} of {result.parts} (the others unchanged, from the cache)")
        for name, figures in result.audit_figures.items():
            share = figures["wide"] / figures["justified"] if figures["justified"] else 0
            print(f"  page audit ({name}): {figures['pages']} pages; largest gaps above notes or foot "
                  f"{', '.join(f'{gap:g}' for gap in figures['gaps'][:3])} mm; {figures['justified']} justified lines "
                  f"(median {figures['median_chars']} characters), "
                  f"{share:.1%} with word spaces over 0.45 em, the widest {figures['widest']:g} em; "
                  f"{figures['crowded']} lines with spaces under 0.18 em; {figures['hyphens']} hyphens; least full: "
                  + ", ".join(f"p. {page} {fill} %" for fill, page in figures["least_full"]))
        if result.audit and result.audit[0] not in result.warnings:
            for problem in result.audit:
                print(f"  {problem}".replace(": warning: ", ": ", 1))
    if result.failed:
        count = len(result.failed)
        print(f"build incomplete: {count} error{'s' if count != 1 else ''}; the outputs they concern were not written", file=sys.stderr)
        return 1
    return 0


def run() -> None:
    """The console entry: ``main`` with its exit status; a reader gone (``| head``) ends quietly."""
    _terminate_as_interrupt()
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        status = 128 + signal.SIGPIPE
        sys.stdout = None  # nothing more to flush to a closed pipe
    if _TERMINATED_BY:  # cleaned up as after Ctrl-C; the status a shell gives a process the signal ended
        status = 128 + _TERMINATED_BY[0]
    sys.exit(status)


class Progress:
    """On a terminal, one line that says how the typesetting goes, written over as parts get done,
    once the build has run for a second (a quick one shows nothing); gone when the build is. Not
    on a pipe or in CI: nothing at all."""
    AFTER = 1.0  # seconds

    def __init__(self, stream):
        self.stream, self.start, self.shown = stream, time.monotonic(), False

    def __call__(self, done: int, left: list[str]) -> None:
        if not self.stream.isatty() or time.monotonic() - self.start < self.AFTER:
            return
        names = ", ".join(Path(name).name if name.endswith(".md") else name for name in left[:3]) + (", …" if len(left) > 3 else "")
        line = f"typesetting: {done} of {done + len(left)} parts done" + (f", {len(left)} left: {names}" if left else "")
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r\x1b[K" + line[:width])
        self.stream.flush()
        self.shown = True

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.shown:  # the line cleared for what the build says next
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _say(line: str) -> None:
    print(line, flush=True)


def _shown(path: Path) -> Path:
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


_TERMINATED_BY: list[int] = []


def _terminate_as_interrupt() -> None:
    """SIGTERM and SIGHUP stop a build as Ctrl-C does: its workers stopped, its temporary files
    removed, the previous outputs left as they were; exit status 128 + the signal's number."""
    def interrupted(number, _frame):
        _TERMINATED_BY.append(number)
        raise KeyboardInterrupt

    for number in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, interrupted)
