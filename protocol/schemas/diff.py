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

Fields added and removed are judged by the content model on each side, as Confluent's checker
for JSON Schema does: the exported schemas are closed (``additionalProperties: false``), and a
closed reader refuses a field it does not name. So, for a closed object, adding an optional
field breaks forward (old readers refuse it) and removing one breaks backward (new readers
refuse old data that has it); for an open object neither does. Opening or closing an object,
adding or removing a ``const`` and dropping a ``type`` are changes of their own.

Compatibility modes, as schema registries name them. Each change also says which direction it
breaks (:attr:`Change.breaks`), after the registries' own table (Confluent Schema Registry's
"compatibility types"):

``backward``
    consumers using the new schema read data written with the old one: fields may be deleted and
    optional fields added; a new required field, a field made required, a narrowed type or enum,
    a tightened constraint, a removed kind break it.
``forward``
    consumers using the old schema read data written with the new one: fields may be added and
    optional fields deleted; a deleted required field, a field made optional, a widened type or
    enum, a loosened constraint, a new kind break it.
``full``
    both. ``none``: anything goes. The ``-transitive`` variants check a version against every
    earlier one, not only the one before it.

The default, ``bureaunet``, is the project's own rule (the ``breaking`` flag above): the same
table as ``backward`` except that removing a field is breaking too, because a bureau on the old
minor version still sends it.

AsyncAPI documents are compared too (:func:`diff_asyncapi`): channels and their addresses,
operations and their actions and channels, the messages each carries, and every message payload.

Pure: dictionaries in, :class:`Change` records out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protocol.errors import SchemaDiffError
from protocol.schemas.diff_rules import (
    BACKWARD,
    BOTH,
    FORWARD,
    LOWER_BOUNDS,
    MODES,
    RULE_NAMES,
    TAGS,
    UPPER_BOUNDS,
    Change,
    Mode,
    breaking_under,
    make_change,
)

__all__ = [
    "MODES",
    "RULE_NAMES",
    "Change",
    "Mode",
    "SchemaVersion",
    "breaking_under",
    "diff_asyncapi",
    "diff_schema_sets",
    "diff_schemas",
    "diff_versions",
]


