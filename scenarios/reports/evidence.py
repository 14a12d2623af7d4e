"""Tamper-evident run evidence: a hash-chained event log and a signed manifest of the report.

Each line of ``events.jsonl`` carries ``seq`` and ``chain``: the SHA-256 of the previous line's
chain and this line's content (its JSON without ``chain``, keys sorted, compact). The run then
signs a *manifest* with its General Secretariat root key (Ed25519) into ``events.sig``: the number
of log lines and the last chain value, and the SHA-256 of ``summary.json`` and ``scenario.json``
in their RFC 8785 canonical form (so reformatting a file changes nothing, and changing any value
does). ``events.sig`` also carries the signing certificate and its fingerprint.

``verify_log`` recomputes the chain from the top and names the first line that does not match,
checks both files against the manifest and the signature against the manifest. A signature is
only as good as the key behind it, and anyone can re-chain a log and sign it with a key of their
own. So the signer is checked against a root the user names (``--root CERT``, the ``root.crt.pem``
of the PKI the run used, or ``--fingerprint HEX``) or, by default, against the fingerprint that
the report recorded in ``summary.json`` (shown in the report and by ``verify-log``): any mismatch is
a failed verification that says which.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "COVERED",
    "LogVerdict",
    "canonical_json",
    "chained_lines",
    "fingerprint_of",
    "sign_log",
    "verify_log",
]

_GENESIS = "0" * 64
_CONTEXT = b"bureaunet/v1\x00run-manifest\x00"
COVERED = ("summary.json", "scenario.json")
"""The report files the signed manifest covers, besides the event log."""
_SAFE_INT = 2**53 - 1


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _link(previous: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(previous.encode() + _canonical(record)).hexdigest()


def _safe(value: Any) -> Any:
    # RFC 8785 numbers are IEEE doubles: an integer beyond 2**53 is written as its decimal string
    # instead, so that no digit of it escapes the hash
    if isinstance(value, bool) or not isinstance(value, int | dict | list):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > _SAFE_INT else value
    if isinstance(value, dict):
        return {key: _safe(item) for key, item in value.items()}
    return [_safe(item) for item in value]


def canonical_json(document: Any) -> bytes:
    """``document`` in the JSON Canonicalization Scheme (RFC 8785), for hashing and signing."""
    return rfc8785.dumps(_safe(document))


def _digest(path: Path) -> str:
    """SHA-256 of a JSON file's canonical form.

    Raises:
        OSError: The file cannot be read.
        ValueError: It is not JSON.
    """
    return hashlib.sha256(canonical_json(json.loads(path.read_text(encoding="utf-8")))).hexdigest()


def chained_lines(records: Iterable[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """Each record as a JSON line with ``seq`` and ``chain`` added; also yields the chain value."""
    previous = _GENESIS
    for seq, record in enumerate(records, start=1):
        body = {**record, "seq": seq}
        previous = _link(previous, body)
        yield (
            json.dumps({**body, "chain": previous}, separators=(",", ":"), ensure_ascii=False),
            previous,
        )


def fingerprint_of(certificate: x509.Certificate) -> str:
    """A certificate's SHA-256 fingerprint in hex (reports show it; ``--fingerprint`` takes it)."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def sign_log(
    run_dir: Path,
    last_chain: str,
    count: int,
    key: Ed25519PrivateKey,
    certificate: x509.Certificate,
) -> dict[str, Any]:
    """The ``events.sig`` document: the signed manifest of a report directory.

    The covered files (:data:`COVERED`) must already be written in ``run_dir``.
    """
    manifest = {
        "lines": count,
        "last_chain": last_chain,
        "files": {name: _digest(run_dir / name) for name in COVERED},
    }
    return {
        "manifest": manifest,
        "signature": key.sign(_CONTEXT + canonical_json(manifest)).hex(),
        "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "fingerprint_sha256": fingerprint_of(certificate),
    }


@dataclass(frozen=True)
class LogVerdict:
    """The result of checking a report directory's evidence.

    Attributes:
        ok: Whether every line, every covered file, the signature and the signer check out.
        lines: Lines read.
        first_bad_line: The first line (1-based) that does not match, if any.
        reason: What is wrong, or ``"intact"``.
        fingerprint: SHA-256 fingerprint of the certificate that signed, when it could be read.
        expected: The fingerprint the signer was checked against, and where it came from.
    """

    ok: bool
    lines: int
    first_bad_line: int | None
    reason: str
    fingerprint: str = ""
    expected: str = ""


