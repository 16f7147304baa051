"""The tree is the architecture diagram: every import points down the floors, and no module
imports itself back through others.

    floor 5   cli                    the `ledger` command (may run the benchmarks)
    floor 4   bench                  every measurement
    floor 3   processors, gateway    the processes; they never import each other
    floor 2   readmodel, schemas,    the Redis and the Kafka contracts; the one settings object
              settings               (and the programs file it names)
    floor 1   ledger                 the pure domain
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {
    "cli": 5,
    "bench": 4,
    "processors": 3,
    "gateway": 3,
    "readmodel": 2,
    "schemas": 2,
    "settings": 2,
    "ledger": 1,
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


MODULES = dict(_modules())


def _imports(path: Path) -> Iterator[str]:
    """What a module imports: `from package import submodule` is the submodule, not the
    package's __init__ (that would draw a cycle through every package that re-exports)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in MODULES else node.module


def test_every_import_points_down_the_floors() -> None:
    upward = []
    for module, path in MODULES.items():
        here = module.split(".")[0]
        for name in _imports(path):
            there = name.split(".")[0]
            if there in FLOORS and there != here and FLOORS[there] >= FLOORS[here]:
                upward.append(f"{module} imports {name}")
    assert sorted(set(upward)) == []


def test_nothing_shipped_imports_the_tests() -> None:
    """The tests reuse bench/kit and bench/processes; never the other way round."""
    reaching = [
        f"{module} imports {name}"
        for module, path in MODULES.items()
        for name in _imports(path)
        if name.split(".")[0] == "tests"
    ]
    assert reaching == []


def test_no_module_imports_itself_back() -> None:
    graph = {
        module: {name for name in _imports(path) if name in MODULES and name != module}
        for module, path in MODULES.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


MODULE_LINES_MAX = 400
FUNCTION_LINES_MAX = 70
REASON = "Long on purpose:"


def test_modules_and_functions_stay_small_or_say_why() -> None:
    """No module over 400 lines and no function over 70, unless the module's docstring says
    why in a line starting `Long on purpose:`."""
    unexplained = []
    for module, path in MODULES.items():
        text = path.read_text()
        tree = ast.parse(text)
        if REASON in (ast.get_docstring(tree) or ""):
            continue
        if len(text.splitlines()) > MODULE_LINES_MAX:
            unexplained.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES_MAX:
                    unexplained.append(f"{module}.{node.name}: {length} lines")
    assert unexplained == []


def test_no_package_holds_more_than_a_quarter_of_the_lines() -> None:
    lines = {package: 0 for package in FLOORS}
    for module, path in MODULES.items():
        lines[module.split(".")[0]] += len(path.read_text().splitlines())
    total = sum(lines.values())
    assert {p: n for p, n in lines.items() if n > total / 4} == {}
