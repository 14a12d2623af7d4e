"""A bureau's behaviour without I/O: inputs with the time passed in, outputs returned.

Theory of operation (the aioquic pattern). A :class:`BureauCore` never awaits, never reads a
clock and never touches a socket. A driver hands it

- received bytes: :meth:`BureauCore.receive` (topic, payload, retained flag),
- commands: one typed value each (:mod:`bureaus.core.commands`) through
  :meth:`BureauCore.handle`, or by name (:meth:`~BureauCore.submit`, :meth:`~BureauCore.send`,
  :meth:`~BureauCore.forward`, :meth:`~BureauCore.answer`, ...),
- timer expiries: :meth:`~BureauCore.handle_timer`, when :meth:`~BureauCore.next_timer` says,
- the fate of what it asked to send: :meth:`~BureauCore.published` /
  :meth:`~BureauCore.publish_failed`,

each with a :class:`Now`, and gets back :class:`Outputs`: transmissions to publish (topic, bytes,
modelled delay to hold them for), typed events, and the work done (what a simulation's service-
time model charges for).

A core is composed of parts that each own their state (:mod:`bureaus.core.machine` lists them):
the link (outbox and link model), delivery (acknowledgements and resends), the relay, the role
(chosen once, from the roster: the General Secretariat or a member), typed timers in one queue,
and an emitter whose counters are derived from the events it records.

Two time bases are passed in. ``Now.s`` is scenario time: reviews and link outages are planned
on it. ``Now.t`` is link time: modelled delays, loss timeouts and resends run on it. In a live run
scenario time may run faster than real time (or stand still while a controller pauses it) while
link time is real seconds; in a simulation both are the same virtual clock.
"""

from bureaus.core.commands import Command
from bureaus.core.delivery import RESEND_SPAN_S, AckStatus, resend_span
from bureaus.core.machine import BureauCore
from bureaus.core.outputs import Now, Outputs, Send, Work
from bureaus.core.world import BROADCAST, BROADCAST_MIN, World

__all__ = [
    "BROADCAST",
    "BROADCAST_MIN",
    "RESEND_SPAN_S",
    "AckStatus",
    "BureauCore",
    "Command",
    "Now",
    "Outputs",
    "Send",
    "Work",
    "World",
    "resend_span",
]
