"""What every part of the command line shares, at the cost of importing click alone."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "LIBRARY", "CliError"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
LIBRARY = Path(__file__).parent.parent / "library"
"""The bundled scenarios."""


class CliError(click.ClickException):
    """Bad input detected by a command: printed as one line, exit code 2."""

    exit_code = EXIT_BAD_INPUT
