"""A signature helper process, ``python -m bureaus.verify_worker`` (see ``bureaus.verifier``).

Reads batches of signature checks on standard input and answers each, in order, on standard
output: the count, then one byte per check (1: the signature verifies under the key). It holds no
secret and decides nothing: a bureau receiving an envelope still runs every other check, and
verifies for itself whatever is not answered 1. It ends at the end of its input, or on a batch it
cannot read.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from bureaus.verifier import LENGTH, pack_answers, unpack_batch
from protocol.security.primitives import ed25519_verify_many


def serve(source: BinaryIO, sink: BinaryIO) -> int:
    """Answer batches from ``source`` on ``sink`` until its end; the number answered."""
    answered = 0
    while True:
        head = source.read(4)
        if len(head) < 4:
            return answered
        (size,) = LENGTH.unpack(head)
        body = source.read(size)
        try:
            work = unpack_batch(body)
        except ValueError:
            return answered
        sink.write(pack_answers(ed25519_verify_many(work)))
        sink.flush()
        answered += 1


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
