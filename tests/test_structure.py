"""The package's shape, as the README promises a maintainer: no import circle, no module over
500 lines, no import hidden inside a function."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dossier"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found |= {t for t in [target, *(f"{target}.{a.name}" for a in node.names)] if t in modules and t != name}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
    return found


def test_no_import_circle():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    done: set[str] = set()

    def visit(name, trail):
        assert name not in trail, f"import circle: {' -> '.join(trail[trail.index(name):] + [name])}"
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, trail + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert "dossier.pipeline" in graph and graph["dossier.cli"]  # the walk saw the package


def test_no_module_over_500_lines():
    sizes = {path.relative_to(PACKAGE.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for path in _modules().values()}
    assert {name: size for name, size in sizes.items() if size > 500} == {}


def test_imports_at_the_top_of_modules():
    """Three exceptions, each for speed, none a way round a circle (the circle test sees them):
    fontTools, read only when the fonts are new to the cache; the pipeline and watch, imported
    by the command line only once it knows it has work to do."""
    inside = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside += [f"{path.name}: {n.module if isinstance(n, ast.ImportFrom) else n.names[0].name}"
                           for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert sorted(inside) == ["audit.py: fontTools.ttLib", "cli.py: pipeline", "cli.py: watch"]
