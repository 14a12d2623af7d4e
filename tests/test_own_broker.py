"""Your own secured broker, end to end: keys init, broker config, Mosquitto by hand, run --pki.

The broker is a separate ``mosquitto`` process started from the configuration bureaunet wrote,
as a user would start it; the scenario runs against it with the PKI the configuration came from.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from broker.embedded import find_mosquitto, free_port
from bureaus.keystore import load_pki
from protocol import default_roster
from scenarios.cli import main
from scenarios.reports.evidence import fingerprint_of
from tests.conftest import require_mosquitto

SCENARIO = (
    "name: own-broker\nroster: [gs, FR, DE, KE]\nduration: 1\ndrain: 2\ninjects:\n"
    "  - {at: 0.1, name: d, diffusion: {from: FR, to: [DE, KE]}}\n"
    "expect:\n  - {name: d arrives, delivered: {message: d, to: [DE, KE], within: 2}}\n"
)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A PKI from ``keys init`` and Mosquitto started from ``broker config --pki``."""
    require_mosquitto()
    pki, conf = tmp_path / "pki", tmp_path / "conf"
    port = free_port()
    assert main(["keys", "init", "--roster", "gs,FR,DE,KE", "--out", str(pki)]) == 0
    command = ["broker", "config", "--pki", str(pki), "--roster", "gs,FR,DE,KE"]
    assert main([*command, "--port", str(port), "--out", str(conf)]) == 0
    binary = find_mosquitto()
    assert binary is not None
    log = (tmp_path / "mosquitto.log").open("wb")
    process = subprocess.Popen(
        [str(binary), "-c", str(conf / "mosquitto.conf")], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield pki, port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_a_scenario_runs_through_a_broker_configured_from_the_pki(
    own_broker: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki, port = own_broker
    scenario = tmp_path / "own.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "report"
    url = f"mqtt://127.0.0.1:{port}"
    command = ["run", str(scenario), "--quiet", "--broker", url, "--pki", str(pki)]
    assert main([*command, "--out", str(out)]) == 0
    # the run shows the fingerprint to keep: the PKI's root signed the evidence
    root = x509.load_pem_x509_certificate((pki / "root.crt.pem").read_bytes())
    assert f"evidence: signed by certificate {fingerprint_of(root)}" in capsys.readouterr().out
    assert main(["verify-log", str(out), "--root", str(pki / "root.crt.pem")]) == 0


def test_without_the_pki_the_broker_refuses_and_says_so(
    own_broker: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _pki, port = own_broker
    scenario = tmp_path / "own.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    url = f"mqtt://127.0.0.1:{port}"
    assert main(["run", str(scenario), "--quiet", "--broker", url]) == 2
    assert "not authori" in capsys.readouterr().err.lower()


def test_keys_check_names_every_bad_bureau_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = tmp_path / "pki"
    assert main(["keys", "init", "--roster", "gs,FR,DE,KE", "--out", str(pki)]) == 0
    (pki / "bureaus" / "DE.crt.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nnot one\n")
    (pki / "bureaus" / "KE.key.pem").unlink()
    capsys.readouterr()
    assert main(["keys", "check", str(pki), "--roster", "gs,FR,DE,KE"]) == 2
    said = capsys.readouterr().err
    assert "DE: malformed: the certificate or key file cannot be read as one" in said
    assert "KE: missing" in said
    assert "2 bureaus have bad keys" in said


def test_keys_check_refuses_a_certificate_that_disagrees_with_the_roster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # FR's certificate says role:general-secretariat, region:africa, signed by the real root
    pki = tmp_path / "pki"
    assert main(["keys", "init", "--roster", "gs,FR,DE", "--out", str(pki)]) == 0
    loaded = load_pki(pki, default_roster().subset(["gs", "FR", "DE"]), datetime.now(UTC))
    assert loaded.authority is not None
    liar = replace(default_roster().get("FR"), role="general-secretariat", region="africa")
    identity = loaded.authority.issue(liar, datetime.now(UTC), timedelta(days=30))
    (pki / "bureaus" / "FR.crt.pem").write_bytes(identity.certificate.pem())
    (pki / "bureaus" / "FR.key.pem").write_bytes(identity.private_pem())
    capsys.readouterr()
    assert main(["keys", "check", str(pki), "--roster", "gs,FR,DE"]) == 2
    said = capsys.readouterr().err
    assert "FR: unauthorized_sender: the certificate disagrees with the roster" in said
    assert "role general-secretariat, region africa" in said
