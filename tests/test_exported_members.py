"""Each package's public surface is its ``__all__``: complete, and every name in it real."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

PACKAGES = ["protocol", "broker", "bureaus", "scenarios"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_each_member_once_and_every_one_exists(name: str) -> None:
    package = importlib.import_module(name)
    exported = list(package.__all__)
    assert len(exported) == len(set(exported))
    missing = [member for member in exported if not hasattr(package, member)]
    assert missing == []


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_of_a_package_is_exported(name: str) -> None:
    package = importlib.import_module(name)
    public = {
        member
        for member, value in vars(package).items()
        if not member.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations", "TYPE_CHECKING", "Any", "importlib"}
    assert sorted(public - set(package.__all__)) == []


def test_the_scenario_layer_loads_what_it_exports_only_when_asked() -> None:
    scenarios = importlib.import_module("scenarios")
    assert scenarios.simulate is importlib.import_module("scenarios.launch").simulate
    with pytest.raises(AttributeError):
        _ = scenarios.no_such_thing


def _private_imports(root: Path) -> list[str]:
    """Every ``from x import _name`` of the project's modules (``__version__`` aside)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] not in PACKAGES:
                    continue
                found += [
                    f"{path.relative_to(root.parent)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__version__"
                ]
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_no_module_imports_a_private_name_of_another(name: str) -> None:
    assert _private_imports(Path(__file__).parent.parent / name) == []
