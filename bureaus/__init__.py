"""bureaunet bureaus layer: the running bureau nodes, their links, keys and events."""

from bureaus.clock import Clock, VirtualClock, VirtualEventLoop, virtual_loop
from bureaus.connectors import MQTT_CLIENTS, MqttClient, memory_connector, mqtt_connector
from bureaus.context import NetworkContext
from bureaus.core import BureauCore, Now, Outputs, Send, Work, World
from bureaus.errors import BureauError, ClockError, EventFormatError, NotKept
from bureaus.events import AnyEvent, Event, EventLog, Tracer, event_from_dict
from bureaus.gmqtt_transport import GmqttTransport
from bureaus.ids import MessageIds
from bureaus.keystore import KeystoreError, PkiDirectory, init_pki, load_pki
from bureaus.links import LinkModel, LinkOverride, Outage, great_circle_km
from bureaus.network import Network, NetworkStartError, Pki, generate_pki
from bureaus.node import Bureau
from bureaus.outbox import Outbox, OutboxFull, Transmission
from bureaus.roles import Databases, Refusal, ReviewPolicy
from bureaus.service import ServiceTimes
from bureaus.transport import (
    Connector,
    MemoryTransport,
    MqttTransport,
    Received,
    Transport,
)

__all__ = [
    "MQTT_CLIENTS",
    "AnyEvent",
    "Bureau",
    "BureauCore",
    "BureauError",
    "Clock",
    "ClockError",
    "Connector",
    "Databases",
    "Event",
    "EventFormatError",
    "EventLog",
    "GmqttTransport",
    "KeystoreError",
    "LinkModel",
    "LinkOverride",
    "MemoryTransport",
    "MessageIds",
    "MqttClient",
    "MqttTransport",
    "Network",
    "NetworkContext",
    "NetworkStartError",
    "NotKept",
    "Now",
    "Outage",
    "Outbox",
    "OutboxFull",
    "Outputs",
    "Pki",
    "PkiDirectory",
    "Received",
    "Refusal",
    "ReviewPolicy",
    "Send",
    "ServiceTimes",
    "Tracer",
    "Transmission",
    "Transport",
    "VirtualClock",
    "VirtualEventLoop",
    "Work",
    "World",
    "event_from_dict",
    "generate_pki",
    "great_circle_km",
    "init_pki",
    "load_pki",
    "memory_connector",
    "mqtt_connector",
    "virtual_loop",
]
