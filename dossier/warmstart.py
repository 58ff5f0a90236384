"""A fresh process's way to its first page, made shorter: what WeasyPrint and pyphen do once
per process, done faster, with the same result.

A one-sentence edit rebuilt from a fresh process spends as long getting WeasyPrint ready as
typesetting the edited chapter; these are the parts of that which can be made cheaper without
changing what is loaded or how anything is laid out (tests/test_warmstart.py).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

# Loading WeasyPrint is a third of what an edit costs from a fresh process. WeasyPrint opens each
# C library by trying its names for every platform in turn ("libgobject-2.0-0", "gobject-2.0-0",
# "gobject-2.0", "libgobject-2.0.so.0", ...). For each name without a dot, cffi asks
# ctypes.util.find_library, which on Linux runs ldconfig, gcc and ld to answer: 54 subprocesses,
# about 0.3 s. Here each library is opened by its Linux soname, through the dynamic linker alone.
# A required library that cannot be opened that way is looked for as WeasyPrint would. An optional
# one (WeasyPrint goes on without it) is reported missing at once: the search could only find it
# under another soname, and these have not changed in over a decade.
# The names are WeasyPrint 70's (weasyprint/text/ffi.py); other names are looked for as usual.
_LIBRARIES = {  # soname: (WeasyPrint's names for it, optional)
    "libgobject-2.0.so.0": (("libgobject-2.0-0", "gobject-2.0-0", "gobject-2.0", "libgobject-2.0.so.0",
                             "libgobject-2.0.0.dylib", "libgobject-2.0-0.dll"), False),
    "libpango-1.0.so.0": (("libpango-1.0-0", "pango-1.0-0", "pango-1.0", "libpango-1.0.so.0",
                           "libpango-1.0.dylib", "libpango-1.0-0.dll"), False),
    "libharfbuzz.so.0": (("libharfbuzz-0", "harfbuzz", "harfbuzz-0.0", "libharfbuzz.so.0",
                          "libharfbuzz.0.dylib", "libharfbuzz-0.dll"), False),
    "libharfbuzz-subset.so.0": (("libharfbuzz-subset-0", "harfbuzz-subset", "harfbuzz-subset-0.0",
                                 "libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll"), True),
    "libharfbuzz-vector.so.0": (("libharfbuzz-vector-0", "harfbuzz-vector", "harfbuzz-vector-0.0",
                                 "libharfbuzz-vector.so.0", "libharfbuzz-vector.0.dylib", "libharfbuzz-vector-0.dll"), True),
    "libfontconfig.so.1": (("libfontconfig-1", "fontconfig-1", "fontconfig", "libfontconfig.so.1",
                            "libfontconfig.1.dylib", "libfontconfig-1.dll"), False),
    "libpangoft2-1.0.so.0": (("libpangoft2-1.0-0", "pangoft2-1.0-0", "pangoft2-1.0", "libpangoft2-1.0.so.0",
                              "libpangoft2-1.0.dylib", "libpangoft2-1.0-0.dll"), False),
}
_SONAME_OF = {name: soname for soname, (names, _) in _LIBRARIES.items() for name in names}


def load_weasyprint():
    """Import WeasyPrint (the same module, the same libraries), sparing it the library search."""
    import sys

    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        import weasyprint

        return weasyprint
    import ctypes
    import functools

    import cffi

    @functools.cache
    def opens(soname: str) -> bool:
        try:
            ctypes.CDLL(soname)
        except OSError:
            return False
        return True

    original = cffi.FFI.dlopen

    def dlopen(ffi, name, flags=0):
        soname = _SONAME_OF.get(name)
        if soname is None:
            return original(ffi, name, flags)
        if opens(soname):
            return original(ffi, soname, flags)
        if _LIBRARIES[soname][1]:
            raise OSError(f"{soname}: not found by the dynamic linker")
        return original(ffi, name, flags)

    cffi.FFI.dlopen = dlopen
    try:
        import weasyprint
    finally:
        cffi.FFI.dlopen = original
    return weasyprint


def cache_hyphenation(cache_dir: Path) -> None:
    """Keep the hyphenation patterns pyphen parses in ``cache_dir``, as JSON.

    pyphen parses a dictionary (14,000 patterns for British English) the first time a process
    hyphenates in its language: 0.15 s, in every worker, before the first page. Read back from
    the cache, the same patterns take a hundredth of that. Patterns with alternative
    hyphenations (which JSON would not keep as they are) are never cached."""
    import pyphen

    original = getattr(pyphen.HyphDict, "_dossier_original", pyphen.HyphDict)

    class CachedHyphDict(original):
        _dossier_original = original

        def __init__(self, path):
            path = Path(path)
            stat = path.stat()
            key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{pyphen.__version__}".encode()).hexdigest()[:24]
            cached = cache_dir / f"hyphenation-{key}.json"
            try:
                patterns = json.loads(cached.read_text(encoding="utf-8"))
                self.patterns = {tags: (start, tuple(values)) for tags, (start, values) in patterns.items()}
                self.cache = {}
                self.maxlen = max(len(tags) for tags in self.patterns)
                return
            except Exception:  # missing, unreadable or not what was written: parse again
                pass
            super().__init__(path)
            if all(type(value) is int for _, values in self.patterns.values() for value in values):
                from .typeset import write_atomically

                data = json.dumps(self.patterns, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                try:
                    write_atomically(cached, lambda handle: handle.write(data))
                except OSError:
                    pass  # a cache that cannot be written is only slower

    pyphen.HyphDict = CachedHyphDict
