"""An attacker's toolkit: build envelopes by hand from the protocol's own pieces.

Used by the attack tests to produce envelopes an honest codec would never write: content that
disagrees with its header, different content keys per recipient, stripped and replaced signatures.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.security.envelope import (
    _CONTEXT,
    _WRAP_NONCE,
    SUITE,
    VERSION,
    Header,
    RecipientEntry,
    _aad,
    _kek_info,
    _parse_frame,
)
from protocol.security.pki import BureauIdentity
from protocol.security.primitives import (
    aead_seal,
    ed25519_sign,
    hkdf_expand,
    hkdf_extract,
    hmac_sha256,
    x25519_agree,
)
from protocol.security.suites import REAL

_U32 = struct.Struct(">I")


def frame(header: Header, ciphertext: bytes, signer: Ed25519PrivateKey) -> bytes:
    header_bytes = header.encode()
    signed = b"".join(
        (
            bytes([VERSION, SUITE]),
            _U32.pack(len(header_bytes)),
            header_bytes,
            _U32.pack(len(ciphertext)),
            ciphertext,
        )
    )
    return signed + ed25519_sign(signer, signed)


def split(envelope: bytes) -> tuple[Header, bytes]:
    parsed = _parse_frame(envelope, 1 << 20)
    return parsed.header, parsed.ciphertext


def forge(
    template: Header,
    plaintext: bytes,
    sender: BureauIdentity,
    recipients: Mapping[str, BureauIdentity],
    *,
    secrets: Mapping[str, bytes] | None = None,
    committed_secret: bytes | None = None,
) -> bytes:
    """Seal ``plaintext`` under a header built from ``template``, wrapping per-recipient secrets.

    ``secrets`` lets the sender wrap a different content secret for each recipient; the header
    commits to ``committed_secret`` (default: the first recipient's) and the ciphertext is made
    under that one.
    """
    salt = os.urandom(16)
    nonce = os.urandom(12)
    first = next(iter(recipients))
    per = dict(secrets or {})
    for bureau in recipients:
        per.setdefault(bureau, os.urandom(32) if not per else next(iter(per.values())))
    main = committed_secret or per[first]
    content_key, digest_key, commitment = REAL.content_keys(main, salt)
    entries = []
    me = sender.certificate
    for bureau, identity in recipients.items():
        cert = identity.certificate
        prk = hkdf_extract(
            _CONTEXT + b"pair", x25519_agree(sender.encryption_key, cert.encryption_key)
        )
        ids = (
            me.bureau_id,
            me.encryption_key_id,
            bureau,
            cert.encryption_key_id,
            template.message_id,
        )
        kek = hkdf_expand(prk, _kek_info(salt, ids, REAL), 32)
        entries.append(
            RecipientEntry(
                bureau,
                cert.encryption_key_id,
                aead_seal("aes-256-gcm", kek, _WRAP_NONCE, b"", per[bureau]),
            )
        )
    header = replace(
        template,
        sender=me.bureau_id,
        sender_signing_key_id=me.signing_key_id,
        sender_encryption_key_id=me.encryption_key_id,
        salt=salt,
        nonce=nonce,
        key_commitment=commitment,
        content_digest=hmac_sha256(digest_key, plaintext),
        recipients=tuple(entries),
    )
    ciphertext = aead_seal(
        "aes-256-gcm", content_key, nonce, _aad(header.encode(), REAL), plaintext
    )
    return frame(header, ciphertext, sender.signing_key)


# --- hostile DER -----------------------------------------------------------------------------


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at ``pos``."""
    tag, first = data[pos], data[pos + 1]
    if first < 0x80:
        return tag, pos + 2, pos + 2 + first
    count = first & 0x7F
    length = int.from_bytes(data[pos + 2 : pos + 2 + count], "big")
    return tag, pos + 2 + count, pos + 2 + count + length


def _der(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


def _children(data: bytes, start: int, end: int) -> list[bytes]:
    out, pos = [], start
    while pos < end:
        _tag, _value, stop = _tlv(data, pos)
        out.append(data[pos:stop])
        pos = stop
    return out


CRL_NUMBER_OID = bytes.fromhex("0603551d14")  # 2.5.29.20, DER-encoded


BASIC_CONSTRAINTS_OID = bytes.fromhex("0603551d13")  # 2.5.29.19, DER-encoded


def crl_with_duplicated_extension(crl_der: bytes, oid: bytes = CRL_NUMBER_OID) -> bytes:
    """A revocation list (or certificate) whose extension ``oid`` appears twice.

    The signature no longer fits.

    ``cryptography`` refuses such a list while parsing it, before any signature check, with an
    exception of its own (``DuplicateExtension``).
    """
    _tag, start, end = _tlv(crl_der, 0)
    tbs, *rest = _children(crl_der, start, end)
    _tag, tstart, tend = _tlv(tbs, 0)
    fields = _children(tbs, tstart, tend)
    wrapper = fields[-1]  # [0] EXPLICIT Extensions of a CRL, [3] of a certificate
    assert wrapper[0] in (0xA0, 0xA3), "no extensions"
    _tag, wstart, _end = _tlv(wrapper, 0)
    _tag, sstart, send = _tlv(wrapper, wstart)
    extensions = _children(wrapper, sstart, send)
    twice = [e for e in extensions if oid in e][:1]
    fields[-1] = _der(wrapper[0], _der(0x30, b"".join(extensions + twice)))
    return _der(0x30, _der(0x30, b"".join(fields)) + b"".join(rest))
