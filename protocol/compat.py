"""Schema compatibility: classify every change between two versions of the message schemas.

Theory of operation. Both sides are JSON Schema documents as ``bureaunet schema export`` writes
them, one per message kind. Walking old and new side by side (following ``$ref`` into ``$defs``),
each difference is classified from the point of view of a receiver built for the old schema that
gets messages written to the new one, and of old senders talking to new receivers:

breaking
    a field removed; a new field that is required; an optional field made required; a type
    narrowed (a type or union branch removed); an enum value removed; a constraint tightened
    (``maxLength``/``maximum``/``maxItems`` lowered, ``minLength``/``minimum``/``minItems``
    raised, a new or changed ``pattern``); a discriminator or constant changed; a kind removed.
compatible
    an optional field added; a required field made optional; a type widened; an enum value added;
    a constraint loosened or removed; a kind added.

Pure: dictionaries in, :class:`Change` records out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Change", "diff_schema_sets", "diff_schemas"]

_UPPER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_LOWER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_TAGS = ("kind", "notice_type", "scope", "database")


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two schema versions.

    Attributes:
        schema: The message kind (schema name) it belongs to.
        path: Where, as a JSON path into the message (``$.notice.nationalities``).
        rule: The rule that classified it (``field-removed``, ``enum-value-added`` ...).
        breaking: Whether it breaks compatibility.
        detail: What changed, in words.
    """

    schema: str
    path: str
    rule: str
    breaking: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return asdict(self)


