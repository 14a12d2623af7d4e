"""Trust stores share their certificates between copies, and each copy still changes alone."""

from __future__ import annotations

from datetime import timedelta

from bureaus.samples import ISSUED, NOW
from bureaus.samples import throwaway_world as world
from protocol import default_roster


def test_a_copy_shares_the_tables_and_adds_only_to_its_own() -> None:
    w = world()
    first, second = w.trust(), w.trust()
    assert first._by_signing is second._by_signing  # one table between them
    fr = default_roster().get("FR")
    rotated = w.ca.issue(fr, ISSUED + timedelta(days=1), timedelta(days=365))
    first.add(rotated.certificate.der)
    assert first.current("FR", NOW).serial == rotated.certificate.serial
    assert second.current("FR", NOW).serial == w.identities["FR"].certificate.serial
    assert w.base.current("FR", NOW).serial == w.identities["FR"].certificate.serial
    key = rotated.certificate.signing_key_id
    assert first.signer("FR", key) is not None
    assert second.signer("FR", key) is None
    # a copy of the changed store has the change, and shares it
    third = first.copy()
    assert third.current("FR", NOW).serial == rotated.certificate.serial
    assert third.signer("FR", key) is not None
    assert third.bureaus() == first.bureaus() == w.base.bureaus()


def test_revocation_stays_with_the_store_that_applied_it() -> None:
    w = world()
    first, second = w.trust(), w.trust()
    serial = w.identities["DE"].certificate.serial
    crl = w.ca.revocation_list([serial], 1, NOW)
    assert first.apply_revocation_list(crl)
    assert first.is_revoked(w.identities["DE"].certificate)
    assert not second.is_revoked(w.identities["DE"].certificate)
