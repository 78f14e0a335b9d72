"""The map stays true: no import cycle anywhere in ``asgi_scope`` (imports under
``TYPE_CHECKING`` and inside functions included), and nothing at the package
root but the modules ``../shared/DESIGN.md`` names. The rooms' own contracts
(who may import whom) are import-linter's, in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import grimp

import asgi_scope

ROOT_MODULES = {
    "__init__", "__main__", "config", "importer", "demo", "console", "session",
    "pytest_plugin",  # pytest -p asgi_scope.pytest_plugin: the spec checker in a test run
}  # fmt: skip


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every import cycle among the modules of ``graph``, each as the modules on
    it in import order (Tarjan's strongly connected components of size > 1, or
    a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:  # recursive: the package is a few hundred modules
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1 or module in graph.find_modules_directly_imported_by(module):
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    assert cycles(graph) == []
    graph.add_import(importer="p.c", imported="p.a")
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]


def test_no_import_cycle_in_the_package():
    graph = grimp.build_graph("asgi_scope", exclude_type_checking_imports=False)
    assert cycles(graph) == []


def test_nothing_at_the_package_root_outside_the_rooms():
    root = Path(asgi_scope.__file__).parent
    assert {p.stem for p in root.glob("*.py")} <= ROOT_MODULES
