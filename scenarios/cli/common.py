"""Helpers the commands share: the consoles, the roster option, the PKI option."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from protocol import Roster, RosterError, default_roster
from scenarios.cli.base import CliError

__all__ = ["PKI_OPTION", "ROSTER_HELP", "err", "out", "roster_of"]

# markup off: names, details and paths come from scenario files and players, and are printed as
# text (a name like "[/]" would otherwise be taken for a closing tag and stop the command)
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def roster_of(spec: str) -> Roster:
    """The roster a ``--roster`` option names: ``all`` or a list of bureau ids.

    Raises:
        CliError: An unknown id.
    """
    roster = default_roster()
    if spec == "all":
        return roster
    try:
        return roster.subset(part.strip() for part in spec.split(",") if part.strip())
    except RosterError as exc:
        raise CliError(str(exc)) from exc


ROSTER_HELP = "'all' (the bundled roster) or a comma-separated list of bureau ids."


CRYPTO_OPTION = click.option(
    "--crypto",
    type=click.Choice(["real", "modelled"]),
    default="real",
    show_default=True,
    help="Simulations (--clock virtual): 'modelled' keeps every frame, size, check and refusal "
    "but replaces the cryptography by keyed digests (not security), for studies whose subject "
    "is not the cryptography, faster; the same seed gives the same figures.",
)
"""``--crypto`` of ``run`` and ``compare``."""


PKI_OPTION = click.option(
    "--pki",
    "pki_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run with the PKI 'bureaunet keys init' wrote (default: a throwaway one), so that a "
    "secured broker configured from it ('bureaunet broker config --pki') takes the bureaus.",
)
