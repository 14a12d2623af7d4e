"""A signature helper process, ``python -m bureaus.verify_worker`` (see ``bureaus.verifier``).

Reads batches of work on standard input and answers each batch, in order, on standard output.
Two kinds of work:

- a check (``V``): whether a signature verifies under a public key. It decides nothing: a bureau
  receiving the envelope still runs every other check, and verifies for itself whatever is not
  answered 1;
- a check and an opening (``O``): the same check of a whole envelope and, once it verifies, its
  content decrypted for the receiving bureau's entry with the pair secret that came with it
  (:func:`~protocol.security.envelope.open_content`: commitment, tag and digest checked), sent
  back for the bureau to validate and check;
- a seal (``S``): a seal order made and checked by the bureau's codec (with the pair secrets
  its recipients' key-encryption keys come from), sealed here and signed with the sender's
  signing key that came with it, and the envelope sent back. Nothing of it is kept but the
  loaded signing keys, in this process's memory, which ends with the bureaus' process (its
  input closes).

It ends at the end of its input, or on a batch it cannot read. It runs at a lower scheduling
priority than the bureaus' process (:data:`NICE`).
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bureaus.verifier import ENTRY, LENGTH, OPEN, SEAL, Answer, Item, pack_answers, unpack_batch
from protocol.errors import CryptoError, Rejection
from protocol.security.envelope import open_content, seal_order_now, unpack_seal_order
from protocol.security.primitives import ed25519_verify_many

NICE = 10
"""How much lower a helper's scheduling priority is than its bureaus' process: the event loop it
serves is the bottleneck, so when both want the same core the kernel runs the loop first, and
the helper takes what is left (``bench/RESULTS.md``)."""
_KEPT = 4096
"""Loaded signing keys kept (the table starts again when full)."""


class Sealer:
    """Seals packed orders with the signing keys sent along, keeping the keys it loaded."""

    def __init__(self) -> None:
        self._keys: dict[bytes, Ed25519PrivateKey] = {}

    def seal(self, signing: bytes, packed: bytes) -> bytes:
        """The envelope, or nothing when the order or the key does not load."""
        try:
            order = unpack_seal_order(packed)
            key = self._keys.get(signing)
            if key is None:
                key = Ed25519PrivateKey.from_private_bytes(signing)
                if len(self._keys) >= _KEPT:
                    self._keys.clear()
                self._keys[signing] = key
            return seal_order_now(order, key)
        except (Rejection, ValueError, CryptoError):
            return b""


def opened(key: bytes, opening: bytes, data: bytes) -> Answer:
    """Whether an envelope's signature verifies; once it does, its content if it opens."""
    if not ed25519_verify_many([(key, data[-64:], data[:-64])])[0]:
        return False
    (index,) = ENTRY.unpack(opening[32:])
    try:
        return open_content(data, index, opening[:32])
    except Rejection:
        return True  # verified; the bureau decrypts for itself and refuses it with its reason


def answer(items: list[Item], sealer: Sealer) -> list[Answer]:
    """Each item's answer, in order."""
    answers: list[Answer] = []
    for kind, first, second, rest in items:
        if kind == SEAL:
            answers.append(sealer.seal(first, rest) or False)
        elif kind == OPEN:
            answers.append(opened(first, second, rest))
        else:
            answers.append(ed25519_verify_many([(first, second, rest)])[0])
    return answers


def serve(source: BinaryIO, sink: BinaryIO) -> int:
    """Answer batches from ``source`` on ``sink`` until its end; the number answered."""
    answered = 0
    sealer = Sealer()
    while True:
        head = source.read(4)
        if len(head) < 4:
            return answered
        (size,) = LENGTH.unpack(head)
        body = source.read(size)
        try:
            items = unpack_batch(body)
        except ValueError:
            return answered
        sink.write(pack_answers(answer(items, sealer)))
        sink.flush()
        answered += 1


if __name__ == "__main__":
    os.nice(NICE)
    serve(sys.stdin.buffer, sys.stdout.buffer)
