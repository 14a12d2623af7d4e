"""The ``bureaunet`` command line (click, with rich for output).

Every command reports bad usage or bad input as one line on standard error and exits 2; a
traceback is a bug. :func:`main` runs the click group in non-standalone mode so that usage errors
are formatted here, once, in that one-line form.

Why one long module: one click command per section, each a thin translation of arguments and
errors around a layer's function; the sections are independent and read one at a time.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from cryptography import x509
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from broker import (
    BrokerError,
    BrokerSecurity,
    bureau_password,
    topic_rules,
    write_mosquitto_config,
)
from bureaus.connectors import MQTT_CLIENTS, MqttClient
from bureaus.keystore import KeystoreError, init_pki, load_pki
from protocol import (
    KIND_NAMES,
    DecodeError,
    Roster,
    RosterError,
    SchemaDiffError,
    UnknownKindError,
    __version__,
    decode_as,
    default_roster,
    encode,
    json_schemas,
)
from protocol.messages.codec import DOCUMENT_TYPES
from protocol.network.routing import TOPOLOGIES, Topology
from protocol.schemas.asyncapi import asyncapi_document
from protocol.schemas.diff import (
    MODES,
    RULE_NAMES,
    Change,
    Mode,
    SchemaVersion,
    breaking_under,
    diff_versions,
)
from protocol.schemas.generate import GENERATABLE, generate
from scenarios.launch import run as run_blocking
from scenarios.model import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_duration,
    scenario_json_schema,
)
from scenarios.reports.debrief import DebriefError, write_debrief
from scenarios.reports.evidence import verify_log
from scenarios.reports.metrics import ExpectationResult, check_expectations, summarise
from scenarios.reports.writer import compare_table, write_compare, write_report
from scenarios.runner import ClockKind, RunOptions, RunResult, ScenarioRunError

__all__ = ["CliError", "cli", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
LIBRARY = Path(__file__).parent / "library"

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(click.ClickException):
    """Bad input detected by a command: printed as one line, exit code 2."""

    exit_code = EXIT_BAD_INPUT


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="bureaunet", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Simulate signed, encrypted notice exchange between police bureaus over MQTT."""


@cli.group("schema")
def schema() -> None:
    """Export the protocol's schemas."""


