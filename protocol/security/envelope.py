"""The wire envelope: every message a bureau sends, signed and encrypted end to end.

Theory of operation (protocol version 2, algorithm suite 1; nothing received chooses either)::

    frame  = version:u8 | suite:u8 | header_len:u32 | header | ct_len:u32 | ct | signature:64
    header = message_id:16 | run:16 | kind:u8 | priority:u8 | schema:u8.u8 | created_at_ms:i64
           | expires_at_ms:i64 | sender:lp8 | sender_signing_kid:8 | sender_encryption_kid:8
           | salt:16 | nonce:12 | key_commitment:32 | content_digest:32
           | n:u16 | n * (recipient:lp8 | recipient_kid:8 | wrapped_secret:40)

``lp8`` is a length byte then that many ASCII bytes. Every field has a fixed place; parsing
consumes the frame exactly, so extra, missing or trailing bytes are ``malformed``. ``run`` names
the run (the exercise, the simulation) the envelope belongs to; a bureau refuses an envelope of
another run as ``other_run`` once its signature is verified, so bytes captured in one run cannot
be played into the next, even one with the same seed and the same keys. Version 2 added it;
version 1 is refused.

Sealing: a fresh 32-byte content secret ``S`` per message; HKDF-SHA256(S, salt) gives the content
key, a digest key and the key commitment. The plaintext (the message's wire JSON) is encrypted with
AES-256-GCM, associated data = context ‖ version ‖ suite ‖ header. ``S`` is wrapped for each
recipient with AES-256-GCM (zero nonce: every wrapping key is used once) under a key-encryption key
from HKDF-SHA256: extract from the static X25519 secret of the sender's and recipient's encryption
keys (cached per pair), expand with an info string that binds suite, salt, sender, sender key id,
recipient, recipient key id and message id. The sender's
Ed25519 signature covers every byte of the frame before it. The header commits to the content
key and to a keyed digest of the plaintext, so one envelope cannot show different recipients
different content.

Key agreement is static-static with the shared secret cached per peer pair: sealing for 195
recipients costs one HKDF and one key wrap each instead of an X25519 exchange each. The price is
forward secrecy: anyone who later obtains a bureau's X25519 private key can read every message
to or from that bureau sealed under that key. Rotation bounds the exposure to one key's lifetime
plus its grace period.

Opening: parse; look up the sender's certificate by id and signing key id; verify the signature
over the received bytes; check the certificate's revocation and validity and the run; check
freshness and replay (per sender and message id: an id is its sender's, so a member sealing under
another's id takes nothing from it); check who may send this (the sender's role and region
against the roster, the kind against :mod:`protocol.messages.authority`, the header's recipients
against the roster); find this bureau's entry; unwrap, check the commitment, decrypt, check the
digest; decode the message, check it agrees with the signed header, may be addressed as it is,
and is sealed for exactly its own recipients. Every failure is one :class:`Rejection` with a
:class:`~protocol.errors.Reason`.

Seams: :meth:`EnvelopeCodec.seal_at` takes the time; it draws randomness from the operating system
and calls :meth:`EnvelopeCodec._seal_from_parts`, which tests call with pinned values.

Why one long module: one wire format, read top to bottom as the bytes are laid out, sealing
and opening next to each other so that each check on open faces the step that made it.
"""

from __future__ import annotations

import hmac
import os
import struct
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypedDict, cast
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from protocol.errors import ArgumentError, CryptoError, DecodeError, Reason, Rejection
from protocol.messages.authority import recipient_violation, sender_violation
from protocol.messages.codec import decode, decode_model
from protocol.messages.models import SCHEMA_VERSION, Message, MessageBase, ToBureaus
from protocol.network.roster import Roster, is_valid_bureau_id
from protocol.schemas.versions import model_for
from protocol.security.pki import (
    KEY_ID_SIZE,
    BureauCertificate,
    BureauCredentials,
    TrustStore,
    roster_disagreement,
)
from protocol.security.primitives import (
    hkdf_extract,
    x25519_agree,
)
from protocol.security.replay import ReplayGuard
from protocol.security.suites import MODELLED, REAL, Suite

__all__ = [
    "KIND_CODES",
    "MAX_ENVELOPE_SIZE",
    "RUN_ID_SIZE",
    "SUITE",
    "VERSION",
    "EnvelopeCodec",
    "Header",
    "Opened",
    "RecipientEntry",
    "SealOrder",
    "SignatureCheck",
    "open_content",
    "pack_seal_order",
    "peek",
    "seal_order",
    "seal_order_now",
    "unpack_seal_order",
]

VERSION = 2
SUITE = REAL.number
"""Suite 1: Ed25519, X25519 (static pair), HKDF-SHA256, AES key wrap, AES-256-GCM."""
SUITES = {REAL.number: REAL, MODELLED.number: MODELLED}
"""The suites a frame may name (:mod:`protocol.security.suites`; the modelled one is not
cryptography, for simulations only)."""
MAX_ENVELOPE_SIZE = 1 << 20
"""Default largest envelope accepted (bytes); larger input is ``malformed`` before any parsing."""

