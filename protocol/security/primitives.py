"""The cryptographic primitives the envelope uses, behind one small typed surface.

Only public ``cryptography`` APIs, and libsodium's (through PyNaCl) for the Ed25519 arithmetic of
envelopes: on this kind of machine it signs 1.3 times and verifies about twice as fast as
OpenSSL's (``bench/RESULTS.md``), and verifying is the largest single cost of receiving. Keys
stay ``cryptography`` objects everywhere; libsodium is given their raw bytes (kept per key).
Every failure becomes :class:`CryptoError` with a reason code from
:class:`~protocol.errors.Reason`, so nothing from either library escapes. The Project
Wycheproof vectors in the test suite run through these same functions.

Parameter policy (fixed for protocol version 1, never chosen by received data):
AEAD keys are 256 bits, nonces 96 bits, tags 128 bits; X25519 public keys that give an all-zero
shared secret (low-order points) are refused; HKDF is HKDF-SHA256.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError
from nacl.exceptions import ValueError as NaclValueError

from protocol.errors import CryptoError, Reason

__all__ = [
    "AEAD_KEY_SIZE",
    "AEAD_NONCE_SIZE",
    "AEAD_TAG_SIZE",
    "AeadAlgorithm",
    "aead_open",
    "aead_seal",
    "ed25519_public_key",
    "ed25519_sign",
    "ed25519_verify",
    "ed25519_verify_many",
    "hkdf_expand",
    "hkdf_extract",
    "hkdf_sha256",
    "hmac_sha256",
    "public_of_private",
    "public_raw",
    "sha256",
    "x25519_agree",
    "x25519_public_key",
]

AEAD_KEY_SIZE = 32
AEAD_NONCE_SIZE = 12
AEAD_TAG_SIZE = 16
HKDF_MAX = 255 * 32

AeadAlgorithm = Literal["aes-256-gcm", "chacha20-poly1305"]

# A fixed, valid scalar used only to test received X25519 public keys for low order: any point of
# order dividing 8 maps to the identity under a clamped scalar, so one exchange tells.
_PROBE = X25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def _aead(algorithm: AeadAlgorithm, key: bytes) -> AESGCM | ChaCha20Poly1305:
    if len(key) != AEAD_KEY_SIZE:
        raise CryptoError(Reason.BAD_KEY, f"AEAD key must be {AEAD_KEY_SIZE} bytes")
    if algorithm == "aes-256-gcm":
        return AESGCM(key)
    return ChaCha20Poly1305(key)


def aead_seal(algorithm: AeadAlgorithm, key: bytes, nonce: bytes, aad: bytes, data: bytes) -> bytes:
    """Encrypt and authenticate; returns ciphertext followed by the 16-byte tag.

    Raises:
        CryptoError: Key or nonce of the wrong size.
    """
    if len(nonce) != AEAD_NONCE_SIZE:
        raise CryptoError(Reason.MALFORMED, f"nonce must be {AEAD_NONCE_SIZE} bytes")
    return _aead(algorithm, key).encrypt(nonce, data, aad)


def aead_open(
    algorithm: AeadAlgorithm, key: bytes, nonce: bytes, aad: bytes, sealed: bytes
) -> bytes:
    """Check and decrypt ciphertext-plus-tag.

    Raises:
        CryptoError: ``decrypt_failed`` when authentication fails; ``malformed`` or ``bad_key``
            for parameters outside the policy.
    """
    if len(nonce) != AEAD_NONCE_SIZE:
        raise CryptoError(Reason.MALFORMED, f"nonce must be {AEAD_NONCE_SIZE} bytes")
    if len(sealed) < AEAD_TAG_SIZE:
        raise CryptoError(Reason.MALFORMED, "ciphertext shorter than its tag")
    try:
        return _aead(algorithm, key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise CryptoError(Reason.DECRYPT_FAILED, "authentication tag does not match") from None


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869).

    Raises:
        CryptoError: ``length`` outside 1 .. 255 * 32.
    """
    if not 1 <= length <= HKDF_MAX:
        raise CryptoError(Reason.MALFORMED, f"HKDF output length {length} out of range")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(ikm)


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-SHA256's extract step (RFC 5869 section 2.2): a 32-byte pseudorandom key."""
    return hmac.digest(salt or bytes(32), ikm, "sha256")


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256's expand step (RFC 5869 section 2.3).

    Raises:
        CryptoError: ``length`` outside 1 .. 255 * 32, or ``prk`` shorter than 32 bytes.
    """
    if not 1 <= length <= HKDF_MAX:
        raise CryptoError(Reason.MALFORMED, f"HKDF output length {length} out of range")
    if len(prk) < 32:
        raise CryptoError(Reason.BAD_KEY, "HKDF pseudorandom key shorter than 32 bytes")
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


def sha256(*parts: bytes) -> bytes:
    """SHA-256 of the concatenated parts."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256."""
    return hmac.new(key, data, hashlib.sha256).digest()


