"""The processes that typeset, one per core.

Loading WeasyPrint takes about half a second, as long as it takes the build to read and
render the book, so it is done once, at the very start, in one process forked for the
purpose (``build.py`` starts it before anything else): once that process has
loaded WeasyPrint, it forks the typesetting workers at the first job, and they start ready;
it passes them the jobs this process sends. Loading it in every worker would put three
processes on two cores just when the book is being read. A build with nothing to typeset
kills it at once, loaded or not (it has no children yet). This module imports nothing heavy,
so the fork comes early.
"""
from __future__ import annotations

import atexit
import os
import signal
import sys
import time


_ENDING = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}  # held back across the fork


class Workers:
    def __init__(self, count: int | None = None):
        self.count = count or len(os.sched_getaffinity(0)) or 1
        # The typesetting processes' temporary files (WeasyPrint's copies of the fonts) go in
        # a folder of this build's, removed when they have stopped, however they stopped.
        self._scratch = os.path.join(os.environ.get("TMPDIR") or "/tmp", f"dossier-typeset-{os.getpid()}-{time.time_ns()}")
        os.mkdir(self._scratch, 0o700)
        jobs_in, jobs_out = os.pipe()
        results_in, results_out = os.pipe()
        # A plain fork, not multiprocessing's: importing and starting that costs this process
        # 0.05 s just when the other core is waiting for something to do. What is buffered is
        # written first (or the child would write it again), and Ctrl-C held back until the child
        # ignores it (or it would run this process's code from the fork on).
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING)
        try:
            self._pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _ENDING)
            raise
        if self._pid == 0:  # the typesetting process; it never returns from here
            status = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle; it stops these
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the build's way of ending cleanly
                signal.signal(signal.SIGHUP, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _ENDING)
                import tempfile

                tempfile.tempdir = self._scratch
                os.close(jobs_out)
                os.close(results_in)
                _serve(jobs_in, results_out, self.count)
                status = 0
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(status)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _ENDING)
        os.close(jobs_in)
        os.close(results_out)
        self._fds = (jobs_out, results_in)
        self._connection = None  # made at the first job, with what it needs
        self._pending: dict = {}
        self._numbers = iter(range(1 << 62))
        self.used = self._closed = False
        atexit.register(self.close, False)  # never left waiting for jobs when this process ends

    def start(self, function, *args):
        """Run ``function(*args)`` on a worker; ``.result()`` waits for it (or raises its error)."""
        import threading
        from concurrent.futures import Future
        from multiprocessing.connection import Connection

        if self._connection is None:
            self._lock = threading.Lock()
            self._connection = Connection(self._fds[0], readable=False)
            threading.Thread(target=self._receive, args=(Connection(self._fds[1], writable=False),), daemon=True).start()
        self.used = True
        future = Future()
        with self._lock:
            number = next(self._numbers)
            self._pending[number] = future
            self._connection.send(("job", number, function, args))
        return future

    def close(self, wait: bool = True) -> None:
        """Let the work in hand finish (``wait``), or stop at once (unused, or interrupted)."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            self._stop(wait)
        finally:
            import shutil

            shutil.rmtree(self._scratch, ignore_errors=True)

    def _stop(self, wait: bool) -> None:
        if not self.used:  # at once, even while WeasyPrint is loading: it has forked no worker yet
            os.kill(self._pid, signal.SIGKILL)
            for fd in self._fds:
                os.close(fd)
            os.waitpid(self._pid, 0)
            return
        if wait:
            try:
                with self._lock:
                    self._connection.send(("close",))
            except OSError:  # it has stopped already
                pass
            os.waitpid(self._pid, 0)
            self._connection.close()
        else:
            # No message: an interrupted send may have left half of one in the pipe. The end of
            # the pipe tells the process to stop its workers, whatever it was reading.
            self._connection.close()
            if not _exited_within(self._pid, 10):
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(wait=kind is None)

    def _receive(self, results) -> None:
        try:
            while True:
                number, ok, value = results.recv()
                with self._lock:
                    future = self._pending.pop(number)
                future.set_result(value) if ok else future.set_exception(value)
        except (EOFError, OSError):
            with self._lock:
                pending, self._pending = list(self._pending.values()), {}
            for future in pending:
                future.set_exception(RuntimeError("the typesetting processes stopped"))
        finally:
            results.close()


def _exited_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _serve(jobs_fd: int, results_fd: int, count: int) -> None:
    """The forking process: load WeasyPrint, fork the workers, pass jobs and results on."""
    import gc
    import threading
    from functools import partial
    from multiprocessing import get_context
    from multiprocessing.connection import Connection

    connection, results = Connection(jobs_fd, writable=False), Connection(results_fd, readable=False)
    # As CPython's documentation advises for a process that forks workers without exec: no
    # collection while loading (its garbage is a few MB, kept), then everything loaded frozen,
    # so that the workers' collections never walk it (nor copy its pages), collecting again.
    gc.disable()
    warm_up()
    gc.freeze()
    pool = None  # forked at the first job: until then this process has no children to leave behind
    sending = threading.Lock()

    def reply(number: int, ok: bool, value) -> None:
        with sending:
            try:
                results.send((number, ok, value))
            except Exception as exc:  # a result or an error that does not pickle
                try:
                    results.send((number, False, RuntimeError(f"{type(value).__name__}: {value} ({exc})")))
                except Exception:
                    pass  # the build is gone; the pool must still be able to finish

    closed = False
    try:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):  # the build is gone, or stops us
                break
            if message[0] == "job":
                _, number, function, args = message
                pool = pool or get_context("fork").Pool(count, initializer=_worker_started, initargs=(jobs_fd, results_fd))
                pool.apply_async(function, args, callback=partial(reply, number, True), error_callback=partial(reply, number, False))
            elif message[0] == "close":
                if pool:
                    pool.close()
                    pool.join()  # every result has been sent when this returns
                closed = True
                break
    finally:
        if pool and not closed:
            pool.terminate()
        connection.close()
        results.close()


def _worker_started(*fds: int) -> None:
    """In each worker: the build's pipes are the typesetting process's alone (a worker holding
    them would hide that process's end from the build), and garbage is collected again."""
    import gc

    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    gc.enable()


_WARM = False  # set in a process that has warmed up: its forks (the build server's) have too


def warm_up() -> None:
    global _WARM
    if _WARM:
        return
    from . import notes_speedup, parts  # noqa: F401  (what the jobs will need)
    from .warmstart import load_weasyprint

    weasyprint = load_weasyprint()

    notes_speedup.install()
    weasyprint.HTML(string="<p>.</p>").render()  # fontconfig and Pango, ready for the first part
    _WARM = True
