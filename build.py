#!/usr/bin/env python3
"""Build the dossier: Markdown chapters and BibTeX to HTML and a footnoted PDF.

    python build.py            # output/dossier.pdf (and output/dossier.html beside it)
    python build.py html       # output/dossier.html alone, no typesetting
    python build.py -v pdf     # with the time each stage took

Problems in the input are printed as ``path:line: message``, all of them at once;
the exit status is then 1 and the previous outputs are left as they were.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

# A server left by an earlier run has everything loaded: hand it the build (dossier/server.py).
# Otherwise the process that loads WeasyPrint, the longest wait of a rebuild, is forked before
# anything else, the argument parser included (dossier/workers.py); main() stops it if the
# command turns out to typeset nothing.
EARLY_WORKERS = None
TYPESET_NOTHING = {"html", "watch", "-h", "--help", "--stop-server"}  # commands that need no typesetting processes
if __name__ == "__main__":
    import signal

    def _interrupted(_number, _frame):  # Ctrl-C before the build began: nothing to undo
        os.write(2, b"interrupted; the previous outputs are unchanged\n")
        os._exit(130)

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if meant to ignore it
        signal.signal(signal.SIGINT, _interrupted)  # main() takes Ctrl-C back as KeyboardInterrupt
    from dossier import server

    if server.wanted(sys.argv[1:]):
        served = server.delegate(sys.argv[1:], os.path.dirname(os.path.realpath(__file__)))
        if served is not None:
            os._exit(served)
    if not (TYPESET_NOTHING | {server.SERVE}) & set(sys.argv[1:]):
        from dossier.workers import Workers

        EARLY_WORKERS = Workers()

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None, workers=None) -> int:
    """``workers``: typesetting processes already started, this build's to use or stop."""
    parser = argparse.ArgumentParser(
        prog="build.py",
        allow_abbrev=False,  # the options the build server looks for before parsing are whole words
        description="Build the dossier from content/*.md, bib/*.bib and templates/.",
        epilog="Settings live in pyproject.toml under [tool.dossier]. Exit status: 0 success, 1 problems in the input, 2 internal error.",
    )
    parser.add_argument("output", nargs="?", default="all", choices=["all", "pdf", "html", "handouts", "booklet", "print", "watch"],
                        help="what to build: all (the dossier PDF, the handouts and the booklet; the default), "
                             "pdf (the dossier PDF alone), html (output/dossier.html alone, no typesetting), "
                             "handouts (output/handouts/), booklet (output/dossier-booklet.pdf), "
                             "print (output/dossier-print.pdf, with bleed and crop marks for a print shop), "
                             "or watch (rebuild on every save, with a live preview on localhost)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the time each stage took")
    parser.add_argument("--root", type=Path, default=HERE, help="the project folder (default: this script's folder)")
    parser.add_argument("--paper", choices=["A4", "Letter"], help="paper size, overriding the setting")
    parser.add_argument("--port", type=int, default=8000, help="watch: the preview's port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--force", action="store_true", help="build even if nothing changed since the last build")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an internal error")
    parser.add_argument("--no-server", action="store_true",
                        help="build in this process, without the build server that keeps WeasyPrint loaded between "
                             "builds (nor start one); DOSSIER_SERVER=0 does the same for every build")
    parser.add_argument("--stop-server", action="store_true", help="stop the build server (and any left from earlier code), and do nothing else")
    args = parser.parse_args(argv)
    from dossier import server

    if args.verbose and server.SERVED:
        print(f"building in the build server's process {os.getpid()}")
    elif args.verbose and server.NOT_USED:
        print(f"building in this process: {server.NOT_USED}")
    if args.stop_server:
        if workers is not None:
            workers.close(wait=False)
        stopped = server.stop(str(HERE))
        print(f"stopped {stopped} build server{'s' if stopped != 1 else ''}" if stopped else "no build server was running")
        return 0

    result = None
    typesets = bool(set(TARGETS_OF.get(args.output, ())) & {"dossier", "handouts", "booklet", "print"})
    if workers is not None and not typesets:
        workers.close(wait=False)
        workers = None
    if workers is None and typesets:
        from dossier.workers import Workers

        # First of all: they load WeasyPrint while this process reads the book. A build that
        # turns out to have nothing to do stops them at once.
        workers = Workers()

    from dossier.config import load_settings
    from dossier.errors import BuildError
    from dossier import fingerprint

    try:
        overrides = {"paper": args.paper} if args.paper else None
        settings = load_settings(args.root, overrides)
        if args.output == "watch":
            from dossier.watch import watch

            watch(settings, args.port, lambda line: print(line, flush=True), overrides)
            return 0
        output_dir = settings.path("output_dir")
        digest = fingerprint.inputs_digest(settings, {"output": args.output, "paper": settings.paper})
        last = None if args.force else fingerprint.up_to_date(output_dir, digest)
        if last is not None:
            outputs, warnings = last
            for text in warnings:
                print(text, file=sys.stderr)
            for path in outputs:
                print(f"up to date: {_shown(path)}")
            return 0
        targets = TARGETS_OF[args.output]
        from dossier.pipeline import build  # WeasyPrint and friends: only when there is work

        result = build(settings.root, targets, settings=settings, workers=workers)
        if not result.failed:
            fingerprint.record(output_dir, digest, result.outputs, [str(p) for p in result.warnings])
    except BuildError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = sum(1 for p in exc.problems if p.severity == "error")
        print(f"build failed: {count} error{'s' if count != 1 else ''}; nothing was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the previous outputs are unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error, not the user's: say so plainly
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 2
    finally:
        if workers is not None:
            workers.close(wait=result is not None)

    for problem in result.warnings:
        print(problem, file=sys.stderr)
    for path in result.outputs:
        described = f" ({result.described[path]})" if path in result.described else ""
        print(f"wrote {_shown(path)}{described}")
    for problem in result.failed:
        print(problem, file=sys.stderr)
    if args.verbose:
        total = sum(result.timings.values())
        for stage, seconds in result.timings.items():
            print(f"  {stage:<12} {seconds:6.2f} s  ({seconds / total:5.1%})")
        print(f"  {'total':<12} {total:6.2f} s")
        if result.parts:
            print(f"  parts typeset: {result.typeset_parts} of {result.parts} (the others unchanged, from the cache)")
    if result.failed:
        count = len(result.failed)
        print(f"build incomplete: {count} error{'s' if count != 1 else ''}; the outputs they concern were not written", file=sys.stderr)
        return 1
    return 0


TARGETS_OF = {"all": ("dossier", "handouts", "booklet"), "pdf": ("dossier",), "html": (),
              "handouts": ("handouts",), "booklet": ("booklet",), "print": ("print",)}


def _shown(path: Path) -> Path:
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def run(argv: list[str]) -> int:
    """What ``python build.py ARGS`` does, in the build server's fork of itself."""
    from dossier.workers import Workers

    return command(argv, None if TYPESET_NOTHING & set(argv) else Workers())[0]


def command(argv: list[str] | None, workers) -> tuple[int, bool]:
    """main() as the command line runs it: its exit status, however it ended (argparse, Ctrl-C,
    SIGTERM, a reader gone), with its workers stopped; and whether its arguments were good."""
    import signal

    _end_cleanly_on_termination()
    parsed = True
    try:
        status = main(argv, workers=workers)
    except SystemExit as exc:  # argparse's, for a wrong option
        status, parsed = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1), False
    except KeyboardInterrupt:  # before main() began its work, or after it was done
        print("interrupted; the previous outputs are unchanged", file=sys.stderr)
        status = 130
    except BrokenPipeError:  # what reads our report has gone (build.py | head): as a shell's tools end
        status = 128 + signal.SIGPIPE
    finally:
        if workers is not None:  # main() stops them, unless it ended before they were its
            workers.close(wait=False)
    _end_as_terminated()
    return status, parsed