def x25519_public_key(data: bytes) -> X25519PublicKey:
    """Load and validate a received X25519 public key.

    Raises:
        CryptoError: ``bad_key`` when it is not 32 bytes or is a low-order point (one that would
            give an all-zero shared secret).
    """
    if len(data) != 32:
        raise CryptoError(Reason.BAD_KEY, "X25519 public key must be 32 bytes")
    try:
        key = X25519PublicKey.from_public_bytes(data)
        _PROBE.exchange(key)
    except ValueError:
        raise CryptoError(Reason.BAD_KEY, "X25519 public key is a low-order point") from None
    return key


def x25519_agree(private: X25519PrivateKey, public: X25519PublicKey) -> bytes:
    """X25519 shared secret.

    Raises:
        CryptoError: ``bad_key`` when the result would be all zeros.
    """
    try:
        return private.exchange(public)
    except ValueError:
        raise CryptoError(Reason.BAD_KEY, "X25519 shared secret is all zeros") from None


def ed25519_public_key(data: bytes) -> Ed25519PublicKey:
    """Load a received Ed25519 public key.

    Raises:
        CryptoError: ``bad_key`` when it is not a valid encoding.
    """
    if len(data) != 32:
        raise CryptoError(Reason.BAD_KEY, "Ed25519 public key must be 32 bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(data)
    except ValueError:
        raise CryptoError(Reason.BAD_KEY, "Ed25519 public key does not parse") from None


_SODIUM_KEYS_MAX = 4096
_SECRET_KEYS: dict[int, tuple[Ed25519PrivateKey, bytes]] = {}
_PUBLIC_KEYS: dict[int, tuple[Ed25519PublicKey, bytes]] = {}
"""libsodium's form of the keys used, by the key object's identity (the object is kept with it,
so that an identity is never taken for another key's)."""


def _sodium_secret(private: Ed25519PrivateKey) -> bytes:
    kept = _SECRET_KEYS.get(id(private))
    if kept is None or kept[0] is not private:
        if len(_SECRET_KEYS) >= _SODIUM_KEYS_MAX:
            _SECRET_KEYS.clear()
        _, secret = crypto_sign_seed_keypair(private.private_bytes_raw())
        kept = _SECRET_KEYS[id(private)] = (private, secret)
    return kept[1]


def _sodium_public(public: Ed25519PublicKey) -> bytes:
    kept = _PUBLIC_KEYS.get(id(public))
    if kept is None or kept[0] is not public:
        if len(_PUBLIC_KEYS) >= _SODIUM_KEYS_MAX:
            _PUBLIC_KEYS.clear()
        kept = _PUBLIC_KEYS[id(public)] = (public, public.public_bytes_raw())
    return kept[1]


def public_raw(public: Ed25519PublicKey) -> bytes:
    """The key's 32 raw bytes (kept per key object)."""
    return _sodium_public(public)


def public_of_private(private: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of a private key's public key (libsodium's secret key ends with them)."""
    return _sodium_secret(private)[32:]


def ed25519_sign(private: Ed25519PrivateKey, data: bytes) -> bytes:
    """Ed25519 signature (64 bytes; RFC 8032, deterministic)."""
    return crypto_sign(data, _sodium_secret(private))[:64]


def ed25519_verify(public: Ed25519PublicKey, signature: bytes, data: bytes) -> None:
    """Verify an Ed25519 signature.

    Raises:
        CryptoError: ``bad_signature`` when it does not verify.
    """
    if len(signature) != 64:
        raise CryptoError(Reason.BAD_SIGNATURE, "signature must be 64 bytes")
    try:
        crypto_sign_open(signature + data, _sodium_public(public))
    except (BadSignatureError, NaclValueError):
        raise CryptoError(Reason.BAD_SIGNATURE, "signature does not verify") from None


_VERIFYING_KEYS: dict[bytes, Ed25519PublicKey] = {}
_VERIFYING_KEYS_MAX = 4096


def ed25519_verify_many(checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """Verify many Ed25519 signatures: ``(raw public key, signature, signed bytes)`` each.

    A pure function for a helper process (``bureaus.verifier``): the answers are only a head
    start, never a verdict. A key that does not parse, or a signature that does not verify, is
    ``False``, and the bureau then checks that envelope itself and refuses it with its reason.
    Loaded keys are kept (a few hundred bureaus' keys; the table is bounded).
    """
    answers = []
    for raw, signature, signed in checks:
        try:
            key = _VERIFYING_KEYS.get(raw)
            if key is None:
                key = ed25519_public_key(raw)
                if len(_VERIFYING_KEYS) >= _VERIFYING_KEYS_MAX:
                    _VERIFYING_KEYS.clear()
                _VERIFYING_KEYS[raw] = key
            ed25519_verify(key, signature, signed)
        except CryptoError:
            answers.append(False)
        else:
            answers.append(True)
    return answers
