"""Who may send what: the sender table, by role and recipient scope, as data.

Theory of operation. Next to the notice lifecycle (:mod:`protocol.messages.lifecycle`, which moves
exist), this table says who may make them: for every message kind, the roles whose bureaus may send
it and the recipient scopes they may address (named bureaus, a region, every member country). Only
the General Secretariat issues, updates, cancels and refuses notices; notice requests come from NCBs
and the regional organisations and are addressed to named bureaus (the GS); searches, answers and
acknowledgements go to named bureaus. Code elsewhere asks :func:`sender_violation` and
:func:`recipient_violation`; it never decides on its own.

The envelope enforces both when a message is opened, before anything acts on it: a relay checks the
kind against the sender's role (both are in the signed header), a recipient also checks the scope
and that the header's recipients are exactly the message's own, resolved against the roster. A
violation is the rejection reason ``unauthorized_sender``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from protocol.messages.models import Recipients, ToAll, ToBureaus, ToRegion
from protocol.network.roster import ROLES, Role, Roster

__all__ = [
    "SENDERS",
    "Scope",
    "SendRule",
    "recipient_violation",
    "resolve_recipients",
    "sender_violation",
]

Scope = Literal["bureaus", "region", "all"]
"""How a message is addressed: named bureaus, every NCB of a region, every member country."""

_EVERYONE: frozenset[Role] = frozenset(ROLES)
_ANY_SCOPE: frozenset[Scope] = frozenset({"bureaus", "region", "all"})
_NAMED: frozenset[Scope] = frozenset({"bureaus"})


@dataclass(frozen=True, slots=True)
class SendRule:
    """Who may send one kind of message, and how they may address it."""

    roles: frozenset[Role]
    scopes: frozenset[Scope]


_GS_ONLY: frozenset[Role] = frozenset({"general-secretariat"})

SENDERS: dict[str, SendRule] = {
    "notice-request": SendRule(frozenset({"ncb", "regional-organisation"}), _NAMED),
    "notice-published": SendRule(_GS_ONLY, _ANY_SCOPE),
    "notice-updated": SendRule(_GS_ONLY, _ANY_SCOPE),
    "notice-cancelled": SendRule(_GS_ONLY, _ANY_SCOPE),
    "notice-refused": SendRule(_GS_ONLY, _NAMED),
    "diffusion": SendRule(_EVERYONE, _ANY_SCOPE),
    "case-message": SendRule(_EVERYONE, frozenset({"bureaus", "region"})),
    "search-request": SendRule(_EVERYONE, _NAMED),
    "search-result": SendRule(_EVERYONE, _NAMED),
    "acknowledgement": SendRule(_EVERYONE, _NAMED),
    "presence": SendRule(_EVERYONE, _ANY_SCOPE),
}
"""Message kind to the roles that may send it and the scopes they may address."""


def sender_violation(kind: str, role: Role, scope: Scope | None = None) -> str | None:
    """Why a bureau of ``role`` may not send ``kind`` (to ``scope``), or ``None`` if it may.

    ``scope`` ``None`` checks the role alone (what a relay can see in a header).
    """
    rule = SENDERS.get(kind)
    if rule is None:
        return f"no bureau may send {kind!r}"
    if role not in rule.roles:
        allowed = ", ".join(sorted(rule.roles))
        return f"a bureau of role {role} may not send {kind} (only: {allowed})"
    if scope is not None and scope not in rule.scopes:
        return f"{kind} may not be addressed to {scope} (only to: {', '.join(sorted(rule.scopes))})"
    return None


def resolve_recipients(recipients: Recipients, sender: str, roster: Roster) -> tuple[str, ...]:
    """The final recipients of a message, expanded against the roster (the sender left out)."""
    if isinstance(recipients, ToBureaus):
        return recipients.bureaus
    ncbs = roster.ncbs()
    if isinstance(recipients, ToRegion):
        return tuple(b.id for b in ncbs if b.region == recipients.region and b.id != sender)
    assert isinstance(recipients, ToAll)
    return tuple(b.id for b in ncbs if b.id != sender)


def recipient_violation(
    header_ids: Iterable[str], recipients: Recipients, sender: str, roster: Roster | None
) -> str | None:
    """Why the recipients an envelope is sealed for are not the message's own, or ``None``.

    Without a roster, only named recipients can be compared.
    """
    sealed = set(header_ids)
    if isinstance(recipients, ToAll) and roster is not None:
        wanted: set[str] | frozenset[str] = roster.ncb_ids - {sender}  # the common wide case
    elif roster is None:
        if not isinstance(recipients, ToBureaus):
            return None
        wanted = set(recipients.bureaus)
    else:
        wanted = set(resolve_recipients(recipients, sender, roster))
    if sealed == wanted:
        return None
    extra, missing = sorted(sealed - wanted), sorted(wanted - sealed)
    parts = []
    if extra:
        parts.append(f"sealed for {len(extra)} bureaus it is not addressed to ({_few(extra)})")
    if missing:
        parts.append(f"not sealed for {len(missing)} of its recipients ({_few(missing)})")
    return "the header's recipients are not the message's: " + "; ".join(parts)


def _few(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
