"""A raw MQTT 3.1.1 client on a socket, for what well-behaved clients never do.

It sends a CONNECT with any client id and Last Will, reads the CONNACK, and can then drop the
connection without a DISCONNECT, so the broker publishes the Will.
"""

from __future__ import annotations

import socket
import struct


def _string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack(">H", len(raw)) + raw


def _remaining(size: int) -> bytes:
    out = bytearray()
    while True:
        byte, size = size % 128, size // 128
        out.append(byte | (0x80 if size else 0))
        if not size:
            return bytes(out)


def connect_packet(
    client_id: str,
    username: str,
    password: str,
    *,
    will_topic: str | None = None,
    will_payload: bytes = b"",
    will_retain: bool = False,
    keepalive: int = 60,
) -> bytes:
    flags = 0x80 | 0x40 | 0x02  # username, password, clean session
    payload = _string(client_id)
    if will_topic is not None:
        flags |= 0x04 | 0x08  # will, QoS 1
        if will_retain:
            flags |= 0x20
        payload += _string(will_topic) + _string(will_payload)
    payload += _string(username) + _string(password)
    variable = _string("MQTT") + bytes([4, flags]) + struct.pack(">H", keepalive)
    body = variable + payload
    return bytes([0x10]) + _remaining(len(body)) + body


def raw_connect(
    host: str, port: int, packet: bytes, timeout: float = 5.0
) -> tuple[socket.socket, int]:
    """Send a CONNECT; return the socket and the CONNACK return code (-1: closed without one)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(packet)
    try:
        answer = sock.recv(4)
    except (ConnectionResetError, TimeoutError):
        answer = b""
    code = answer[3] if len(answer) == 4 and answer[0] == 0x20 else -1
    return sock, code


def drop(sock: socket.socket) -> None:
    """End the connection abruptly (no DISCONNECT): the broker publishes the Will."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
