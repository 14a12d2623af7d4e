"""One test per rejection reason, each named after the attack or accident that triggers it."""

from __future__ import annotations

import inspect
import ssl
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding

from bureaus.samples import ISSUED, NOW, sample_messages
from bureaus.samples import throwaway_world as world
from protocol import ToAll, ToBureaus, default_roster, encode
from protocol.errors import CertificateError, Reason, Rejection
from protocol.messages.models import MessageBase
from protocol.security.envelope import EnvelopeCodec, RecipientEntry, peek
from protocol.security.pki import (
    X25519_KEY_OID,
    BureauCredentials,
    CertificateAuthority,
    TrustStore,
    load_certificate,
)
from tests.forge import (
    BASIC_CONSTRAINTS_OID,
    crl_with_duplicated_extension,
    forge,
    frame,
    split,
)

HOSTILE = Path(__file__).with_name("test_hostile_member.py")
LOW_ORDER = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")


def message(kind: str = "case-message", **update: object) -> MessageBase:
    return sample_messages()[kind].model_copy(
        update={"created_at": NOW, "message_id": uuid4(), **update}
    )


def sealed(sender: str = "KE", to: tuple[str, ...] = ("FR",), **update: object) -> bytes:
    return world().codec(sender).seal_at(message(sender=sender, **update), NOW, to=list(to))  # type: ignore[arg-type]


def rejected(codec_or_bureau: object, envelope: bytes, at: object = NOW) -> Reason:
    codec = world().codec(codec_or_bureau) if isinstance(codec_or_bureau, str) else codec_or_bureau
    with pytest.raises(Rejection) as info:
        codec.open_at(envelope, at)  # type: ignore[attr-defined]
    return info.value.reason


def test_garbage_bytes_are_malformed() -> None:
    assert rejected("FR", b"\x01\x01garbage") is Reason.MALFORMED


def test_version_byte_changed_is_unsupported() -> None:
    envelope = bytearray(sealed())
    for version in (1, 3):  # version 1 had no run identity; 3 does not exist yet
        envelope[0] = version
        assert rejected("FR", bytes(envelope)) is Reason.UNSUPPORTED_VERSION
    envelope[0], envelope[1] = 2, 9  # an algorithm suite the receiver does not speak
    assert rejected("FR", bytes(envelope)) is Reason.UNSUPPORTED_VERSION


def test_replayed_envelope() -> None:
    # the same bytes again later than any resend would come: an attacker's replay
    envelope = sealed()
    fr = world().codec("FR")
    fr.open_at(envelope, NOW)
    later = NOW + fr.replay.resend_window + timedelta(seconds=1)
    with pytest.raises(Rejection) as info:
        fr.open_at(envelope, later)
    assert info.value.reason is Reason.REPLAY
    assert info.value.sender == "KE"
    assert info.value.message_id == str(peek(envelope).message_id)


def test_resealed_copy_of_an_accepted_message_is_a_replay() -> None:
    # a member's own keys seal an accepted message id again: other bytes, the same id
    message = sample_messages()["case-message"].model_copy(
        update={"created_at": NOW, "recipients": ToBureaus(bureaus=("FR",))}
    )
    ke, fr = world().codec("KE"), world().codec("FR")
    fr.open_at(ke.seal_at(message, NOW, to=["FR"]), NOW)
    with pytest.raises(Rejection) as info:
        fr.open_at(ke.seal_at(message, NOW, to=["FR"]), NOW + timedelta(seconds=1))
    assert info.value.reason is Reason.REPLAY


def test_a_member_sealing_under_anothers_next_id_takes_nothing_from_it() -> None:
    # ids are reproducible, so KE can predict FR's next one and seal its own message under it
    # first; an id is its sender's, so FR's genuine message is still accepted at DE
    genuine = sample_messages()["case-message"].model_copy(
        update={
            "created_at": NOW,
            "sender": "FR",
            "recipients": ToBureaus(bureaus=("DE",)),
            "message_id": uuid4(),
        }
    )
    squat = genuine.model_copy(update={"sender": "KE", "subject": "squatting FR's next id"})
    de = world().codec("DE")
    assert de.open_at(world().codec("KE").seal_at(squat, NOW, to=["DE"]), NOW).message == squat
    opened = de.open_at(world().codec("FR").seal_at(genuine, NOW, to=["DE"]), NOW)
    assert opened.message == genuine
    # FR's own second seal of that id is still a replay: the memory is FR's
    with pytest.raises(Rejection) as info:
        de.open_at(world().codec("FR").seal_at(genuine, NOW, to=["DE"]), NOW)
    assert info.value.reason is Reason.REPLAY


