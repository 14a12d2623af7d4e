"""How long a bureau's work takes in a simulation: a service-time model drawn from measurements.

In a live run a bureau's work costs what the host's CPU spends on it. In a simulation on the
virtual clock it costs what this model says, so queueing at a busy bureau (the hub publishing a
notice to 195 NCBs while requests keep coming) shows in simulated latency exactly as the topology
causes it, and never depends on the host. The defaults are this project's own measurements
(``bench/RESULTS.md``, 2 cores): an Ed25519 verification with its certificate checks 135 µs,
decrypting and validating 60 µs, sealing 80 µs plus 7 µs per recipient key wrap, and about
145 µs of MQTT client work to publish or to receive one message. A scenario may set its own
(``service:`` in the scenario file), for slower desks or faster machines.
"""

from __future__ import annotations

from dataclasses import dataclass

from bureaus.core import Work

__all__ = ["ServiceTimes"]


@dataclass(frozen=True, slots=True)
class ServiceTimes:
    """Milliseconds per unit of work (see :class:`~bureaus.core.Work`).

    Attributes:
        verify_ms: Checking one received envelope's signature and certificate.
        open_ms: Decrypting and validating one envelope addressed to the bureau.
        seal_ms: Signing and encrypting one envelope.
        wrap_ms: Wrapping the content key for one recipient.
        receive_ms: The client's work to receive one message.
        publish_ms: The client's work to publish one transmission.
    """

    verify_ms: float = 0.135
    open_ms: float = 0.06
    seal_ms: float = 0.08
    wrap_ms: float = 0.007
    receive_ms: float = 0.145
    publish_ms: float = 0.145

    def cost_s(self, work: Work, transmissions: int, received: int = 0) -> float:
        """Seconds of work for one input that did ``work`` and sent ``transmissions``."""
        ms = (
            work.verified * self.verify_ms
            + work.opened * self.open_ms
            + work.sealed * self.seal_ms
            + work.wrapped * self.wrap_ms
            + received * self.receive_ms
            + transmissions * self.publish_ms
        )
        return ms / 1000
