"""Tamper-evident run evidence: a hash-chained event log and a signed manifest of the report.

Each line of ``events.jsonl`` carries ``seq`` and ``chain``: the SHA-256 of the previous line's
chain and this line's content (its JSON without ``chain``, keys sorted, compact). The run then
signs a *manifest* with its General Secretariat root key (Ed25519) into ``events.sig``: the number
of log lines and the last chain value, and the SHA-256 of ``summary.json`` and ``scenario.json``
in their RFC 8785 canonical form (so reformatting a file changes nothing, and changing any value
does). ``events.sig`` also carries the signing certificate and its fingerprint.

The manifest also names every other file of the run directory that a report, the debrief or
verification reads or shows (the CSV tables, the pictures, ``report.md``, ``report.html``), each
with the SHA-256 of its bytes: what people read is covered, not only what machines read.

``verify_log`` recomputes the chain from the top and names the first line that does not match,
checks every named file against the manifest and the signature against the manifest. Nothing is
read through a symbolic link (a link planted in a handed-over directory is named, not followed).

A signature is only as good as the key behind it, and anyone who can edit a run directory can
re-chain the log, rewrite the recorded fingerprint and sign with a key of their own. So a run is
called *intact* only when the signer is checked against an anchor the user kept: a root
(``--root CERT``, or ``--pki DIR`` for the ``root.crt.pem`` of the PKI the run used) or a
fingerprint (``--fingerprint HEX``). Without one the verdict is at most *consistent, signed by X,
not anchored*: the user compares X with the fingerprint they kept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bureaus import Event

__all__ = [
    "COVERED",
    "Chain",
    "ChainedLog",
    "LogVerdict",
    "RunFileError",
    "canonical_json",
    "chained_lines",
    "fingerprint_of",
    "open_run_file",
    "read_run_file",
    "sign_log",
    "verify_log",
]

_GENESIS = "0" * 64
_CONTEXT = b"bureaunet/v1\x00run-manifest\x00"
COVERED = ("summary.json", "scenario.json")
"""The JSON files the signed manifest covers in canonical form, besides the event log (the other
files it names are covered byte for byte)."""
_SAFE_INT = 2**53 - 1


_SORTED = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_AS_GIVEN = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""The two ways a line is written: keys sorted (what the chain hashes), and in the event's order
(the line itself). Made once: ``json.dumps`` with options makes an encoder at each call."""


def _canonical(record: dict[str, Any]) -> bytes:
    return _SORTED(record).encode()


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


class RunFileError(OSError):
    """A file of a run directory that is not read: missing, not a regular file, or a link."""


def open_run_file(path: Path) -> BinaryIO:
    """Open a run directory's regular file for reading, never through a symbolic link.

    Raises:
        RunFileError: It is missing, a symbolic link, or not a regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise RunFileError(f"{path.name} is missing") from None
    except OSError as exc:
        if path.is_symlink():
            raise RunFileError(f"{path.name} is a symbolic link: not followed") from None
        raise RunFileError(f"{path.name} cannot be read: {exc.strerror}") from None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise RunFileError(f"{path.name} is not a regular file")
    return handle


def read_run_file(path: Path, limit: int = 256 << 20) -> bytes:
    """A run directory's file, never through a symbolic link, at most ``limit`` bytes.

    Raises:
        RunFileError: It is missing, a symbolic link, not a regular file, or too large.
    """
    with open_run_file(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise RunFileError(f"{path.name} is larger than {limit} bytes")
    return data


def _digest(path: Path) -> str:
    """SHA-256 of a JSON file's canonical form.

    Raises:
        OSError: The file cannot be read (or is a link).
        ValueError: It is not JSON.
    """
    return hashlib.sha256(canonical_json(json.loads(read_run_file(path)))).hexdigest()


def _raw_digest(path: Path) -> str:
    return hashlib.sha256(read_run_file(path)).hexdigest()


def chained_lines(records: Iterable[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """Each record as a JSON line with ``seq`` and ``chain`` added; also yields the chain value."""
    chain = Chain()
    for record in records:
        yield chain.line(record), chain.last


@dataclass
class Chain:
    """The evidence chain over the lines of an event log, one record at a time.

    Attributes:
        count: Lines so far.
        last: The chain value of the last line (the genesis value before any).
    """

    count: int = 0
    last: str = _GENESIS

    def line(self, record: dict[str, Any]) -> str:
        """The record's line: its fields, its number (``seq``) and its link (``chain``)."""
        self.count += 1
        body = {**record, "seq": self.count}
        self.last = _link(self.last, body)
        if "chain" in body:  # a record that names a chain of its own has it replaced in place
            return _AS_GIVEN({**body, "chain": self.last})
        return f'{_AS_GIVEN(body)[:-1]},"chain":"{self.last}"}}'  # the link as the last field


