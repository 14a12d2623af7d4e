"""The PKI on disk: `bureaunet keys init`, file modes, and loading errors that name the bureau."""

from __future__ import annotations

import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broker import BrokerTarget
from bureaus import LinkModel, Network, NetworkContext
from bureaus.keystore import KeystoreError, init_pki, load_pki
from bureaus.samples import diffusion, sample_messages
from protocol import default_roster, topics
from protocol.errors import Reason
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import BureauCredentials
from scenarios.cli import main
from scenarios.runner import pki_from_directory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ROSTER = default_roster().subset(["gs", "FR", "DE", "KE"])


@pytest.fixture
def pki_dir(tmp_path: Path) -> Path:
    init_pki(tmp_path / "pki", ROSTER, NOW, timedelta(days=30))
    return tmp_path / "pki"


def test_private_keys_are_0600_and_certificates_public(pki_dir: Path) -> None:
    assert stat.S_IMODE((pki_dir / "root.key.pem").stat().st_mode) == 0o600
    for bureau in ROSTER.ids:
        key = pki_dir / "bureaus" / f"{bureau}.key.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert (
            (pki_dir / "bureaus" / f"{bureau}.crt.pem")
            .read_bytes()
            .startswith(b"-----BEGIN CERTIFICATE-----")
        )


def test_loaded_keys_seal_and_open(pki_dir: Path) -> None:
    pki = load_pki(pki_dir, ROSTER, NOW + timedelta(minutes=1))
    fr = EnvelopeCodec(BureauCredentials(pki.identities["FR"]), pki.trust.copy())
    gs = EnvelopeCodec(BureauCredentials(pki.identities["gs"]), pki.trust.copy())
    message = sample_messages()["notice-request"].model_copy(
        update={"created_at": NOW + timedelta(minutes=1)}
    )
    envelope = fr.seal_at(message, NOW + timedelta(minutes=1))
    assert gs.open_at(envelope, NOW + timedelta(minutes=1)).message == message


def test_missing_certificate_names_the_bureau(pki_dir: Path) -> None:
    (pki_dir / "bureaus" / "DE.crt.pem").unlink()
    with pytest.raises(KeystoreError) as info:
        load_pki(pki_dir, ROSTER, NOW)
    assert info.value.bureau == "DE"
    assert info.value.reason == "missing"


def test_expired_certificate_names_the_bureau(pki_dir: Path) -> None:
    with pytest.raises(KeystoreError) as info:
        load_pki(pki_dir, default_roster().subset(["FR"]), NOW + timedelta(days=31))
    assert (info.value.bureau, info.value.reason) == ("FR", "expired")


def test_wrongly_signed_certificate_names_the_bureau(pki_dir: Path, tmp_path: Path) -> None:
    other = init_pki(tmp_path / "other", ROSTER, NOW, timedelta(days=30))
    assert other.authority is not None
    shutil.copy(tmp_path / "other" / "bureaus" / "KE.crt.pem", pki_dir / "bureaus" / "KE.crt.pem")
    with pytest.raises(KeystoreError) as info:
        load_pki(pki_dir, ROSTER, NOW)
    assert (info.value.bureau, info.value.reason) == ("KE", "untrusted_certificate")
    assert "KE: untrusted_certificate" in str(info.value)


def test_init_refuses_to_overwrite(pki_dir: Path) -> None:
    with pytest.raises(KeystoreError, match="already holds"):
        init_pki(pki_dir, ROSTER, NOW)


def test_revocation_list_on_disk_is_honoured(pki_dir: Path) -> None:
    pki = load_pki(pki_dir, ROSTER, NOW)
    assert pki.authority is not None
    serial = pki.identities["KE"].certificate.serial
    pki.write_revocation_list(pki.authority.revocation_list([serial], 1, NOW))
    again = load_pki(pki_dir, ROSTER, NOW)
    assert serial in again.trust.revoked


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_certificates_are_readable_by_openssl(pki_dir: Path) -> None:
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(pki_dir / "bureaus" / "KE.crt.pem")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "CN = KE" in text
    assert "OU = role:ncb" in text
    assert "OU = region:africa" in text
    assert "ED25519" in text


def test_cli_keys_init_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pki"
    assert main(["keys", "init", "--roster", "gs,FR", "--out", str(out)]) == 0
    assert main(["keys", "check", str(out), "--roster", "gs,FR"]) == 0
    (out / "bureaus" / "FR.key.pem").unlink()
    capsys.readouterr()
    assert main(["keys", "check", str(out), "--roster", "gs,FR"]) == 2
    err = capsys.readouterr().err
    assert "FR: missing" in err
    assert err.count("\n") == 1
    assert main(["keys", "init", "--roster", "gs,QQ", "--out", str(tmp_path / "x")]) == 2


async def test_revocations_and_rotations_of_a_run_last_into_the_next(tmp_path: Path) -> None:
    # a run with a kept PKI revokes KE and rotates FR; the next run with that directory starts
    # where it ended: KE refused from the start, FR's old key known to nobody
    directory = tmp_path / "pki"
    init_pki(directory, ROSTER, datetime.now(UTC) - timedelta(minutes=5))

    def network() -> Network:
        ctx = NetworkContext(
            ROSTER, "mesh", BrokerTarget("127.0.0.1", 0), LinkModel(ROSTER, enabled=False)
        )
        ctx.run_id = bytes(16)  # both runs alike but for what the directory kept
        return Network(ctx, pki_from_directory(directory, ROSTER))

    first = network()
    ke_serial = first.pki.identities["KE"].certificate.serial
    old_fr = EnvelopeCodec(
        BureauCredentials(first.pki.identities["FR"]), first.pki.trust.copy(), run=bytes(16)
    )
    old_fr_serial = first.pki.identities["FR"].certificate.serial
    await first.revoke_bureaus(["KE"])
    new_serial = first.rotate_keys("FR")
    history = (directory / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert '"event": "revoked"' in history[0]
    assert str(ke_serial) in history[0]
    assert f'"replaced": {old_fr_serial}' in history[1]

    second = network()
    assert second.pki.identities["FR"].certificate.serial == new_serial
    de = second["DE"]
    now = datetime.now(UTC)
    de.receive(topics.inbox("DE"), second["KE"].codec.seal_at(diffusion("KE", ("DE",)), now))
    de.receive(topics.inbox("DE"), old_fr.seal_at(diffusion("FR", ("DE",)), now))
    reasons = [e.reason for e in second.ctx.events.of("rejected", bureau="DE")]
    assert reasons == [Reason.REVOKED, Reason.UNKNOWN_SENDER]
    fresh = diffusion("FR", ("DE",), "with the new key")
    de.receive(topics.inbox("DE"), second["FR"].codec.seal_at(fresh, now))
    assert second.ctx.events.of("delivered", bureau="DE", message_id=str(fresh.message_id))
