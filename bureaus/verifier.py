"""Cryptography on another core, ahead of the bureaus, a batch per turn of the event loop.

A live network whose bureaus share one process does all their cryptography on the core its event
loop runs on. With ``NetworkContext(verify_processes=N)`` (``run --verifiers N``) a
:class:`SignatureHelper` does most of it in child processes:

- **Receiving.** A driver hands each envelope read from its inbox to the helper
  (:meth:`~SignatureHelper.submit`) instead of queueing it for the core at once; it is queued
  when its batch is answered, in order. The helper verifies the sender's Ed25519 signature and,
  when the bureau is a recipient under its current key, decrypts the content with the pair
  secret sent along (:func:`~protocol.security.envelope.open_content`). What verified, and what
  opened, is vouched for in the bureau's codec (:meth:`EnvelopeCodec.vouch
  <protocol.security.envelope.EnvelopeCodec.vouch>`): receiving those exact bytes then skips
  the signature arithmetic and the decryption.
- **Sending.** :meth:`Bureau.post <bureaus.node.Bureau.post>` has the core check a message and
  make its seal order; the helper seals and signs it (:meth:`~SignatureHelper.seal`, with the
  sender's signing key sent along), and the core takes the envelope back, in the order posted.

The helpers are child processes (``python -m bureaus.verify_worker``) spoken to over pipes by the
event loop itself. Not threads: the interpreter lock would make a helper thread wait for the busy
event loop between two operations. Not a process pool: its feeder and manager threads contend
for the same lock, and a spawned pool imports the parent's main module again. The secrets a
helper gets (signing keys, pair secrets) stay in the memory of a child of the bureaus' process,
which ends with it; they never touch a disk or a socket.

The helper's answer is a head start, never a verdict. The core still runs every check of an
envelope except the signature arithmetic and the decryption, and only for the exact bytes
verified against the certificate its trust store still holds, while the key the content was
sealed for may still decrypt; the content itself is validated as always. A signature the helper
could not verify is checked by the core itself and refused there with its reason, like every
other failure; what the helper could not open or seal, the core opens or seals. If a helper dies,
the bureaus go on alone. In simulations (virtual clock) there is no helper: the service-time
model charges the work instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import struct
import sys
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path

from protocol.security.envelope import EnvelopeCodec, SealOrder, SignatureCheck, pack_seal_order

__all__ = [
    "ENTRY",
    "LENGTH",
    "OPEN",
    "SEAL",
    "VERIFY",
    "SignatureHelper",
    "pack_answers",
    "pack_batch",
    "unpack_answers",
    "unpack_batch",
]

LENGTH = struct.Struct(">I")
"""How a batch and its answers begin on the pipe: the length of what follows."""
VERIFY = b"V"
"""A check: a raw Ed25519 public key (32 bytes), a signature (64), the signed bytes."""
OPEN = b"O"
"""A check and an opening: a raw Ed25519 public key (32 bytes), the pair secret (32) and the
receiving bureau's entry index (2), the whole envelope."""
SEAL = b"S"
"""A seal: the sender's raw Ed25519 private key (32 bytes), nothing, a packed
:class:`~protocol.security.envelope.SealOrder`."""
_SIZES = {VERIFY: (32, 64), OPEN: (32, 34), SEAL: (32, 0)}
ENTRY = struct.Struct(">H")
"""How an opening names the receiving bureau's entry in the header (after the pair secret)."""
_ROOT = str(Path(__file__).resolve().parent.parent)

Item = tuple[bytes, bytes, bytes, bytes]
"""One piece of work on the pipe: its kind (:data:`VERIFY`, :data:`SEAL`) and three fields."""
Answer = bool | bytes
"""Whether a check verified; for an opening, the content once verified and opened; for a seal,
the envelope (``False``: not sealed)."""


def pack_batch(items: list[Item]) -> bytes:
    """A batch on the pipe: its length, the count, then each item's kind and fields."""
    parts = [LENGTH.pack(len(items))]
    for kind, first, second, rest in items:
        parts += (kind, first, second, LENGTH.pack(len(rest)), rest)
    body = b"".join(parts)
    return LENGTH.pack(len(body)) + body


