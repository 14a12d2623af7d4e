"""The ``bureaunet`` command line (click, with rich for output).

Every command reports bad usage or bad input as one line on standard error and exits 2; a
traceback is a bug. :func:`main` runs the click group in non-standalone mode so that usage errors
are formatted here, once, in that one-line form.

Start-up. The root group knows its commands by name and one-line help only; a command's module
is imported when that command runs (or its own ``--help`` is asked). ``bureaunet --version`` and
``bureaunet --help`` import click and nothing of bureaunet's; ``validate`` imports the protocol
and not the brokers, bureaus, reports or dashboard (``bench/cli_startup.py``).

- :mod:`~scenarios.cli.schema_commands`: ``schema export|diff``, ``generate``, ``validate``,
  ``check``.
- :mod:`~scenarios.cli.keys_commands`: ``keys init|check``, ``broker config``.
- :mod:`~scenarios.cli.run_commands`: ``run`` (and the options every scenario command shares).
- :mod:`~scenarios.cli.exercise_commands`: ``exercise``.
- :mod:`~scenarios.cli.compare_commands`: ``compare``.
- :mod:`~scenarios.cli.evidence_commands`: ``verify-log``, ``debrief``.
"""

from __future__ import annotations

import importlib
import sys

import click

from scenarios.cli.base import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, LIBRARY, CliError

__all__ = ["COMMANDS", "LIBRARY", "CliError", "cli", "main"]

COMMANDS: dict[str, tuple[str, str, str]] = {
    "check": (
        "schema_commands",
        "check_command",
        "Check a scenario file fully, roster references included, without running it.",
    ),
    "broker": (
        "keys_commands",
        "broker_group",
        "Broker configuration generated from the PKI's roster.",
    ),
    "compare": (
        "compare_commands",
        "compare",
        "Run one scenario on several topologies with the same seed, side by side.",
    ),
    "debrief": (
        "evidence_commands",
        "debrief_command",
        "Write a printable debrief (debrief.html, and debrief.pdf) of a run's report directory.",
    ),
    "exercise": (
        "exercise_commands",
        "exercise",
        "Run a scenario as a live exercise, steered from a terminal dashboard or from web pages.",
    ),
    "generate": (
        "schema_commands",
        "generate_command",
        "Write realistic, synthetic example messages of KIND, one JSON document per line.",
    ),
    "keys": (
        "keys_commands",
        "keys",
        "Create and check a simulation PKI (General Secretariat root and bureau keys).",
    ),
    "run": (
        "run_commands",
        "run",
        "Run a scenario (a file, or a bundled one by name) and write its report.",
    ),
    "schema": ("schema_commands", "schema", "Export the protocol's schemas."),
    "validate": (
        "schema_commands",
        "validate",
        "Validate a JSON message file and print each error as 'path: reason'.",
    ),
    "verify-log": (
        "evidence_commands",
        "verify_log_command",
        "Check a run's event log, summary, scenario and report files against their signed "
        "manifest.",
    ),
}
"""Each command: the module under ``scenarios.cli`` that defines it, its name there, and its
one-line help (a test holds it equal to the command's own)."""


class _LazyGroup(click.Group):
    """A group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"scenarios.cli.{entry[0]}")
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        width = formatter.width or 80
        limit = width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit))
            for name in sorted(COMMANDS)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="bureaunet", prog_name="bureaunet", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Simulate signed, encrypted notice exchange between police bureaus over MQTT."""


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 (one return per outcome)
    """Run the CLI and return its exit code (the console script exits with it)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result = cli.main(args=args, prog_name="bureaunet", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("bureaunet: interrupted", err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        return EXIT_BAD_INPUT
    except click.UsageError as exc:
        hint = "(see 'bureaunet --help')"
        click.echo(f"bureaunet: error: {exc.format_message()} {hint}", err=True)
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        click.echo(f"bureaunet: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    return result if isinstance(result, int) else EXIT_OK
