"""Reading YAML safely: size and alias limits, duplicate keys refused, YAML 1.2 integers, lines."""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_SCENARIO_BYTES = 256 * 1024
"""The largest scenario file read: ten times the largest bundled one, and small enough that
any file is accepted or refused within a second (bench/scenario_files.py)."""
MAX_VALUES = 100_000
"""The most values (scalars, lists, mappings) a scenario may hold once its aliases are expanded."""
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""LibYAML's safe loader where PyYAML was built with it (several times faster), else PyYAML's."""


class _Loader(_BASE_LOADER):  # type: ignore[valid-type,misc]
    """A safe loader that reads plain scalars as YAML 1.2's core schema does.

    PyYAML resolves YAML 1.1: a bare ``NO`` (Norway), ``ON``, ``yes`` or ``off`` becomes a
    boolean, ``012`` an octal 10, ``1:30`` the number 90 and ``2026-01-05`` a date. In YAML 1.2
    only ``true``/``false``, ``null``/``~``, decimal, ``0o`` and ``0x`` integers and decimal
    floats are anything but strings, so a trainer never has to quote a country code.
    """


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    ("merge", r"<<", "<"),  # not in YAML 1.2, but anchors merged into mappings are common
):
    _Loader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), list(_first)
    )


_MAX_INT_DIGITS = 30
"""The longest integer a scenario may write (a seed fits in 19 digits)."""


def _yaml12_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if len(text) > _MAX_INT_DIGITS:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"an integer of {len(text)} digits (at most {_MAX_INT_DIGITS})",
            node.start_mark,
        )
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # "012" is twelve in YAML 1.2


_Loader.add_constructor("tag:yaml.org,2002:int", _yaml12_int)
LOADER = _Loader


def expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias expanded (each shared node once)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            size += expanded_size(key, sizes) + expanded_size(value, sizes)
    elif isinstance(node, yaml.SequenceNode):
        for value in node.value:
            size += expanded_size(value, sizes)
    sizes[id(node)] = size
    return size


def duplicates(node: yaml.Node, path: tuple[Any, ...] = ()) -> list[tuple[int, str]]:
    """Keys given twice in one mapping (YAML forbids it; PyYAML keeps the last silently)."""
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[object, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if isinstance(key, yaml.ScalarNode):
                if key.value in first:
                    where = dotted((*path, key.value))
                    found.append((line, f"{where}: given twice (first on line {first[key.value]})"))
                first.setdefault(key.value, line)
            found += duplicates(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            found += duplicates(value, (*path, index))
    return found


def node_lines(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every path in a YAML document to the (1-based) line it starts on."""
    found = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            found[child] = key.start_mark.line + 1
            found.update({k: v for k, v in node_lines(value, child).items() if k != child})
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            found.update(node_lines(value, (*path, index)))
    return found


def dotted(loc: tuple[Any, ...]) -> str:
    """A validation error's location as a path: ``injects[0].search.from``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"
