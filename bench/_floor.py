"""The floor the simulation benches measure against: sealing and opening with the codec alone."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bureaus.idfile import IdFile
from bureaus.sandbox import EPOCH, ROSTER, pki
from protocol import SearchRequest, SearchResult, ToBureaus
from protocol.messages.models import NominalQuery
from protocol.security.envelope import BureauCredentials, EnvelopeCodec
from protocol.security.suites import REAL, Suite


def _codec(bureau: str, suite: Suite, ids: IdFile | None) -> EnvelopeCodec:
    keys = pki(ROSTER)
    codec = EnvelopeCodec(
        BureauCredentials(keys.identities[bureau]), keys.trust.copy(), roster=ROSTER, suite=suite
    )
    if ids is not None:
        codec.replay.ids = ids.memory()
    return codec


def seal_and_open_us(n: int, suite: Suite = REAL, *, filed: bool = False) -> float:
    """µs to seal and open one envelope: a search and its answer, ``n`` of each, codec alone.

    ``suite``: real or modelled cryptography; ``filed``: the replay memory in a file, as a lean
    run keeps it (:class:`bureaus.idfile.IdFile`), instead of in memory.
    """
    ids = IdFile() if filed else None
    fr, gs = _codec("FR", suite, ids), _codec("gs", suite, ids)
    searches = [
        SearchRequest(
            message_id=uuid4(),
            sender="FR",
            recipients=ToBureaus(bureaus=("gs",)),
            created_at=EPOCH,
            query=NominalQuery(name=f"EXEMPLE {k}"),
        )
        for k in range(n)
    ]
    answers = [
        SearchResult(
            message_id=uuid4(),
            sender="gs",
            recipients=ToBureaus(bureaus=("FR",)),
            created_at=EPOCH,
            request_id=s.message_id,
            outcome="no-hit",
        )
        for s in searches
    ]
    start = time.perf_counter()
    for search, answer in zip(searches, answers, strict=True):
        gs.open_at(fr.seal_at(search, EPOCH), EPOCH)
        fr.open_at(gs.seal_at(answer, EPOCH), EPOCH)
    spent = time.perf_counter() - start
    if ids is not None:
        ids.close()
    return spent / (2 * n) * 1e6
