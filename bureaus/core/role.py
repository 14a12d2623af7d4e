"""What a bureau does with what it receives, by role, chosen once when its core is made.

Every bureau answers a search request (an NCB or a regional bureau holds no databases here, so
its answer is ``no-hit``). The General Secretariat also reviews notice requests and publishes
or refuses them through the lifecycle table, cancels what it published, answers searches from
its databases, and sends a message for many NCBs once on the broadcast topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from bureaus.core.delivery import SendGenerated
from bureaus.core.outputs import Emitter, Now
from bureaus.core.timers import ReviewDue, TimerQueue
from bureaus.core.world import BROADCAST_MIN, World
from bureaus.events import Lifecycle
from protocol import (
    BureauInfo,
    MessageBase,
    NoticeCancelled,
    NoticePublished,
    NoticeRefused,
    NoticeRequest,
    SearchHit,
    SearchQuery,
    SearchRequest,
    SearchResult,
    ToAll,
    ToBureaus,
)
from protocol.messages.lifecycle import IllegalTransition, NoticeEvent, NoticeLifecycle

__all__ = ["GeneralSecretariat", "Member", "Role", "role_for"]

NoticeKey = tuple[str, UUID]
"""A notice by (requester, request id): an id is its sender's, so another member's request
under the same id is another notice."""


class Role:
    """A role's part in a bureau core (the shared part: searches are answered).

    Args:
        info: Who the bureau is.
        world: The roster, the rules, the databases, the ids.
        emit: Where events go.
        timers: Where reviews are set.
        send: Seals and queues a message the bureau made.
    """

    def __init__(
        self, info: BureauInfo, world: World, emit: Emitter, timers: TimerQueue, send: SendGenerated
    ) -> None:
        self.info = info
        self.world = world
        self._emit = emit
        self._timers = timers
        self._send = send
        self.notices: dict[NoticeKey, NoticeLifecycle] = {}
        """The lifecycle of every notice this bureau was asked for (the GS only)."""
        self.published_notices: dict[NoticeKey, str] = {}
        """Notice requests this bureau published, to their entity ids (the GS only)."""

    def forget(self) -> None:
        """A restart without a journal: no notice remembered."""
        self.notices.clear()
        self.published_notices.clear()

    def received(self, message: MessageBase, now: Now) -> None:
        """React to a delivered message (acknowledgements aside)."""
        if isinstance(message, SearchRequest):
            self._answer_search(message, now)

    def reviewed(self, request: NoticeRequest, now: Now) -> None:
        """A review set by this role is done (only the General Secretariat sets any)."""

    def cancel(self, key: NoticeKey, message_id: UUID, reason: str, now: Now) -> bool:
        """Cancel a published notice; only the General Secretariat publishes any."""
        return False

    def broadcasts(self, hops: Iterable[str], finals: Sequence[str]) -> bool:
        """Whether a message goes out once on the broadcast topic (only the GS writes it)."""
        return False

    def hits(self, query: SearchQuery) -> tuple[SearchHit, ...]:
        """What a search finds here."""
        return ()

    def _answer_search(self, request: SearchRequest, now: Now) -> None:
        hits = self.hits(request.query)
        self._send(
            SearchResult(
                message_id=self.world.ids.search_result(request.message_id, request.sender),
                sender=self.info.id,
                recipients=ToBureaus(bureaus=(request.sender,)),
                created_at=now.wall,
                request_id=request.message_id,
                outcome="hit" if hits else "no-hit",
                hits=hits,
                priority=request.priority,
            ),
            now,
        )


class Member(Role):
    """An NCB or a regional bureau."""


class GeneralSecretariat(Role):
    """The hub: review and publication of notices, the databases, the broadcast topic."""

    def __init__(
        self, info: BureauInfo, world: World, emit: Emitter, timers: TimerQueue, send: SendGenerated
    ) -> None:
        super().__init__(info, world, emit, timers, send)
        self._entity_seq = 0

    def forget(self) -> None:
        """A restart without a journal: no notice remembered, numbering from the start."""
        super().forget()
        self._entity_seq = 0

    def received(self, message: MessageBase, now: Now) -> None:
        """A notice request goes through the lifecycle to review (now, or when due)."""
        if isinstance(message, NoticeRequest):
            if self._lifecycle((message.sender, message.message_id), "request", now):
                delay = self.world.review.delay_s
                if delay > 0:
                    self._timers.at(now.s + delay, ReviewDue(message))
                else:
                    self.reviewed(message, now)
        else:
            super().received(message, now)

    def hits(self, query: SearchQuery) -> tuple[SearchHit, ...]:
        """What the databases hold for ``query``."""
        return self.world.databases.search(query)

    def broadcasts(self, hops: Iterable[str], finals: Sequence[str]) -> bool:
        """For a message with at least :data:`BROADCAST_MIN` recipients reached directly.

        Only when every link is the same: the link model off and no outage scripted (a
        modelled delay, loss or outage is per link, so those messages go inbox by inbox). Every
        recipient still verifies and opens its own entry of the one envelope; the others skip
        it after reading its header.
        """
        world = self.world
        return (
            world.broadcast
            and len(finals) >= BROADCAST_MIN
            and not world.links.enabled
            and not world.links.outages
            and set(hops) == set(finals)
        )

    def reviewed(self, request: NoticeRequest, now: Now) -> None:
        """Publish the notice, or refuse it with the review's reason."""
        refusal = self.world.review.review(request)
        key = (request.sender, request.message_id)
        if not self._lifecycle(key, "refuse" if refusal else "publish", now):
            return
        ids = self.world.ids
        if refusal is not None:
            self._send(
                NoticeRefused(
                    message_id=ids.refusal(request.message_id, request.sender),
                    sender=self.info.id,
                    recipients=ToBureaus(bureaus=(request.sender,)),
                    created_at=now.wall,
                    request_id=request.message_id,
                    reason=refusal.reason,
                    detail=refusal.detail,
                ),
                now,
            )
            return
        self._entity_seq += 1
        entity_id = f"{now.wall.year:04d}/{self._entity_seq:05d}"
        self.published_notices[key] = entity_id
        self._send(
            NoticePublished(
                message_id=ids.publication(request.message_id, request.sender),
                sender=self.info.id,
                recipients=ToAll(),
                created_at=now.wall,
                notice=request.notice.model_copy(update={"entity_id": entity_id}),
                request_id=request.message_id,
                priority=request.priority,
                handling_code=request.handling_code,
                tlp=request.tlp,
            ),
            now,
        )

    def cancel(self, key: NoticeKey, message_id: UUID, reason: str, now: Now) -> bool:
        """Cancel a published notice if its lifecycle allows it (broadcast to all)."""
        entity = self.published_notices.get(key)
        if entity is None or not self._lifecycle(key, "cancel", now):
            return False
        self._send(
            NoticeCancelled(
                message_id=message_id,
                sender=self.info.id,
                recipients=ToAll(),
                created_at=now.wall,
                entity_id=entity,
                reason=reason,
            ),
            now,
        )
        return True

    def _lifecycle(self, key: NoticeKey, event: NoticeEvent, now: Now) -> bool:
        """Move a notice through its lifecycle table; an illegal move is refused and counted."""
        requester, request_id = key
        notice = self.notices.setdefault(key, NoticeLifecycle())
        try:
            state = notice.apply(event, round(now.s, 6))
        except IllegalTransition as exc:
            self._emit.refuse(
                now, "illegal_transition", str(exc), message_id=str(request_id), peer=requester
            )
            return False
        self._emit.record(
            Lifecycle,
            now,
            message_id=str(request_id),
            peer=requester,
            transition=event,
            state=str(state),
            detail=f"{event} -> {state}",
        )
        return True


def role_for(
    info: BureauInfo, world: World, emit: Emitter, timers: TimerQueue, send: SendGenerated
) -> Role:
    """The role object for a bureau, by its role in the roster."""
    kind = GeneralSecretariat if info.role == "general-secretariat" else Member
    return kind(info, world, emit, timers, send)
