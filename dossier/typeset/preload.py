"""Imported once by the fork server of the typesetting processes (``pool.py``): WeasyPrint and
what its first page needs are loaded there, while the build reads the book, and every worker
forked from it starts ready."""
from . import weasy

try:
    weasy.warm_up()
except Exception:  # noqa: BLE001  a machine without fonts, say: the first part will say so, with its file
    pass
