"""Fuzzing everything else that parses outside input: scenario YAML, certificates, revocation
lists, PKI files. Only our typed errors may come out."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bureaus.samples import throwaway_world as world
from protocol.errors import CertificateError
from protocol.schemas.strategies import der_like, yaml_like
from protocol.security.pki import BureauIdentity, TrustStore, load_certificate
from scenarios.model import ScenarioError, parse_scenario


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_like)
def test_scenario_text_only_raises_scenario_error(text: str) -> None:
    try:
        parse_scenario(text, "fuzz.yaml")
    except ScenarioError as exc:
        assert all(p.startswith("fuzz.yaml:") for p in exc.problems)


@settings(max_examples=400, deadline=None)
@given(der_like)
def test_certificate_bytes_only_raise_certificate_error(data: bytes) -> None:
    with pytest.raises(CertificateError):
        load_certificate(data, world().ca.root_certificate)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 10))
def test_mutated_real_certificates_are_refused_or_identical(noise: bytes, where: int) -> None:
    real = world().identities["FR"].certificate.der
    position = (where * 97 + len(noise)) % len(real)
    mutated = real[:position] + noise[:8] + real[position + min(8, len(noise)) :]
    try:
        cert = load_certificate(mutated, world().ca.root_certificate)
    except CertificateError:
        return
    assert cert.der == mutated  # accepted only if it is still a certificate the root signed


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_revocation_list_bytes_only_raise_certificate_error(data: bytes) -> None:
    store = world().trust()
    try:
        store.apply_revocation_list(data)
    except CertificateError:
        return
    pytest.fail("random bytes accepted as a revocation list")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_private_key_files_only_raise_certificate_error(data: bytes) -> None:
    with pytest.raises(CertificateError):
        BureauIdentity.from_private_pem(data, world().ca.root_certificate)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=800))
def test_root_certificate_bytes_only_raise_certificate_error(data: bytes) -> None:
    with pytest.raises(CertificateError):
        TrustStore.from_root_pem(data)


def test_a_certificate_breaking_rfc_5280_is_malformed_not_a_warning() -> None:
    # the serial number's first content byte set to 0x80 makes it negative (RFC 5280 forbids it);
    # cryptography only warns about that today, and bureaunet refuses it
    real = bytearray(world().identities["FR"].certificate.der)
    serial = world().identities["FR"].certificate.serial.to_bytes(20, "big").lstrip(b"\x00")
    at = bytes(real).index(serial)
    real[at] = 0x80
    with pytest.raises(CertificateError) as info:
        load_certificate(bytes(real), world().ca.root_certificate)
    assert info.value.reason.value == "malformed"
