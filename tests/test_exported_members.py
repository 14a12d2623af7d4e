"""Each package's public surface is its ``__all__``: complete, and every name in it real."""

from __future__ import annotations

import importlib
import types

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
