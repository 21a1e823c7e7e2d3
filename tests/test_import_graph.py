"""No import circles in supportai: a module's imports form a tree, even deferred ones.

Circles were dodged with imports inside functions (the plugin manager importing
the defaults, the runtime importing the turn pipeline), which work until someone
moves the import. The graph below counts every ``import`` of a supportai module,
at module level or inside a function, except those under ``if TYPE_CHECKING:``
(annotations only, never executed).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in (SRC / "supportai").rglob("*.py")}


def imported(module: str, path: Path) -> set[str]:
    """The supportai modules ``module`` imports anywhere, TYPE_CHECKING blocks aside."""
    found: set[str] = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.add(name if name in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name in MODULES and name != module}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_checker_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_of_supportai_imports_itself_through_others() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    graph = {module: imported(module, path) for module, path in MODULES.items()}
    assert graph["supportai.plugins"] >= {"supportai.hookspecs", "supportai.defaults"}
    assert circles(graph) == []


FIRST_IMPORTS = [
    "supportai.hookspecs",
    "supportai.hookcalls",
    "supportai.plugins",
    "supportai.defaults",
    "supportai.caller",
    "supportai.quota",
    "supportai.quota.sql",
    "supportai.quota.settlement",
    "supportai.pipeline.budget",
    "supportai.pipeline.prepare",
    "supportai.pipeline.ending",
    "supportai.pipeline.turn",
    "supportai.runtime",
    "supportai.store.candidates",
]


FRESH_IMPORTS = """
import importlib, sys
failed = {}
for module in sys.argv[1:]:
    for name in [n for n in sys.modules if n == "supportai" or n.startswith("supportai.")]:
        del sys.modules[name]
    try:
        importlib.import_module(module)
    except Exception as exc:
        failed[module] = repr(exc)
print(failed)
"""


def test_each_core_module_imports_first() -> None:
    """Whatever is imported first, nothing sees a partly initialised module.

    One interpreter (third-party imports are cached), supportai's modules
    forgotten before each import: the circles this catches are supportai's own.
    """
    result = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORTS, *FIRST_IMPORTS],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "{}"


@pytest.mark.parametrize("module", ["supportai.hookspecs", "supportai.events"])
def test_the_hook_contract_imports_no_implementation(module: str) -> None:
    """Plugins import the specs and payloads; they must stay at the bottom of the graph."""
    allowed = {"supportai", "supportai.events"}
    assert imported(module, MODULES[module]) <= allowed
