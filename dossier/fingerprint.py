"""Is the last build still good? A digest of every input, checked before anything heavy is imported.

The digest covers every file of the project that a build may read (all but its outputs
and tool folders), the built-in templates, fonts and the pipeline's own code, the
build's options, and the date the title page prints. When it matches the one recorded by the last successful
build and the outputs it wrote are still there, unchanged, there is nothing to do.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .files import file_digest, inside, write_bytes
from .project import TOOL_ROOT

MANIFEST = ".cache/manifest.json"


SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", "node_modules", ".cache"}


def input_files(settings) -> list[tuple[str, Path]]:
    """Every file a build may read, named relative to its folder: the whole project (a chapter
    may use any file inside it) but its outputs and tool folders, and the built-in templates,
    fonts and code."""
    output = settings.path("output_dir").resolve()
    folders = {"project": settings.root, "tool-templates": TOOL_ROOT / "templates",
               "tool-fonts": TOOL_ROOT / "fonts", "tool-code": TOOL_ROOT / "dossier"}
    files = [("tool-cli", TOOL_ROOT / "build.py"), ("tool-lock", TOOL_ROOT / "requirements.lock")]
    for label, folder in folders.items():
        for directory, subfolders, names in os.walk(folder):
            subfolders[:] = [s for s in subfolders if s not in SKIP and not s.startswith(".venv")
                             and Path(directory, s).resolve() != output]
            for name in names:
                if not name.startswith(".") and not name.endswith("~"):
                    path = Path(directory, name)
                    files.append((f"{label}/{path.relative_to(folder)}", path))
    return files


def inputs_digest(settings, options: dict) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(options, sort_keys=True).encode())
    digest.update(settings.date.strftime("%Y-%m-%d").encode())
    digest.update(os.environ.get("SOURCE_DATE_EPOCH", "").encode())
    for name, path in sorted(input_files(settings)):
        digest.update(name.encode())  # names relative to their folder: a moved project stays built
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        # A regular file inside the project: its bytes. A link out of it, a pipe, a device: its name
        # only (the build refuses to read them, and reading /dev/zero would never end).
        if path.is_file() and inside(path, settings.root):
            digest.update(file_digest(path).encode())
    return digest.hexdigest()



def up_to_date(output_dir: Path, digest: str) -> tuple[list[Path], list[str]] | None:
    """The outputs (and warnings) of the last build, if its inputs were these and the outputs are intact."""
    try:
        manifest = json.loads((output_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("inputs") != digest or not isinstance(manifest.get("outputs"), dict):
        return None  # another build's, or damaged: build
    outputs = []
    for name, expected in manifest["outputs"].items():
        path = output_dir / name
        if not path.resolve().is_relative_to(output_dir.resolve()) or not path.is_file() or file_digest(path) != expected:
            return None
        outputs.append(path)
    warnings = manifest.get("warnings")
    return outputs, [str(w) for w in warnings] if isinstance(warnings, list) else []


def record(output_dir: Path, digest: str, outputs: list[Path], warnings: list[str]) -> None:
    manifest = {"inputs": digest, "outputs": {str(p.relative_to(output_dir)): file_digest(p) for p in outputs},
                "warnings": warnings}
    write_bytes(output_dir / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
