"""bureaunet bureaus layer: the running bureau nodes, their links, keys and events."""

from bureaus.clock import Clock
from bureaus.events import Event, EventLog, Tracer
from bureaus.keystore import KeystoreError, PkiDirectory, init_pki, load_pki
from bureaus.links import LinkModel, LinkOverride, Outage, great_circle_km
from bureaus.network import Network, NetworkStartError, Pki, generate_pki
from bureaus.node import Bureau, NetworkContext
from bureaus.outbox import Outbox, OutboxFull, Transmission
from bureaus.roles import Databases, Refusal, ReviewPolicy

__all__ = [
    "Bureau",
    "Clock",
    "Databases",
    "Event",
    "EventLog",
    "KeystoreError",
    "LinkModel",
    "LinkOverride",
    "Network",
    "NetworkContext",
    "NetworkStartError",
    "Outage",
    "Outbox",
    "OutboxFull",
    "Pki",
    "PkiDirectory",
    "Refusal",
    "ReviewPolicy",
    "Tracer",
    "Transmission",
    "generate_pki",
    "great_circle_km",
    "init_pki",
    "load_pki",
]