@dataclass
class ChainedLog:
    """An event log written as the run goes, each line chained (an event log's listener).

    What :func:`chained_lines` writes at the end of a run, written line by line instead, so that
    a long run keeps no event in memory for it. :meth:`close` before reading the file; what
    comes after is not written.
    """

    path: Path
    chain: Chain = field(default_factory=Chain)
    _file: TextIO | None = None

    def __post_init__(self) -> None:
        """Open the file now, so that a place that cannot be written fails before the run.

        Raises:
            OSError: The file cannot be written (or its name is a link).
        """
        self._file = _open_new(self.path)

    def __call__(self, event: Event) -> None:
        """Write one event's line."""
        if self._file is not None:
            self._file.write(self.chain.line(event.as_dict()) + "\n")

    def close(self) -> None:
        """Flush and close the file; again, nothing."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _open_new(path: Path) -> TextIO:
    """A file opened for writing from empty, never through a link at its name."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    return open(os.open(path, flags, 0o644), "w", encoding="utf-8")


def fingerprint_of(certificate: x509.Certificate) -> str:
    """A certificate's SHA-256 fingerprint in hex (reports show it; ``--fingerprint`` takes it)."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def sign_log(
    run_dir: Path,
    last_chain: str,
    count: int,
    key: Ed25519PrivateKey,
    certificate: x509.Certificate,
    *,
    raw: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``events.sig`` document: the signed manifest of a report directory.

    The covered files (:data:`COVERED`, and ``raw``: every other file people read or are shown)
    must already be written in ``run_dir``.
    """
    manifest = {
        "lines": count,
        "last_chain": last_chain,
        "files": {name: _digest(run_dir / name) for name in COVERED},
        "raw": {name: _raw_digest(run_dir / name) for name in sorted(set(raw))},
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
        reason: What is wrong; ``"intact"`` (anchored); or, unanchored, what to compare.
        fingerprint: SHA-256 fingerprint of the certificate that signed, when it could be read.
        expected: The fingerprint the signer was checked against, and where it came from.
        anchored: Whether the signer was checked against something the user gave (a root, a
            PKI directory, a fingerprint), not only against what the directory itself records.
        covered: The files the signed manifest names (the log included).
    """

    ok: bool
    lines: int
    first_bad_line: int | None
    reason: str
    fingerprint: str = ""
    expected: str = ""
    anchored: bool = False
    covered: frozenset[str] = frozenset()

    @property
    def intact(self) -> bool:
        """Consistent, signed, and the signer checked against the user's own anchor."""
        return self.ok and self.anchored


def _expected_signer(
    run_dir: Path, root: x509.Certificate | None, fingerprint: str | None
) -> tuple[str, str, bool]:
    """The fingerprint the signer must have, where it was taken from, and whether it is anchored.

    Anchored: the user gave it, rather than the directory itself recording it.
    """
    if root is not None:
        return fingerprint_of(root), "the root given", True
    if fingerprint is not None:
        return fingerprint.lower().replace(":", ""), "the fingerprint given", True
    try:
        recorded = json.loads(read_run_file(run_dir / "summary.json"))
        value = recorded["evidence"]["signer_fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return "", "the report (summary.json records no signer)", False
    return str(value), "the report's own summary.json", False


def _check_chain(log: Path, lines: int, last_chain: str) -> tuple[int, int | None, str | None]:
    """Lines read, the first bad line and what is wrong with the chain (``None``: nothing)."""
    previous = _GENESIS
    count = 0
    with open_run_file(log) as handle:
        for count, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)  # bytes: UTF-8 expected, anything else is not JSON
                claimed = record.pop("chain")
            except (ValueError, KeyError, AttributeError, TypeError):
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


def _check_files(run_dir: Path, signed: Mapping[str, Any], raw: Mapping[str, Any]) -> str | None:
    """What is wrong with the covered files (``None``: they match the manifest)."""
    checks = [(name, signed.get(name), _digest) for name in COVERED]
    checks += [(name, raw[name], _raw_digest) for name in sorted(raw)]
    for name, expected, digest_of in checks:
        if not _plain_name(name):
            return f"the manifest names {name!r}, which is not a file of this directory"
        try:
            digest = digest_of(run_dir / name)
        except (OSError, ValueError) as exc:
            return f"{name} cannot be read: {exc}"
        if digest != expected:
            return f"{name} was altered: it does not match the signed manifest"
    return None


def _plain_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and bool(name)
        and "/" not in name
        and "\\" not in name
        and name not in (".", "..")
    )