def unpack_batch(body: bytes) -> list[Item]:
    """The items of a batch's body (after its length).

    Raises:
        ValueError: The body is not a batch.
    """
    if len(body) < 4:
        raise ValueError("a truncated batch")
    (count,), at = LENGTH.unpack_from(body), 4
    items = []
    for _ in range(count):
        kind = body[at : at + 1]
        sizes = _SIZES.get(kind)
        if sizes is None:
            raise ValueError("an unknown kind of work" if kind else "a truncated batch")
        first_size, second_size = sizes
        head = 1 + first_size + second_size + 4
        if len(body) < at + head:
            raise ValueError("a truncated batch")
        first = body[at + 1 : at + 1 + first_size]
        second = body[at + 1 + first_size : at + 1 + first_size + second_size]
        (size,) = LENGTH.unpack_from(body, at + head - 4)
        at += head
        rest = body[at : at + size]
        if len(rest) != size:
            raise ValueError("a truncated batch")
        items.append((kind, first, second, rest))
        at += size
    if at != len(body):
        raise ValueError("bytes after the batch")
    return items


def pack_answers(answers: list[Answer]) -> bytes:
    """A batch's answers on the pipe.

    Their length, then per item a byte (0: no, 1: yes, 2: bytes follow) and, after a 2, the
    bytes' length and the bytes.
    """
    parts = []
    for answer in answers:
        if isinstance(answer, bool) or not answer:
            parts.append(b"\x01" if answer else b"\x00")
        else:
            parts += (b"\x02", LENGTH.pack(len(answer)), answer)
    body = b"".join(parts)
    return LENGTH.pack(len(body)) + body


def unpack_answers(body: bytes, count: int) -> list[Answer]:
    """The ``count`` answers of a batch (after their length).

    Raises:
        ValueError: The body does not hold that many answers, exactly.
    """
    answers: list[Answer] = []
    at = 0
    for _ in range(count):
        if at >= len(body):
            raise ValueError("truncated answers")
        tag = body[at]
        at += 1
        if tag < 2:
            answers.append(tag == 1)
            continue
        if tag > 2 or len(body) < at + 4:
            raise ValueError("truncated answers" if tag == 2 else "an unknown answer")
        (size,) = LENGTH.unpack_from(body, at)
        data = body[at + 4 : at + 4 + size]
        if len(data) != size:
            raise ValueError("truncated answers")
        answers.append(data)
        at += 4 + size
    if at != len(body):
        raise ValueError("bytes after the answers")
    return answers