class _Walker:
    def __init__(self, name: str, old_root: Mapping[str, Any], new_root: Mapping[str, Any]) -> None:
        self.name = name
        self.old_root = old_root
        self.new_root = new_root
        self.changes: list[Change] = []
        self.seen: set[tuple[str, str, str]] = set()

    def add(self, path: str, rule: str, breaking: bool, detail: str) -> None:
        self.changes.append(Change(self.name, path or "$", rule, breaking, detail))

    @staticmethod
    def deref(node: Any, root: Mapping[str, Any]) -> tuple[Any, str]:
        ref = ""
        while isinstance(node, Mapping) and "$ref" in node:
            ref = str(node["$ref"])
            target: Any = root
            for part in ref.removeprefix("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            node = target
        return node, ref

    @staticmethod
    def types(node: Mapping[str, Any]) -> set[str]:
        value = node.get("type")
        if isinstance(value, str):
            return {value}
        if isinstance(value, list):
            return set(map(str, value))
        return set()

    def branches(self, node: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for branch in node.get("anyOf", []) + node.get("oneOf", []):
            resolved, ref = self.deref(branch, root)
            key = ref.rsplit("/", 1)[-1] if ref else ",".join(sorted(self.types(resolved))) or "any"
            found[key] = branch
        return found

    def walk(self, old: Any, new: Any, path: str) -> None:
        old, old_ref = self.deref(old, self.old_root)
        new, new_ref = self.deref(new, self.new_root)
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            return
        key = (path, old_ref, new_ref)
        if old_ref and key in self.seen:
            return
        self.seen.add(key)
        self._const(old, new, path)
        self._types(old, new, path)
        self._enum(old, new, path)
        self._constraints(old, new, path)
        self._properties(old, new, path)
        if "items" in old and "items" in new:
            self.walk(old["items"], new["items"], f"{path}[*]")
        old_b, new_b = self.branches(old, self.old_root), self.branches(new, self.new_root)
        for name in old_b.keys() - new_b.keys():
            self.add(path, "type-narrowed", True, f"no longer accepts {name}")
        for name in new_b.keys() - old_b.keys():
            self.add(path, "type-widened", False, f"now also accepts {name}")
        for name in old_b.keys() & new_b.keys():
            self.walk(old_b[name], new_b[name], path)
        if isinstance(old.get("discriminator"), Mapping) and isinstance(
            new.get("discriminator"), Mapping
        ):
            before = old["discriminator"].get("propertyName")
            after = new["discriminator"].get("propertyName")
            if before != after:
                self.add(path, "discriminator-changed", True, f"{before!r} became {after!r}")

    def _const(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        if "const" in old and old.get("const") != new.get("const"):
            field = path.rsplit(".", 1)[-1]
            rule = "discriminator-changed" if field in _TAGS else "constant-changed"
            self.add(path, rule, True, f"{old['const']!r} became {new.get('const')!r}")

    def _types(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        before, after = self.types(old), self.types(new)
        if before and after:
            widened_int = before == {"integer"} and after == {"number"}
            narrowed_num = before == {"number"} and after == {"integer"}
            if narrowed_num:
                self.add(path, "type-narrowed", True, "number became integer")
                return
            if widened_int:
                self.add(path, "type-widened", False, "integer became number")
                return
            for removed in sorted(before - after):
                self.add(path, "type-narrowed", True, f"type {removed!r} no longer accepted")
            for added in sorted(after - before):
                self.add(path, "type-widened", False, f"type {added!r} now accepted")

    def _enum(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        if "enum" in old and "enum" in new:
            before, after = list(old["enum"]), list(new["enum"])
            for value in before:
                if value not in after:
                    self.add(path, "enum-value-removed", True, f"{value!r} no longer allowed")
            for value in after:
                if value not in before:
                    self.add(path, "enum-value-added", False, f"{value!r} now allowed")
        elif "enum" in new and "enum" not in old:
            self.add(path, "constraint-tightened", True, "values now limited to an enumeration")
        elif "enum" in old and "enum" not in new:
            self.add(path, "constraint-loosened", False, "enumeration removed")

    def _constraints(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        for word in _UPPER + _LOWER:
            before, after = old.get(word), new.get(word)
            if before == after:
                continue
            upper = word in _UPPER
            if before is None:
                tighter = True
            elif after is None:
                tighter = False
            else:
                tighter = after < before if upper else after > before
            self.add(
                path,
                "constraint-tightened" if tighter else "constraint-loosened",
                tighter,
                f"{word} {before} -> {after}",
            )
        before_p, after_p = old.get("pattern"), new.get("pattern")
        if before_p != after_p:
            if after_p is None:
                self.add(path, "constraint-loosened", False, f"pattern {before_p!r} removed")
            else:
                self.add(path, "constraint-tightened", True, f"pattern {before_p!r} -> {after_p!r}")

    def _properties(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        old_props = old.get("properties", {})
        new_props = new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name in old_props:
            child = f"{path}.{name}" if path else f"$.{name}"
            if name not in new_props:
                self.add(child, "field-removed", True, "field removed")
                continue
            if name not in old_req and name in new_req:
                self.add(child, "made-required", True, "optional field is now required")
            if name in old_req and name not in new_req:
                self.add(child, "made-optional", False, "required field is now optional")
            self.walk(old_props[name], new_props[name], child)
        for name in new_props:
            if name in old_props:
                continue
            child = f"{path}.{name}" if path else f"$.{name}"
            if name in new_req:
                self.add(child, "required-field-added", True, "new required field")
            else:
                self.add(child, "optional-field-added", False, "new optional field")


def diff_schemas(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change between two versions of one schema."""
    walker = _Walker(name, old, new)
    walker.walk(old, new, "")
    return walker.changes


def diff_schema_sets(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[Change]:
    """Every change between two exported schema sets (name to schema document)."""
    changes: list[Change] = []
    for name in sorted(old.keys() - new.keys()):
        changes.append(Change(name, "$", "kind-removed", True, "message kind removed"))
    for name in sorted(new.keys() - old.keys()):
        changes.append(Change(name, "$", "kind-added", False, "message kind added"))
    for name in sorted(old.keys() & new.keys()):
        changes += diff_schemas(name, old[name], new[name])
    return changes
