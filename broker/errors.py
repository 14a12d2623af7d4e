"""The broker layer's errors, in one tree.

::

    BrokerError
    ├── BrokerNotFoundError     a broker kind was asked for that is not installed
    ├── PortInUseError          the requested port is taken
    ├── BrokerStartError        the broker did not accept connections in time (carries its log tail)
    ├── BrokerUnreachableError  an external broker could not be reached
    └── BrokerAuthError         the broker refused the credentials

``aiomqtt``/``paho`` exceptions are translated into these at the boundary (``broker.client``).
"""

from __future__ import annotations

__all__ = [
    "BrokerAuthError",
    "BrokerError",
    "BrokerNotFoundError",
    "BrokerStartError",
    "BrokerUnreachableError",
    "PortInUseError",
]


class BrokerError(Exception):
    """Base class of the broker layer's errors."""


class BrokerNotFoundError(BrokerError):
    """The broker asked for is not installed (for example ``mosquitto`` not on the PATH)."""


class PortInUseError(BrokerError):
    """The port asked for is already in use.

    Attributes:
        port: The port.
    """

    def __init__(self, host: str, port: int) -> None:
        self.port = port
        super().__init__(f"port {port} on {host} is already in use")


class BrokerStartError(BrokerError):
    """The broker did not start accepting connections in time.

    Attributes:
        log_tail: The last lines the broker printed.
    """

    def __init__(self, message: str, log_tail: str) -> None:
        self.log_tail = log_tail
        tail = f"; its log ends: {log_tail.strip()[-400:]}" if log_tail.strip() else ""
        super().__init__(f"{message}{tail}")


class BrokerUnreachableError(BrokerError):
    """An MQTT broker could not be reached at the address given."""


class BrokerAuthError(BrokerError):
    """The broker refused the username or password."""