@schema.command("export")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the schemas to (created if missing).",
)
def schema_export(out_dir: Path) -> None:
    """Write the protocol's JSON Schemas, its AsyncAPI document and the scenario file format.

    One JSON Schema per message kind and notice type, the message union, asyncapi.json, and
    scenario.schema.json (the scenario file format, for YAML editors).
    """
    schemas = json_schemas()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, document in schemas.items():
            path = out_dir / f"{name}.schema.json"
            path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
        (out_dir / "asyncapi.json").write_text(
            json.dumps(asyncapi_document(), indent=2) + "\n", "utf-8"
        )
        (out_dir / "scenario.schema.json").write_text(
            json.dumps(scenario_json_schema(), indent=2, sort_keys=True) + "\n", "utf-8"
        )
    except OSError as exc:
        raise CliError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc
    out.print(
        f"wrote {len(schemas)} JSON Schemas, asyncapi.json and scenario.schema.json (the "
        f"scenario file format) to {out_dir}",
        markup=False,
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc


def _version(path: Path) -> SchemaVersion:
    if path.is_file():
        document = _read_json(path)
        if not isinstance(document, dict) or "asyncapi" not in document:
            raise CliError(f"{path} is not an AsyncAPI document (no 'asyncapi' field)")
        return SchemaVersion(str(path), {}, document)
    if not path.is_dir():
        raise CliError(f"{path} is neither a directory of exported schemas nor an AsyncAPI file")
    schemas = {
        p.name.removesuffix(".schema.json"): _read_json(p)
        for p in sorted(path.glob("*.schema.json"))
        if p.name != "scenario.schema.json"  # the scenario file format is not the protocol
    }
    document = path / "asyncapi.json"
    asyncapi = _read_json(document) if document.is_file() else None
    if not schemas and asyncapi is None:
        raise CliError(f"no *.schema.json files and no asyncapi.json in {path}")
    return SchemaVersion(str(path), schemas, asyncapi)


RULES = (*sorted(RULE_NAMES),)


@schema.command("diff")
@click.argument("versions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="bureaunet",
    show_default=True,
    help="Compatibility mode, as schema registries name them: 'backward' (new readers, old "
    "data), 'forward' (old readers, new data), 'full' (both), 'none'; '-transitive' checks each "
    "version against every earlier one. 'bureaunet': the project's own rule.",
)
@click.option(
    "--except",
    "excepted",
    multiple=True,
    metavar="RULE",
    help="Leave out the changes of this rule (repeatable), such as enum-value-added.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="'markdown' for a pull-request comment.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def schema_diff(
    versions: tuple[Path, ...], mode: Mode, excepted: tuple[str, ...], fmt: str, as_json: bool
) -> None:
    """Classify every change between schema versions, oldest first.

    Each VERSION is a directory 'schema export' wrote (its *.schema.json, and its asyncapi.json
    when both sides have one: channels, operations, messages and payloads) or an AsyncAPI
    document. With more than two, each version is checked against the one before it (or, in a
    transitive mode, against every earlier one). Exit 1 when any change breaks the mode, 0
    otherwise, 2 for bad input.
    """
    if len(versions) < 2:
        raise CliError("schema diff needs at least two versions, oldest first")
    unknown = sorted(set(excepted) - set(RULES))
    if unknown:
        raise CliError(f"unknown rule {unknown[0]!r} (one of: {', '.join(RULES)})")
    loaded = [_version(path) for path in versions]
    transitive = mode.endswith("-transitive")
    pairs = [
        (loaded[j], loaded[i])
        for i in range(1, len(loaded))
        for j in (range(i) if transitive else (i - 1,))
    ]
    try:
        rows: list[tuple[SchemaVersion, SchemaVersion, Change, bool]] = [
            (old, new, change, breaking_under(change, mode))
            for old, new in pairs
            for change in diff_versions(old, new)
            if change.rule not in excepted
        ]
    except SchemaDiffError as exc:
        raise CliError(str(exc)) from exc
    breaking = sum(1 for *_, broken in rows if broken)
    summary = f"{breaking} breaking, {len(rows) - breaking} compatible (mode {mode})"
    several = len(pairs) > 1
    if as_json or fmt == "json":
        out.print_json(
            json.dumps(
                {
                    "mode": mode,
                    "breaking": breaking,
                    "compatible": len(rows) - breaking,
                    "changes": [
                        {**c.as_dict(), "breaking": b, "from": o.label, "to": n.label}
                        for o, n, c, b in rows
                    ],
                }
            )
        )
    elif fmt == "markdown":
        out.print(f"**Schema changes: {summary}**\n", markup=False)
        if rows:
            head = "| | " + ("versions | " if several else "") + "schema | path | rule | detail |"
            out.print(head, markup=False)
            out.print("|---" * (head.count("|") - 1) + "|", markup=False)
            for o, n, c, b in rows:
                cells = [
                    "**breaking**" if b else "compatible",
                    *([f"{o.label} → {n.label}"] if several else []),
                    f"`{c.schema}`",
                    f"`{c.path}`",
                    c.rule,
                    c.detail.replace("|", "\\|"),
                ]
                out.print("| " + " | ".join(cells) + " |", markup=False)
    else:
        for o, n, c, b in rows:
            label = "BREAKING  " if b else "compatible"
            where = f"{o.label} -> {n.label}  " if several else ""
            out.print(f"{label}  {where}{c.schema}  {c.path}: {c.rule}: {c.detail}", markup=False)
        out.print(summary, markup=False)
    if breaking:
        sys.exit(EXIT_FAILED)


@cli.command("generate")
@click.argument("kind", metavar="KIND")
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write JSON lines to this file instead of standard output.",
)
def generate_command(kind: str, count: int, seed: int, out_file: Path | None) -> None:
    """Write realistic, synthetic example messages of KIND, one JSON document per line.

    KIND is a message kind (such as diffusion) or a notice (such as red-notice). Everyone in them
    is invented.
    """
    if kind not in GENERATABLE:
        raise CliError(f"unknown kind {kind!r} (one of: {', '.join(GENERATABLE)})")
    rng = random.Random(seed)  # noqa: S311 - example data, not secrets
    lines = [encode(item).decode("utf-8") for item in generate(kind, count, rng)]
    text = "\n".join(lines) + "\n"
    if out_file is None:
        sys.stdout.write(text)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {out_file}: {exc.strerror or exc}") from exc
    err.print(f"wrote {count} {kind} examples to {out_file}", markup=False)


@cli.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "as_kind",
    default="message",
    show_default=True,
    metavar="KIND",
    help="What the file should be: 'message' (any kind, told by its 'kind' field), a message kind "
    "such as 'diffusion', or a notice such as 'red-notice'.",
)
def validate(file: Path, as_kind: str) -> None:
    """Validate a JSON message file and print each error as 'path: reason'.

    Exit 0 when valid, 1 when invalid, 2 when the file cannot be read or the kind is unknown.
    """
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror or exc}") from exc
    parsed = _json_document(file, data)
    if as_kind == "message" and isinstance(parsed, dict) and "kind" not in parsed:
        _validate_unnamed(file, data)
        return
    try:
        decode_as(data, as_kind)
    except UnknownKindError as exc:
        raise CliError(f"unknown kind {as_kind!r} (one of: {', '.join(KIND_NAMES)})") from exc
    except DecodeError as exc:
        _print_issues(file, as_kind, exc)
    out.print(f"{file}: valid {as_kind}", markup=False)


