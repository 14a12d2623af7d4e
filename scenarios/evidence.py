"""Tamper-evident event logs: a hash chain over every line, signed by the run.

Each line of ``events.jsonl`` carries ``seq`` and ``chain``: the SHA-256 of the previous line's
chain and this line's content (its JSON without ``chain``, keys sorted, compact). The run signs
the last chain value with its General Secretariat root key (Ed25519) into ``events.sig`` beside
the log, together with that root's certificate. ``verify_log`` recomputes the chain from the top
and names the first line that does not match: editing, inserting, deleting or reordering any
line breaks the chain from there on, and rewriting the whole chain breaks the signature.

The signature proves the log is the one the run wrote; that the run is one you trust is a matter
of trusting the certificate in ``events.sig`` (compare its fingerprint with the one in the
report).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["LogVerdict", "chained_lines", "sign_log", "verify_log"]

_GENESIS = "0" * 64
_CONTEXT = b"bureaunet/v1\x00event-log\x00"


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _link(previous: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(previous.encode() + _canonical(record)).hexdigest()


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


def sign_log(
    last_chain: str, count: int, key: Ed25519PrivateKey, certificate: x509.Certificate
) -> dict[str, Any]:
    """The ``events.sig`` document for a log whose last chain value is ``last_chain``."""
    message = _CONTEXT + f"{count}:{last_chain}".encode()
    return {
        "lines": count,
        "last_chain": last_chain,
        "signature": key.sign(message).hex(),
        "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "fingerprint_sha256": certificate.fingerprint(hashes.SHA256()).hex(),
    }


@dataclass(frozen=True)
class LogVerdict:
    """The result of checking a log.

    Attributes:
        ok: Whether every line and the signature check out.
        lines: Lines read.
        first_bad_line: The first line (1-based) that does not match, if any.
        reason: What is wrong, or ``"intact"``.
        fingerprint: SHA-256 fingerprint of the signing certificate.
    """

    ok: bool
    lines: int
    first_bad_line: int | None
    reason: str
    fingerprint: str = ""


def verify_log(run_dir: Path) -> LogVerdict:  # noqa: PLR0911 - one return per verdict
    """Check ``events.jsonl`` against its chain and ``events.sig``.

    Raises:
        OSError: A file cannot be read.
        ValueError: ``events.sig`` is not a signature document.
    """
    signature = json.loads((run_dir / "events.sig").read_text(encoding="utf-8"))
    certificate = x509.load_pem_x509_certificate(signature["certificate"].encode())
    public = certificate.public_key()
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError("events.sig: not an Ed25519 certificate")
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    previous = _GENESIS
    count = 0
    with (run_dir / "events.jsonl").open(encoding="utf-8") as handle:
        for count, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
                claimed = record.pop("chain")
            except (ValueError, KeyError, AttributeError):
                return LogVerdict(False, count, count, "not a chained log line", fingerprint)
            expected = _link(previous, record)
            if record.get("seq") != count or claimed != expected:
                return LogVerdict(
                    False, count, count, "line altered, inserted, removed or moved", fingerprint
                )
            previous = claimed
    signed_lines = int(signature["lines"])
    if count < signed_lines:
        return LogVerdict(False, count, count + 1, "lines missing at the end", fingerprint)
    if count > signed_lines:
        return LogVerdict(False, count, signed_lines + 1, "lines added at the end", fingerprint)
    if previous != signature["last_chain"]:
        return LogVerdict(
            False,
            count,
            None,
            "the chain was rewritten: it does not match the signed one",
            fingerprint,
        )
    try:
        public.verify(
            bytes.fromhex(signature["signature"]), _CONTEXT + f"{count}:{previous}".encode()
        )
    except (InvalidSignature, ValueError):
        return LogVerdict(False, count, None, "signature does not match the log", fingerprint)
    return LogVerdict(True, count, None, "intact", fingerprint)
