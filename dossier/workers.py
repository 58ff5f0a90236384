"""The processes that typeset, one per core.

Loading WeasyPrint takes a worker most of a second, longer than it takes this process to
read and render the book, so the build starts them first of all (``build.py`` does so
before it imports the pipeline), and each loads WeasyPrint as it starts. This module
imports nothing heavy, so that the fork comes early. Unused, they are stopped without
waiting.
"""
from __future__ import annotations

import os
from multiprocessing import get_context


class Workers:
    def __init__(self, count: int | None = None):
        self.count = count or len(os.sched_getaffinity(0)) or 1
        self.pool = get_context("fork").Pool(self.count, initializer=_warm_up)
        self.used = False

    def map(self, function, jobs: list[tuple]) -> list:
        self.used = True
        return self.pool.starmap(function, jobs, chunksize=1)

    def start(self, function, *args):
        """Run ``function(*args)`` on a worker; ``.get()`` on the result waits for it."""
        self.used = True
        return self.pool.apply_async(function, args)

    def close(self, wait: bool = True) -> None:
        """Let the work in hand finish (``wait``), or stop at once (unused, or interrupted)."""
        if self.used and wait:
            self.pool.close()
        else:
            self.pool.terminate()
        self.pool.join()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(wait=kind is None)


def _warm_up() -> None:
    import weasyprint

    from . import notes_speedup, parts  # noqa: F401  (what the first task will need)

    notes_speedup.install()
    weasyprint.HTML(string="<p>.</p>").render()  # fontconfig and Pango, ready for the first part
