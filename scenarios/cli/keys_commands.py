"""``keys init``, ``keys check`` and ``broker config``: a PKI and a secured broker configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from broker import (
    BrokerSecurity,
    bureau_password,
    topic_rules,
    write_mosquitto_config,
)
from bureaus.keystore import KeystoreError, init_pki, load_pki
from scenarios.cli.base import CliError
from scenarios.cli.common import ROSTER_HELP, err, out, roster_of


@click.group("keys")
def keys() -> None:
    """Create and check a simulation PKI (General Secretariat root and bureau keys)."""


@keys.command("init")
@click.option("--roster", "roster_spec", default="all", show_default=True, help=ROSTER_HELP)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to create the PKI in (must not hold one already).",
)
@click.option(
    "--days",
    default=365,
    show_default=True,
    type=click.IntRange(1, 36500),
    help="Validity of the bureau certificates.",
)
def keys_init(roster_spec: str, out_dir: Path, days: int) -> None:
    """Create a GS root and one certificate per bureau; private keys get mode 0600."""
    roster = roster_of(roster_spec)
    try:
        pki = init_pki(out_dir, roster, datetime.now(UTC), timedelta(days=days))
    except KeystoreError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc
    out.print(f"created a PKI for {len(pki.identities)} bureaus in {out_dir}", markup=False)


@keys.command("check")
@click.argument("pki_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--roster", "roster_spec", default="all", show_default=True, help=ROSTER_HELP)
def keys_check(pki_dir: Path, roster_spec: str) -> None:
    """Load a PKI directory and check every bureau's certificate and keys."""
    roster = roster_of(roster_spec)
    try:
        pki = load_pki(pki_dir, roster, datetime.now(UTC))
    except KeystoreError as exc:
        if len(exc.problems) == 1:
            raise CliError(f"{pki_dir}: {exc}") from exc
        for problem in exc.problems:
            err.print(f"{pki_dir}: {problem}", markup=False)
        raise CliError(f"{pki_dir}: {len(exc.problems)} bureaus have bad keys") from exc
    out.print(f"{pki_dir}: {len(pki.identities)} bureaus, all certificates valid", markup=False)


@click.group("broker")
def broker_group() -> None:
    """Broker configuration generated from the PKI's roster."""


@broker_group.command("config")
@click.option(
    "--pki",
    "pki_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="PKI directory made by 'bureaunet keys init'.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write mosquitto.conf, passwd and acl to.",
)
@click.option("--roster", "roster_spec", default="all", show_default=True, help=ROSTER_HELP)
@click.option("--port", default=1883, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
def broker_config(pki_dir: Path, out_dir: Path, roster_spec: str, port: int, host: str) -> None:
    """Write a Mosquitto configuration: one credential per bureau and topic ACLs."""
    roster = roster_of(roster_spec)
    try:
        pki = load_pki(pki_dir, roster, datetime.now(UTC))
    except KeystoreError as exc:
        raise CliError(f"{pki_dir}: {exc}") from exc
    security = BrokerSecurity(
        passwords={b: bureau_password(i) for b, i in pki.identities.items()},
        rules=topic_rules(roster),
    )
    try:
        conf = write_mosquitto_config(out_dir, port, security, host=host)
    except OSError as exc:
        raise CliError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc
    out.print(f"wrote {conf} for {len(roster)} bureaus (run: mosquitto -c {conf})", markup=False)
