"""Connectors: what makes a bureau's transport, chosen once for a network.

- :func:`mqtt_connector`: to a real broker, through aiomqtt (``client="aiomqtt"``) or gmqtt
  (``client="gmqtt"``). Both pass the same conformance, ACL and fault-proxy tests.
- :func:`memory_connector`: to the in-memory broker of a simulation.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from broker import BrokerTarget
from broker.memory import MemoryBroker
from bureaus.gmqtt_transport import GmqttTransport
from bureaus.transport import Connector, MemoryTransport, MqttTransport, Transport

__all__ = ["MQTT_CLIENTS", "MqttClient", "memory_connector", "mqtt_connector"]

MqttClient = Literal["aiomqtt", "gmqtt"]
"""The MQTT client libraries a bureau can speak through."""
MQTT_CLIENTS: tuple[MqttClient, ...] = get_args(MqttClient)


def mqtt_connector(default: BrokerTarget, client: MqttClient = "gmqtt") -> Connector:
    """A connector to a real broker (``target`` per bureau overrides ``default``)."""

    def connect(client_id: str, *, target: BrokerTarget | None = None, **options: Any) -> Transport:
        if client == "gmqtt":
            return GmqttTransport(target or default, client_id, **options)
        return MqttTransport(target or default, client_id, **options)

    return connect


def memory_connector(broker: MemoryBroker) -> Connector:
    """A connector to an in-memory broker (there is one: ``target`` does not matter)."""

    def connect(client_id: str, *, target: BrokerTarget | None = None, **options: Any) -> Transport:
        return MemoryTransport(broker, client_id, **options)

    return connect
