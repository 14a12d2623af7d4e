"""ACLs proven with clients we did not write (mosquitto_sub / mosquitto_pub), and the generated
configuration accepted by `mosquitto -c` as a user would run it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broker import BrokerSecurity, EmbeddedBroker, bureau_password, find_mosquitto, free_port
from bureaus.keystore import load_pki
from protocol import default_roster, topics
from scenarios.cli import main
from tests.conftest import require_mosquitto


def tool(name: str) -> str:
    require_mosquitto()
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Debian package mosquitto-clients)")
    return path


def client_args(name: str, port: int, user: str, password: str, topic: str) -> list[str]:
    """A Mosquitto command-line client, logged in as a bureau (client id = username), at QoS 1."""
    return [
        tool(name),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-u",
        user,
        "-P",
        password,
        "-i",
        user,
        "-t",
        topic,
        "-q",
        "1",
    ]


def sub(
    broker_port: int, user: str, password: str, topic: str, wait: int = 2
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *client_args("mosquitto_sub", broker_port, user, password, topic),
            "-C",
            "1",
            "-W",
            str(wait),
            "-v",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pub(broker_port: int, user: str, password: str, topic: str, payload: str) -> int:
    return subprocess.run(
        [*client_args("mosquitto_pub", broker_port, user, password, topic), "-m", payload],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    ).returncode


def test_mosquitto_clients_respect_the_acl(
    mosquitto: EmbeddedBroker, security: BrokerSecurity
) -> None:
    pw = security.passwords
    snoop = sub(mosquitto.port, "DE", pw["DE"], "bureaunet/v1/inbox/#")
    owner = sub(mosquitto.port, "FR", pw["FR"], topics.inbox("FR"))
    time.sleep(0.5)
    assert pub(mosquitto.port, "gs", pw["gs"], topics.inbox("FR"), "for FR only") == 0
    owner_out, _ = owner.communicate(timeout=10)
    snoop_out, _ = snoop.communicate(timeout=10)
    assert owner_out.strip() == f"{topics.inbox('FR')} for FR only"
    assert snoop_out == ""
    assert snoop.returncode == 27  # mosquitto_sub: timed out waiting for a message


def test_mosquitto_clients_with_a_wrong_password_are_refused(mosquitto: EmbeddedBroker) -> None:
    assert pub(mosquitto.port, "FR", "not the password", topics.inbox("gs"), "x") != 0


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    require_mosquitto()
    port = free_port()
    pki, out = tmp_path / "pki", tmp_path / "broker"
    assert main(["keys", "init", "--roster", "gs,FR,DE", "--out", str(pki)]) == 0
    assert (
        main(
            [
                "broker",
                "config",
                "--pki",
                str(pki),
                "--roster",
                "gs,FR,DE",
                "--out",
                str(out),
                "--port",
                str(port),
            ]
        )
        == 0
    )
    proc = subprocess.Popen(
        [str(find_mosquitto()), "-c", str(out / "mosquitto.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None:
            probe = subprocess.run(
                [tool("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(port), "-t", "x", "-m", "x"],
                capture_output=True,
                check=False,
                timeout=5,
            )
            if b"refused" in probe.stderr.lower() or b"not authori" in probe.stderr.lower():
                break  # it answers (and refuses anonymous clients)
            time.sleep(0.1)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        yield pki, port
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()


def test_generated_config_runs_under_mosquitto_with_its_acl(configured: tuple[Path, int]) -> None:
    pki_dir, port = configured
    pki = load_pki(pki_dir, default_roster().subset(["gs", "FR", "DE"]), datetime.now(UTC))
    pw = {b: bureau_password(i) for b, i in pki.identities.items()}
    snoop = sub(port, "DE", pw["DE"], topics.inbox("FR"))
    owner = sub(port, "FR", pw["FR"], topics.inbox("FR"))
    time.sleep(0.5)
    assert pub(port, "gs", pw["gs"], topics.inbox("FR"), "hello") == 0
    assert owner.communicate(timeout=10)[0].strip().endswith("hello")
    assert snoop.communicate(timeout=10)[0] == ""
    assert pub(port, "FR", pw["FR"], topics.broadcast("all"), "x") == 0  # accepted, not delivered
    anonymous = subprocess.run(
        [tool("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(port), "-t", "x", "-m", "x"],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    assert anonymous.returncode != 0
