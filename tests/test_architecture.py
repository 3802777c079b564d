"""The package layout holds: no import cycle, no import from a higher layer, every package
named in docs/architecture.md, and no module over 500 lines without a reason.

The import graph is built from the source with ``ast`` (nothing is imported): every
``import``/``from ... import`` of a ``statevcs`` module, at module level or inside a
function, except those under ``if TYPE_CHECKING:`` (type hints, not dependencies).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "statevcs"

#: The layers, lowest first: a module may import its own layer's modules and lower ones.
#: A module belongs to the entry that is the longest prefix of its dotted name.
LAYERS: list[tuple[str, ...]] = [
    ("statevcs.errors", "statevcs.gcpause", "statevcs.limits", "statevcs.version"),
    ("statevcs.store",),
    ("statevcs.model",),
    ("statevcs.algo",),
    ("statevcs.porcelain.presentation", "statevcs.porcelain.rules"),
    ("statevcs.porcelain.merging",),
    ("statevcs.porcelain.core",),
    ("statevcs.porcelain.worktree",),
    ("statevcs.porcelain.transfer", "statevcs.porcelain.upkeep"),
    ("statevcs.porcelain.repository", "statevcs.porcelain"),
    ("statevcs.gitbridge", "statevcs.integrations", "statevcs.testing"),
    ("statevcs.cli",),
    ("statevcs", "statevcs.__main__"),
]
#: The chunk package is the bottom of the model's trees: it may not use the tree code.
CHUNKS_MAY_IMPORT = ("statevcs.errors", "statevcs.limits", "statevcs.model.chunks", "statevcs.model.objects",
                     "statevcs.model.canonical", "statevcs.model.missing", "statevcs.model.pointer")
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST):
    for child in ast.iter_child_nodes(tree):
        if _is_type_checking(child):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from _imports(child)


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported statevcs module: line}."""
    modules = _modules()
    graph: dict[str, dict[str, int]] = defaultdict(dict)
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # `from pkg import module` depends on the module (its package is only its namespace).
                submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
                targets = submodules if len(submodules) == len(node.names) else [target, *submodules]
            for target in targets:
                if not target.startswith("statevcs"):
                    continue
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target != name and target in modules:
                    graph[name].setdefault(target, node.lineno)
    return graph


def layer_of(module: str) -> int:
    best, found = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    assert found is not None, f"{module} is in no layer: add it to LAYERS in {__file__}"
    return found


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle (a list of modules, first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_graph_sees_imports_inside_functions_and_skips_type_hints(tmp_path):
    # The facade imports its concern modules lazily, inside methods; those edges must be seen.
    graph = import_graph()
    assert "statevcs.porcelain.merging.merges" in graph["statevcs.porcelain.repository.facade"]
    # ...and a concern module's `if TYPE_CHECKING:` import of the facade is not an edge.
    assert "statevcs.porcelain.repository.facade" not in graph["statevcs.porcelain.upkeep.gc"]


def test_find_cycle_reports_a_cycle():
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_from_a_higher_layer():
    wrong = []
    for module, targets in sorted(import_graph().items()):
        for target, line in sorted(targets.items()):
            if layer_of(target) > layer_of(module):
                wrong.append(f"{module} (line {line}) imports {target}, a higher layer")
    assert not wrong, "\n".join(wrong)


def test_chunks_stay_below_the_tree_code():
    wrong = [f"{module} imports {target}"
             for module, targets in import_graph().items() if module.startswith("statevcs.model.chunks")
             for target in targets if not target.startswith(CHUNKS_MAY_IMPORT)]
    assert not wrong, "\n".join(wrong)


def test_every_package_is_named_in_the_architecture_page():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.relative_to(ROOT).as_posix() + "/" for p in PACKAGE.rglob("__init__.py"))
    missing = [p for p in packages if p not in page]
    assert not missing, f"docs/architecture.md does not name {missing}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_long_modules_say_why(path):
    lines = path.read_text(encoding="utf-8").count("\n")
    if lines <= MAX_LINES:
        return
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert "Size:" in doc, f"{path.name} has {lines} lines: split it, or say why in a 'Size:' line of its docstring"
