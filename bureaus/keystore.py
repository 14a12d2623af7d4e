"""A PKI on disk: the General Secretariat's root and every bureau's keys and certificate.

Layout of a PKI directory (written by ``bureaunet keys init``)::

    root.crt.pem            the GS root certificate (public)
    root.key.pem            the GS root private key (mode 0600)
    bureaus/<id>.crt.pem    a bureau's certificate (public)
    bureaus/<id>.key.pem    a bureau's two private keys and its certificate (mode 0600)
    crl.der                 the newest revocation list, when one was issued
    history.jsonl           what each run revoked and rotated, one JSON object a line

A run with a kept PKI writes back what it changed, so the next run starts where it ended: a
revocation replaces ``crl.der`` (the next run's bureaus refuse the revoked certificate from the
start), a key rotation replaces the bureau's two files (the rotated-out certificate is then known
to nobody: its key signs nothing the next run accepts), and each is a line of ``history.jsonl``.
Files are replaced atomically (written beside, then renamed), so an interrupted run leaves the
old file or the new one, never half of one.

These are simulation keys, unencrypted on disk: generate them per exercise; never reuse them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bureaus.errors import BureauError
from protocol import Roster
from protocol.errors import CertificateError
from protocol.security.pki import BureauIdentity, CertificateAuthority, TrustStore, load_certificate

__all__ = [
    "KeystoreError",
    "PkiDirectory",
    "init_pki",
    "load_pki",
    "record_revocation",
    "record_rotation",
    "write_atomically",
    "write_private",
]

_NOTE = """bureaunet simulation PKI: THROWAWAY keys for exercises and tests.
Private keys (*.key.pem) are unencrypted and readable only by their owner (mode 0600).
Generate a new directory for each exercise; never use these keys for anything real.
"""


class KeystoreError(BureauError):
    """A PKI directory that cannot be used, naming the bureau and the reason.

    Attributes:
        bureau: The bureau concerned, or ``None`` for the directory as a whole.
        reason: Short reason (``missing``, ``expired``, ``untrusted_certificate`` ...).
        detail: What is wrong, in plain words.
        problems: Every problem found (this one first), one per bad bureau.
    """

    def __init__(
        self,
        bureau: str | None,
        reason: str,
        detail: str,
        problems: tuple[KeystoreError, ...] = (),
    ) -> None:
        self.bureau = bureau
        self.reason = reason
        self.detail = detail
        self.problems = problems or (self,)
        who = f"{bureau}: " if bureau else ""
        more = f" (and {len(self.problems) - 1} more bad bureaus)" if len(self.problems) > 1 else ""
        super().__init__(f"{who}{reason}: {detail}{more}")


_PLAIN = {
    "malformed": "the certificate or key file cannot be read as one",
    "untrusted_certificate": "the certificate is not signed by this directory's root",
    "bad_key": "the certificate carries an unusable key",
    "unauthorized_sender": "the certificate disagrees with the roster",
}
"""Each certificate reason in plain words (the parser's own words follow in brackets)."""


def write_private(path: Path, data: bytes) -> None:
    """Write a private file created with mode 0600 (never world- or group-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` whole: beside it first (never through a link), then renamed over it.

    An interrupted write leaves the old file or the new one, never half of one; a symbolic link
    at ``path`` is replaced, not written through.

    Raises:
        OSError: The folder cannot be written.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        temporary.unlink(missing_ok=True)  # a leftover of a crashed write (or a planted link)
        fd = os.open(temporary, flags, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _journal(directory: Path, entry: dict[str, object]) -> None:
    line = json.dumps(entry, sort_keys=True) + "\n"
    fd = os.open(
        directory / "history.jsonl",
        os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0),
        0o644,
    )
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line)


def record_revocation(
    directory: Path, crl_der: bytes, *, serials: Iterable[int], run: str, at: datetime
) -> None:
    """Keep a run's revocation list as the directory's current one, and note it in the history.

    Args:
        directory: The PKI directory.
        crl_der: The list the General Secretariat signed (it names every revoked serial).
        serials: The serials this revocation added.
        run: The run that revoked them.
        at: When.

    Raises:
        OSError: The directory cannot be written.
    """
    write_atomically(directory / "crl.der", crl_der)
    _journal(
        directory,
        {"event": "revoked", "serials": sorted(serials), "run": run, "at": at.isoformat()},
    )


def record_rotation(
    directory: Path, identity: BureauIdentity, *, replaced: int, run: str, at: datetime
) -> None:
    """Keep a bureau's new identity in place of its old one, and note it in the history.

    Raises:
        OSError: The directory cannot be written.
    """
    bureau = identity.certificate.bureau_id
    base = directory / "bureaus"
    write_atomically(base / f"{bureau}.key.pem", identity.private_pem(), 0o600)
    write_atomically(base / f"{bureau}.crt.pem", identity.certificate.pem())
    _journal(
        directory,
        {
            "event": "rotated",
            "bureau": bureau,
            "serial": identity.certificate.serial,
            "replaced": replaced,
            "run": run,
            "at": at.isoformat(),
        },
    )


@dataclass
class PkiDirectory:
    """A loaded PKI: the root (with its key when present), the trust store, the identities."""

    path: Path
    trust: TrustStore
    identities: dict[str, BureauIdentity]
    authority: CertificateAuthority | None

    def write_revocation_list(self, data: bytes) -> None:
        """Store a revocation list (applied to this directory's trust store first)."""
        self.trust.apply_revocation_list(data)
        (self.path / "crl.der").write_bytes(data)


def _write(
    directory: Path, ca: CertificateAuthority, identities: Mapping[str, BureauIdentity]
) -> None:
    bureaus = directory / "bureaus"
    bureaus.mkdir(parents=True, exist_ok=True)
    (directory / "README.txt").write_text(_NOTE, encoding="utf-8")
    (directory / "root.crt.pem").write_bytes(ca.root_pem())
    write_private(directory / "root.key.pem", ca.root_key_pem())
    for bureau, identity in identities.items():
        (bureaus / f"{bureau}.crt.pem").write_bytes(identity.certificate.pem())
        write_private(bureaus / f"{bureau}.key.pem", identity.private_pem())


def init_pki(
    directory: Path, roster: Roster, now: datetime, validity: timedelta = timedelta(days=365)
) -> PkiDirectory:
    """Create a complete PKI for a roster: a new root and one certificate per bureau.

    Raises:
        KeystoreError: The directory already holds a PKI.
        OSError: The directory cannot be written.
    """
    if (directory / "root.crt.pem").exists():
        raise KeystoreError(None, "exists", f"{directory} already holds a PKI")
    ca = CertificateAuthority.create(now, validity + timedelta(days=1))
    identities = {bureau.id: ca.issue(bureau, now, validity) for bureau in roster}
    _write(directory, ca, identities)
    trust = TrustStore(ca.root_certificate, roster=roster)
    for identity in identities.values():
        trust.add(identity.certificate.der)
    return PkiDirectory(directory, trust, identities, ca)


def load_pki(directory: Path, roster: Roster, now: datetime) -> PkiDirectory:
    """Load and check a PKI directory for every bureau of ``roster``.

    Raises:
        KeystoreError: A file is missing or unreadable, or a certificate is wrongly signed,
            expired, or does not match its keys; the message names the bureau and the reason.
    """
    try:
        trust = TrustStore.from_root_pem((directory / "root.crt.pem").read_bytes())
    except OSError as exc:
        raise KeystoreError(None, "missing", f"root certificate: {exc.strerror}") from None
    except CertificateError as exc:
        raise KeystoreError(None, str(exc.reason), exc.detail) from None
    if not trust.root.not_valid_before_utc <= now <= trust.root.not_valid_after_utc:
        raise KeystoreError(None, "expired", "the root certificate is not valid now")
    authority = None
    root_key_file = directory / "root.key.pem"
    if root_key_file.exists():
        key = load_pem_private_key(root_key_file.read_bytes(), password=None)
        if isinstance(key, Ed25519PrivateKey):
            authority = CertificateAuthority(key, trust.root)
    trust.roster = roster
    identities: dict[str, BureauIdentity] = {}
    problems: list[KeystoreError] = []
    for bureau in roster:
        try:
            identities[bureau.id] = _load_bureau(directory, bureau.id, trust, now)
        except KeystoreError as exc:
            problems.append(exc)
    if problems:
        first = problems[0]
        raise KeystoreError(first.bureau, first.reason, first.detail, tuple(problems))
    crl = directory / "crl.der"
    if crl.exists():
        try:
            trust.apply_revocation_list(crl.read_bytes())
        except CertificateError as exc:
            raise KeystoreError(None, str(exc.reason), f"crl.der: {exc.detail}") from None
    return PkiDirectory(directory, trust, identities, authority)


def _load_bureau(directory: Path, bureau: str, trust: TrustStore, now: datetime) -> BureauIdentity:
    """One bureau's certificate and keys, checked and added to ``trust``.

    Raises:
        KeystoreError: What is wrong with this bureau's files, in plain words.
    """
    base = directory / "bureaus" / bureau
    try:
        cert_bytes = base.with_suffix(".crt.pem").read_bytes()
        key_bytes = base.with_suffix(".key.pem").read_bytes()
    except OSError as exc:
        raise KeystoreError(bureau, "missing", f"{exc.filename}: {exc.strerror}") from None
    try:
        certificate = load_certificate(cert_bytes, trust.root)
        identity = BureauIdentity.from_private_pem(key_bytes, trust.root)
    except CertificateError as exc:
        plain = _PLAIN.get(str(exc.reason), str(exc.reason))
        raise KeystoreError(bureau, str(exc.reason), f"{plain} ({exc.detail})") from None
    if certificate.bureau_id != bureau:
        raise KeystoreError(
            bureau, "mismatch", f"the certificate names {certificate.bureau_id}, not {bureau}"
        )
    if identity.certificate.serial != certificate.serial:
        raise KeystoreError(bureau, "mismatch", "certificate and key file disagree")
    if not certificate.valid_at(now):
        raise KeystoreError(
            bureau,
            "expired",
            f"certificate valid {certificate.not_before:%Y-%m-%d} to "
            f"{certificate.not_after:%Y-%m-%d}",
        )
    try:
        trust.add(cert_bytes)
    except CertificateError as exc:
        plain = _PLAIN.get(str(exc.reason), str(exc.reason))
        raise KeystoreError(bureau, str(exc.reason), f"{plain}: {exc.detail}") from None
    return identity
