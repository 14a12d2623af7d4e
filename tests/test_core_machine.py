"""The bureau core driven by a hypothesis state machine: sends delivered late, twice, or never.

Rules submit messages, deliver a pending transmission, lose one, deliver one twice, and let time
pass (firing timers). Invariants: no input raises out of the core, every rejection has a reason,
no bureau accepts a message twice; at the end, with the network repaired, every message is
delivered and acknowledged, or given up loudly.
"""

from __future__ import annotations

from uuid import uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bureaus import BureauCore, Outputs, Send
from bureaus.events import Delivered, Rejected, Shed
from bureaus.sandbox import EPOCH, at, cores
from protocol import Diffusion, ToBureaus, topics

PREFIX = topics.inbox("gs").removesuffix("gs")
NCBS = ["FR", "DE", "KE"]


class CoreNetwork(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.net: dict[str, BureauCore] = cores("hub", resend_after=2.0, max_attempts=6)
        self.t = 0.0
        self.wire: list[Send] = []
        self.sent: dict[str, str] = {}  # message id: recipient
        self.delivered: list[tuple[str, str]] = []
        self.rejected: list[Rejected] = []
        self.given_up: set[str] = set()

    def take(self, out: Outputs) -> None:
        for event in out.events:
            if isinstance(event, Delivered) and event.message_kind == "diffusion":
                self.delivered.append((event.bureau, event.message_id or ""))
            elif isinstance(event, Rejected):
                self.rejected.append(event)
            elif isinstance(event, Shed) and event.reason == "unacknowledged":
                self.given_up.add(event.message_id or "")
        for send in out.sends:
            if send.item is not None:
                owner = [c for c in self.net.values() if send.item.message_id in c.queued_ids()]
                if owner:
                    owner[0].published(send.item)  # the broker took it
            if send.topic.startswith(PREFIX):
                self.wire.append(send)

    @rule(sender=st.sampled_from(NCBS), to=st.sampled_from(NCBS))
    def submit(self, sender: str, to: str) -> None:
        if sender == to:
            return
        message = Diffusion(
            message_id=uuid4(),
            sender=sender,
            recipients=ToBureaus(bureaus=(to,)),
            created_at=EPOCH,
            diffusion_type="information",
            text="state machine",
        )
        self.sent[str(message.message_id)] = to
        self.take(self.net[sender].submit(message, at(self.t)))

    @precondition(lambda self: self.wire)
    @rule(index=st.integers(min_value=0), twice=st.booleans())
    def deliver(self, index: int, twice: bool) -> None:
        send = self.wire.pop(index % len(self.wire))
        bureau = send.topic.removeprefix(PREFIX)
        for _ in range(2 if twice else 1):
            self.take(self.net[bureau].receive(send.topic, send.payload, at(self.t)))

    @precondition(lambda self: self.wire)
    @rule(index=st.integers(min_value=0))
    def lose(self, index: int) -> None:
        self.wire.pop(index % len(self.wire))

    @rule(seconds=st.floats(min_value=0.1, max_value=10))
    def wait(self, seconds: float) -> None:
        self.t += seconds
        for core in self.net.values():
            self.take(core.handle_timer(at(self.t)))

    @invariant()
    def accepted_once(self) -> None:
        assert len(self.delivered) == len(set(self.delivered))

    @invariant()
    def every_rejection_has_a_reason(self) -> None:
        assert all(e.reason for e in self.rejected)
        assert not [e for e in self.rejected if e.reason in ("internal_error", "replay")]

    def teardown(self) -> None:
        # the network is repaired: deliver everything, let every timer fire, until quiet
        for _ in range(200):
            while self.wire:
                self.deliver(0, False)
            pending = [c.next_timer()[1] for c in self.net.values() if c.pending]
            if not pending:
                break
            self.t = max(self.t, min(t for t in pending if t is not None)) + 0.01
            for core in self.net.values():
                self.take(core.handle_timer(at(self.t)))
        got = set(self.delivered)
        for mid, to in self.sent.items():
            assert (to, mid) in got or mid in self.given_up


CoreNetwork.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
test_the_core_under_loss_duplication_and_delay = CoreNetwork.TestCase