KIND_CODES: dict[str, int] = {
    "notice-request": 1,
    "notice-published": 2,
    "notice-updated": 3,
    "notice-cancelled": 4,
    "notice-refused": 5,
    "diffusion": 6,
    "case-message": 7,
    "search-request": 8,
    "search-result": 9,
    "acknowledgement": 10,
    "presence": 11,
}
"""Stable wire codes of message kinds: append new kinds, never renumber."""
_KINDS_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}
_PRIORITIES = ("routine", "urgent", "flash")

_SALT = 16
_NONCE = 12
_SECRET = 32
_WRAPPED = 48
_WRAP_NONCE = bytes(12)
_SIGNATURE = 64
_CONTEXT = b"bureaunet/v2\x00"
_FIXED = struct.Struct(">16s16sBBBBqq")
RUN_ID_SIZE = 16
"""Bytes of a run identity in the header."""
_SECURE = struct.Struct(f">{KEY_ID_SIZE}s{KEY_ID_SIZE}s{_SALT}s{_NONCE}s32s32sH")
_ENTRY_TAIL = struct.Struct(f">{KEY_ID_SIZE}s{_WRAPPED}s")
_U32 = struct.Struct(">I")
_MIN_ID = 2
_MIN_FRAME = (
    2
    + 4
    + _FIXED.size
    + 1
    + _MIN_ID
    + _SECURE.size
    + 1
    + _MIN_ID
    + _ENTRY_TAIL.size
    + 4
    + 16
    + _SIGNATURE
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    # exact integer arithmetic (a float timestamp could round a millisecond differently)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _lp(text: str) -> bytes:
    raw = text.encode("ascii")
    return bytes([len(raw)]) + raw


class RecipientEntry(NamedTuple):
    """One recipient's line in the header: who, which of its keys, and the wrapped secret.

    A named tuple rather than a frozen dataclass: a wide envelope has 195 of these, and opening
    one builds them all (a tuple is built several times faster).
    """

    bureau_id: str
    key_id: bytes
    wrapped_secret: bytes


class _Fixed(Protocol):
    """The fields a header and a seal order share, in the order the wire has them."""

    @property
    def message_id(self) -> UUID: ...
    @property
    def run(self) -> bytes: ...
    @property
    def kind(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def schema_version(self) -> tuple[int, int]: ...
    @property
    def created_at_ms(self) -> int: ...
    @property
    def expires_at_ms(self) -> int: ...
    @property
    def sender(self) -> str: ...


class _FixedFields(TypedDict):
    message_id: UUID
    run: bytes
    kind: str
    priority: str
    schema_version: tuple[int, int]
    created_at_ms: int
    expires_at_ms: int
    sender: str


def _pack_fixed(fields: _Fixed) -> bytes:
    return _FIXED.pack(
        fields.message_id.bytes,
        fields.run,
        KIND_CODES[fields.kind],
        _PRIORITIES.index(fields.priority),
        *fields.schema_version,
        fields.created_at_ms,
        fields.expires_at_ms,
    ) + _lp(fields.sender)


def _read_fixed(reader: _Reader) -> _FixedFields:
    """Raises: Rejection: ``malformed``."""
    mid, run, kind_code, prio, major, minor, created, expires = reader.unpack(_FIXED)
    kind = _KINDS_BY_CODE.get(kind_code)
    if kind is None or prio >= len(_PRIORITIES):
        raise Rejection(Reason.MALFORMED, "unknown kind or priority code")
    return _FixedFields(
        message_id=UUID(bytes=mid),
        run=run,
        kind=kind,
        priority=_PRIORITIES[prio],
        schema_version=(major, minor),
        created_at_ms=created,
        expires_at_ms=expires,
        sender=reader.bureau_id(),
    )


@dataclass(frozen=True, slots=True)
class Header:
    """The routing header, readable by relays and the broker; signed and authenticated."""

    message_id: UUID
    kind: str
    priority: str
    schema_version: tuple[int, int]
    created_at_ms: int
    expires_at_ms: int
    sender: str
    sender_signing_key_id: bytes
    sender_encryption_key_id: bytes
    salt: bytes
    nonce: bytes
    key_commitment: bytes
    content_digest: bytes
    recipients: tuple[RecipientEntry, ...]
    run: bytes = bytes(RUN_ID_SIZE)
    """The run this envelope belongs to (signed, like every header byte)."""
    recipient_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The recipient bureau ids, in header order (worked out once: a wide header is read by
    every one of its 195 recipients, each asking several times)."""

    def __post_init__(self) -> None:
        ids = tuple(entry.bureau_id for entry in self.recipients)
        object.__setattr__(self, "recipient_ids", ids)

    def encode(self) -> bytes:
        """The header's wire bytes."""
        parts = [
            _pack_fixed(self),
            _SECURE.pack(
                self.sender_signing_key_id,
                self.sender_encryption_key_id,
                self.salt,
                self.nonce,
                self.key_commitment,
                self.content_digest,
                len(self.recipients),
            ),
        ]
        for entry in self.recipients:
            parts.append(_lp(entry.bureau_id))
            parts.append(_ENTRY_TAIL.pack(entry.key_id, entry.wrapped_secret))
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> Header:
        """Parse header bytes exactly.

        Raises:
            Rejection: ``malformed``.
        """
        reader = _Reader(data)
        fixed = _read_fixed(reader)
        sign_kid, enc_kid, salt, nonce, commitment, digest, count = reader.unpack(_SECURE)
        if count == 0:
            raise Rejection(Reason.MALFORMED, "no recipients")
        entries = reader.recipient_table(count)
        reader.end()
        if len({(e.bureau_id, e.key_id) for e in entries}) != len(entries):
            raise Rejection(Reason.MALFORMED, "a recipient key appears twice")
        return cls(
            **fixed,
            sender_signing_key_id=sign_kid,
            sender_encryption_key_id=enc_kid,
            salt=salt,
            nonce=nonce,
            key_commitment=commitment,
            content_digest=digest,
            recipients=tuple(entries),
        )


_VALID_IDS: dict[bytes, str] = {}


def _checked_id(raw: bytes) -> str:
    known = _VALID_IDS.get(raw)
    if known is not None:
        return known
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise Rejection(Reason.MALFORMED, "bureau id is not ASCII") from None
    if not is_valid_bureau_id(text):
        raise Rejection(Reason.MALFORMED, f"invalid bureau id {text!r}")
    if len(_VALID_IDS) < 100_000:  # bounded: hostile input cannot grow it without limit
        _VALID_IDS[raw] = text
    return text


class _Reader:
    """Consumes bytes front to back; any shortfall or leftover is ``malformed``."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise Rejection(Reason.MALFORMED, "truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, layout: struct.Struct) -> tuple[Any, ...]:
        return layout.unpack(self.take(layout.size))

    def bureau_id(self) -> str:
        return _checked_id(self.take(self.take(1)[0]))

    def recipient_table(self, count: int) -> list[RecipientEntry]:
        # The hot loop of opening a wide envelope: inlined, with ids checked once per distinct id.
        data, pos, size = self.data, self.pos, len(self.data)
        entries = []
        tail = KEY_ID_SIZE + _WRAPPED
        for _ in range(count):
            if pos >= size:
                raise Rejection(Reason.MALFORMED, "truncated")
            end = pos + 1 + data[pos]
            raw = data[pos + 1 : end]
            if end + tail > size:
                raise Rejection(Reason.MALFORMED, "truncated")
            entries.append(
                RecipientEntry(
                    _checked_id(raw),
                    data[end : end + KEY_ID_SIZE],
                    data[end + KEY_ID_SIZE : end + tail],
                )
            )
            pos = end + tail
        self.pos = pos
        return entries

    def end(self) -> None:
        if self.pos != len(self.data):
            raise Rejection(Reason.MALFORMED, "trailing bytes")


@dataclass(frozen=True, slots=True)
class _Frame:
    header: Header
    header_bytes: bytes
    ciphertext: bytes
    signed: bytes
    signature: bytes


def _parse_frame(data: bytes, max_size: int, suite: Suite | None = REAL) -> _Frame:
    """The frame's parts (``suite``: the one accepted; ``None``: any known, for routing only)."""
    if len(data) > max_size:
        raise Rejection(Reason.MALFORMED, f"envelope of {len(data)} bytes exceeds {max_size}")
    if len(data) < _MIN_FRAME:
        # too short to be an envelope of any version we know: garbage, whatever its first byte
        raise Rejection(Reason.MALFORMED, f"{len(data)} bytes is too short for an envelope")
    if data[0] != VERSION:
        raise Rejection(Reason.UNSUPPORTED_VERSION, f"envelope version {data[0]}")
    if suite is None:
        if data[1] not in SUITES:
            raise Rejection(Reason.UNSUPPORTED_VERSION, f"algorithm suite {data[1]}")
    elif data[1] != suite.number:
        raise Rejection(
            Reason.UNSUPPORTED_VERSION,
            f"algorithm suite {data[1]} (this bureau opens suite {suite.number}, {suite.name})",
        )
    reader = _Reader(data)
    reader.take(2)
    header_bytes = reader.take(reader.unpack(_U32)[0])
    ciphertext = reader.take(reader.unpack(_U32)[0])
    signed_end = reader.pos
    signature = reader.take(_SIGNATURE)
    reader.end()
    header = _decode_header(header_bytes)
    return _Frame(header, header_bytes, ciphertext, data[:signed_end], signature)


_WIDE_HEADER = 1024
"""Headers at least this long (about a dozen recipients) are remembered once parsed."""
_PARSED: OrderedDict[bytes, Header] = OrderedDict()
_PARSED_MAX = 32


def _decode_header(header_bytes: bytes) -> Header:
    """``Header.decode``, remembered for wide headers.

    A publication to every NCB reaches 195 bureaus with the same header bytes; when they share a
    process, parsing its 195-entry recipient table once instead of 195 times is most of the cost
    of a fan-out. The memo is keyed by the exact bytes and holds the (immutable) result of a pure
    function, so it can neither be poisoned nor change a verdict; failures are not remembered.
    """
    if len(header_bytes) < _WIDE_HEADER:
        return Header.decode(header_bytes)
    header = _PARSED.get(header_bytes)
    if header is None:
        header = Header.decode(header_bytes)
        _PARSED[header_bytes] = header
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return header


def peek(data: bytes, max_size: int = MAX_ENVELOPE_SIZE, suite: Suite | None = REAL) -> Header:
    """Read the routing header without verifying anything (for relays and routing only).

    ``suite``: the one a bureau opens (its codec's); ``None``: any known suite (for tools).

    Raises:
        Rejection: ``malformed`` or ``unsupported_version``.
    """
    return _parse_frame(data, max_size, suite).header


@dataclass(frozen=True, slots=True)
class Opened:
    """An envelope that passed every check.

    Attributes:
        message: The typed message.
        header: The verified routing header.
        sender: The sender's certificate.
        size: Size of the envelope in bytes.
    """

    message: Message
    header: Header
    sender: BureauCertificate
    size: int


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """An envelope's signature, ready to be verified away from its bureau.

    Made by :meth:`EnvelopeCodec.prepare_check` from the exact bytes received; once verified
    elsewhere, :meth:`EnvelopeCodec.vouch` lets the bureau's next receive of those same bytes
    skip the signature arithmetic (and nothing else: certificate, revocation, run, sender and
    replay checks all still run then).

    Attributes:
        data: The envelope, as received.
        frame: Its parsed frame.
        signer: The certificate whose key the signature is checked against.
        work: What the verifier needs: the raw public key, the signature and the signed bytes.
        opening: When this bureau is a recipient under its current key: its entry's index in
            the header and the pair secret to open it with (:func:`open_content`), so that the
            content can be decrypted elsewhere too.
    """

    data: bytes
    frame: _Frame
    signer: BureauCertificate
    work: tuple[bytes, bytes, bytes]
    opening: tuple[int, bytes] | None = None


CHECKED_MAX = 8192
"""Signatures verified elsewhere and not yet received, kept per bureau (the oldest go first)."""


def _kek_info(salt: bytes, ids: tuple[str, bytes, str, bytes, UUID], suite: Suite) -> bytes:
    sender, sender_kid, recipient, recipient_kid, message_id = ids
    return b"".join(
        (
            _CONTEXT,
            b"kek",
            bytes([suite.number]),
            salt,
            _lp(sender),
            sender_kid,
            _lp(recipient),
            recipient_kid,
            message_id.bytes,
        )
    )


def _signed_part(header_bytes: bytes, ciphertext: bytes, suite: Suite) -> bytes:
    """Every byte of the frame that the signature covers."""
    return b"".join(
        (
            bytes([VERSION, suite.number]),
            _U32.pack(len(header_bytes)),
            header_bytes,
            _U32.pack(len(ciphertext)),
            ciphertext,
        )
    )


def _aad(header_bytes: bytes, suite: Suite) -> bytes:
    return _CONTEXT + bytes([VERSION, suite.number]) + header_bytes


@dataclass(frozen=True, slots=True)
class SealOrder:
    """A message ready to seal: every input of the seal but the sender's private keys.

    Made by :meth:`EnvelopeCodec.seal_order_at`, which makes every check of a seal; sealed by
    :func:`seal_order`, in the bureau's process or in a helper process given the keys the
    order names (``bureaus.verifier``).

    Attributes:
        sender: The sealing bureau.
        signing_key_id: Which of its signing keys signs (its current certificate's).
        encryption_key_id: Which of its encryption keys wraps the content secret.
        recipients: Each recipient's bureau id and encryption key id, in header order.
        pair_keys: For each recipient, the HKDF-Extract of the static X25519 secret of the
            sender's encryption key and the recipient's (what its key-encryption key is expanded
            from: secret, like the private keys).
        plaintext: The message's wire JSON.
    """

    message_id: UUID
    kind: str
    priority: str
    schema_version: tuple[int, int]
    created_at_ms: int
    expires_at_ms: int
    sender: str
    signing_key_id: bytes
    encryption_key_id: bytes
    run: bytes
    recipients: tuple[tuple[str, bytes], ...]
    pair_keys: tuple[bytes, ...]
    plaintext: bytes


def seal_order(
    order: SealOrder,
    signing_key: Ed25519PrivateKey,
    *,
    secret: bytes,
    salt: bytes,
    nonce: bytes,
    suite: Suite = REAL,
) -> bytes:
    """Seal an order: wrap a content secret for each recipient, encrypt, sign (pure)."""
    content_key, digest_key, commitment = suite.content_keys(secret, salt)
    entries = []
    for (bureau, key_id), pair_key in zip(order.recipients, order.pair_keys, strict=True):
        ids = (order.sender, order.encryption_key_id, bureau, key_id, order.message_id)
        wrapped = suite.wrap(pair_key, _kek_info(salt, ids, suite), _WRAP_NONCE, secret)
        entries.append(RecipientEntry(bureau, key_id, wrapped))
    header = Header(
        message_id=order.message_id,
        kind=order.kind,
        priority=order.priority,
        schema_version=order.schema_version,
        created_at_ms=order.created_at_ms,
        expires_at_ms=order.expires_at_ms,
        sender=order.sender,
        sender_signing_key_id=order.signing_key_id,
        sender_encryption_key_id=order.encryption_key_id,
        salt=salt,
        nonce=nonce,
        key_commitment=commitment,
        content_digest=suite.digest(digest_key, order.plaintext),
        recipients=tuple(entries),
        run=order.run,
    )
    header_bytes = header.encode()
    ciphertext = suite.encrypt(content_key, nonce, _aad(header_bytes, suite), order.plaintext)
    signed = _signed_part(header_bytes, ciphertext, suite)
    return signed + suite.sign(signing_key, signed)


def seal_order_now(order: SealOrder, signing_key: Ed25519PrivateKey) -> bytes:
    """:func:`seal_order` with fresh randomness from the operating system."""
    return seal_order(
        order,
        signing_key,
        secret=os.urandom(_SECRET),
        salt=os.urandom(_SALT),
        nonce=os.urandom(_NONCE),
    )


_U16 = struct.Struct(">H")


_Vouched = tuple[SignatureCheck, bytes | None]
"""A check verified elsewhere, and the content opened there with it, if it was."""


def _open_entry(
    frame: _Frame, entry: RecipientEntry, pair_key: bytes, suite: Suite = REAL
) -> bytes:
    """Unwrap the content secret of one recipient entry, decrypt, check commitment and digest.

    Raises:
        Rejection: ``decrypt_failed``.
    """
    header = frame.header
    ids = (
        header.sender,
        header.sender_encryption_key_id,
        entry.bureau_id,
        entry.key_id,
        header.message_id,
    )
    try:
        info = _kek_info(header.salt, ids, suite)
        secret = suite.unwrap(pair_key, info, _WRAP_NONCE, entry.wrapped_secret)
        content_key, digest_key, commitment = suite.content_keys(secret, header.salt)
        if not hmac.compare_digest(commitment, header.key_commitment):
            raise Rejection(Reason.DECRYPT_FAILED, "content key does not match commitment")
        plaintext = suite.decrypt(
            content_key, header.nonce, _aad(frame.header_bytes, suite), frame.ciphertext
        )
    except CryptoError as exc:
        raise Rejection(Reason.DECRYPT_FAILED, exc.detail) from None
    if not hmac.compare_digest(suite.digest(digest_key, plaintext), header.content_digest):
        raise Rejection(Reason.DECRYPT_FAILED, "content does not match its digest")
    return plaintext


def open_content(data: bytes, index: int, pair_key: bytes) -> bytes:
    """The content of an envelope, opened for its recipient entry ``index`` (pure).

    For a helper process given a :class:`SignatureCheck`'s ``opening``: it checks nothing but
    the content's integrity (commitment, tag, digest); the bureau runs every other check.

    Raises:
        Rejection: ``malformed`` or ``decrypt_failed``.
    """
    frame = _parse_frame(data, MAX_ENVELOPE_SIZE)
    recipients = frame.header.recipients
    if not 0 <= index < len(recipients):
        raise Rejection(Reason.MALFORMED, "no such recipient entry")
    return _open_entry(frame, recipients[index], pair_key)


def pack_seal_order(order: SealOrder) -> bytes:
    """An order as bytes for a helper process, its recipients' public keys included."""
    parts = [
        _pack_fixed(order),
        order.signing_key_id,
        order.encryption_key_id,
        _U16.pack(len(order.recipients)),
    ]
    for (bureau, key_id), pair_key in zip(order.recipients, order.pair_keys, strict=True):
        parts += (_lp(bureau), key_id, pair_key)
    parts += (_U32.pack(len(order.plaintext)), order.plaintext)
    return b"".join(parts)


def unpack_seal_order(data: bytes) -> SealOrder:
    """An order read back from :func:`pack_seal_order`'s bytes.

    Raises:
        Rejection: ``malformed``.
    """
    reader = _Reader(data)
    fixed = _read_fixed(reader)
    signing_key_id, encryption_key_id = reader.take(KEY_ID_SIZE), reader.take(KEY_ID_SIZE)
    (count,) = reader.unpack(_U16)
    recipients, keys = [], []
    for _ in range(count):
        recipients.append((reader.bureau_id(), reader.take(KEY_ID_SIZE)))
        keys.append(reader.take(32))
    (size,) = reader.unpack(_U32)
    plaintext = reader.take(size)
    reader.end()
    return SealOrder(
        **fixed,
        signing_key_id=signing_key_id,
        encryption_key_id=encryption_key_id,
        recipients=tuple(recipients),
        pair_keys=tuple(keys),
        plaintext=plaintext,
    )


class EnvelopeCodec:
    """Seals and opens envelopes for one bureau.

    Holds the bureau's credentials, its trust store, its replay memory and a cache of static
    X25519 secrets per (own key, peer key) pair.
    """

    def __init__(
        self,
        credentials: BureauCredentials,
        trust: TrustStore,
        *,
        replay: ReplayGuard | None = None,
        roster: Roster | None = None,
        ttl: timedelta = timedelta(hours=1),
        max_size: int = MAX_ENVELOPE_SIZE,
        schema_version: str = SCHEMA_VERSION,
        run: bytes = bytes(RUN_ID_SIZE),
        suite: Suite = REAL,
    ) -> None:
        if len(run) != RUN_ID_SIZE:
            raise ArgumentError(f"a run identity is {RUN_ID_SIZE} bytes, not {len(run)}")
        self.run = run
        """The run this bureau takes part in: sealed into every header, required on opening."""
        self.suite = suite
        """The suite it seals with and the only one it opens (:data:`~protocol.security.suites.
        MODELLED` is not cryptography: for simulations whose subject is not the cryptography)."""
        self.credentials = credentials
        self.trust = trust
        self.replay = replay if replay is not None else ReplayGuard()
        self.roster = roster
        self.ttl = ttl
        self.max_size = max_size
        self.schema_version = schema_version
        """The schema version this bureau runs: it accepts that major version only."""
        self._pairs: dict[tuple[bytes, bytes], bytes] = {}
        self._checked: OrderedDict[bytes, _Vouched] = OrderedDict()
        self.vouched = 0
        """Envelopes received whose signature was verified elsewhere (:meth:`vouch`)."""
        self.opened_ahead = 0
        """Envelopes received whose content was opened elsewhere (:meth:`vouch`)."""

    @property
    def bureau_id(self) -> str:
        """The bureau this codec seals and opens for."""
        return self.credentials.bureau_id

    def _pair_key(
        self, own: X25519PrivateKey, own_kid: bytes, peer: X25519PublicKey, peer_kid: bytes
    ) -> bytes:
        """HKDF-Extract of the static X25519 secret of a key pair, cached per (own, peer) key."""
        cache_key = (own_kid, peer_kid)
        prk = self._pairs.get(cache_key)
        if prk is None:
            prk = hkdf_extract(_CONTEXT + b"pair", x25519_agree(own, peer))
            self._pairs[cache_key] = prk
        return prk

    def warm(self, certificates: Sequence[BureauCertificate]) -> None:
        """Compute the pair keys with these peers now rather than on first use."""
        me = self.credentials.current
        for cert in certificates:
            self._pair_key(
                me.encryption_key,
                me.certificate.encryption_key_id,
                cert.encryption_key,
                cert.encryption_key_id,
            )

    # --- sealing ------------------------------------------------------------------------------

    def seal_at(
        self,
        message: MessageBase,
        now: datetime,
        *,
        to: Sequence[str] | None = None,
        ttl: timedelta | None = None,
    ) -> bytes:
        """Seal a message for its recipients.

        Args:
            message: The message; its sender must be this bureau.
            now: The time of sealing (sets the expiry; certificates must be valid then).
            to: The bureaus to encrypt for. Defaults to the message's named recipients; required
                when the message is addressed to a region or to all.
            ttl: How long the envelope stays acceptable; the codec's default when ``None``.

        Raises:
            ArgumentError: The sender is not this bureau, or no recipients were given.
            CertificateError: A recipient has no valid, unrevoked certificate.
        """
        certificates, expires = self._recipients_at(message, now, to, ttl)
        return self._seal_from_parts(
            message,
            certificates,
            expires,
            secret=os.urandom(_SECRET),
            salt=os.urandom(_SALT),
            nonce=os.urandom(_NONCE),
        )

    def _seal_from_parts(
        self,
        message: MessageBase,
        certificates: Sequence[BureauCertificate],
        expires: datetime,
        *,
        secret: bytes,
        salt: bytes,
        nonce: bytes,
    ) -> bytes:
        order = self._order(message, certificates, expires)
        signing_key = self.credentials.current.signing_key
        return seal_order(
            order, signing_key, secret=secret, salt=salt, nonce=nonce, suite=self.suite
        )

    def seal_order_at(
        self,
        message: MessageBase,
        now: datetime,
        *,
        to: Sequence[str] | None = None,
        ttl: timedelta | None = None,
    ) -> SealOrder:
        """What :meth:`seal_at` would seal, to be sealed elsewhere with this bureau's keys.

        Every check :meth:`seal_at` makes is made here, with the same errors; only the
        randomness, the key arithmetic and the signature are left to :func:`seal_order`.
        """
        certificates, expires = self._recipients_at(message, now, to, ttl)
        return self._order(message, certificates, expires)

    def _recipients_at(
        self,
        message: MessageBase,
        now: datetime,
        to: Sequence[str] | None,
        ttl: timedelta | None,
    ) -> tuple[list[BureauCertificate], datetime]:
        if to is None:
            if not isinstance(message.recipients, ToBureaus):
                raise ArgumentError("a message to a region or to all needs explicit 'to' bureaus")
            to = message.recipients.bureaus
        certificates = [self.trust.current(bureau, now) for bureau in dict.fromkeys(to)]
        return certificates, now + (ttl if ttl is not None else self.ttl)

    def _order(
        self,
        message: MessageBase,
        certificates: Sequence[BureauCertificate],
        expires: datetime,
    ) -> SealOrder:
        if message.sender != self.bureau_id:
            raise ArgumentError(f"message sender {message.sender!r} is not {self.bureau_id!r}")
        if not certificates:
            raise ArgumentError("no recipients")
        me = self.credentials.current
        own = me.certificate
        major, minor = (int(p) for p in message.schema_version.split("."))
        return SealOrder(
            message_id=message.message_id,
            kind=message.kind,
            priority=message.priority,
            schema_version=(major, minor),
            created_at_ms=_ms(message.created_at),
            expires_at_ms=_ms(expires),
            sender=self.bureau_id,
            signing_key_id=own.signing_key_id,
            encryption_key_id=own.encryption_key_id,
            run=self.run,
            recipients=tuple((c.bureau_id, c.encryption_key_id) for c in certificates),
            pair_keys=tuple(
                self._pair_key(
                    me.encryption_key, own.encryption_key_id, c.encryption_key, c.encryption_key_id
                )
                for c in certificates
            ),
            plaintext=message.__pydantic_serializer__.to_json(message),
        )

    # --- opening ------------------------------------------------------------------------------

    def prepare_check(self, data: bytes) -> SignatureCheck | None:
        """The signature check of a received envelope, to be done elsewhere ahead of receiving.

        ``None`` when there is nothing to check ahead (not a frame, or a sender this bureau has
        no key for): receiving it refuses it with its reason as usual.
        """
        if self.suite.modelled:
            return None  # nothing worth doing elsewhere
        try:
            frame = _parse_frame(data, self.max_size, self.suite)
        except Rejection:
            return None
        header = frame.header
        signer = self.trust.signer(header.sender, header.sender_signing_key_id)
        if signer is None:
            return None
        work = (signer.signing_key.public_bytes_raw(), frame.signature, frame.signed)
        me = self.credentials.current
        own = (self.bureau_id, me.certificate.encryption_key_id)
        for index, entry in enumerate(header.recipients):
            if (entry.bureau_id, entry.key_id) == own:
                pair = self._pair_key(
                    me.encryption_key, own[1], signer.encryption_key, signer.encryption_key_id
                )
                return SignatureCheck(data, frame, signer, work, (index, pair))
        return SignatureCheck(data, frame, signer, work)

    def vouch(self, check: SignatureCheck, plaintext: bytes | None = None) -> None:
        """``check`` verified: receiving its exact bytes will not verify the signature again.

        Only for a check made by :meth:`prepare_check` and verified by
        :func:`~protocol.security.primitives.ed25519_verify_many` (or equal). The signature is
        still checked again if the trust store holds another certificate for its key by then.
        ``plaintext``: its content, opened by :func:`open_content` with the check's
        ``opening``; receiving then decrypts nothing, while the key it names may still decrypt.
        """
        self._checked[check.data] = (check, plaintext)
        if len(self._checked) > CHECKED_MAX:
            self._checked.popitem(last=False)

    def _frame_of(self, data: bytes) -> tuple[_Frame, _Vouched | None]:
        vouched = self._checked.pop(data, None) if self._checked else None
        if vouched is not None:
            return vouched[0].frame, vouched
        return _parse_frame(data, self.max_size, self.suite), None

    def open_at(self, data: bytes, now: datetime) -> Opened:
        """Verify, check and decrypt an envelope addressed to this bureau.

        Raises:
            Rejection: Any failure, with its reason code.
        """
        frame, vouched = self._frame_of(data)
        header = frame.header
        try:
            return self._open(frame, data, now, vouched)
        except Rejection as exc:
            exc.sender = header.sender
            exc.message_id = str(header.message_id)
            raise

    def receive_at(self, data: bytes, now: datetime) -> tuple[Header, Opened | None]:
        """Open an envelope if this bureau is a recipient, else verify it for relaying.

        One parse of the frame serves both; the header comes back for routing.

        Raises:
            Rejection: Any failure of :meth:`open_at` or :meth:`verify_at`.
        """
        frame, vouched = self._frame_of(data)
        header = frame.header
        try:
            if any(entry.bureau_id == self.bureau_id for entry in header.recipients):
                return header, self._open(frame, data, now, vouched)
            self._authenticate(frame, now, vouched)
        except Rejection as exc:
            exc.sender = header.sender
            exc.message_id = str(header.message_id)
            raise
        return header, None

    def verify_at(self, data: bytes, now: datetime) -> Header:
        """Check an envelope in transit (for a relay): the sender's signature and certificate.

        Nothing is decrypted and the replay memory is not touched.

        Raises:
            Rejection: ``malformed``, ``unsupported_version``, ``unknown_sender``,
                ``bad_signature``, ``revoked`` or ``expired_certificate``.
        """
        frame, vouched = self._frame_of(data)
        try:
            self._authenticate(frame, now, vouched)
        except Rejection as exc:
            exc.sender = frame.header.sender
            exc.message_id = str(frame.header.message_id)
            raise
        return frame.header

    def _authenticate(
        self, frame: _Frame, now: datetime, vouched: _Vouched | None = None
    ) -> BureauCertificate:
        header = frame.header
        signer = self.trust.signer(header.sender, header.sender_signing_key_id)
        if signer is None:
            raise Rejection(Reason.UNKNOWN_SENDER, f"no certificate for {header.sender}")
        if vouched is not None and vouched[0].signer is signer:
            self.vouched += 1  # verified elsewhere against this very certificate's key
        else:
            try:
                self.suite.verify(signer.signing_key, frame.signature, frame.signed)
            except CryptoError as exc:
                raise Rejection(exc.reason, exc.detail) from None
        if self.trust.is_revoked(signer):
            raise Rejection(Reason.REVOKED, f"certificate {signer.serial} is revoked")
        if not signer.valid_at(now):
            raise Rejection(Reason.EXPIRED_CERTIFICATE, "sender certificate not valid now")
        retired = self.trust.retired_since(signer, now)
        if retired is not None:
            raise Rejection(
                Reason.REVOKED,
                f"certificate {signer.serial} was rotated out: superseded, its grace period "
                f"ended at {retired.isoformat(timespec='seconds')}",
            )
        if header.sender_encryption_key_id != signer.encryption_key_id:
            raise Rejection(Reason.MALFORMED, "sender keys are not from one certificate")
        if header.run != self.run:
            raise Rejection(
                Reason.OTHER_RUN,
                f"sealed for run {header.run.hex()[:12]}, this is run {self.run.hex()[:12]}",
            )
        self._authorize(header, signer)
        return signer

    def _authorize(self, header: Header, signer: BureauCertificate) -> None:
        """Who may send this: the signer as the roster knows it, the kind, the header's recipients.

        Runs on every verified envelope, for recipients and relays alike (all of it is in the
        signed header), before anything is decrypted or acted on.
        """
        roster = self.roster
        role = signer.role
        if roster is not None:
            disagreement = roster_disagreement(signer, roster)
            if disagreement is not None:
                raise Rejection(Reason.UNAUTHORIZED_SENDER, f"{header.sender}: {disagreement}")
            if len(header.recipients) > len(roster):
                raise Rejection(
                    Reason.UNAUTHORIZED_SENDER,
                    f"{len(header.recipients)} recipients, more than the roster's "
                    f"{len(roster)} bureaus",
                )
            outside = set(header.recipient_ids) - roster.ids
            if outside:
                unknown = sorted(outside)
                raise Rejection(
                    Reason.UNAUTHORIZED_SENDER,
                    f"recipients not in the roster: {', '.join(unknown[:5])}"
                    + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""),
                )
        why = sender_violation(header.kind, role)
        if why is not None:
            raise Rejection(Reason.UNAUTHORIZED_SENDER, why)

    def _open(
        self, frame: _Frame, data: bytes, now: datetime, vouched: _Vouched | None = None
    ) -> Opened:
        header = frame.header
        signer = self._authenticate(frame, now, vouched)
        own_major, own_minor = (int(p) for p in self.schema_version.split("."))
        if header.schema_version[0] != own_major:
            raise Rejection(
                Reason.UNSUPPORTED_VERSION,
                "schema {}.{} (this bureau runs {})".format(
                    *header.schema_version, self.schema_version
                ),
            )
        written = "{}.{}".format(*header.schema_version)
        newer_minor = header.schema_version[1] > own_minor
        versioned = None if newer_minor else model_for(header.kind, written)
        now_ms = _ms(now)
        mid = header.message_id.bytes
        copy = frame.signature  # names these exact bytes: Ed25519 here is deterministic and strict
        self.replay.check(
            header.sender, mid, header.created_at_ms, header.expires_at_ms, now_ms, copy=copy
        )
        plaintext = self._opened_ahead(frame, now, signer, vouched) or self._decrypt(frame, now)
        try:
            if versioned is not None:
                message = cast("Message", decode_model(plaintext, versioned, roster=self.roster))
            else:
                # a newer minor version only adds optional fields: ignore the ones not known here
                message = decode(plaintext, roster=self.roster, ignore_unknown_fields=newer_minor)
        except DecodeError as exc:
            raise Rejection(Reason.INVALID_PAYLOAD, str(exc)) from None
        if (
            message.message_id != header.message_id
            or message.kind != header.kind
            or message.sender != header.sender
            or message.priority != header.priority
            or _ms(message.created_at) != header.created_at_ms
            or message.schema_version != "{}.{}".format(*header.schema_version)
        ):
            raise Rejection(Reason.INVALID_PAYLOAD, "content disagrees with the signed header")
        why = sender_violation(
            message.kind, signer.role, message.recipients.scope
        ) or recipient_violation(
            header.recipient_ids, message.recipients, message.sender, self.roster
        )
        if why is not None:
            raise Rejection(Reason.UNAUTHORIZED_SENDER, why)
        self.replay.remember(
            header.sender, mid, header.created_at_ms, header.expires_at_ms, now_ms, copy=copy
        )
        return Opened(message, header, signer, len(data))

    def _opened_ahead(
        self,
        frame: _Frame,
        now: datetime,
        signer: BureauCertificate,
        vouched: _Vouched | None,
    ) -> bytes | None:
        """The content opened elsewhere, while the key it was sealed for may still decrypt."""
        if vouched is None or vouched[1] is None or vouched[0].signer is not signer:
            return None
        opening = vouched[0].opening
        if opening is None:
            return None  # content vouched for without saying whose entry opened it: decrypt here
        entry = frame.header.recipients[opening[0]]
        if self.credentials.decryption_key(entry.key_id, now) is None:
            return None
        self.opened_ahead += 1
        return vouched[1]

    def _decrypt(self, frame: _Frame, now: datetime) -> bytes:
        header = frame.header
        own = self.bureau_id
        for entry in header.recipients:
            if entry.bureau_id != own:
                continue
            private = self.credentials.decryption_key(entry.key_id, now)
            if private is None:
                continue
            signer = self.trust.signer(header.sender, header.sender_signing_key_id)
            assert signer is not None  # checked by the caller
            prk = self._pair_key(
                private, entry.key_id, signer.encryption_key, signer.encryption_key_id
            )
            return _open_entry(frame, entry, prk, self.suite)
        raise Rejection(Reason.NOT_A_RECIPIENT, f"no key for {own} in this envelope")