def test_an_envelope_of_another_run_is_refused_as_such() -> None:
    # captured in one run (same keys, same seed, same ids) and played into the next one
    first, second = bytes(range(16)), bytes(range(1, 17))
    envelope = world().codec("KE", run=first).seal_at(message(sender="KE"), NOW, to=["FR"])
    assert peek(envelope).run == first
    assert rejected(world().codec("FR", run=second), envelope) is Reason.OTHER_RUN
    # a relay refuses it as well, before passing it on
    with pytest.raises(Rejection) as info:
        world().codec("gs", run=second).verify_at(envelope, NOW)
    assert info.value.reason is Reason.OTHER_RUN
    # and in its own run it opens
    assert world().codec("FR", run=first).open_at(envelope, NOW).message.sender == "KE"


def test_a_rotated_out_signing_key_is_retired_after_its_grace_period() -> None:
    # FR rotates; whoever still holds FR's old key (a stolen laptop) signs with it afterwards
    roster = default_roster()

    def to_de() -> MessageBase:
        return message(sender="FR", recipients=ToBureaus(bureaus=("DE",)))

    new = world().ca.issue(roster.get("FR"), NOW, timedelta(days=30))
    de = world().codec("DE")
    de.trust.add(new.certificate.der)
    old = world().codec("FR")  # the old identity, whose certificate is valid for a year
    within = NOW + de.trust.rotation_grace - timedelta(minutes=1)
    assert de.open_at(old.seal_at(to_de(), within, to=["DE"]), within)
    later = NOW + timedelta(hours=3)
    assert rejected(de, old.seal_at(to_de(), later, to=["DE"]), later) is (Reason.REVOKED)
    # the new key signs, and a later certificate still does not retire the newest one
    current = EnvelopeCodec(BureauCredentials(new), de.trust.copy())
    assert de.open_at(current.seal_at(to_de(), later, to=["DE"]), later)


def test_duplicates_are_not_replays() -> None:
    # a byte-identical copy within the resend window is what at-least-once delivery makes
    envelope = sealed()
    fr = world().codec("FR")
    fr.open_at(envelope, NOW)
    for after in (timedelta(seconds=1), fr.replay.resend_window):
        with pytest.raises(Rejection) as info:
            fr.open_at(envelope, NOW + after)
        assert info.value.reason is Reason.DUPLICATE


def test_envelope_readdressed_to_a_third_bureau() -> None:
    # FR received a message from KE and tries to pass it to DE as if KE had sent it to DE
    envelope = sealed("KE", ("FR",))
    header, ciphertext = split(envelope)
    entry = header.recipients[0]
    readdressed = replace(header, recipients=(entry._replace(bureau_id="DE"),))
    forged = frame(readdressed, ciphertext, world().identities["FR"].signing_key)
    # signed with FR's key under KE's key id: the signature does not verify
    assert rejected("DE", forged) is Reason.BAD_SIGNATURE
    # or the original signature kept over edited bytes: likewise
    tail = envelope[-64:]
    edited = frame(readdressed, ciphertext, Ed25519PrivateKey.generate())[:-64] + tail
    assert rejected("DE", edited) is Reason.BAD_SIGNATURE


def test_signature_stripped_and_replaced_by_another_bureau() -> None:
    # BE strips KE's signature, names itself as sender and signs: it cannot unwrap for FR
    envelope = sealed("KE", ("FR",))
    header, ciphertext = split(envelope)
    be = world().identities["BE"].certificate
    claimed = replace(
        header,
        sender="BE",
        sender_signing_key_id=be.signing_key_id,
        sender_encryption_key_id=be.encryption_key_id,
    )
    forged = frame(claimed, ciphertext, world().identities["BE"].signing_key)
    assert rejected("FR", forged) is Reason.DECRYPT_FAILED


def test_message_from_an_unknown_sender() -> None:
    stranger = CertificateAuthority.create(ISSUED, timedelta(days=30))
    identity = stranger.issue(default_roster().get("KE"), ISSUED, timedelta(days=30))
    codec = world().codec("KE")
    codec.credentials = BureauCredentials(identity)  # KE's name, keys the network never saw
    codec.trust.add(world().identities["FR"].certificate.der)
    envelope = codec.seal_at(message(sender="KE"), NOW, to=["FR"])
    assert rejected("FR", envelope) is Reason.UNKNOWN_SENDER


