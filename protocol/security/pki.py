"""Identities and trust: the General Secretariat's root, bureau certificates, revocation lists.

Theory of operation. The General Secretariat (GS) holds the root key (Ed25519) and a self-signed
X.509 CA certificate. Each bureau holds two keys with one use each: an Ed25519 signing key and an
X25519 encryption key. The GS binds both to the bureau's id, role and region in one X.509
certificate: the subject public key is the signing key; the encryption key travels in a
non-critical extension (OID :data:`X25519_KEY_OID`) that the GS's signature covers. The subject is
``CN=<bureau id>, OU=role:<role>, OU=region:<region>, O=bureaunet``, readable with
``openssl x509 -text``.

A revocation list is an X.509 CRL signed by the root; its CRL number is the sequence number and its
``last_update`` the issue time. A :class:`TrustStore` honours the newest list it has seen (the
highest number) and ignores older ones.

Rotation: a bureau's :class:`BureauCredentials` keep the current identity plus earlier ones, each
usable for *decryption* until its grace period ends, so messages sealed to the previous key still
open. Senders always seal to the newest valid, unrevoked certificate of a recipient.

No I/O here: keys and certificates go in and out as bytes; the time is passed in. Fresh keys and
serial numbers come from the operating system's random source, never from a seeded generator.

Why one long module: the root, certificates, revocation lists and the trust store are one
chain of trust, each step checked by the next.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from protocol.errors import ArgumentError, CertificateError, CryptoError, Reason
from protocol.network.roster import (
    REGIONS,
    ROLES,
    BureauInfo,
    Region,
    Role,
    Roster,
    is_valid_bureau_id,
)
from protocol.security.primitives import ed25519_public_key, sha256, x25519_public_key

__all__ = [
    "ROOT_NAME",
    "X25519_KEY_OID",
    "BureauCertificate",
    "BureauCredentials",
    "BureauIdentity",
    "CertificateAuthority",
    "TrustStore",
    "key_id",
    "load_certificate",
    "roster_disagreement",
]

X25519_KEY_OID = x509.ObjectIdentifier("2.25.229096156001933412321266694369833436266")
"""Extension carrying a bureau's raw 32-byte X25519 public key (a UUID-based OID, ITU-T X.667)."""

ROOT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bureaunet"),
        x509.NameAttribute(NameOID.COMMON_NAME, "bureaunet General Secretariat root"),
    ]
)
KEY_ID_SIZE = 8

_PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    CryptographyDeprecationWarning,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    x509.InvalidVersion,
    x509.ExtensionNotFound,
    x509.AttributeNotFound,
)
"""What ``cryptography`` raises on hostile DER, lazily, on first access to a damaged field: every
one is translated here, where certificates and revocation lists are parsed, into ``malformed``."""
_ROOT_ERRORS: tuple[type[Exception], ...] = (*_PARSE_ERRORS, InvalidSignature)


def key_id(raw_public_key: bytes) -> bytes:
    """The 8-byte id of a raw public key, as envelopes name keys."""
    return sha256(b"bureaunet/v1/key-id\x00", raw_public_key)[:KEY_ID_SIZE]


