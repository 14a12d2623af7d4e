"""The rules of ``schema diff``: what each change is called and which directions it breaks.

See :mod:`protocol.schemas.diff` for how changes are found, and the compatibility modes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

__all__ = [
    "BACKWARD",
    "BOTH",
    "BREAKS",
    "FORWARD",
    "LOWER_BOUNDS",
    "MODES",
    "RULE_NAMES",
    "TAGS",
    "UPPER_BOUNDS",
    "Change",
    "Mode",
    "breaking_under",
    "make_change",
]

Mode = Literal[
    "bureaunet",
    "backward",
    "forward",
    "full",
    "none",
    "backward-transitive",
    "forward-transitive",
    "full-transitive",
]
MODES: tuple[str, ...] = get_args(Mode)

BACKWARD = frozenset({"backward"})
FORWARD = frozenset({"forward"})
BOTH = frozenset({"backward", "forward"})
BREAKS: dict[str, frozenset[str]] = {
    "kind-removed": BACKWARD,
    "kind-added": FORWARD,
    "required-field-added": BACKWARD,
    "optional-field-added": frozenset(),
    "made-required": BACKWARD,
    "made-optional": FORWARD,
    "type-narrowed": BACKWARD,
    "type-widened": FORWARD,
    "enum-value-removed": BACKWARD,
    "enum-value-added": FORWARD,
    "constraint-tightened": BACKWARD,
    "constraint-loosened": FORWARD,
    "constant-changed": BOTH,
    "discriminator-changed": BOTH,
    "channel-removed": BACKWARD,
    "channel-added": FORWARD,
    "address-changed": BOTH,
    "operation-removed": BACKWARD,
    "operation-added": FORWARD,
    "action-changed": BOTH,
    "message-removed": BACKWARD,
    "message-added": FORWARD,
    "content-model-opened": FORWARD,
    "content-model-closed": BACKWARD,
}
"""Which directions each rule breaks (``field-removed`` depends on whether it was required)."""
RULE_NAMES = frozenset({*BREAKS, "field-removed"})
"""Every rule a change may have (what ``--except`` takes)."""

UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
TAGS = ("kind", "notice_type", "scope", "database")


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
    breaks: frozenset[str] = frozenset()
    """The directions it breaks: ``backward``, ``forward``, both, or neither."""

    def as_dict(self) -> dict[str, Any]:
        """For ``--format json``."""
        data = asdict(self)
        data["breaks"] = sorted(self.breaks)
        return data


def make_change(
    schema: str,
    path: str,
    rule: str,
    breaking: bool,
    detail: str,
    *,
    breaks: frozenset[str] | None = None,
) -> Change:
    """A change, breaking the directions its rule breaks unless ``breaks`` says otherwise."""
    return Change(
        schema, path, rule, breaking, detail, BREAKS.get(rule, BOTH) if breaks is None else breaks
    )


def breaking_under(change: Change, mode: Mode) -> bool:
    """Whether ``change`` breaks compatibility in ``mode`` (transitive or not: the same rule)."""
    base = mode.removesuffix("-transitive")
    if base == "bureaunet":
        return change.breaking
    if base == "none":
        return False
    if base == "full":
        return bool(change.breaks)
    return base in change.breaks
