"""bureaunet broker layer: an MQTT broker to talk to, and its security configuration."""

from broker.client import BrokerTarget, client, mqtt_errors, parse_broker_url
from broker.config import BrokerSecurity, write_amqtt_config, write_mosquitto_config
from broker.embedded import EmbeddedBroker, find_mosquitto, free_port
from broker.errors import (
    BrokerAuthError,
    BrokerError,
    BrokerNotFoundError,
    BrokerStartError,
    BrokerUnreachableError,
    PortInUseError,
)
from broker.security import TopicRules, bureau_password, mosquitto_password_hash, topic_rules

__all__ = [
    "BrokerAuthError",
    "BrokerError",
    "BrokerNotFoundError",
    "BrokerSecurity",
    "BrokerStartError",
    "BrokerTarget",
    "BrokerUnreachableError",
    "EmbeddedBroker",
    "PortInUseError",
    "TopicRules",
    "bureau_password",
    "client",
    "find_mosquitto",
    "free_port",
    "mosquitto_password_hash",
    "mqtt_errors",
    "parse_broker_url",
    "topic_rules",
    "write_amqtt_config",
    "write_mosquitto_config",
]
