#!/usr/bin/env python3
"""Build the dossier: Markdown chapters and BibTeX to HTML and a footnoted PDF.

    python build.py            # the dossier PDF, the handouts and the booklet, in output/
    python build.py html       # output/dossier.html alone, no typesetting
    python build.py watch      # rebuild on every save, with a live preview
    python build.py --help     # every option (the same as python -m dossier --help)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from dossier.cli import run  # noqa: E402

if __name__ == "__main__":
    run()