def _json_document(file: Path, data: bytes) -> Any:
    """The file's JSON, or exit 2 with why it is not JSON at all (empty, binary, truncated)."""
    if not data.strip():
        raise CliError(f"{file}: empty: nothing to validate")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CliError(f"{file}: not UTF-8 text (byte {exc.start}): not a JSON document") from exc
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{file}: not a JSON document: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise CliError(f"{file}: nested too deeply to be a JSON document") from exc


def _print_issues(file: Path, kind: str, exc: DecodeError) -> NoReturn:
    for issue in exc.issues:
        out.print(f"{issue.pointer or '/'}: {issue.reason}", markup=False)
    err.print(f"{file}: invalid {kind} ({len(exc.issues)} errors)", markup=False)
    sys.exit(EXIT_FAILED)


def _validate_unnamed(file: Path, data: bytes) -> None:
    """A document without a ``kind``: a notice as the public API serves it, or nothing known."""
    fits = []
    for name in DOCUMENT_TYPES:
        try:
            decode_as(data, name)
        except DecodeError:
            continue
        fits.append(name)
    if fits:
        out.print(
            f"{file}: valid {fits[0]} (recognised: it has no 'kind', so it is not a message; "
            f"pass --as {fits[0]} to check it as one)"
            + (f"; it would also pass as {', '.join(fits[1:])}" if fits[1:] else ""),
            markup=False,
        )
        return
    err.print(
        f"{file}: not a message (no 'kind' field) and no notice type accepts it: a message "
        "needs 'kind'; for a notice, pass --as with its type "
        f"({', '.join(DOCUMENT_TYPES)}) to see what is wrong with it",
        markup=False,
    )
    sys.exit(EXIT_FAILED)


def _roster(spec: str) -> Roster:
    roster = default_roster()
    if spec == "all":
        return roster
    try:
        return roster.subset(part.strip() for part in spec.split(",") if part.strip())
    except RosterError as exc:
        raise CliError(str(exc)) from exc


ROSTER_HELP = "'all' (the bundled roster) or a comma-separated list of bureau ids."


@cli.group("keys")
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
    roster = _roster(roster_spec)
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
    roster = _roster(roster_spec)
    try:
        pki = load_pki(pki_dir, roster, datetime.now(UTC))
    except KeystoreError as exc:
        if len(exc.problems) == 1:
            raise CliError(f"{pki_dir}: {exc}") from exc
        for problem in exc.problems:
            err.print(f"{pki_dir}: {problem}", markup=False)
        raise CliError(f"{pki_dir}: {len(exc.problems)} bureaus have bad keys") from exc
    out.print(f"{pki_dir}: {len(pki.identities)} bureaus, all certificates valid", markup=False)


@cli.group("broker")
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
    roster = _roster(roster_spec)
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


def _scenario_path(value: str) -> Path:
    path = Path(value)
    if path.exists():
        return path
    bundled = LIBRARY / f"{value.removesuffix('.yaml')}.yaml"
    if bundled.exists():
        return bundled
    raise CliError(f"no scenario file {value!r} (bundled: {', '.join(bundled_names())})")


def bundled_names() -> list[str]:
    """The bundled scenarios' names."""
    return sorted(p.stem for p in LIBRARY.glob("*.yaml"))


def _load(value: str) -> Scenario:
    try:
        return load_scenario(_scenario_path(value))
    except ScenarioError as exc:
        raise CliError("\n".join(exc.problems)) from exc