_TERMINATED_BY: list[int] = []


def _end_cleanly_on_termination() -> None:
    """SIGTERM and SIGHUP stop a build as Ctrl-C does (its processes stopped, its temporary
    files removed, the previous outputs left as they were); then it ends as they end a process."""
    import signal

    def terminated(number, _frame):
        _TERMINATED_BY.append(number)
        raise KeyboardInterrupt

    for number in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, terminated)


def _end_as_terminated() -> None:
    import signal

    from dossier import server

    if _TERMINATED_BY:
        server.flush_streams()
        signal.signal(_TERMINATED_BY[0], signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {_TERMINATED_BY[0]})
        os.kill(os.getpid(), _TERMINATED_BY[0])


def _warm_up() -> None:
    """The build server's loading: the pipeline, and WeasyPrint with its fonts; then a rehearsal
    of a build's reading, on this folder's project, for what loads at first use (Markdown's
    extensions, the templates' compiled code, the style's tables). What it writes goes to a
    scratch folder, removed after."""
    import shutil
    import tempfile

    from dossier import pipeline, watch, workers  # noqa: F401
    from dossier.config import load_settings

    workers.warm_up()
    scratch = tempfile.mkdtemp(prefix="dossier-warm-up-")
    try:
        settings = load_settings(HERE, {"output_dir": scratch})  # the project's outputs untouched
        book = pipeline.gather(settings, [])
        environment = pipeline.template_environment(settings)
        html_path = settings.path("output_dir") / "dossier.html"
        pipeline.assemble(book, html_path, environment=environment)
        pipeline.front_part(book, environment, html_path)
        pipeline.body_parts(book, environment, html_path)
    except Exception:  # a project with errors: the builds will say so
        pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == [server.SERVE]:  # with the lock its starter took, or none
        server.serve(run, str(HERE), _warm_up, int(sys.argv[2]) if sys.argv[2:] else None)
        os._exit(0)
    if signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    status, parsed = command(None, EARLY_WORKERS)
    if parsed and server.wanted(sys.argv[1:]) and server.start_in_background(__file__, str(HERE)):
        try:
            print("starting a build server that keeps WeasyPrint loaded for the next builds "
                  f"(it stops after {server.IDLE // 60} idle minutes; --no-server builds without it)")
        except BrokenPipeError:
            status = status or 128 + signal.SIGPIPE
    # Every output is written and closed, every process this build started has ended: leave
    # without taking the interpreter apart object by object (a tenth of a second, after an edit).
    server.flush_streams()
    os._exit(status)
