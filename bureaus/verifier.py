"""Signature checks on another core, ahead of the bureaus, a batch per turn of the event loop.

Verifying a sender's Ed25519 signature is the largest single cost of receiving an envelope, and
a live network whose bureaus share one process does all of it on the core its event loop runs
on. With ``NetworkContext(verify_processes=N)`` a driver hands each envelope read from its inbox
to a :class:`SignatureHelper` (:meth:`~SignatureHelper.submit`) instead of queueing it for the
core at once; it is queued when its batch is answered. What verified is vouched for in the
receiving bureau's codec (:meth:`EnvelopeCodec.vouch
<protocol.security.envelope.EnvelopeCodec.vouch>`), so that receiving those exact bytes skips the
signature arithmetic.

The helpers are child processes (``python -m bureaus.verify_worker``) spoken to over pipes by the
event loop itself. Not threads: the interpreter lock would make a helper thread wait for the busy
event loop between two verifications. Not a process pool: its feeder and manager threads contend
for the same lock, and a spawned pool imports the parent's main module again.

The helper's answer is a head start, never a verdict. The core still runs every check of an
envelope except the signature arithmetic, and only for the exact bytes verified against the
certificate its trust store still holds. A signature the helper could not verify is checked by
the core itself and refused there with its reason, like every other failure. If a helper dies,
the bureaus go on verifying for themselves. In simulations (virtual clock) there is no helper: the
service-time model charges the work instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import sys
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path

from protocol.security.envelope import EnvelopeCodec, SignatureCheck

__all__ = ["LENGTH", "SignatureHelper", "pack_answers", "pack_batch", "unpack_batch"]

LENGTH = struct.Struct(">I")
"""How a batch (its body's length) and an answer (its count) begin on the pipe."""
_ROOT = str(Path(__file__).resolve().parent.parent)

Batch = list[tuple[EnvelopeCodec, SignatureCheck, Callable[[bool], None]]]


def pack_batch(work: list[tuple[bytes, bytes, bytes]]) -> bytes:
    """A batch on the pipe: its length, the count, then key, signature, length and signed bytes."""
    parts = [LENGTH.pack(len(work))]
    for key, signature, signed in work:
        parts += (key, signature, LENGTH.pack(len(signed)), signed)
    body = b"".join(parts)
    return LENGTH.pack(len(body)) + body


def pack_answers(answers: list[bool]) -> bytes:
    """A batch's answers on the pipe: the count, then one byte per check (1: it verified)."""
    return LENGTH.pack(len(answers)) + bytes(answers)


def unpack_batch(body: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """The checks of a batch's body (after its length).

    Raises:
        ValueError: The body is not a batch.
    """
    if len(body) < 4:
        raise ValueError("a truncated batch")
    (count,), at = LENGTH.unpack_from(body), 4
    work = []
    for _ in range(count):
        if len(body) < at + 100:
            raise ValueError("a truncated batch")
        key, signature = body[at : at + 32], body[at + 32 : at + 96]
        (size,) = LENGTH.unpack_from(body, at + 96)
        at += 100
        signed = body[at : at + size]
        if len(signed) != size:
            raise ValueError("a truncated batch")
        work.append((key, signature, signed))
        at += size
    if at != len(body):
        raise ValueError("bytes after the batch")
    return work


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


class _Helper:
    """One helper process and the batches it has not answered yet, oldest first."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.unanswered: deque[Batch] = deque()
        self.reader: asyncio.Task[None] | None = None


class SignatureHelper:
    """Helper processes that verify envelopes' signatures for the bureaus of this process.

    Made by :meth:`start`. ``counts``: ``submitted``, ``verified`` (vouched for),
    ``not_verified`` (left to the bureau, which then refuses it or finds it good), ``batches``,
    and ``helper_lost`` when a helper process died.
    """

    def __init__(self, helpers: list[_Helper]) -> None:
        self._helpers = helpers
        self._next = 0
        self._batch: Batch = []
        self.counts: Counter[str] = Counter()

    @classmethod
    async def start(cls, processes: int = 1, timeout: float = 60.0) -> SignatureHelper:
        """Start ``processes`` helpers, and wait until each has answered an empty batch.

        One that does not answer within ``timeout`` seconds is stopped and counted
        (``helper_lost``); without helpers, every bureau verifies for itself.
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
        if not self._batch:
            asyncio.get_running_loop().call_soon(self._flush)
        self._batch.append((codec, check, then))
        self.counts["submitted"] += 1

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
        stdin.write(pack_batch([check.work for _, check, _ in batch]))

    async def _read(self, helper: _Helper) -> None:
        stdout = helper.process.stdout
        assert stdout is not None
        try:
            while True:
                (count,) = LENGTH.unpack(await stdout.readexactly(4))
                answers = await stdout.readexactly(count)
                self._finish(helper.unanswered.popleft(), answers)
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
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

    def _finish(self, batch: Batch, answers: bytes | None) -> None:
        if answers is None or len(answers) != len(batch):
            answers = bytes(len(batch))  # unanswered: every bureau verifies for itself
        for (codec, check, then), ok in zip(batch, answers, strict=True):
            if ok == 1:
                codec.vouch(check)
            then(ok == 1)
        verified = answers.count(1)
        self.counts["verified"] += verified
        self.counts["not_verified"] += len(answers) - verified

    async def close(self) -> None:
        """Stop the helpers; what they had not answered is queued now (and verified there)."""
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
