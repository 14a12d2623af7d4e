"""The envelope's algorithm suites: the real one, and a model of it for simulations.

An envelope names its suite in its second byte, and a codec opens its own suite only, so an
envelope of one is never taken for the other.

- **Suite 1** (:data:`REAL`): Ed25519 signatures, AES-256-GCM for the content and for each
  recipient's key wrap, HKDF-SHA256 and HMAC-SHA256 for the keys, commitment and digest.
- **Suite 77, modelled** (:data:`MODELLED`): **not cryptography.** Every step is kept, with the
  same inputs and the same sizes, but done by keyed BLAKE2b (about a microsecond each): the
  "signature" is a digest keyed by the signer's *public* key, and the content travels in clear
  beside a digest. Anyone could forge it; what it keeps is what a simulation needs when the
  cryptography is not the subject: frames of the same size, every check made in the same order,
  a changed byte or a wrong key refused with the same reason and words as the real suite, at a
  fraction of the cost. The cost itself is charged by the simulation's service-time model
  (``bureaus/service.py``) either way, so the same seed tells the same story
  (``bureaunet run --crypto modelled``).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.errors import CryptoError, Reason
from protocol.security.primitives import (
    aead_open,
    aead_seal,
    ed25519_sign,
    ed25519_verify,
    hkdf_expand,
    hkdf_sha256,
    hmac_sha256,
    public_of_private,
    public_raw,
)

__all__ = ["MODELLED", "REAL", "Suite"]

_CONTEXT = b"bureaunet/v2\x00"
"""The envelope's context label (``protocol.security.envelope``)."""


@dataclass(frozen=True)
class Suite:
    """How one suite signs, wraps, derives and encrypts (see the module's description)."""

    number: int
    name: str

    @property
    def modelled(self) -> bool:
        """Whether this suite is the model (no cryptography)."""
        return self is MODELLED

    def sign(self, key: Ed25519PrivateKey, data: bytes) -> bytes:
        """The 64-byte signature of ``data``."""
        if self.modelled:
            return _tag(public_of_private(key), b"sign", data, size=64)
        return ed25519_sign(key, data)

    def verify(self, key: Ed25519PublicKey, signature: bytes, data: bytes) -> None:
        """Check a signature.

        Raises:
            CryptoError: ``bad_signature``, worded as the real suite words it.
        """
        if not self.modelled:
            ed25519_verify(key, signature, data)
            return
        if len(signature) != 64:
            raise CryptoError(Reason.BAD_SIGNATURE, "signature must be 64 bytes")
        if not hmac.compare_digest(signature, _tag(public_raw(key), b"sign", data, size=64)):
            raise CryptoError(Reason.BAD_SIGNATURE, "signature does not verify")

    def content_keys(self, secret: bytes, salt: bytes) -> tuple[bytes, bytes, bytes]:
        """The content key, the digest key and the key commitment of a content secret."""
        if self.modelled:
            okm = hashlib.blake2b(secret + salt, digest_size=64).digest()
            return okm[:32], okm[32:], _tag(secret, b"commit", salt, size=32)
        okm = hkdf_sha256(secret, salt, _CONTEXT + b"content", 96)
        return okm[:32], okm[32:64], okm[64:]

    def wrap(self, pair_key: bytes, info: bytes, nonce: bytes, secret: bytes) -> bytes:
        """The content secret, wrapped for one recipient (48 bytes for a 32-byte secret)."""
        if self.modelled:
            return secret + _tag(pair_key, info, secret, size=16)
        return aead_seal("aes-256-gcm", hkdf_expand(pair_key, info, 32), nonce, b"", secret)

    def unwrap(self, pair_key: bytes, info: bytes, nonce: bytes, wrapped: bytes) -> bytes:
        """A content secret unwrapped.

        Raises:
            CryptoError: ``decrypt_failed`` (or ``malformed``), worded as the real suite.
        """
        if not self.modelled:
            return aead_open("aes-256-gcm", hkdf_expand(pair_key, info, 32), nonce, b"", wrapped)
        return _open_tagged(pair_key, info, wrapped)

    def encrypt(self, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        """The content encrypted (the modelled suite: in clear), followed by a 16-byte tag."""
        if self.modelled:
            return plaintext + _tag(key, nonce + aad, plaintext, size=16)
        return aead_seal("aes-256-gcm", key, nonce, aad, plaintext)

    def decrypt(self, key: bytes, nonce: bytes, aad: bytes, sealed: bytes) -> bytes:
        """The content decrypted.

        Raises:
            CryptoError: ``decrypt_failed`` (or ``malformed``), worded as the real suite.
        """
        if not self.modelled:
            return aead_open("aes-256-gcm", key, nonce, aad, sealed)
        return _open_tagged(key, nonce + aad, sealed)

    def digest(self, key: bytes, plaintext: bytes) -> bytes:
        """The 32-byte keyed digest of the content."""
        if self.modelled:
            return _tag(key, b"digest", plaintext, size=32)
        return hmac_sha256(key, plaintext)


REAL: Final = Suite(1, "real")
MODELLED: Final = Suite(77, "modelled")


def _tag(key: bytes, label: bytes, data: bytes, *, size: int) -> bytes:
    return hashlib.blake2b(label + data, key=key[:64], digest_size=size).digest()


def _open_tagged(key: bytes, label: bytes, sealed: bytes) -> bytes:
    if len(sealed) < 16:
        raise CryptoError(Reason.MALFORMED, "ciphertext shorter than its tag")
    data, tag = sealed[:-16], sealed[-16:]
    if not hmac.compare_digest(tag, _tag(key, label, data, size=16)):
        raise CryptoError(Reason.DECRYPT_FAILED, "authentication tag does not match")
    return data
