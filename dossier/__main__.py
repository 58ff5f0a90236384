"""``python -m dossier``: the same command as ``python build.py``."""
from .cli import run

if __name__ == "__main__":
    run()