def _run(scenario: Scenario, options: RunOptions, quiet: bool) -> RunResult:
    if quiet:
        return run_blocking(scenario, options)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(scenario.name, total=scenario.duration, info="starting")

        def tick(now: float, end: float, events: int) -> None:
            progress.update(
                task, completed=min(now, end), info=f"t={now:.1f}/{end:g} s, {events} events"
            )

        options.on_tick = tick
        return run_blocking(scenario, options)


def _print_summary(
    summary: dict[str, Any], results: list[ExpectationResult], out_dir: Path
) -> None:
    messages = summary["messages"]
    overall = summary["latency_ms"]["overall"]
    table = Table(
        title=f"{summary['scenario']} on {summary['topology']} "
        f"({summary['bureaus']} bureaus, {summary['broker']['kind']})"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("sent", "delivered", "acknowledged", "duplicates", "lost"):
        table.add_row(key, str(messages[key]))
    table.add_row("rejected", str(sum(messages["rejected"].values())))
    if overall.get("count"):
        table.add_row("latency p50 / p99 (ms)", f"{overall['p50']:.2f} / {overall['p99']:.2f}")
    table.add_row("wall time (s)", f"{summary['wall_s']:.1f}")
    out.print(table)
    for result in results:
        mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
        out.print(f"{mark} {result.name}: {result.detail}", highlight=False)
    out.print(f"report: {out_dir / 'report.html'}", markup=False)
    try:
        written = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
        signer = written["evidence"]["signer_fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    out.print(
        f"evidence: signed by certificate {signer}; keep this fingerprint to check the run "
        f"later (bureaunet verify-log {out_dir} --fingerprint {signer})",
        markup=False,
    )


if TYPE_CHECKING:  # click's ParamType is generic only in its newer releases
    _FloatParam = click.ParamType[float]
else:
    _FloatParam = click.ParamType


class _Duration(_FloatParam):
    """Scenario time on the command line: ``90``, ``2h``, ``1d 12h``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            seconds = float(parse_duration(value))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"{value!r} is not a positive duration", param, ctx)
        return seconds


_DURATION = _Duration()


PKI_OPTION = click.option(
    "--pki",
    "pki_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run with the PKI 'bureaunet keys init' wrote (default: a throwaway one), so that a "
    "secured broker configured from it ('bureaunet broker config --pki') takes the bureaus.",
)


def _run_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options ``run`` and ``exercise`` share: broker, topology, seed, duration, report."""
    for option in reversed(
        [
            click.option(
                "--broker",
                default="embedded",
                show_default=True,
                help="'embedded' (Mosquitto if installed, else amqtt), 'embedded:mosquitto', "
                "'embedded:amqtt', 'embedded:nats' (a three-node NATS cluster), 'embedded:nats-r1' "
                "(the same with each subscription's queue on one node: faster), mqtt://host:port, "
                "or several URLs separated by commas (the nodes of one clustered broker).",
            ),
            click.option(
                "--transport",
                type=click.Choice(MQTT_CLIENTS),
                default="gmqtt",
                show_default=True,
                help="The MQTT client bureaus speak through on a real broker: 'gmqtt' (about a "
                "fifth of aiomqtt's CPU per message) or 'aiomqtt'.",
            ),
            click.option(
                "--topology",
                type=click.Choice(TOPOLOGIES),
                default=None,
                help="Override the scenario's topology.",
            ),
            click.option("--seed", type=int, default=None, help="Override the scenario's seed."),
            click.option(
                "--duration",
                type=_DURATION,
                default=None,
                help="Override the scenario's duration (seconds, or like 2h, 1d 12h), for a "
                "shortened run.",
            ),
            click.option(
                "--out",
                "out_dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="Report directory (default: reports/<scenario>).",
            ),
            PKI_OPTION,
        ]
    ):
        command = option(command)
    return command


@cli.command("run")
@click.argument("scenario_file", metavar="SCENARIO")
@_run_options
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option(
    "--clock",
    type=click.Choice(["wall", "virtual"]),
    default="wall",
    show_default=True,
    help="'wall': live, on a real broker. 'virtual': a simulation on the in-memory broker and a "
    "discrete-event clock with modelled service times: the same seed gives the same "
    "summary.json and events.jsonl on any host.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Split the bureaus over this many worker processes (each its own event loop).",
)
def run(
    scenario_file: str,
    broker: str,
    transport: MqttClient,
    topology: Topology | None,
    seed: int | None,
    duration: float | None,
    out_dir: Path | None,
    pki_dir: Path | None,
    quiet: bool,
    clock: ClockKind,
    workers: int,
) -> None:
    """Run a scenario (a file, or a bundled one by name) and write its report.

    Exit 0 when every expectation passed, 1 when any failed, 2 for bad input.
    """
    scenario = _load(scenario_file)
    out_dir = out_dir or Path("reports") / scenario.name
    try:
        options = RunOptions(
            broker=broker,
            transport=transport,
            topology=topology,
            seed=seed,
            duration=duration,
            workers=workers,
            pki=pki_dir,
            clock=clock,
        )
        result = _run(scenario, options, quiet or workers > 1)
    except (ScenarioRunError, BrokerError) as exc:
        raise CliError(str(exc)) from exc
    _report(result, out_dir)


def _report(result: RunResult, out_dir: Path) -> None:
    """Write the report, print the summary, exit 1 when an expectation failed."""
    summary = summarise(result)
    results = check_expectations(result)
    try:
        write_report(result, summary, results, out_dir)
    except OSError as exc:
        raise CliError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from exc
    _print_summary(summary, results, out_dir)
    if not all(r.passed for r in results):
        sys.exit(EXIT_FAILED)


@cli.command("exercise")
@click.argument("scenario_file", metavar="SCENARIO")
@_run_options
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Start at this clock speed (scenario seconds per real second) instead of the file's.",
)
def exercise(
    scenario_file: str,
    broker: str,
    transport: MqttClient,
    topology: Topology | None,
    seed: int | None,
    duration: float | None,
    out_dir: Path | None,
    pki_dir: Path | None,
    speed: float | None,
) -> None:
    """Run a scenario as a live exercise, steered from a terminal dashboard.

    Keys: space pause/resume, +/- clock speed, 1-9 fire a prepared inject from the deck,
    b bookmark, a answer for a played bureau, q end. The report is written when the exercise
    ends; then `bureaunet debrief` makes the handout. Exit codes as for `run`.
    """
    from scenarios.exercise.dashboard import ExerciseApp  # noqa: PLC0415 - Textual loads only when used

    scenario = _load(scenario_file)
    if speed is not None:
        scenario = scenario.model_copy(update={"speed": speed})
    out_dir = out_dir or Path("reports") / scenario.name
    options = RunOptions(
        broker=broker,
        transport=transport,
        topology=topology,
        seed=seed,
        duration=duration,
        pki=pki_dir,
    )
    app = ExerciseApp(scenario, options)
    result = app.run()
    if app.failure is not None:
        raise CliError(app.failure)
    if result is None:
        raise CliError("the exercise ended before it started")
    _report(result, out_dir)
    out.print(f"debrief: bureaunet debrief {out_dir}", markup=False)


