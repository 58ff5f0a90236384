"""The typesetting processes: one owner, a context manager used by ``build`` and ``watch``.

A ``Pool`` is ``concurrent.futures.ProcessPoolExecutor`` on a ``forkserver`` context. The fork
server is started as soon as the pool is made and imports WeasyPrint (``preload.py``) while the
build reads and renders the book; each worker is forked from it with WeasyPrint loaded. The
workers ignore Ctrl-C: the build handles it and stops them. Their temporary files (WeasyPrint's
copies of the fonts) go into a folder of the pool's, removed when it closes, however the
workers stopped. Nothing outlives the build's process: the fork server ends with it.
"""
from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import signal
import tempfile
import weakref
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

PRELOAD = ["dossier.typeset.preload"]
SOCKET_FOLDER_LENGTH = 60  # + "/pymp-XXXXXXXX/listener-XXXXXXXX" stays within a socket path's 107 bytes
_ENDING = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


class Pool:
    def __init__(self, count: int | None = None):
        self.count = count or len(os.sched_getaffinity(0)) or 1
        self._scratch = tempfile.mkdtemp(prefix="dossier-typeset-")
        self._remove_scratch = weakref.finalize(self, shutil.rmtree, self._scratch, True)  # however the pool ends
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        # The fork server listens on a socket in the temporary folder, and a socket's path may not
        # pass 107 bytes: under a long TMPDIR its socket goes to /tmp (removed when we end).
        saved = tempfile.tempdir
        if len(tempfile.gettempdir()) > SOCKET_FOLDER_LENGTH and os.access("/tmp", os.W_OK):
            tempfile.tempdir = "/tmp"
        try:
            multiprocessing.forkserver.ensure_running()  # it loads WeasyPrint now, in parallel with us
        finally:
            tempfile.tempdir = saved
        self._executor: ProcessPoolExecutor | None = None

    def submit(self, function, *args) -> Future:
        """Run ``function(*args)`` in a worker; ``.result()`` waits for it or raises its error."""
        for _ in range(2):  # a pool a crashed worker broke (in an earlier build of ``watch``) is made anew
            if self._executor is None:
                self._executor = ProcessPoolExecutor(self.count, mp_context=self._context,
                                                     initializer=_started, initargs=(self._scratch,))
            try:
                # Ctrl-C held back while a worker may be starting: it would stop it half made.
                held = signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING)
                try:
                    return self._executor.submit(function, *args)
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)
            except BrokenProcessPool:
                self._executor.shutdown(wait=True)
                self._executor = None
        raise BrokenProcessPool("the typesetting processes cannot be started")

    def close(self, wait: bool = True) -> None:
        """Let the work in hand finish (``wait``), or stop the workers at once (interrupted)."""
        executor, self._executor = self._executor, None
        try:
            if executor is not None:
                if not wait:
                    for process in multiprocessing.active_children():
                        process.terminate()
                executor.shutdown(wait=True, cancel_futures=not wait)
        finally:
            self._remove_scratch()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(wait=kind is None)


def _started(scratch: str) -> None:
    """In each worker: Ctrl-C is the build's to handle; temporary files go to the pool's folder."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tempfile.tempdir = scratch


WORKER_MODULE = "dossier.typeset.weasy"  # what the workers run; it loads WeasyPrint


def in_worker(name: str, *args):
    """Call the typesetter's function ``name`` (of ``weasy.py``). Named, not imported, so that the
    build's own process never loads WeasyPrint: the workers have it loaded already (``preload.py``).
    A build without a pool (the tests') loads it here at its first part."""
    return getattr(importlib.import_module(WORKER_MODULE), name)(*args)
