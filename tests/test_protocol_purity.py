"""protocol/ stays free of I/O: no event loop, no MQTT client, no sockets, no clock of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_visit

PROTOCOL = Path(__file__).resolve().parent.parent / "protocol"
FORBIDDEN_MODULES = {
    "asyncio",
    "aiomqtt",
    "paho",
    "gmqtt",
    "amqtt",
    "socket",
    "ssl",
    "selectors",
    "subprocess",
    "threading",
    "trio",
    "anyio",
    "time",
    "urllib",
    "http",
    "requests",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def violations(source: str) -> list[str]:
    """Imports of forbidden modules and clock reads found in one module's source."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.extend(
            f"line {getattr(node, 'lineno', '?')}: imports {name}"
            for name in names
            if name.split(".")[0] in FORBIDDEN_MODULES
        )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in FORBIDDEN_CALLS
        ):
            found.append(f"line {node.lineno}: calls .{node.func.attr}()")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import aiomqtt",
        "from paho.mqtt import client",
        "import socket as s",
        "from datetime import datetime\nx = datetime.now()",
        "import time\nt = time.monotonic()",
    ],
)
def test_the_checker_catches_io(source: str) -> None:
    assert violations(source)


def test_the_checker_passes_pure_code() -> None:
    assert violations("import json\nfrom datetime import datetime\nx = datetime(2026, 1, 1)") == []


def test_protocol_has_no_io() -> None:
    modules = sorted(PROTOCOL.rglob("*.py"))
    assert modules, "protocol/ not found"
    problems = {
        str(path.relative_to(PROTOCOL)): v
        for path in modules
        if (v := violations(path.read_text(encoding="utf-8")))
    }
    assert problems == {}


BUREAUS = PROTOCOL.parent / "bureaus"
PURE_BUREAU_MODULES = [
    *(f"core/{p.name}" for p in sorted((BUREAUS / "core").glob("*.py"))),
    "events.py",
    "ids.py",
    "links.py",
    "outbox.py",
    "roles.py",
    "service.py",
]
"""The bureau core and the pure helpers it calls: no asyncio, no sockets, no clock."""


@pytest.mark.parametrize("module", PURE_BUREAU_MODULES)
def test_the_bureau_core_has_no_io(module: str) -> None:
    assert violations((BUREAUS / module).read_text(encoding="utf-8")) == []


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, leaving out ``if TYPE_CHECKING:`` blocks (imports for annotations only)."""
    found: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            todo += node.orelse
            continue
        found.append(node)
        todo += list(ast.iter_child_nodes(node))
    return found


def _imports(package: Path, *, type_checking: bool = False) -> dict[str, set[str]]:
    """Each module of ``package`` (subpackages too) and the modules of the package it imports.

    ``type_checking``: count the imports made for annotations only (``if TYPE_CHECKING:``) too.
    """
    root = package.parent
    modules = {_module_name(p, root) for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    walk = (lambda tree: list(ast.walk(tree))) if type_checking else _runtime_nodes
    for path in sorted(package.rglob("*.py")):
        deps = set()
        for node in walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            # the most specific module each import names (a module, or one imported from a package)
            deps |= {n for n in names if n in modules} - {p for p in modules if p == package.name}
        name = _module_name(path, root)
        graph[name] = deps - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep] if dep in path else [*path, dep]
            if dep not in state and (found := visit(dep, [*path, dep])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("package", ["protocol", "broker", "bureaus", "scenarios"])
def test_no_import_cycle_inside_a_package(package: str) -> None:
    assert _cycle(_imports(PROTOCOL.parent / package)) is None


@pytest.mark.parametrize("package", ["protocol", "broker", "bureaus", "scenarios"])
def test_no_import_cycle_even_under_type_checking(package: str) -> None:
    assert _cycle(_imports(PROTOCOL.parent / package, type_checking=True)) is None


def test_the_type_checking_walk_sees_imports_made_for_annotations_only(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import pkg.b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n"
    )
    assert _cycle(_imports(package)) is None
    assert _cycle(_imports(package, type_checking=True)) == ["pkg.a", "pkg.b", "pkg.a"]


LAYERS = ["protocol", "broker", "bureaus", "scenarios"]
"""Lowest first: a layer may import the ones before it, never the ones after."""


def _imported_packages(package: Path) -> dict[str, set[str]]:
    """Each module of ``package`` (recursively) and the project packages it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(package.parent))] = names & set(LAYERS)
    return found


def test_the_layering_checker_can_fail() -> None:
    assert _against_the_arrows("protocol", {"x.py": {"bureaus"}}) == ["x.py imports bureaus"]


def _against_the_arrows(layer: str, imports: dict[str, set[str]]) -> list[str]:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    return [
        f"{module} imports {name}"
        for module, names in imports.items()
        for name in sorted(names & above)
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_no_import_runs_against_the_arrows(layer: str) -> None:
    assert _against_the_arrows(layer, _imported_packages(PROTOCOL.parent / layer)) == []


SMALL = ["bureaus", "scenarios"]
"""The layers held to small modules and simple functions (the core, its drivers, the scenarios)."""
MAX_LINES = 500
MAX_COMPLEXITY = 15
"""Cyclomatic complexity as radon counts it (each boolean operator and comprehension too)."""


def _long_modules(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {n} lines"
        for path in sorted(root.rglob("*.py"))
        if (n := path.read_text(encoding="utf-8").count("\n")) > MAX_LINES
    ]


def _complex_functions(root: Path) -> list[str]:
    """Functions and methods over :data:`MAX_COMPLEXITY` (classes are not functions)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for item in cc_visit(path.read_text(encoding="utf-8")):  # functions, methods, classes
            if not hasattr(item, "methods") and item.complexity > MAX_COMPLEXITY:
                found.append(f"{path.relative_to(root)}: {item.fullname} {item.complexity}")
    return found


@pytest.mark.parametrize("layer", SMALL)
def test_no_module_over_500_lines(layer: str) -> None:
    assert _long_modules(PROTOCOL.parent / layer) == []


@pytest.mark.parametrize("layer", SMALL)
def test_no_function_over_complexity_15(layer: str) -> None:
    assert _complex_functions(PROTOCOL.parent / layer) == []


def test_the_size_and_complexity_checks_can_fail(tmp_path: Path) -> None:
    branches = "".join(f"        if x == {n}:\n            return {n}\n" for n in range(20))
    source = "class C:\n    def f(self, x):\n" + branches + "        return -1\n"
    (tmp_path / "big.py").write_text(source + "\n" * (MAX_LINES - source.count("\n") + 1))
    assert _long_modules(tmp_path) == [f"big.py: {MAX_LINES + 1} lines"]
    assert _complex_functions(tmp_path) == ["big.py: C.f 21"]


@pytest.mark.parametrize("layer", LAYERS)
def test_a_module_over_500_lines_says_why_at_its_top(layer: str) -> None:
    long_and_silent = []
    for path in sorted((PROTOCOL.parent / layer).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 500 and "Why one long module" not in (
            ast.get_docstring(ast.parse(text)) or ""
        ):
            long_and_silent.append(str(path.relative_to(PROTOCOL.parent)))
    assert long_and_silent == []
