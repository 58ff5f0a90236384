"""The typesetter's URL fetcher: files inside the project, and ``data:`` URLs; nothing else.

Symbolic links are resolved before the check, the resolved file is what is opened, and a
``file:`` URL naming a host is refused (opening it would look the host up on the network).
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse


class ConfinedFetcher(URLFetcher):
    """Fetch ``file:`` URLs inside the allowed folders and ``data:`` URLs; refuse the rest."""

    def __init__(self, roots: list[Path]):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, timeout=1)
        self.roots = [root.resolve() for root in roots]
        self.refused: list[str] = []
        self.served: list[Path] = []  # every file read, for the cache to know what a part used

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file" and parts.netloc in ("", "localhost"):  # a host would mean a network lookup
            path = Path(unquote(parts.path)).resolve()
            if any(path.is_relative_to(root) for root in self.roots) and path.is_file():
                self.served.append(path)
                # Open the resolved path itself: nothing can change between the check and the read.
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(path.as_uri(), path.open("rb"), headers={"Content-Type": kind})
            self.refused.append(url)
            raise ValueError(f"refused to read {url}: outside the project")
        self.refused.append(url)
        raise ValueError(f"refused to fetch {url}: the typesetter reads project files only")