class _Walker:
    def __init__(self, name: str, old_root: Mapping[str, Any], new_root: Mapping[str, Any]) -> None:
        self.name = name
        self.old_root = old_root
        self.new_root = new_root
        self.changes: list[Change] = []
        self.seen: set[tuple[str, str, str]] = set()

    def add(
        self,
        path: str,
        rule: str,
        breaking: bool,
        detail: str,
        breaks: frozenset[str] | None = None,
    ) -> None:
        self.changes.append(
            make_change(self.name, path or "$", rule, breaking, detail, breaks=breaks)
        )

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
        if "const" in old and "const" in new and old["const"] != new["const"]:
            field = path.rsplit(".", 1)[-1]
            rule = "discriminator-changed" if field in TAGS else "constant-changed"
            self.add(path, rule, True, f"{old['const']!r} became {new['const']!r}")
        elif "const" in new and "const" not in old:
            self.add(path, "constraint-tightened", True, f"now only {new['const']!r}")
        elif "const" in old and "const" not in new:
            self.add(path, "constraint-loosened", False, f"no longer only {old['const']!r}")

    def _types(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        before, after = self.types(old), self.types(new)
        bare = not old.get("anyOf") and not old.get("oneOf") and not new.get("anyOf")
        if before and not after and bare:
            self.add(path, "type-widened", False, f"type {sorted(before)} removed: any type")
        elif after and not before and bare:
            self.add(path, "type-narrowed", True, f"now only type {sorted(after)}")
        if before and after:
            self._type_sets(before, after, path)

    def _type_sets(self, before: set[str], after: set[str], path: str) -> None:
        if before == {"number"} and after == {"integer"}:
            self.add(path, "type-narrowed", True, "number became integer")
            return
        if before == {"integer"} and after == {"number"}:
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
        for word in UPPER_BOUNDS + LOWER_BOUNDS:
            before, after = old.get(word), new.get(word)
            if before == after:
                continue
            upper = word in UPPER_BOUNDS
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
        """Fields added and removed, judged by each side's content model.

        A closed object (``additionalProperties: false``) refuses fields it does not name, so
        for it adding an optional field breaks old readers (forward) and removing one breaks new
        readers of old data (backward); an open object takes both (Confluent's rules for JSON
        Schema).
        """
        self._content_model(old, new, path)
        old_props = old.get("properties", {})
        new_props = new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name in old_props:
            child = f"{path}.{name}" if path else f"$.{name}"
            if name not in new_props:
                self._removed(child, name, was_required=name in old_req, new=new)
                continue
            if name not in old_req and name in new_req:
                self.add(child, "made-required", True, "optional field is now required")
            if name in old_req and name not in new_req:
                self.add(child, "made-optional", False, "required field is now optional")
            self.walk(old_props[name], new_props[name], child)
        for name in new_props:
            if name not in old_props:
                child = f"{path}.{name}" if path else f"$.{name}"
                self._added(child, name, required=name in new_req, old=old)

    def _removed(
        self, child: str, name: str, *, was_required: bool, new: Mapping[str, Any]
    ) -> None:
        breaks = set(FORWARD) if was_required else set()
        if not _admits(new, name):
            breaks.add("backward")  # a new reader refuses old data that has it
        self.add(
            child,
            "field-removed",
            True,
            ("required field removed" if was_required else "field removed")
            + ("" if _admits(new, name) else " (the new object is closed)"),
            frozenset(breaks),
        )

    def _added(self, child: str, name: str, *, required: bool, old: Mapping[str, Any]) -> None:
        closed = not _admits(old, name)
        extra = " (the old object is closed)" if closed else ""
        if required:
            added = BOTH if closed else BACKWARD
            self.add(child, "required-field-added", True, "new required field" + extra, added)
        else:
            optional = FORWARD if closed else frozenset()
            self.add(child, "optional-field-added", False, "new optional field" + extra, optional)

    def _content_model(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        if "properties" not in old and "properties" not in new:
            return
        was, now = _closed(old), _closed(new)
        if was and not now:
            self.add(path, "content-model-opened", False, "additionalProperties no longer false")
        elif now and not was:
            self.add(path, "content-model-closed", True, "additionalProperties is now false")


def _closed(node: Mapping[str, Any]) -> bool:
    """Whether an object refuses fields it does not name."""
    return node.get("additionalProperties") is False or node.get("unevaluatedProperties") is False


def _admits(node: Mapping[str, Any], name: str) -> bool:
    """Whether an object takes a field ``name`` it does not list (open, or a pattern matches)."""
    if not _closed(node):
        return True
    patterns = node.get("patternProperties", {})
    return any(re.search(pattern, name) for pattern in patterns)


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
        changes.append(make_change(name, "$", "kind-removed", True, "message kind removed"))
    for name in sorted(new.keys() - old.keys()):
        changes.append(make_change(name, "$", "kind-added", False, "message kind added"))
    for name in sorted(old.keys() & new.keys()):
        changes += diff_schemas(name, old[name], new[name])
    return changes


@dataclass(frozen=True)
class SchemaVersion:
    """One version of the protocol's contract: its exported schemas, its AsyncAPI document, or both.

    Attributes:
        label: How the version is named in messages (a directory or file name).
        schemas: Message kind to JSON Schema (empty when only the AsyncAPI document is known).
        asyncapi: The AsyncAPI document, or ``None``.
    """

    label: str
    schemas: Mapping[str, Mapping[str, Any]]
    asyncapi: Mapping[str, Any] | None = None


def diff_versions(old: SchemaVersion, new: SchemaVersion) -> list[Change]:
    """Every change between two versions, from whatever both sides have.

    Raises:
        SchemaDiffError: The two share neither schemas nor an AsyncAPI document.
    """
    changes: list[Change] = []
    if old.schemas and new.schemas:
        changes += diff_schema_sets(old.schemas, new.schemas)
    if old.asyncapi is not None and new.asyncapi is not None:
        changes += diff_asyncapi(old.asyncapi, new.asyncapi)
    if not (old.schemas and new.schemas) and (old.asyncapi is None or new.asyncapi is None):
        raise SchemaDiffError(old.label, new.label)
    return changes


def _names(section: Any) -> dict[str, Any]:
    return dict(section) if isinstance(section, Mapping) else {}


def _ref_name(node: Any) -> str:
    ref = node.get("$ref", "") if isinstance(node, Mapping) else ""
    return str(ref).rsplit("/", 1)[-1]


OPENED = "x-bureaunet-opened"
"""Where a sealed message of the AsyncAPI document names the schema of what is inside."""


def diff_asyncapi(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change between two AsyncAPI 3 documents: channels, operations, messages, payloads.

    Changes are named by where they are: ``channel:inbox``, ``operation:ncbSend``,
    ``message:NoticeRequest`` (its payload walked as a schema, following ``$ref`` into
    ``components``).
    """
    changes: list[Change] = []
    old_ch, new_ch = _names(old.get("channels")), _names(new.get("channels"))
    for name in sorted(old_ch.keys() - new_ch.keys()):
        changes.append(
            make_change(f"channel:{name}", "$", "channel-removed", True, "channel removed")
        )
    for name in sorted(new_ch.keys() - old_ch.keys()):
        changes.append(make_change(f"channel:{name}", "$", "channel-added", False, "channel added"))
    for name in sorted(old_ch.keys() & new_ch.keys()):
        before, after = _names(old_ch[name]), _names(new_ch[name])
        if before.get("address") != after.get("address"):
            changes.append(
                make_change(
                    f"channel:{name}",
                    "$.address",
                    "address-changed",
                    True,
                    f"{before.get('address')!r} became {after.get('address')!r}",
                )
            )
        changes += _message_lists(f"channel:{name}", before, after)
    old_op, new_op = _names(old.get("operations")), _names(new.get("operations"))
    for name in sorted(old_op.keys() - new_op.keys()):
        changes.append(
            make_change(f"operation:{name}", "$", "operation-removed", True, "operation removed")
        )
    for name in sorted(new_op.keys() - old_op.keys()):
        changes.append(
            make_change(f"operation:{name}", "$", "operation-added", False, "operation added")
        )
    for name in sorted(old_op.keys() & new_op.keys()):
        before, after = _names(old_op[name]), _names(new_op[name])
        for field in ("action", "channel"):
            a, b = before.get(field), after.get(field)
            if field == "channel":
                a, b = _ref_name(a), _ref_name(b)
            if a != b:
                changes.append(
                    make_change(
                        f"operation:{name}",
                        f"$.{field}",
                        "action-changed",
                        True,
                        f"{field} {a!r} became {b!r}",
                    )
                )
        changes += _message_lists(f"operation:{name}", before, after)
    old_msgs = _names(_names(old.get("components")).get("messages"))
    new_msgs = _names(_names(new.get("components")).get("messages"))
    for name in sorted(old_msgs.keys() & new_msgs.keys()):
        walker = _Walker(f"message:{name}", old, new)
        before, after = _names(old_msgs[name]), _names(new_msgs[name])
        walker.walk(before.get("payload"), after.get("payload"), "")
        # a sealed message: its payload is the envelope; what is inside is the contract
        walker.walk(before.get(OPENED), after.get(OPENED), "")
        changes += walker.changes
    return changes


def _message_lists(where: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Messages a channel or an operation carries, added or removed."""

    def carried(node: Mapping[str, Any]) -> set[str]:
        messages = node.get("messages", {})
        if isinstance(messages, Mapping):
            return {str(k) for k in messages}
        return {_ref_name(m) for m in messages} if isinstance(messages, list) else set()

    old, new = carried(before), carried(after)
    return [
        make_change(where, f"$.messages.{m}", "message-removed", True, "message no longer carried")
        for m in sorted(old - new)
    ] + [
        make_change(where, f"$.messages.{m}", "message-added", False, "message now carried")
        for m in sorted(new - old)
    ]
