"""The house rules, read from the code itself: imports run one way along the layers, and no file or function
grows past the size a reader can hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ragtune"

# Left to right: a package may import itself and any package to its left, never one to its right.
LAYERS = ["errors", "common", "machine", "plugins", "config", "documents", "embeddings", "index", "retrieval", "generation",
          "evaluation", "tuning", "advisor", "decide", "distributed", "serving", "api", "(root)", "http", "mcp", "cli", "__main__"]
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def _module(path: Path, root: Path = SRC) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def _imports(path: Path, root: Path) -> set[str]:
    """Every ragtune module ``path`` imports, at the top or inside a function."""
    module, found = _module(path, root), set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module or "")
    return {m for m in found if m == "ragtune" or m.startswith("ragtune.")}


def _edges(root: Path = SRC) -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        source = _layer(_module(path, root))
        for target in _imports(path, root):
            layer = _layer(target)
            if layer != source:
                edges.setdefault((source, layer), []).append(_module(path, root))
    return edges


def test_every_package_has_a_place_in_the_layers():
    packages = {_layer(_module(p)) for p in SRC.rglob("*.py")}
    assert packages - set(LAYERS) == set(), "add new packages to LAYERS in their place"


def test_imports_run_left_to_right():
    upward = [f"{a} -> {b} (in {', '.join(sorted(set(mods)))})" for (a, b), mods in _edges().items()
              if a in LAYERS and b in LAYERS and LAYERS.index(b) > LAYERS.index(a)]
    assert upward == []


def test_the_package_graph_has_no_cycle():
    graph: dict[str, set[str]] = {}
    for a, b in _edges():
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return trail + [node, nxt]
            if nxt not in state and (cycle := visit(nxt, trail + [node])):
                return cycle
        state[node] = 2
        return None

    cycles = [c for n in list(graph) if n not in state and (c := visit(n, []))]
    assert cycles == []


def test_the_rules_see_an_import_inside_a_function(tmp_path):
    """The checks above can fail: a lower layer importing a higher one, even lazily, is seen."""
    fake = tmp_path / "ragtune"
    (fake / "index").mkdir(parents=True)
    (fake / "index" / "bad.py").write_text("def f():\n    from ragtune.api import Workspace\n    from . import base\n")
    assert _edges(fake) == {("index", "api"): ["ragtune.index.bad"]}


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_files_and_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_FILE_LINES, f"{path.name} has {len(text.splitlines())} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []
