"""Handling codes and TLP markings: who may pass a message on, and the breaches when they do not.

Every message carries the originator's caveats: a handling code, optionally a Traffic Light
Protocol (TLP 2.0) marking, and the source and information evaluation codes. They travel with
the message (they are inside the signed, encrypted body) and with every copy forwarded from it.

The forwarding rules follow the handling codes of European police information exchange:

====  ============================================================  ===========================
code  meaning                                                       forwarding to a third bureau
====  ============================================================  ===========================
H0    use only to prevent and combat crime                          allowed
H1    not to be disclosed in judicial proceedings without the       allowed
      provider's permission
H2    not to be disseminated without the provider's permission      only with permission
H3    other restrictions (stated by the provider)                   only with permission
====  ============================================================  ===========================

and TLP 2.0: ``CLEAR`` and ``GREEN`` may go to any bureau of the network (the community);
``AMBER`` and ``AMBER+STRICT`` stay within the recipient's own organisation, and ``RED`` with the
named recipients, so passing them to another bureau is a breach even with a handling code that
allows it, unless the originator gave permission.

Returning to the originator, or to a bureau that already was a recipient, is never a breach:
nothing reaches anyone who did not have it. This module decides; the bureau enforces (refuses to
send) or flags (sends and records) according to the exercise's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from protocol.messages.models import MessageBase

__all__ = ["HANDLING_CODES", "Breach", "CaveatPolicy", "forwarding_breaches"]

CaveatPolicy = Literal["enforce", "flag"]
"""``enforce``: a forward that breaches its caveats is not sent; ``flag``: sent, and recorded."""

HANDLING_CODES = {
    "H0": "use only to prevent and combat crime",
    "H1": "not to be disclosed in judicial proceedings without the provider's permission",
    "H2": "not to be disseminated without the provider's permission",
    "H3": "other restrictions stated by the provider; disseminate only with permission",
}
"""What each handling code means, in words for reports."""

_NEEDS_PERMISSION_CODES = frozenset({"H2", "H3"})
_NEEDS_PERMISSION_TLP = {
    "TLP:AMBER": "stays within the recipient's organisation",
    "TLP:AMBER+STRICT": "stays within the recipient's organisation only",
    "TLP:RED": "stays with the named recipients",
}


@dataclass(frozen=True, slots=True)
class Breach:
    """One rule a forward would break.

    Attributes:
        rule: The caveat broken (``H2``, ``TLP:RED`` ...).
        originator: The bureau whose permission was needed.
        forwarder: The bureau passing the message on.
        to: The bureaus that would receive it without being entitled to.
        detail: One line for reports.
    """

    rule: str
    originator: str
    forwarder: str
    to: tuple[str, ...]
    detail: str


def forwarding_breaches(
    message: MessageBase,
    forwarder: str,
    to: tuple[str, ...] | list[str],
    *,
    originator: str | None = None,
    entitled: tuple[str, ...] | list[str] = (),
    permission: bool = False,
) -> list[Breach]:
    """The caveats a forward of ``message`` by ``forwarder`` to ``to`` would break.

    Args:
        message: The message as received (its caveats are the originator's).
        forwarder: Who passes it on.
        to: Who would receive the copy.
        originator: Who set the caveats (the message's sender by default).
        entitled: Bureaus that already were recipients of the original.
        permission: Whether the originator allowed this dissemination.

    Returns:
        One :class:`Breach` per caveat broken; empty when the forward is allowed.
    """
    source = originator or message.sender
    third = tuple(b for b in dict.fromkeys(to) if b not in (source, forwarder, *entitled))
    if not third or permission:
        return []
    breaches: list[Breach] = []
    who = ", ".join(third)
    if message.handling_code in _NEEDS_PERMISSION_CODES:
        breaches.append(
            Breach(
                message.handling_code,
                source,
                forwarder,
                third,
                f"{forwarder} passed {source}'s {message.handling_code} {message.kind} to {who} "
                f"without permission ({HANDLING_CODES[message.handling_code]})",
            )
        )
    if message.tlp in _NEEDS_PERMISSION_TLP:
        breaches.append(
            Breach(
                message.tlp,
                source,
                forwarder,
                third,
                f"{forwarder} passed {source}'s {message.tlp} {message.kind} to {who} "
                f"({_NEEDS_PERMISSION_TLP[message.tlp]})",
            )
        )
    return breaches