def test_sender_revoked_after_the_fact() -> None:
    envelope = sealed("KE", ("FR",))
    fr = world().codec("FR")
    crl = world().ca.revocation_list([world().identities["KE"].certificate.serial], 1, NOW)
    assert fr.trust.apply_revocation_list(crl)
    assert rejected(fr, envelope) is Reason.REVOKED


def test_expired_certificate() -> None:
    envelope = sealed("KE", ("FR",))
    later = world().identities["KE"].certificate.not_after + timedelta(seconds=1)
    assert rejected("FR", envelope, later) is Reason.EXPIRED_CERTIFICATE


def test_certificate_signed_by_a_non_gs_key() -> None:
    impostor = CertificateAuthority.create(ISSUED, timedelta(days=30))
    fake = impostor.issue(default_roster().get("KE"), ISSUED, timedelta(days=30))
    store = world().trust()
    with pytest.raises(CertificateError) as info:
        store.add(fake.certificate.der)
    assert info.value.reason is Reason.UNTRUSTED_CERTIFICATE
    assert info.value.bureau == "KE"


def test_revocation_list_signed_by_a_non_gs_key() -> None:
    impostor = CertificateAuthority.create(ISSUED, timedelta(days=30))
    with pytest.raises(CertificateError) as info:
        world().trust().apply_revocation_list(impostor.revocation_list([1], 99, NOW))
    assert info.value.reason is Reason.UNTRUSTED_CERTIFICATE


def test_low_order_x25519_public_key_in_a_certificate() -> None:
    ca = world().ca
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name.from_rfc4514_string("CN=KE,OU=region:africa,OU=role:ncb,O=bureaunet")
        )
        .issuer_name(ca.root_certificate.subject)
        .public_key(Ed25519PrivateKey.generate().public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ISSUED)
        .not_valid_after(ISSUED + timedelta(days=30))
        .add_extension(x509.UnrecognizedExtension(X25519_KEY_OID, LOW_ORDER), critical=False)
        .sign(ca.root_key, algorithm=None)
    )
    with pytest.raises(CertificateError) as info:
        load_certificate(
            cert.public_bytes(Encoding.DER),
            ca.root_certificate,
        )
    assert info.value.reason is Reason.BAD_KEY


def test_message_for_another_recipient() -> None:
    assert rejected("DE", sealed("KE", ("FR",))) is Reason.NOT_A_RECIPIENT


def test_created_in_the_future_or_expired_is_stale() -> None:
    future = sealed("KE", ("FR",), created_at=NOW + timedelta(minutes=10))
    assert rejected("FR", future) is Reason.STALE
    old = sealed("KE", ("FR",))
    assert rejected("FR", old, NOW + timedelta(hours=2)) is Reason.STALE  # past its expiry


def test_one_envelope_two_content_keys() -> None:
    # a malicious sender wraps different content secrets for FR and DE over one ciphertext
    ids = world().identities
    honest = sealed("KE", ("FR", "DE"))
    header, _ = split(honest)
    plaintext = encode(message(sender="KE"))
    mixed = forge(
        header,
        plaintext,
        ids["KE"],
        {"FR": ids["FR"], "DE": ids["DE"]},
        secrets={"FR": b"\x01" * 32, "DE": b"\x02" * 32},
    )
    outcomes = []
    for bureau in ("FR", "DE"):
        try:
            world().codec(bureau).open_at(mixed, NOW)
            outcomes.append("accepted")
        except Rejection as exc:
            outcomes.append(exc.reason)
    assert outcomes.count("accepted") <= 1
    assert Reason.DECRYPT_FAILED in outcomes


def test_content_that_disagrees_with_its_header_is_invalid_payload() -> None:
    ids = world().identities
    header, _ = split(sealed("KE", ("FR",)))
    other = encode(message(sender="KE"))  # a fresh message id, not the header's
    forged = forge(header, other, ids["KE"], {"FR": ids["FR"]})
    assert rejected("FR", forged) is Reason.INVALID_PAYLOAD


def test_content_that_is_not_a_message_is_invalid_payload() -> None:
    ids = world().identities
    header, _ = split(sealed("KE", ("FR",)))
    forged = forge(header, b'{"kind": "nonsense"}', ids["KE"], {"FR": ids["FR"]})
    assert rejected("FR", forged) is Reason.INVALID_PAYLOAD


