"""The one place that reads the project's text files and writes outputs (atomically); digests.

Every file the project names (chapters, handouts, bibliography, data, settings, templates) is
read through ``read_text``: only if its real path, symbolic links resolved, lies inside the
project (or the tool's own folder), and only as UTF-8 (a byte-order mark is dropped). Anything
else is a ``ReadError`` carrying one ``path:line`` problem in plain words.
"""
from __future__ import annotations

import hashlib
import os
import re
import signal
import tempfile
from functools import lru_cache
from pathlib import Path

from .problems import Problem, error

TOOL_ROOT = Path(__file__).resolve().parent.parent  # the built-in templates and fonts live here

# Encodings a teacher's editor may have saved a file in, and the letters that give each away.
_LIKELY = {
    "cp1257": ("Windows-1257 (Baltic)", "ąčęėįšųūžāēģīķļņ"),
    "cp1250": ("Windows-1250 (Central European)", "ąćęłńóśźż"),
    "cp1251": ("Windows-1251 (Cyrillic)", "абвгдежзийклмнопрстуфхцчшщъыьэюяіў"),
    "cp1252": ("Windows-1252 or Latin-1 (Western European)", "àáâäçèéêëìíîïñòóôöùúûüß"),
}


MAX_BYTES = 10_000_000  # no chapter, bibliography, data or template file of a dossier comes near this


class ReadError(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


TOOL_FOLDERS = (TOOL_ROOT / "templates", TOOL_ROOT / "fonts")  # what the tool itself lends every project


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``'s real location (links resolved) is inside ``root`` or the tool's own
    templates and fonts."""
    real = path.resolve()
    return any(real.is_relative_to(folder.resolve()) for folder in (root, *TOOL_FOLDERS))


def read_text(path: Path, root: Path) -> str:
    """The text of a file the project names, confined to the project, decoded as UTF-8 (or as
    UTF-16 where it starts with UTF-16's byte-order mark; a UTF-8 one is dropped)."""
    shown = display_path(path, root)
    if path.is_symlink() and not path.exists():
        raise ReadError(error(shown, 0, f"is a link to {os.readlink(path)}, which does not exist"))
    if not inside(path, root):
        raise ReadError(error(shown, 0, f"is a link to {path.resolve()}, outside the project: "
                                        "the build reads files inside the project only"))
    if path.is_dir():
        raise ReadError(error(shown, 0, "is a folder, not a file"))
    if not path.is_file():  # a pipe or a device: reading it might never end
        raise ReadError(error(shown, 0, "is not an ordinary file"))
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ReadError(error(shown, 0, f"is {path.stat().st_size:,} bytes long, more than the {MAX_BYTES:,} a text "
                                            "file of a dossier can be: is it the right file?"))
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(error(shown, 0, f"cannot be read: {exc.strerror or exc}")) from None
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark, as Windows editors save it
            return data.decode("utf-16").removeprefix("\ufeff")
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReadError(error(shown, line, f"is not saved as UTF-8 text{_likely_encoding(data)}: "
                                           "open it in your editor and save it again as UTF-8")) from None


def _likely_encoding(data: bytes) -> str:
    best, score = "", 0
    for codec, (name, letters) in _LIKELY.items():
        try:
            text = data.decode(codec).lower()
        except UnicodeDecodeError:
            continue
        found = sum(text.count(letter) for letter in letters)
        # A word that mixes Latin and Cyrillic letters is a wrong guess ("café" read as "cafй").
        found -= 2 * sum(1 for word in text.split() if re.search("[a-z]", word) and re.search("[\u0400-\u04ff]", word))
        if found > score:
            best, score = name, found
    return f" (it looks like {best})" if best else ""


def display_path(path: Path, root: Path) -> str:
    """``path`` relative to the project folder where it lies inside it (a link where the link
    is, not where it points), else as it is."""
    for name, folder in ((os.path.abspath(path), os.path.abspath(root)), (path.resolve(), root.resolve())):
        try:
            return Path(name).relative_to(folder).as_posix()
        except ValueError:
            continue
    return str(path)


def write_atomically(path: Path, write) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it into place:
    a failed or interrupted build leaves the last good file as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # as an ordinary file would be, not mkstemp's private 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Outputs:
    """A build's outputs, each written to a temporary file beside its place, and all put in place
    together at the end (``commit``), with Ctrl-C and SIGTERM held back meanwhile: a build that
    fails or is stopped at any moment leaves every previous output as it was (``discard``)."""

    ENDING = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}

    def __init__(self):
        self.staged: dict[Path, Path] = {}  # place -> its new content, written

    def write(self, path: Path, write) -> None:
        """Call ``write(file_object)`` for the new content of ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        self.staged[path] = Path(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as an ordinary file would be, not mkstemp's private 0600
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())

    def current(self, path: Path) -> Path:
        """Where ``path``'s newest content is: written by this build, or the previous one's."""
        return self.staged.get(path, path)

    def commit(self) -> None:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, self.ENDING)
        try:
            for path, temporary in self.staged.items():
                os.replace(temporary, path)
            self.staged.clear()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def discard(self) -> None:
        for temporary in self.staged.values():
            temporary.unlink(missing_ok=True)
        self.staged.clear()


def clear_damaged_cache(output_dir: Path) -> None:
    """The cache is the build's own: a file where its folder belongs goes (it is made anew)."""
    cache = output_dir / ".cache"
    if cache.is_symlink() or cache.exists() and not cache.is_dir():
        cache.unlink()


def write_bytes(path: Path, data: bytes) -> None:
    write_atomically(path, lambda handle: handle.write(data))


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read once per version of the file (its time and size)."""
    info = path.stat()
    return _digest(path, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4096)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