ROOT_OPTION = click.option(
    "--root",
    "root_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The GS root certificate that must have signed (root.crt.pem of the run's PKI).",
)
FINGERPRINT_OPTION = click.option(
    "--fingerprint",
    help="The SHA-256 fingerprint of that certificate instead (default: the report's).",
)


def _expected_root(root_file: Path | None) -> x509.Certificate | None:
    if root_file is None:
        return None
    try:
        return x509.load_pem_x509_certificate(root_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise CliError(f"--root {root_file}: not a readable PEM certificate ({exc})") from exc


@cli.command("verify-log")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@ROOT_OPTION
@FINGERPRINT_OPTION
def verify_log_command(run_dir: Path, root_file: Path | None, fingerprint: str | None) -> None:
    """Check a run's event log, summary and scenario against their signed manifest.

    The signer is checked against --root or --fingerprint when given, else against the
    fingerprint the report recorded. Exit 0 when intact, 1 when altered, re-signed or unsigned
    (naming the first altered line or file), 2 when the directory holds no run.
    """
    root = _expected_root(root_file)
    try:
        verdict = verify_log(run_dir, root=root, fingerprint=fingerprint)
    except OSError as exc:
        raise CliError(f"cannot check {run_dir}: {exc}") from exc
    if verdict.ok:
        out.print(
            f"{run_dir}: {verdict.lines} lines, summary.json and scenario.json intact, signed "
            f"by certificate {verdict.fingerprint} (checked against {verdict.expected})",
            markup=False,
        )
        return
    where = f"events.jsonl: line {verdict.first_bad_line}: " if verdict.first_bad_line else ""
    out.print(f"{run_dir}: {where}{verdict.reason}", markup=False)
    sys.exit(EXIT_FAILED)


@cli.command("debrief")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--pdf/--no-pdf",
    default=None,
    help="Also print to debrief.pdf (default: when Chromium is installed).",
)
@ROOT_OPTION
@FINGERPRINT_OPTION
def debrief_command(
    run_dir: Path, pdf: bool | None, root_file: Path | None, fingerprint: str | None
) -> None:
    """Write a printable debrief (debrief.html, and debrief.pdf) of a run's report directory.

    Exit 0 when written from intact, signed evidence; 1 when the log or the summary was
    altered, re-signed or is unsigned (the debrief says so); 2 when the directory cannot be read.
    """
    root = _expected_root(root_file)
    try:
        files = write_debrief(run_dir, pdf=pdf, root=root, fingerprint=fingerprint)
    except DebriefError as exc:
        raise CliError(str(exc)) from exc
    out.print(f"debrief: {files.html}", markup=False)
    if files.pdf is not None:
        out.print(f"debrief: {files.pdf}", markup=False)
    if not files.verdict.ok:
        err.print(f"warning: the evidence does not verify: {files.verdict.reason}", markup=False)
        sys.exit(EXIT_FAILED)


