"""``schema export``, ``schema diff``, ``generate`` and ``validate``: for schema engineers.

They import the protocol alone (no broker, bureau or report code): ``validate`` starts fast.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import click

from protocol import (
    KIND_NAMES,
    DecodeError,
    SchemaDiffError,
    decode_as,
    encode,
    json_schemas,
)
from protocol.messages.recognise import recognise
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
from scenarios.cli.base import EXIT_FAILED, CliError
from scenarios.cli.common import ROSTER_HELP, err, out, roster_of


@click.group("schema")
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
@click.option(
    "--roster",
    "roster_spec",
    default="all",
    show_default=True,
    help="Whose bureau ids the schemas list: " + ROSTER_HELP,
)
def schema_export(out_dir: Path, roster_spec: str) -> None:
    """Write the protocol's JSON Schemas, its AsyncAPI document and the scenario file format.

    One JSON Schema per message kind and notice type, the message union, asyncapi.json, and
    scenario.schema.json (the scenario file format, for YAML editors). Bureau ids are listed as
    the roster has them (``--roster`` for a deployment's own).
    """
    roster = roster_of(roster_spec)
    schemas = json_schemas(roster)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, document in schemas.items():
            path = out_dir / f"{name}.schema.json"
            path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
        (out_dir / "asyncapi.json").write_text(
            json.dumps(asyncapi_document(roster), indent=2) + "\n", "utf-8"
        )
        (out_dir / "scenario.schema.json").write_text(
            json.dumps(_scenario_schema(), indent=2, sort_keys=True) + "\n", "utf-8"
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
    rows, several = _diff_rows(versions, mode, excepted)
    breaking = sum(1 for *_, broken in rows if broken)
    summary = f"{breaking} breaking, {len(rows) - breaking} compatible (mode {mode})"
    if as_json or fmt == "json":
        _diff_json(rows, mode, breaking)
    elif fmt == "markdown":
        _diff_markdown(rows, summary, several)
    else:
        _diff_text(rows, summary, several)
    if breaking:
        sys.exit(EXIT_FAILED)


_Row = tuple[SchemaVersion, SchemaVersion, Change, bool]


def _diff_rows(
    versions: tuple[Path, ...], mode: Mode, excepted: tuple[str, ...]
) -> tuple[list[_Row], bool]:
    """Every change between the versions, with whether it breaks ``mode``; several pairs?"""
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
        rows = [
            (old, new, change, breaking_under(change, mode))
            for old, new in pairs
            for change in diff_versions(old, new)
            if change.rule not in excepted
        ]
    except SchemaDiffError as exc:
        raise CliError(str(exc)) from exc
    return rows, len(pairs) > 1


def _diff_json(rows: list[_Row], mode: str, breaking: int) -> None:
    changes = [
        {**c.as_dict(), "breaking": b, "from": o.label, "to": n.label} for o, n, c, b in rows
    ]
    document = {
        "mode": mode,
        "breaking": breaking,
        "compatible": len(rows) - breaking,
        "changes": changes,
    }
    out.print_json(json.dumps(document))


def _diff_markdown(rows: list[_Row], summary: str, several: bool) -> None:
    out.print(f"**Schema changes: {summary}**\n", markup=False)
    if not rows:
        return
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


def _diff_text(rows: list[_Row], summary: str, several: bool) -> None:
    for o, n, c, b in rows:
        label = "BREAKING  " if b else "compatible"
        where = f"{o.label} -> {n.label}  " if several else ""
        out.print(f"{label}  {where}{c.schema}  {c.path}: {c.rule}: {c.detail}", markup=False)
    out.print(summary, markup=False)


@click.command("generate")
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


@click.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "as_kind",
    default=None,
    metavar="KIND",
    help="What the file should be: 'message' (any kind, told by its 'kind' field), a message "
    "kind such as 'diffusion', a notice such as 'red-notice', or a page such as 'red-notices'. "
    "Without it, each document is recognised by what it has.",
)
def validate(file: Path, as_kind: str | None) -> None:
    """Validate a JSON message file and print each error as 'path: reason'.

    A ``.jsonl`` file (what ``generate`` writes) is read line by line, each error as
    'file:line: path: reason'; a ``.yaml`` or ``.yml`` file is checked as a scenario (as
    ``bureaunet check`` does). Exit 0 when valid, 1 when invalid, 2 when the file cannot be
    read or the kind is unknown.
    """
    if as_kind is not None and as_kind not in KIND_NAMES:
        raise CliError(f"unknown kind {as_kind!r} (one of: {', '.join(KIND_NAMES)})")
    if file.suffix.lower() in (".yaml", ".yml"):
        _check_scenario(file)
        return
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror or exc}") from exc
    if file.suffix.lower() == ".jsonl":
        _validate_lines(file, data, as_kind)
        return
    verdict = _validate_one(str(file), data, as_kind)
    if verdict is None:
        sys.exit(EXIT_FAILED)
    out.print(f"{file}: valid {verdict}", markup=False)


def _validate_one(where: str, data: bytes, as_kind: str | None) -> str | None:
    """Validate one document; print its problems (each ``path: reason``, after ``where``).

    Returns what it is valid as (and why it was taken for that), or ``None`` when invalid.
    """
    parsed = _json_document(where, data)
    kind = as_kind
    because = ""
    if kind is None:
        recognised = recognise(parsed)
        if recognised.kind is None:
            err.print(
                f"{where}: not recognised: {recognised.because}; pass --as with what it should "
                f"be ({', '.join(KIND_NAMES)})",
                markup=False,
            )
            return None
        kind, because = recognised.kind, f" (recognised: {recognised.because})"
    try:
        decode_as(data, kind)
    except DecodeError as exc:
        prefix = f"{where}: " if where.count(":") else ""
        for issue in exc.issues:
            out.print(f"{prefix}{issue.pointer or '/'}: {issue.reason}", markup=False)
        err.print(f"{where}: invalid {kind}{because} ({len(exc.issues)} errors)", markup=False)
        return None
    return kind + because


def _validate_lines(file: Path, data: bytes, as_kind: str | None) -> None:
    """Each non-empty line a document; a summary; exit 1 if any is invalid."""
    valid = invalid = 0
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            verdict = _validate_one(f"{file}:{number}", line, as_kind)
        except CliError as exc:  # a line that is not JSON: said, and counted, and on we go
            err.print(str(exc), markup=False)
            verdict = None
        if verdict is None:
            invalid += 1
        else:
            valid += 1
    if valid + invalid == 0:
        raise CliError(f"{file}: empty: nothing to validate")
    out.print(f"{file}: {valid} valid, {invalid} invalid", markup=False)
    if invalid:
        sys.exit(EXIT_FAILED)


def _json_document(where: str, data: bytes) -> Any:
    """The document's JSON, or exit 2 with why it is not JSON at all (empty, binary, truncated)."""
    if not data.strip():
        raise CliError(f"{where}: empty: nothing to validate")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CliError(f"{where}: not UTF-8 text (byte {exc.start}): not a JSON document") from exc
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{where}: not a JSON document: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise CliError(f"{where}: nested too deeply to be a JSON document") from exc


@click.command("check")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
def check_command(scenario: Path) -> None:
    """Check a scenario file fully, roster references included, without running it.

    Every problem is printed as 'file:line: field: reason'. Exit 0 when the scenario would run,
    1 when it would not, 2 when the file cannot be read.
    """
    _check_scenario(scenario)


def _check_scenario(path: Path) -> None:
    from scenarios.model import ScenarioError, load_scenario  # noqa: PLC0415 - keeps validate fast

    if not path.is_file():
        raise CliError(f"cannot read {path}: no such file")
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        for problem in exc.problems:
            out.print(problem, markup=False)
        err.print(f"{path}: not a valid scenario ({len(exc.problems)} problems)", markup=False)
        sys.exit(EXIT_FAILED)
    out.print(
        f"{path}: valid scenario {scenario.name!r}: {len(scenario.injects)} injects, "
        f"{len(scenario.faults)} faults, {len(scenario.expect)} expectations",
        markup=False,
    )


def _scenario_schema() -> dict[str, Any]:
    """The scenario file's JSON Schema (imported here: the other commands do not need it)."""
    from scenarios.model import scenario_json_schema  # noqa: PLC0415 - keeps validate fast

    return scenario_json_schema()
