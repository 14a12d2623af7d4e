"""Project Wycheproof vectors through the same primitives and key validation the envelope uses.

The vectors are a copy kept in tests/data/wycheproof/ (its README names the source and licence),
so the suite passes in a clone with nothing beside it. A missing file fails the suite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from protocol.errors import CryptoError, Reason
from protocol.security.primitives import (
    AEAD_KEY_SIZE,
    AEAD_NONCE_SIZE,
    AEAD_TAG_SIZE,
    aead_open,
    aead_seal,
    ed25519_public_key,
    ed25519_verify,
    hkdf_expand,
    hkdf_extract,
    hkdf_sha256,
    x25519_agree,
    x25519_public_key,
)

VECTORS = Path(__file__).resolve().parent / "data" / "wycheproof"


def load(name: str) -> dict[str, Any]:
    path = VECTORS / name
    assert path.is_file(), (
        f"Wycheproof vectors missing: {path} (see tests/data/wycheproof/README.md)"
    )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    count = sum(len(group["tests"]) for group in data["testGroups"])
    assert count == data["numberOfTests"]
    return data


def cases(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = load(name)
    return [(group, test) for group in data["testGroups"] for test in group["tests"]]


def test_ed25519() -> None:
    checked = 0
    for group, test in cases("ed25519_test.json"):
        key = ed25519_public_key(bytes.fromhex(group["publicKey"]["pk"]))
        try:
            ed25519_verify(key, bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]))
            verdict = "valid"
        except CryptoError as exc:
            assert exc.reason is Reason.BAD_SIGNATURE
            verdict = "invalid"
        assert verdict == test["result"], test["tcId"]
        checked += 1
    assert checked == 151


def test_x25519() -> None:
    zero_rejected = 0
    for _group, test in cases("x25519_test.json"):
        flags = set(test["flags"])
        private = X25519PrivateKey.from_private_bytes(bytes.fromhex(test["private"]))
        try:
            public = x25519_public_key(bytes.fromhex(test["public"]))
            shared = x25519_agree(private, public)
        except CryptoError as exc:
            # our policy: a key that yields an all-zero secret is refused at load, with a reason
            assert exc.reason is Reason.BAD_KEY
            assert flags & {"ZeroSharedSecret", "LowOrderPublic"}, test["tcId"]
            assert test["result"] in {"acceptable", "invalid"}, test["tcId"]
            zero_rejected += 1
            continue
        assert not flags & {"ZeroSharedSecret"}, test["tcId"]
        assert test["result"] in {"valid", "acceptable"}
        assert shared.hex() == test["shared"], test["tcId"]
    flagged = sum(
        1
        for _g, t in cases("x25519_test.json")
        if {"ZeroSharedSecret", "LowOrderPublic"} & set(t["flags"])
    )
    assert zero_rejected == flagged > 0


def _aead_cases(name: str, algorithm: str) -> tuple[int, int]:
    in_policy = refused = 0
    for group, test in cases(name):
        key, iv = bytes.fromhex(test["key"]), bytes.fromhex(test["iv"])
        aad, msg = bytes.fromhex(test["aad"]), bytes.fromhex(test["msg"])
        sealed = bytes.fromhex(test["ct"]) + bytes.fromhex(test["tag"])
        policy = (
            group["keySize"] == AEAD_KEY_SIZE * 8
            and group["ivSize"] == AEAD_NONCE_SIZE * 8
            and group["tagSize"] == AEAD_TAG_SIZE * 8
        )
        if not policy:
            # outside protocol version 1's parameters: refused with a typed error, never accepted
            with pytest.raises(CryptoError):
                aead_open(algorithm, key, iv, aad, sealed)  # type: ignore[arg-type]
            refused += 1
            continue
        in_policy += 1
        try:
            opened = aead_open(algorithm, key, iv, aad, sealed)  # type: ignore[arg-type]
        except CryptoError as exc:
            assert exc.reason is Reason.DECRYPT_FAILED
            assert test["result"] == "invalid", test["tcId"]
            continue
        assert test["result"] == "valid", test["tcId"]
        assert opened == msg
        assert aead_seal(algorithm, key, iv, aad, msg) == sealed  # type: ignore[arg-type]
    return in_policy, refused


def test_aes_gcm() -> None:
    in_policy, refused = _aead_cases("aes_gcm_test.json", "aes-256-gcm")
    assert in_policy > 50
    assert in_policy + refused == 316


def test_chacha20_poly1305() -> None:
    in_policy, refused = _aead_cases("chacha20_poly1305_test.json", "chacha20-poly1305")
    assert in_policy > 50
    assert in_policy + refused == 325


def test_hkdf_sha256() -> None:
    for _group, test in cases("hkdf_sha256_test.json"):
        ikm, salt, info = (bytes.fromhex(test[k]) for k in ("ikm", "salt", "info"))
        if test["result"] == "invalid":
            with pytest.raises(CryptoError):
                hkdf_sha256(ikm, salt, info, test["size"])
            with pytest.raises(CryptoError):
                hkdf_expand(hkdf_extract(salt, ikm), info, test["size"])
            continue
        assert hkdf_sha256(ikm, salt, info, test["size"]).hex() == test["okm"], test["tcId"]
        # the envelope's split form (extract cached per peer, expand per message) agrees
        assert hkdf_expand(hkdf_extract(salt, ikm), info, test["size"]).hex() == test["okm"]