@cli.command("compare")
@click.argument("scenario_file", metavar="SCENARIO")
@click.option(
    "--topology",
    "topologies",
    default=",".join(TOPOLOGIES),
    show_default=True,
    help="Comma-separated topologies to compare.",
)
@click.option(
    "--broker",
    default="embedded",
    show_default=True,
    help="The broker of a live comparison (--clock wall).",
)
@click.option("--seed", type=int, default=None)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@PKI_OPTION
@click.option("--quiet", is_flag=True)
@click.option(
    "--clock",
    type=click.Choice(["virtual", "wall"]),
    default="virtual",
    show_default=True,
    help="'virtual': simulated, so the figures are the topology's, the same on every run and "
    "host. 'wall': live on a real broker, where the host's CPU shows in the figures too.",
)
def compare(
    scenario_file: str,
    topologies: str,
    broker: str,
    seed: int | None,
    out_dir: Path | None,
    pki_dir: Path | None,
    quiet: bool,
    clock: ClockKind,
) -> None:
    """Run one scenario on several topologies with the same seed, side by side."""
    scenario = _load(scenario_file)
    names = [t.strip() for t in topologies.split(",") if t.strip()]
    bad = [t for t in names if t not in TOPOLOGIES]
    if bad or not names:
        raise CliError(f"unknown topology {', '.join(bad) or '(none)'}; one of {TOPOLOGIES}")
    out_dir = out_dir or Path("reports") / f"{scenario.name}-compare"
    rows = []
    for name in names:
        topology: Topology = name  # type: ignore[assignment]
        try:
            options = RunOptions(
                broker=broker, topology=topology, seed=seed, pki=pki_dir, clock=clock
            )
            result = _run(scenario, options, quiet)
        except (ScenarioRunError, BrokerError) as exc:
            raise CliError(str(exc)) from exc
        summary = summarise(result)
        results = check_expectations(result)
        write_report(result, summary, results, out_dir / name)
        overall = summary["latency_ms"]["overall"]
        rows.append(
            {
                "topology": name,
                "delivered": summary["messages"]["delivered"],
                "lost": summary["messages"]["lost"],
                "p50_ms": overall.get("p50", 0.0),
                "p99_ms": overall.get("p99", 0.0),
                **summary["routes"],
                "passed": all(r.passed for r in results),
            }
        )
    write_compare(rows, out_dir, scenario.name)
    table = Table(title=f"{scenario.name}: topologies compared")
    head, body = compare_table(rows)
    for column in head:
        table.add_column(column)
    for row in body:
        table.add_row(*row)
    out.print(table)
    out.print(f"report: {out_dir / 'compare.html'}", markup=False)


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 (one return per outcome)
    """Run the CLI and return its exit code (the console script exits with it)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result = cli.main(args=args, prog_name="bureaunet", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        err.print("bureaunet: interrupted")
        return 130
    except click.exceptions.NoArgsIsHelpError as exc:
        out.print(exc.ctx.get_help() if exc.ctx else "", markup=False)
        return EXIT_BAD_INPUT
    except click.UsageError as exc:
        hint = "(see 'bureaunet --help')"
        err.print(f"bureaunet: error: {exc.format_message()} {hint}", markup=False)
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        err.print(f"bureaunet: error: {exc.format_message()}", markup=False)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