def verify_log(  # noqa: PLR0911 - one verdict per way the evidence can fail
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
    if not log.is_file() or log.is_symlink():
        raise FileNotFoundError(f"{log}: no event log" + (" (a link)" if log.is_symlink() else ""))
    try:
        signature = json.loads(read_run_file(run_dir / "events.sig"))
        manifest: Mapping[str, Any] = signature["manifest"]
        certificate = x509.load_pem_x509_certificate(signature["certificate"].encode())
        public = certificate.public_key()
        if not isinstance(public, Ed25519PublicKey):
            raise TypeError("not an Ed25519 certificate")
        signed = bytes.fromhex(signature["signature"])
        signed_lines, signed_chain = int(manifest["lines"]), str(manifest["last_chain"])
        signed_files = dict(manifest["files"])
        signed_raw = dict(manifest.get("raw", {}))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return LogVerdict(False, 0, None, f"no usable signature (events.sig: {exc})")
    covered = frozenset({"events.jsonl", *COVERED, *map(str, signed_raw)})
    signer = fingerprint_of(certificate)
    expected, source, anchored = _expected_signer(run_dir, root, fingerprint)
    where = f"{expected[:16]}... from {source}" if expected else source
    count, bad_line, wrong = _check_chain(log, signed_lines, signed_chain)
    wrong = wrong or _check_files(run_dir, signed_files, signed_raw)
    verdict = functools.partial(
        LogVerdict, lines=count, fingerprint=signer, expected=where, covered=covered
    )
    if wrong is not None:
        return verdict(ok=False, first_bad_line=bad_line, reason=wrong)
    try:
        public.verify(signed, _CONTEXT + canonical_json(dict(manifest)))
    except InvalidSignature:
        reason = "the signature does not match the log and the report"
        return verdict(ok=False, first_bad_line=None, reason=reason)
    if not expected:
        reason = (
            f"nothing to check the signer against ({source}): give --root, --pki or --fingerprint"
        )
        return verdict(ok=False, first_bad_line=None, reason=reason)
    if signer != expected:
        reason = (
            f"signed by certificate {signer[:16]}..., not by the expected {expected[:16]}... "
            f"({source}): re-signed with another key"
        )
        return verdict(ok=False, first_bad_line=None, reason=reason)
    if not anchored:
        reason = (
            f"consistent and signed by certificate {signer}, not anchored: compare this "
            "fingerprint with the one you kept, or check against it with --fingerprint, "
            "--root or --pki"
        )
        return verdict(ok=True, first_bad_line=None, reason=reason, anchored=False)
    return verdict(ok=True, first_bad_line=None, reason="intact", anchored=True)
