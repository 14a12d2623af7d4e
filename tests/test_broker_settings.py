"""Broker targets, error translation, password hashes and the generated topic rules."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from broker import (
    BrokerError,
    BrokerUnreachableError,
    bureau_password,
    client,
    free_port,
    mosquitto_password_hash,
    mqtt_errors,
    parse_broker_url,
    topic_rules,
)
from bureaus.samples import throwaway_world as world
from protocol import default_roster


@pytest.mark.parametrize(
    ("url", "host", "port", "tls"),
    [
        ("mqtt://broker.example:1884", "broker.example", 1884, False),
        ("mqtt://127.0.0.1", "127.0.0.1", 1883, False),
        ("mqtts://[::1]", "::1", 8883, True),
    ],
)
def test_broker_urls(url: str, host: str, port: int, tls: bool) -> None:
    target = parse_broker_url(url)
    assert (target.host, target.port, target.tls) == (host, port, tls)


@pytest.mark.parametrize("url", ["http://x", "mqtt://", "mqtt://host:notaport", "tcp://h:1"])
def test_bad_broker_urls(url: str) -> None:
    with pytest.raises(BrokerError):
        parse_broker_url(url)


def test_ca_file_needs_tls() -> None:
    with pytest.raises(BrokerError, match="mqtts"):
        parse_broker_url("mqtt://h:1", ca_file=Path("ca.pem"))


async def test_unreachable_broker_is_a_clear_error() -> None:
    target = parse_broker_url(f"mqtt://127.0.0.1:{free_port()}")
    with pytest.raises(BrokerUnreachableError, match="cannot reach"), mqtt_errors(target):
        async with client(target, client_id="FR", timeout=2):
            pass


def test_mosquitto_hash_format() -> None:
    line = mosquitto_password_hash("secret", salt=b"0123456789ab")
    _, seven, iterations, salt, digest = line.split("$")
    assert (seven, iterations) == ("7", "101")
    assert base64.b64decode(salt) == b"0123456789ab"
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac(
        "sha512", b"secret", b"0123456789ab", 101
    )


def test_passwords_are_per_bureau_and_stable() -> None:
    ids = world().identities
    assert bureau_password(ids["FR"]) == bureau_password(ids["FR"])
    assert bureau_password(ids["FR"]) != bureau_password(ids["DE"])
    assert len(bureau_password(ids["FR"])) == 43


def test_topic_rules_by_role() -> None:
    rules = topic_rules(default_roster())
    fr, gs, rb = rules["FR"], rules["gs"], rules["rb-nairobi"]
    assert "bureaunet/v1/inbox/FR" in fr.read
    assert "bureaunet/v1/broadcast/europe" in fr.read
    assert not any(
        t.startswith("bureaunet/v1/inbox/") and t.endswith(("/+", "/#")) for t in fr.read
    )
    assert "bureaunet/v1/broadcast/all" not in fr.write
    assert {"bureaunet/v1/broadcast/all", "bureaunet/v1/crl"} <= set(gs.write)
    assert "bureaunet/v1/broadcast/africa" in rb.write
    assert "bureaunet/v1/broadcast/africa" not in rules["KE"].write


def test_topic_rules_follow_reach() -> None:
    roster = default_roster().subset(["gs", "FR", "DE"])
    rules = topic_rules(roster, reach={"FR": ["gs"]})
    assert rules["FR"].write == (
        "bureaunet/v1/presence/FR",
        "bureaunet/v1/inbox/FR",  # its own, for inbox probes
        "bureaunet/v1/inbox/gs",
    )
    # a bureau the reach leaves out may write to every inbox of the roster, named one by one
    assert sorted(rules["DE"].write) == [
        "bureaunet/v1/inbox/DE",
        "bureaunet/v1/inbox/FR",
        "bureaunet/v1/inbox/gs",
        "bureaunet/v1/presence/DE",
    ]