def _raw(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class BureauCertificate:
    """A checked bureau certificate: signed by the trusted root, keys validated.

    Attributes:
        bureau_id: The bureau it names.
        role: The bureau's role.
        region: The bureau's region, if any.
        serial: Certificate serial number (what revocation lists name).
        not_before: Start of validity.
        not_after: End of validity.
        signing_key: Ed25519 public key.
        encryption_key: X25519 public key.
        signing_key_id: 8-byte id of the signing key.
        encryption_key_id: 8-byte id of the encryption key.
        der: The certificate, DER-encoded.
    """

    bureau_id: str
    role: Role
    region: Region | None
    serial: int
    not_before: datetime
    not_after: datetime
    signing_key: Ed25519PublicKey
    encryption_key: X25519PublicKey
    signing_key_id: bytes
    encryption_key_id: bytes
    der: bytes

    def valid_at(self, now: datetime) -> bool:
        """Whether ``now`` falls within the validity period."""
        return self.not_before <= now <= self.not_after

    def pem(self) -> bytes:
        """The certificate, PEM-encoded."""
        return x509.load_der_x509_certificate(self.der).public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class BureauIdentity:
    """One bureau key pair set with its certificate (private: never leaves the bureau)."""

    certificate: BureauCertificate
    signing_key: Ed25519PrivateKey
    encryption_key: X25519PrivateKey

    def private_pem(self) -> bytes:
        """Both private keys (PKCS #8 PEM, unencrypted) followed by the certificate."""
        keys = b"".join(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            for key in (self.signing_key, self.encryption_key)
        )
        return keys + self.certificate.pem()

    @classmethod
    def from_private_pem(cls, data: bytes, root: x509.Certificate) -> BureauIdentity:
        """Load what :meth:`private_pem` wrote, checking the certificate against ``root``.

        Raises:
            CertificateError: Missing or mismatched keys, or an untrusted certificate.
        """
        blocks = _pem_blocks(data)
        keys = [b for b in blocks if b"PRIVATE KEY" in b.split(b"\n", 1)[0]]
        certs = [b for b in blocks if b"CERTIFICATE" in b.split(b"\n", 1)[0]]
        if len(keys) != 2 or len(certs) != 1:
            raise CertificateError(Reason.MALFORMED, "expected two private keys and a certificate")
        certificate = load_certificate(certs[0], root)
        try:
            signing = serialization.load_pem_private_key(keys[0], password=None)
            encryption = serialization.load_pem_private_key(keys[1], password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise CertificateError(
                Reason.MALFORMED, f"private key does not load: {exc}", certificate.bureau_id
            ) from None
        if not isinstance(signing, Ed25519PrivateKey) or not isinstance(
            encryption, X25519PrivateKey
        ):
            raise CertificateError(Reason.BAD_KEY, "wrong private key types", certificate.bureau_id)
        if _raw(signing.public_key()) != _raw(certificate.signing_key) or _raw(
            encryption.public_key()
        ) != _raw(certificate.encryption_key):
            raise CertificateError(
                Reason.BAD_KEY, "private keys do not match the certificate", certificate.bureau_id
            )
        return cls(certificate, signing, encryption)


def _pem_blocks(data: bytes) -> list[bytes]:
    blocks: list[bytes] = []
    for chunk in data.split(b"-----BEGIN ")[1:]:
        end = chunk.find(b"-----END ")
        if end < 0:
            continue
        tail = chunk.find(b"-----", end + 9)
        blocks.append(b"-----BEGIN " + chunk[: tail + 5] + b"\n")
    return blocks


@dataclass(frozen=True, slots=True)
class BureauCredentials:
    """A bureau's private identities: the current one, and earlier ones still in their grace period.

    Attributes:
        current: The identity used to sign and to receive new messages.
        previous: Earlier identities with the time until which they may still decrypt.
    """

    current: BureauIdentity
    previous: tuple[tuple[BureauIdentity, datetime], ...] = ()

    @property
    def bureau_id(self) -> str:
        """The bureau these credentials belong to."""
        return self.current.certificate.bureau_id

    def rotate(self, new: BureauIdentity, now: datetime, grace: timedelta) -> BureauCredentials:
        """Make ``new`` current; the old current identity still decrypts until ``now + grace``.

        Raises:
            ArgumentError: ``new`` belongs to another bureau.
        """
        if new.certificate.bureau_id != self.bureau_id:
            raise ArgumentError("a rotation must keep the bureau id")
        kept = tuple((ident, until) for ident, until in self.previous if until >= now)
        return replace(self, current=new, previous=((self.current, now + grace), *kept))

    def decryption_key(self, encryption_key_id: bytes, now: datetime) -> X25519PrivateKey | None:
        """The private key an envelope names by key id, if it is current or still in grace."""
        if self.current.certificate.encryption_key_id == encryption_key_id:
            return self.current.encryption_key
        for ident, until in self.previous:
            if ident.certificate.encryption_key_id == encryption_key_id and now <= until:
                return ident.encryption_key
        return None


def load_certificate(data: bytes, root: x509.Certificate) -> BureauCertificate:
    """Parse a bureau certificate (PEM or DER) and check it against the root.

    Checks the root's signature, the subject's bureau id, role and region, and both public keys
    (an X25519 low-order point is refused). Does not check validity dates: that depends on the
    time of use.

    Raises:
        CertificateError: ``malformed``, ``untrusted_certificate`` or ``bad_key``; names the
            bureau when the subject could be read.
    """
    try:
        with warnings.catch_warnings():
            # cryptography warns, and will later refuse, certificates that break RFC 5280 (such
            # as a negative serial number): refuse them now
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            return _load_certificate(data, root)
    except CertificateError:
        raise
    except _PARSE_ERRORS as exc:
        # cryptography parses certificate fields lazily: a damaged field fails on first access
        raise CertificateError(Reason.MALFORMED, f"not a valid certificate: {exc}") from None


def _load_certificate(data: bytes, root: x509.Certificate) -> BureauCertificate:
    cert = (
        x509.load_pem_x509_certificate(data)
        if data.lstrip().startswith(b"-----BEGIN")
        else x509.load_der_x509_certificate(data)
    )
    bureau_id, role, region = _subject(cert)
    try:
        cert.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateError(
            Reason.UNTRUSTED_CERTIFICATE, "not signed by the General Secretariat root", bureau_id
        ) from None
    try:
        signing = cert.public_key()
        if not isinstance(signing, Ed25519PublicKey):
            raise CertificateError(Reason.BAD_KEY, "subject key is not Ed25519", bureau_id)
        signing = ed25519_public_key(_raw(signing))
        ext = cert.extensions.get_extension_for_oid(X25519_KEY_OID).value
        if not isinstance(ext, x509.UnrecognizedExtension):
            raise CertificateError(Reason.MALFORMED, "encryption key extension", bureau_id)
        encryption = x25519_public_key(ext.value)
    except x509.ExtensionNotFound:
        raise CertificateError(Reason.MALFORMED, "no encryption key", bureau_id) from None
    except CryptoError as exc:
        raise CertificateError(exc.reason, exc.detail, bureau_id) from None
    return BureauCertificate(
        bureau_id=bureau_id,
        role=role,
        region=region,
        serial=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        signing_key=signing,
        encryption_key=encryption,
        signing_key_id=key_id(_raw(signing)),
        encryption_key_id=key_id(ext.value),
        der=cert.public_bytes(serialization.Encoding.DER),
    )


def roster_disagreement(cert: BureauCertificate, roster: Roster) -> str | None:
    """Why a certificate's bureau, role or region disagrees with the roster, or ``None``."""
    info = roster.find(cert.bureau_id)
    if info is None:
        return f"{cert.bureau_id} is not in the roster"
    if info.role != cert.role or info.region != cert.region:
        return (
            f"the certificate says role {cert.role}, region {cert.region or 'none'}; "
            f"the roster says role {info.role}, region {info.region or 'none'}"
        )
    return None


def _subject(cert: x509.Certificate) -> tuple[str, Role, Region | None]:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    units = [
        str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    ]
    bureau_id = str(names[0].value) if len(names) == 1 else ""
    if not is_valid_bureau_id(bureau_id):
        raise CertificateError(Reason.MALFORMED, f"subject names no valid bureau id: {bureau_id!r}")
    role = next((r for r in ROLES if f"role:{r}" in units), None)
    region_name = next((u.removeprefix("region:") for u in units if u.startswith("region:")), "")
    region = next((r for r in REGIONS if r == region_name), None)
    if role is None or (region is None and region_name != "none"):
        raise CertificateError(Reason.MALFORMED, "subject lacks a valid role or region", bureau_id)
    return bureau_id, role, region


def _key_usage(*, digital_signature: bool, key_cert_sign: bool, crl_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class CertificateAuthority:
    """The General Secretariat's root: issues bureau certificates and revocation lists."""

    root_key: Ed25519PrivateKey
    root_certificate: x509.Certificate

    @classmethod
    def create(
        cls, now: datetime, validity: timedelta, root_key: Ed25519PrivateKey | None = None
    ) -> CertificateAuthority:
        """A new root key (from the OS random source unless given) and self-signed certificate."""
        key = root_key or Ed25519PrivateKey.generate()
        cert = (
            x509.CertificateBuilder()
            .subject_name(ROOT_NAME)
            .issuer_name(ROOT_NAME)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                _key_usage(digital_signature=False, key_cert_sign=True, crl_sign=True),
                critical=True,
            )
            .sign(key, algorithm=None)
        )
        return cls(key, cert)

    def root_pem(self) -> bytes:
        """The root certificate, PEM-encoded (public: every bureau gets it)."""
        return self.root_certificate.public_bytes(serialization.Encoding.PEM)

    def root_key_pem(self) -> bytes:
        """The root private key, PKCS #8 PEM, unencrypted."""
        return self.root_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def issue(
        self,
        bureau: BureauInfo,
        now: datetime,
        validity: timedelta,
        *,
        signing_key: Ed25519PrivateKey | None = None,
        encryption_key: X25519PrivateKey | None = None,
        serial: int | None = None,
    ) -> BureauIdentity:
        """Generate a bureau's keys (unless given) and certify them."""
        signing = signing_key or Ed25519PrivateKey.generate()
        encryption = encryption_key or X25519PrivateKey.generate()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bureaunet"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"role:{bureau.role}"),
                x509.NameAttribute(
                    NameOID.ORGANIZATIONAL_UNIT_NAME, f"region:{bureau.region or 'none'}"
                ),
                x509.NameAttribute(NameOID.COMMON_NAME, bureau.id),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.root_certificate.subject)
            .public_key(signing.public_key())
            .serial_number(serial if serial is not None else x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage(digital_signature=True, key_cert_sign=False, crl_sign=False),
                critical=True,
            )
            .add_extension(
                x509.UnrecognizedExtension(X25519_KEY_OID, _raw(encryption.public_key())),
                critical=False,
            )
            .sign(self.root_key, algorithm=None)
        )
        certificate = load_certificate(
            cert.public_bytes(serialization.Encoding.DER), self.root_certificate
        )
        return BureauIdentity(certificate, signing, encryption)

    def revocation_list(
        self,
        serials: Iterable[int],
        number: int,
        now: datetime,
        next_update: timedelta = timedelta(days=1),
    ) -> bytes:
        """A signed CRL revoking ``serials``, with sequence ``number``; DER-encoded."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root_certificate.subject)
            .last_update(now)
            .next_update(now + next_update)
            .add_extension(x509.CRLNumber(number), critical=False)
        )
        for serial in sorted(set(serials)):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        return builder.sign(self.root_key, algorithm=None).public_bytes(serialization.Encoding.DER)


@dataclass
class TrustStore:
    """What one bureau trusts: the root, every bureau certificate seen, the newest revocation list.

    Certificates are checked against the root when added; validity and revocation are checked at
    the time of use, so an envelope from an expired or revoked sender gets that precise reason.

    Copies share their certificates: :meth:`copy` hands the copy the same two tables (frozen from
    then on), and each store keeps what it adds afterwards in tables of its own. Ten thousand
    bureaus that each trust ten thousand certificates hold one table between them, not ten
    thousand (``bench/simulated_load.py --bureaus 10000``).
    """

    root: x509.Certificate
    _by_signing: dict[tuple[str, bytes], BureauCertificate] = field(default_factory=dict)
    _by_bureau: dict[str, list[BureauCertificate]] = field(default_factory=dict)
    revoked: frozenset[int] = frozenset()
    crl_number: int = -1
    crl_issued_at: datetime | None = None
    roster: Roster | None = None
    """When set, a certificate is trusted only if its bureau is in the roster with the role and
    region the certificate names."""
    _own_signing: dict[tuple[str, bytes], BureauCertificate] = field(default_factory=dict)
    """Certificates added since the shared tables were frozen (by signing key)."""
    _own_bureau: dict[str, list[BureauCertificate]] = field(default_factory=dict)
    """Each bureau whose certificates changed since then: its whole list."""
    _shared: bool = False
    """Whether the two tables above are shared with other stores (then never changed)."""
    rotation_grace: timedelta = timedelta(hours=1)
    """How long a certificate still signs after a newer one of its bureau takes effect: a key
    rotation's grace period, for messages sealed and resent around the rotation. After it the
    older certificate is retired (:meth:`retired_since`), wherever this store learnt of the new
    one: no revocation list has to reach it first."""

    @classmethod
    def from_root_pem(cls, data: bytes) -> TrustStore:
        """A trust store for the root certificate in ``data``.

        Raises:
            CertificateError: Not a self-signed CA certificate.
        """
        try:
            root = x509.load_pem_x509_certificate(data)
            root.verify_directly_issued_by(root)
        except _ROOT_ERRORS as exc:
            raise CertificateError(Reason.UNTRUSTED_CERTIFICATE, f"bad root: {exc}") from None
        return cls(root)

    def add(self, data: bytes) -> BureauCertificate:
        """Check a bureau certificate against the root and remember it.

        Raises:
            CertificateError: As :func:`load_certificate`.
        """
        cert = load_certificate(data, self.root)
        if self.roster is not None:
            why = roster_disagreement(cert, self.roster)
            if why is not None:
                raise CertificateError(Reason.UNAUTHORIZED_SENDER, why, cert.bureau_id)
        signing = self._own_signing if self._shared else self._by_signing
        signing[(cert.bureau_id, cert.signing_key_id)] = cert
        if self._shared:
            certs = self._own_bureau.get(cert.bureau_id)
            if certs is None:
                certs = self._own_bureau[cert.bureau_id] = list(
                    self._by_bureau.get(cert.bureau_id, ())
                )
        else:
            certs = self._by_bureau.setdefault(cert.bureau_id, [])
        if all(c.serial != cert.serial for c in certs):
            certs.append(cert)
            certs.sort(key=lambda c: c.not_before)
        return cert

    def copy(self) -> TrustStore:
        """An independent copy (certificates are immutable and shared; nothing is re-verified)."""
        if self._own_signing or self._own_bureau:
            # fold what this store added into new tables, which it then shares with the copy
            self._by_signing = {**self._by_signing, **self._own_signing}
            self._by_bureau = {**self._by_bureau, **self._own_bureau}
            self._own_signing, self._own_bureau = {}, {}
        self._shared = True
        return TrustStore(
            self.root,
            self._by_signing,
            self._by_bureau,
            self.revoked,
            self.crl_number,
            self.crl_issued_at,
            self.roster,
            _shared=True,
            rotation_grace=self.rotation_grace,
        )

    def bureaus(self) -> frozenset[str]:
        """Every bureau with at least one certificate here."""
        return frozenset(self._by_bureau) | frozenset(self._own_bureau)

    def signer(self, bureau_id: str, signing_key_id: bytes) -> BureauCertificate | None:
        """The certificate of a sender's signing key, if known (validity not checked)."""
        key = (bureau_id, signing_key_id)
        own = self._own_signing.get(key) if self._own_signing else None
        return own if own is not None else self._by_signing.get(key)

    def _certificates(self, bureau_id: str) -> list[BureauCertificate] | None:
        own = self._own_bureau.get(bureau_id) if self._own_bureau else None
        return own if own is not None else self._by_bureau.get(bureau_id)

    def is_revoked(self, cert: BureauCertificate) -> bool:
        """Whether the newest revocation list names this certificate."""
        return cert.serial in self.revoked

    def retired_since(self, cert: BureauCertificate, now: datetime) -> datetime | None:
        """When ``cert`` stopped signing, if it has (``None``: it is still in use).

        It has when a newer, unrevoked certificate of its bureau took effect more than
        :attr:`rotation_grace` before ``now``.
        """
        certs = self._certificates(cert.bureau_id)
        if not certs or len(certs) == 1:
            return None
        newer = [
            c.not_before
            for c in certs
            if c.not_before > cert.not_before and c.not_before <= now and not self.is_revoked(c)
        ]
        if not newer:
            return None
        retired = min(newer) + self.rotation_grace
        return retired if now > retired else None

    def current(self, bureau_id: str, now: datetime) -> BureauCertificate:
        """The newest certificate of a bureau that is valid now and not revoked.

        Raises:
            CertificateError: ``unknown_sender``, ``revoked`` or ``expired_certificate``.
        """
        certs = self._certificates(bureau_id)
        if not certs:
            raise CertificateError(Reason.UNKNOWN_SENDER, "no certificate", bureau_id)
        usable = [c for c in certs if not self.is_revoked(c)]
        if not usable:
            raise CertificateError(Reason.REVOKED, "every certificate is revoked", bureau_id)
        valid = [c for c in usable if c.valid_at(now)]
        if not valid:
            raise CertificateError(Reason.EXPIRED_CERTIFICATE, "no valid certificate", bureau_id)
        return valid[-1]

    def apply_revocation_list(self, data: bytes) -> bool:
        """Honour a revocation list if the root signed it and it is newer than the one held.

        Returns:
            True when the list was newer and is now in force; False when it was not newer.

        Raises:
            CertificateError: ``malformed`` or ``untrusted_certificate``.
        """
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", CryptographyDeprecationWarning)
                crl = (
                    x509.load_pem_x509_crl(data)
                    if data.lstrip().startswith(b"-----BEGIN")
                    else x509.load_der_x509_crl(data)
                )
                number_ext = crl.extensions.get_extension_for_class(x509.CRLNumber).value
                revoked = frozenset(entry.serial_number for entry in crl)
                issued = crl.last_update_utc
            root_key = self.root.public_key()
            signed = isinstance(root_key, Ed25519PublicKey) and crl.is_signature_valid(root_key)
        except _PARSE_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise CertificateError(Reason.MALFORMED, f"not a revocation list: {reason}") from None
        if not signed:
            raise CertificateError(
                Reason.UNTRUSTED_CERTIFICATE, "revocation list not signed by the root"
            )
        if number_ext.crl_number <= self.crl_number:
            return False
        self.revoked = revoked
        self.crl_number = number_ext.crl_number
        self.crl_issued_at = issued
        return True