def test_rotation_keeps_old_key_during_grace_only() -> None:
    ke = world().codec("KE")
    fr_old = world().identities["FR"]
    envelope = ke.seal_at(message(sender="KE"), NOW, to=["FR"])  # sealed to FR's current key
    new = world().ca.issue(
        default_roster().get("FR"),
        NOW,
        timedelta(days=365),
        encryption_key=X25519PrivateKey.generate(),
    )
    rotated = BureauCredentials(fr_old).rotate(new, NOW, grace=timedelta(hours=1))
    fr = world().codec("FR")
    fr.credentials = rotated
    assert fr.open_at(envelope, NOW + timedelta(minutes=5)).message.sender == "KE"
    fr2 = world().codec("FR")
    fr2.credentials = rotated
    assert rejected(fr2, envelope, NOW + timedelta(hours=1, minutes=1)) in {
        Reason.NOT_A_RECIPIENT,
        Reason.STALE,
    }
    # senders who learn the new certificate seal to it
    ke.trust.add(new.certificate.der)
    fresh = ke.seal_at(message(sender="KE"), NOW + timedelta(seconds=1), to=["FR"])
    assert peek(fresh).recipients[0].key_id == new.certificate.encryption_key_id


def test_trust_store_honours_only_the_newest_revocation_list() -> None:
    store = world().trust()
    serial = world().identities["KE"].certificate.serial
    assert store.apply_revocation_list(world().ca.revocation_list([serial], 5, NOW))
    assert not store.apply_revocation_list(world().ca.revocation_list([], 4, NOW))
    assert store.crl_number == 5
    assert serial in store.revoked
    with pytest.raises(CertificateError) as info:
        store.current("KE", NOW)
    assert info.value.reason is Reason.REVOKED


def test_every_reason_code_has_a_test_here() -> None:
    # the reasons a bureau decides (not the envelope) are tested with the bureau
    source = inspect.getsource(sys.modules[__name__]) + HOSTILE.read_text(encoding="utf-8")
    missing = [
        r
        for r in Reason
        if f"Reason.{r.name}"
        not in source.replace("def test_every_reason_code_has_a_test_here", "")
    ]
    assert missing == []


def test_trust_store_rejects_bad_roots() -> None:
    with pytest.raises(CertificateError):
        TrustStore.from_root_pem(b"not a certificate")


# --- a hostile member: valid keys, messages its role may not send -----------------------------

GS_KINDS = ("notice-published", "notice-updated", "notice-cancelled", "notice-refused")


def with_roster(bureau: str) -> object:
    return world().codec(bureau, roster=default_roster())


@pytest.mark.parametrize("kind", GS_KINDS)
def test_ncb_issuing_general_secretariat_messages(kind: str) -> None:
    # FR signs what only the General Secretariat may issue: every recipient refuses it, and the
    # GS, relaying in the hub topology, refuses to pass it on
    forged = message(kind, sender="FR", recipients=ToBureaus(bureaus=("DE",)))
    envelope = world().codec("FR").seal_at(forged, NOW, to=["DE"])
    assert rejected(with_roster("DE"), envelope) is Reason.UNAUTHORIZED_SENDER
    with pytest.raises(Rejection) as info:
        with_roster("gs").receive_at(envelope, NOW)  # type: ignore[attr-defined]
    assert info.value.reason is Reason.UNAUTHORIZED_SENDER
    assert "general-secretariat" in info.value.detail


def test_general_secretariat_may_issue_its_messages() -> None:
    for kind in GS_KINDS:
        issued = message(kind, sender="gs", recipients=ToBureaus(bureaus=("DE",)))
        envelope = world().codec("gs").seal_at(issued, NOW, to=["DE"])
        assert with_roster("DE").open_at(envelope, NOW).message.kind == kind  # type: ignore[attr-defined]


def test_ncb_broadcasting_a_search_to_all() -> None:
    # searches go to named bureaus; a search to every member country is refused for its scope
    everyone = tuple(b.id for b in default_roster().ncbs() if b.id != "FR")
    search = message("search-request", sender="FR", recipients=ToAll())
    envelope = world().codec("FR").seal_at(search, NOW, to=list(everyone))
    with pytest.raises(Rejection) as info:
        with_roster("DE").open_at(envelope, NOW)  # type: ignore[attr-defined]
    assert info.value.reason is Reason.UNAUTHORIZED_SENDER
    assert "may not be addressed to all" in info.value.detail


def test_certificate_claiming_the_general_secretariats_role() -> None:
    # a certificate for FR whose subject says role:general-secretariat, region:africa
    roster = default_roster()
    liar = replace(roster.get("FR"), role="general-secretariat", region="africa")
    identity = world().ca.issue(liar, ISSUED, timedelta(days=30))
    strict = TrustStore(world().ca.root_certificate, roster=roster)
    with pytest.raises(CertificateError) as info:
        strict.add(identity.certificate.der)
    assert info.value.reason is Reason.UNAUTHORIZED_SENDER
    assert info.value.bureau == "FR"
    # a trust store that took it anyway: the envelope still checks the signer against the roster
    lax = world().trust()
    lax.add(identity.certificate.der)
    sender = EnvelopeCodec(BureauCredentials(identity), world().trust())
    published = message("notice-published", sender="FR", recipients=ToBureaus(bureaus=("DE",)))
    envelope = sender.seal_at(published, NOW, to=["DE"])
    de = EnvelopeCodec(BureauCredentials(world().identities["DE"]), lax, roster=roster)
    assert rejected(de, envelope) is Reason.UNAUTHORIZED_SENDER


def _readdressed(extra: tuple[str, ...], to: tuple[str, ...] = ("FR",)) -> bytes:
    """KE's genuine envelope with more recipient entries, signed again by KE's own key."""
    header, ciphertext = split(sealed("KE", to, recipients=ToBureaus(bureaus=to)))
    entries = header.recipients + tuple(
        RecipientEntry(bureau, bytes(8), bytes(48)) for bureau in extra
    )
    return frame(
        replace(header, recipients=entries), ciphertext, world().identities["KE"].signing_key
    )


def test_header_listing_a_bureau_outside_the_roster() -> None:
    envelope = _readdressed(("QQ",))
    assert rejected(with_roster("FR"), envelope) is Reason.UNAUTHORIZED_SENDER
    with pytest.raises(Rejection) as info:
        with_roster("gs").receive_at(envelope, NOW)  # type: ignore[attr-defined]
    assert info.value.reason is Reason.UNAUTHORIZED_SENDER
    assert "QQ" in info.value.detail


def test_header_with_ten_thousand_recipients() -> None:
    ids = [f"b{n:05d}" for n in range(10_000)]
    envelope = _readdressed(tuple(ids))
    with pytest.raises(Rejection) as info:
        with_roster("gs").receive_at(envelope, NOW)  # type: ignore[attr-defined]
    assert info.value.reason is Reason.UNAUTHORIZED_SENDER
    assert "more than the roster" in info.value.detail


def test_header_recipients_other_than_the_messages() -> None:
    # sealed for FR and DE, addressed to FR only: DE would learn what was not meant for it
    case = message(sender="KE", recipients=ToBureaus(bureaus=("FR",)))
    envelope = world().codec("KE").seal_at(case, NOW, to=["FR", "DE"])
    with pytest.raises(Rejection) as info:
        with_roster("FR").open_at(envelope, NOW)  # type: ignore[attr-defined]
    assert info.value.reason is Reason.UNAUTHORIZED_SENDER
    assert "not addressed to" in info.value.detail


def test_malformed_revocation_list_with_a_duplicated_extension() -> None:
    crl = crl_with_duplicated_extension(world().ca.revocation_list({1}, 7, NOW))
    trust = world().trust()
    with pytest.raises(CertificateError) as info:
        trust.apply_revocation_list(crl)
    assert info.value.reason is Reason.MALFORMED
    assert "DuplicateExtension" in info.value.detail
    assert trust.crl_number == -1  # nothing of it applied


def test_root_and_bureau_certificates_with_a_duplicated_extension() -> None:
    # the same parser trap as the revocation list, in the root file and in a bureau's certificate
    root_der = world().ca.root_certificate.public_bytes(Encoding.DER)
    bad_root = crl_with_duplicated_extension(root_der, BASIC_CONSTRAINTS_OID)
    with pytest.raises(CertificateError) as info:
        TrustStore.from_root_pem(ssl.DER_cert_to_PEM_cert(bad_root).encode())
    assert info.value.reason is Reason.UNTRUSTED_CERTIFICATE
    bureau = crl_with_duplicated_extension(
        world().identities["FR"].certificate.der, BASIC_CONSTRAINTS_OID
    )
    with pytest.raises(CertificateError) as info:
        load_certificate(bureau, world().ca.root_certificate)
    assert info.value.reason in {Reason.MALFORMED, Reason.UNTRUSTED_CERTIFICATE}