async def _ready(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """Whether a helper answers an empty batch within ``timeout`` seconds (else it is stopped)."""
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(pack_batch([]))
        answer = await asyncio.wait_for(process.stdout.readexactly(4), timeout)
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        answer = b""
    if answer == LENGTH.pack(0):
        return True
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    await process.wait()
    return False


Done = Callable[[Answer | None], None]
"""What to do with an item's answer (``None``: no helper answered it)."""
Batch = list[tuple[Item, Done]]


class _Helper:
    """One helper process and the batches it has not answered yet, oldest first."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.unanswered: deque[Batch] = deque()
        self.reader: asyncio.Task[None] | None = None


class SignatureHelper:
    """Helper processes that verify and seal envelopes for the bureaus of this process.

    Made by :meth:`start`. ``counts``: ``submitted``, ``verified`` (vouched for), ``opened``
    (decrypted too), ``not_verified`` (left to the bureau, which then refuses it or finds it
    good), ``sealed``,
    ``not_sealed`` (left to the bureau to seal), ``batches``, and ``helper_lost`` when a helper
    process died.
    """

    def __init__(self, helpers: list[_Helper]) -> None:
        self._helpers = helpers
        self._next = 0
        self._batch: Batch = []
        self._keys: dict[tuple[str, bytes], bytes] = {}
        self.counts: Counter[str] = Counter()

    @classmethod
    async def start(cls, processes: int = 1, timeout: float = 60.0) -> SignatureHelper:
        """Start ``processes`` helpers, and wait until each has answered an empty batch.

        One that does not answer within ``timeout`` seconds is stopped and counted
        (``helper_lost``); without helpers, every bureau verifies and seals for itself.
        """
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        helpers = []
        for _ in range(max(1, processes)):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bureaus.verify_worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            helpers.append(_Helper(process))
        ready = await asyncio.gather(*(_ready(h.process, timeout) for h in helpers))
        self = cls([h for h, ok in zip(helpers, ready, strict=True) if ok])
        self.counts["helper_lost"] = ready.count(False)
        for helper in self._helpers:
            helper.reader = asyncio.create_task(self._read(helper), name="signature-helper")
        return self

    def submit(self, codec: EnvelopeCodec, data: bytes, then: Callable[[bool], None]) -> None:
        """Have an envelope's signature verified for ``codec``'s bureau, then call ``then``.

        ``then`` (which queues the envelope for the bureau's core) is called with whether the
        helper verified it, once the batch is answered, whatever the answer; at once when
        there is nothing to check ahead (not an envelope, an unknown sender: the bureau
        refuses it with its reason) or no helper is left.
        Batches are answered in order, so one sender's envelopes stay in order.
        """
        check = codec.prepare_check(data) if self._helpers else None
        if check is None:
            then(False)
            return
        item: Item = (VERIFY, *check.work)
        if check.opening is not None:
            index, pair = check.opening
            item = (OPEN, check.work[0], pair + ENTRY.pack(index), data)
        self._add(item, functools.partial(self._checked, codec, check, then))
        self.counts["submitted"] += 1

    def _checked(
        self,
        codec: EnvelopeCodec,
        check: SignatureCheck,
        then: Callable[[bool], None],
        answer: Answer | None,
    ) -> None:
        verified = answer is True or isinstance(answer, bytes)
        if isinstance(answer, bytes):
            codec.vouch(check, answer)
            self.counts["opened"] += 1
        elif verified:
            codec.vouch(check)
        self.counts["verified" if verified else "not_verified"] += 1
        then(verified)

    def seal(
        self, codec: EnvelopeCodec, order: SealOrder, then: Callable[[bytes | None], None]
    ) -> None:
        """Have a seal order of ``codec``'s bureau sealed with its current keys; then ``then``.

        ``then`` gets the envelope once the batch is answered, or ``None`` when no helper
        sealed it (none is left, or the order no longer names the bureau's current signing key):
        the bureau then seals it itself. The signing key goes to the helper with the order, over
        the pipe to a child of this process (see ``bureaus.verify_worker``).
        """
        me = codec.credentials.current
        if not self._helpers or order.signing_key_id != me.certificate.signing_key_id:
            self.counts["not_sealed"] += 1
            then(None)
            return
        name = (order.sender, order.signing_key_id)
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = me.signing_key.private_bytes_raw()
        item = (SEAL, key, b"", pack_seal_order(order))
        self._add(item, functools.partial(self._sealed, then))

    def _sealed(self, then: Callable[[bytes | None], None], answer: Answer | None) -> None:
        if isinstance(answer, bytes):
            self.counts["sealed"] += 1
            then(answer)
        else:
            self.counts["not_sealed"] += 1
            then(None)

    def _add(self, item: Item, done: Done) -> None:
        if not self._batch:
            asyncio.get_running_loop().call_soon(self._flush)
        self._batch.append((item, done))

    def pids(self) -> list[int]:
        """The helper processes' ids (to measure what they spend)."""
        return [h.process.pid for h in self._helpers]

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        if not self._helpers:
            self._finish(batch, None)
            return
        self.counts["batches"] += 1
        helper = self._helpers[self._next % len(self._helpers)]
        self._next += 1
        stdin = helper.process.stdin
        assert stdin is not None
        helper.unanswered.append(batch)
        stdin.write(pack_batch([item for item, _ in batch]))

    async def _read(self, helper: _Helper) -> None:
        stdout = helper.process.stdout
        assert stdout is not None
        try:
            while True:
                (size,) = LENGTH.unpack(await stdout.readexactly(4))
                body = await stdout.readexactly(size)
                batch = helper.unanswered.popleft()
                answers = unpack_answers(body, len(batch))
                self._finish(batch, answers)
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            self.counts["helper_lost"] += 1
        finally:
            self._lose(helper)

    def _lose(self, helper: _Helper) -> None:
        """A helper is gone: its unanswered batches are left to the bureaus."""
        if helper in self._helpers:
            self._helpers.remove(helper)
        while helper.unanswered:
            self._finish(helper.unanswered.popleft(), None)
        if helper.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                helper.process.kill()

    def _finish(self, batch: Batch, answers: list[Answer] | None) -> None:
        if answers is None:
            for _, done in batch:
                done(None)  # unanswered: every bureau verifies and seals for itself
            return
        for (_, done), answer in zip(batch, answers, strict=True):
            done(answer)

    async def close(self) -> None:
        """Stop the helpers; what they had not answered is left to the bureaus now."""
        helpers, self._helpers = list(self._helpers), []
        self._flush()
        for helper in helpers:
            if helper.reader is not None:
                helper.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper.reader
            self._lose(helper)
            with contextlib.suppress(ProcessLookupError, TimeoutError):
                await asyncio.wait_for(helper.process.wait(), 5)
