"""The house rules, read from the code itself: imports run one way along the layers, with no circle inside a
package; the faces (cli, http, mcp) see only ``ragtune.api`` and ``ragtune.errors``; no class is assembled from
mixins whose methods annotate ``self`` as the class that mixes them in; and no file or function grows past the size
a reader can hold (a file may, with a one-line reason in ``LONG_FILES``, where splitting it would add indirection)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ragtune"

# Left to right: a package may import itself and any package to its left, never one to its right.
LAYERS = ["errors", "common", "charts", "machine", "plugins", "config", "documents", "embeddings", "index", "retrieval", "generation",
          "costs", "components", "evaluation", "tuning", "advisor", "decide", "distributed", "serving", "api", "(root)", "http", "mcp", "cli", "__main__"]
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
FACES = {"cli", "http", "mcp", "__main__"}
FACE_MAY_IMPORT = FACES | {"api", "errors", "(root)"}

LONG_FILES: dict[str, str] = {
    # "layer/file.py": "why splitting it would add indirection rather than remove it",
    "api/workspace.py": "the one facade: a method per public operation, each a request handed to one runner below",
}
SIZE_MIXINS: dict[str, str] = {}


def _module(path: Path, root: Path = SRC) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def _type_only(tree: ast.AST) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:`` (annotations only: nothing is imported when the code runs)."""
    return {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for stmt in node.body for n in ast.walk(stmt)}


def _imports(path: Path, root: Path, modules: set[str] | None = None, runtime: bool = False) -> set[str]:
    """Every ragtune module ``path`` imports, at the top or inside a function (``runtime``: not those imported for
    annotations only). With ``modules`` (every module there is), ``from package import submodule`` is an import of
    the submodule, not of the package."""
    module, found = _module(path, root), set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree) if runtime else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            subs = {f"{base}.{a.name}" for a in node.names if modules and f"{base}.{a.name}" in modules}
            found.update(subs if subs and len(subs) == len(node.names) else subs | {base})
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


def test_the_documented_chain_is_the_one_enforced():
    layers = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8").split("## Layers", 1)[1]
    diagram = layers.split("```", 2)[1]  # the section's first block
    assert diagram.replace("->", " ").split() == LAYERS


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


def _module_cycles(root: Path = SRC) -> list[list[str]]:
    """Circles of runtime imports between modules of one package (its strongly connected components)."""
    paths = {_module(p, root): p for p in sorted(root.rglob("*.py"))}
    graph = {m: {t for t in _imports(p, root, set(paths), runtime=True) if t in paths and _layer(t) == _layer(m) and t != m}
             for m, p in paths.items()}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in order:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in order:
            connect(node)
    return cycles


def test_no_circle_of_imports_inside_a_package():
    assert _module_cycles() == []


def _face_imports(root: Path = SRC) -> list[str]:
    return sorted(f"{_module(p, root)} imports {t}" for p in root.rglob("*.py") if _layer(_module(p, root)) in FACES
                  for t in _imports(p, root) if _layer(t) not in FACE_MAY_IMPORT)


def test_faces_import_only_the_api_and_the_errors():
    assert _face_imports() == []


def _size_mixins(root: Path = SRC) -> list[str]:
    """Classes whose methods annotate ``self`` as another class: pieces of that class cut out to keep a file short."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            methods = [f for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.args.args]
            if any(m.args.args[0].arg == "self" and m.args.args[0].annotation is not None for m in methods):
                found.append(f"{path.relative_to(root).as_posix()}:{node.name}")
    return found


def test_no_class_is_assembled_from_mixins_cut_out_for_size():
    assert [m for m in _size_mixins() if m not in SIZE_MIXINS] == []


def test_the_allow_lists_name_only_what_is_still_there():
    long = [name for name in LONG_FILES if len((SRC / name).read_text(encoding="utf-8").splitlines()) <= MAX_FILE_LINES]
    assert (long, sorted(set(SIZE_MIXINS) - set(_size_mixins()))) == ([], [])


def test_the_new_rules_can_fail(tmp_path):
    """A circle inside a package, a face reaching below the API, and a mixin typed as its host are all seen."""
    fake = tmp_path / "ragtune"
    for folder in ("index", "cli", "api"):
        (fake / folder).mkdir(parents=True)
    (fake / "index" / "a.py").write_text("from ragtune.index import b\n")
    (fake / "index" / "b.py").write_text("def f():\n    from ragtune.index.a import x\n")
    (fake / "cli" / "c.py").write_text("from ragtune.api import Workspace\nfrom ragtune.index.a import x\n")
    (fake / "api" / "m.py").write_text("class Part:\n    def f(self: 'Host') -> None: ...\n")
    assert (_module_cycles(fake), _face_imports(fake), _size_mixins(fake)) == (
        [["ragtune.index.a", "ragtune.index.b"]], ["ragtune.cli.c imports ragtune.index.a"], ["api/m.py:Part"])


def test_an_import_for_annotations_only_makes_no_circle(tmp_path):
    fake = tmp_path / "ragtune" / "index"
    fake.mkdir(parents=True)
    (fake / "a.py").write_text("from ragtune.index import b\n")
    (fake / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ragtune.index.a import x\n")
    assert _module_cycles(fake.parent) == []


def test_the_rules_see_an_import_inside_a_function(tmp_path):
    """The checks above can fail: a lower layer importing a higher one, even lazily, is seen."""
    fake = tmp_path / "ragtune"
    (fake / "index").mkdir(parents=True)
    (fake / "index" / "bad.py").write_text("def f():\n    from ragtune.api import Workspace\n    from . import base\n")
    assert _edges(fake) == {("index", "api"): ["ragtune.index.bad"]}


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_files_and_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    if path.relative_to(SRC).as_posix() not in LONG_FILES:
        assert len(text.splitlines()) <= MAX_FILE_LINES, f"{path.name} has {len(text.splitlines())} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []
