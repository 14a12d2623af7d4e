"""Message ids derived from the run seed: the one place that names them.

Generated messages (acknowledgements, publications, refusals, search results) and scripted ones
(injects, load, deck cards, players' replies) get ids derived from the run seed and what they
answer, so the same seed gives the same ids whatever order things happen in. Ids are
reproducible, so anyone can predict them: a message is named by its sender *and* its id
everywhere (replay memory, relays, the General Secretariat's notices, the tracer), and an answer's
id is derived from the sender of what it answers, so no member can take another's. The runner asks
this object which id will carry an answer (the publication of a request, the result of a search);
nothing re-derives them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

__all__ = ["MessageIds"]


@dataclass(frozen=True, slots=True)
class MessageIds:
    """Reproducible (not secret) message ids for one run."""

    seed: int = 0

    def derive(self, *parts: object) -> UUID:
        """An id derived from the seed and ``parts``."""
        digest = hashlib.sha256("|".join(map(str, (self.seed, *parts))).encode()).digest()
        return UUID(bytes=digest[:16], version=4)

    def acknowledgement(self, refers_to: UUID | str, by: str, to: str) -> UUID:
        """The acknowledgement ``by`` sends of ``to``'s message ``refers_to``."""
        return self.derive("ack", to, refers_to, by)

    def publication(self, request_id: UUID | str, requester: str) -> UUID:
        """The General Secretariat's publication of ``requester``'s notice request."""
        return self.derive("published", requester, request_id)

    def refusal(self, request_id: UUID | str, requester: str) -> UUID:
        """The General Secretariat's refusal of ``requester``'s notice request."""
        return self.derive("refused", requester, request_id)

    def search_result(self, request_id: UUID | str, requester: str) -> UUID:
        """The answer to ``requester``'s search request."""
        return self.derive("result", requester, request_id)

    def inject(self, index: int) -> UUID:
        """The message of timed or contingency inject number ``index``."""
        return self.derive("inject", index)

    def card(self, index: int, count: int) -> UUID:
        """The message of deck card ``index``, fired for the ``count``-th time."""
        return self.derive("deck", index, count)

    def load(self, generator: int, n: int) -> UUID:
        """The ``n``-th message of load generator ``generator``."""
        return self.derive("load", generator, n)

    def hostile(self, bureau: str) -> UUID:
        """The genuine message a compromised bureau later replays."""
        return self.derive("hostile", bureau)

    def played_reply(self, bureau: str, message_id: str) -> UUID:
        """A player's reply, as ``bureau``, to ``message_id``."""
        return self.derive("played-reply", bureau, message_id)

    def played_forward(self, bureau: str, message_id: str, to: tuple[str, ...]) -> UUID:
        """A player's forward, as ``bureau``, of ``message_id`` to ``to``."""
        return self.derive("played-forward", bureau, message_id, *to)
