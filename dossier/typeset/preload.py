"""Imported once by the fork server of the typesetting processes (``pool.py``): WeasyPrint and
what its first page needs are loaded there, while the build reads the book, and every worker
forked from it starts ready."""
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle, from the first moment

from . import weasy  # noqa: E402

try:
    weasy.warm_up()
except Exception:  # noqa: BLE001  a machine without fonts, say: the first part will say so, with its file
    pass