def _expected_signer(
    run_dir: Path, root: x509.Certificate | None, fingerprint: str | None
) -> tuple[str, str]:
    """The fingerprint the signer must have, and where it was taken from."""
    if root is not None:
        return fingerprint_of(root), "the root given with --root"
    if fingerprint is not None:
        return fingerprint.lower().replace(":", ""), "the fingerprint given with --fingerprint"
    try:
        recorded = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        value = recorded["evidence"]["signer_fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return "", "the report (summary.json records no signer)"
    return str(value), "the report's summary.json"


def _check_chain(log: Path, lines: int, last_chain: str) -> tuple[int, int | None, str | None]:
    """Lines read, the first bad line and what is wrong with the chain (``None``: nothing)."""
    previous = _GENESIS
    count = 0
    with log.open(encoding="utf-8") as handle:
        for count, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
                claimed = record.pop("chain")
            except (ValueError, KeyError, AttributeError):
                return count, count, "not a chained log line"
            if record.get("seq") != count or claimed != _link(previous, record):
                return count, count, "line altered, inserted, removed or moved"
            previous = claimed
    if count < lines:
        return count, count + 1, "lines missing at the end"
    if count > lines:
        return count, lines + 1, "lines added at the end"
    if previous != last_chain:
        return count, None, "the chain was rewritten: it does not match the signed one"
    return count, None, None


def _check_files(run_dir: Path, signed: Mapping[str, Any]) -> str | None:
    """What is wrong with the covered files (``None``: they match the manifest)."""
    for name in COVERED:
        try:
            digest = _digest(run_dir / name)
        except (OSError, ValueError) as exc:
            return f"{name} cannot be read: {exc}"
        if digest != signed.get(name):
            return f"{name} was altered: it does not match the signed manifest"
    return None


def verify_log(
    run_dir: Path,
    *,
    root: x509.Certificate | None = None,
    fingerprint: str | None = None,
) -> LogVerdict:
    """Check ``events.jsonl``, ``summary.json`` and ``scenario.json`` against ``events.sig``.

    Args:
        run_dir: A report directory.
        root: The certificate that must have signed (the run's GS root).
        fingerprint: Its SHA-256 fingerprint instead; by default, the one the report recorded.

    Raises:
        OSError: ``events.jsonl`` cannot be read (not a run directory).
    """
    log = run_dir / "events.jsonl"
    if not log.is_file():
        raise FileNotFoundError(f"{log}: no event log")
    try:
        signature = json.loads((run_dir / "events.sig").read_text(encoding="utf-8"))
        manifest: Mapping[str, Any] = signature["manifest"]
        certificate = x509.load_pem_x509_certificate(signature["certificate"].encode())
        public = certificate.public_key()
        if not isinstance(public, Ed25519PublicKey):
            raise TypeError("not an Ed25519 certificate")
        signed = bytes.fromhex(signature["signature"])
        signed_lines, signed_chain = int(manifest["lines"]), str(manifest["last_chain"])
        signed_files = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return LogVerdict(False, 0, None, f"no usable signature (events.sig: {exc})")
    signer = fingerprint_of(certificate)
    expected, source = _expected_signer(run_dir, root, fingerprint)
    where = f"{expected[:16]}... from {source}" if expected else source
    count, bad_line, wrong = _check_chain(log, signed_lines, signed_chain)
    wrong = wrong or _check_files(run_dir, signed_files)
    if wrong is not None:
        return LogVerdict(False, count, bad_line, wrong, signer, where)
    try:
        public.verify(signed, _CONTEXT + canonical_json(dict(manifest)))
    except InvalidSignature:
        reason = "the signature does not match the log and the report"
        return LogVerdict(False, count, None, reason, signer, where)
    if not expected:
        reason = f"nothing to check the signer against ({source}): give --root or --fingerprint"
        return LogVerdict(False, count, None, reason, signer, where)
    if signer != expected:
        reason = (
            f"signed by certificate {signer[:16]}..., not by the expected {expected[:16]}... "
            f"({source}): re-signed with another key"
        )
        return LogVerdict(False, count, None, reason, signer, where)
    return LogVerdict(True, count, None, "intact", signer, where)
