"""Settings from ``pyproject.toml``, table ``[tool.dossier]``; every key has a default."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from .errors import BuildError, error

PAPER_SIZES = {"A4": "210mm 297mm", "LETTER": "8.5in 11in"}


@dataclass(frozen=True)
class Settings:
    root: Path
    title: str = "Untitled dossier"
    subtitle: str = ""
    authors: tuple[str, ...] = ()
    language: str = "en"
    paper: str = "A4"
    subject: str = ""
    keywords: tuple[str, ...] = ()
    content_dir: str = "content"
    bib_dir: str = "bib"
    templates_dir: str = "templates"
    output_dir: str = "output"
    ibid: bool = False  # Chicago: "Ibid." for an immediately repeated work (off, as the 18th ed. advises)
    nocite: tuple[str, ...] = ()  # keys listed in the bibliography even when not cited
    date: datetime = field(default_factory=lambda: build_date())

    @property
    def page_size(self) -> str:
        return PAPER_SIZES[self.paper.upper()]

    @property
    def page_size_pt(self) -> tuple[float, float]:
        """Portrait width and height in points."""
        units = {"mm": 72 / 25.4, "in": 72.0}
        return tuple(float(v[:-2]) * units[v[-2:]] for v in self.page_size.split())

    @property
    def landscape_size(self) -> str:
        return " ".join(reversed(self.page_size.split()))

    def path(self, name: str) -> Path:
        return self.root / getattr(self, name)


def build_date() -> datetime:
    """The build's date: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return datetime.now(tz=timezone.utc).replace(microsecond=0)


_TUPLE_KEYS = {"authors", "keywords", "nocite"}


def load_settings(root: Path, overrides: dict | None = None) -> Settings:
    """Read ``[tool.dossier]`` from ``root/pyproject.toml`` (a missing file or table is fine)."""
    root = root.resolve()
    pyproject = root / "pyproject.toml"
    table: dict = {}
    if pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            line = getattr(exc, "lineno", 0) or 0
            raise BuildError([error("pyproject.toml", line, f"invalid TOML: {exc.msg if hasattr(exc, 'msg') else exc}")])
        table = data.get("tool", {}).get("dossier", {}) or {}
    table = {**table, **(overrides or {})}
    known = {f.name for f in fields(Settings)} - {"root", "date"}
    problems = []
    values: dict = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            problems.append(error("pyproject.toml", _line_of(pyproject, key), f"unknown setting '{key}' in [tool.dossier]"))
            continue
        if name in _TUPLE_KEYS:
            value = (value,) if isinstance(value, str) else tuple(value)
        values[name] = value
    paper = str(values.get("paper", "A4"))
    if paper.upper() not in PAPER_SIZES:
        problems.append(error("pyproject.toml", _line_of(pyproject, "paper"), f"paper must be A4 or Letter, not '{paper}'"))
    if problems:
        raise BuildError(problems)
    return Settings(root=root, **values)


def _line_of(pyproject: Path, key: str) -> int:
    if not pyproject.exists():
        return 0
    for number, line in enumerate(pyproject.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith((f"{key} ", f"{key}=")):
            return number
    return 0
