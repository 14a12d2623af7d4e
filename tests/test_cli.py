"""The command line: help, version, one-line errors with exit code 2, validate, schema export."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from bureaus.samples import sample_messages
from protocol import KIND_NAMES, __version__, encode
from scenarios.cli import COMMANDS, LIBRARY, cli, main
from scenarios.model.yaml_reading import LOADER

DATA = Path(__file__).parent / "data"
RED = DATA / "red_notice_public_api.json"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"bureaunet {__version__}"


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.output
    assert "schema" in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_root_help_of_each_command_is_its_own(name: str) -> None:
    with click.Context(cli) as ctx:
        command = cli.get_command(ctx, name)
    assert command is not None
    assert command.name == name
    assert command.get_short_help_str(limit=1_000) == COMMANDS[name][2]


def _imported_by(argv: list[str]) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running ``argv``."""
    probe = (
        "import sys\n"
        "from scenarios.cli import main\n"
        f"main({argv!r})\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120
    )
    return set(done.stdout.split("\n")[-2].split())


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_none_of_the_layers(argv: list[str]) -> None:
    loaded = _imported_by(argv)
    assert "click" in loaded
    assert loaded & {"protocol", "bureaus", "broker", "pydantic", "rich", "matplotlib"} == set()


def test_validate_imports_the_protocol_and_not_the_networked_layers(tmp_path: Path) -> None:
    message = tmp_path / "m.json"
    message.write_bytes(encode(sample_messages()["diffusion"]))
    loaded = _imported_by(["validate", str(message)])
    assert "protocol" in loaded
    assert loaded & {"bureaus", "broker", "matplotlib", "textual", "jinja2", "aiomqtt"} == set()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["no-such-command"], "No such command"),
        (["validate"], "Missing argument"),
        (["validate", "--as"], "requires an argument"),
        (["schema", "export"], "Missing option '--out'"),
        (["--bogus"], "No such option"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(argv, capsys)
    assert code == 2
    assert expected in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_console_script_never_prints_a_traceback(tmp_path: Path) -> None:
    exe = shutil.which("bureaunet")
    argv = [exe] if exe else [sys.executable, "-m", "scenarios.cli"]
    proc = subprocess.run(
        [*argv, "validate", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("bureaunet: error: cannot read")
    assert "Traceback" not in proc.stderr


def test_validate_public_red_notice(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(["validate", "--as", "red-notice", str(RED)], capsys)
    assert code == 0, out
    assert "valid red-notice" in out


def test_validate_bad_nationality_names_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(RED.read_text(encoding="utf-8"))
    document["nationalities"] = ["XX"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    code, out, _err = run(["validate", "--as", "red-notice", str(bad)], capsys)
    assert code == 1
    assert out.splitlines() == ["/nationalities/0: unknown ISO 3166-1 alpha-2 code 'XX'"]


def test_validate_reports_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(RED.read_text(encoding="utf-8"))
    document["arrest_warrants"][1]["issuing_country_id"] = "ZZ"
    document["sex_id"] = "X"
    document["unexpected"] = 1
    del document["name"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    code, out, _err = run(["validate", "--as", "red-notice", str(bad)], capsys)
    assert code == 1
    lines = out.splitlines()
    assert "/arrest_warrants/1/issuing_country_id: unknown ISO 3166-1 alpha-2 code 'ZZ'" in lines
    assert "/name: Field required" in lines
    assert "/unexpected: Extra inputs are not permitted" in lines
    assert any(line.startswith("/sex_id: Input should be 'M', 'F' or 'U'") for line in lines)


def test_validate_a_message_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = sample_messages()["presence"]
    good = tmp_path / "m.json"
    good.write_bytes(encode(message))
    code, out, _ = run(["validate", str(good)], capsys)
    assert code == 0, out
    code, out, _ = run(["validate", "--as", "diffusion", str(good)], capsys)
    assert code == 1
    assert "/kind: Input should be 'diffusion' (got 'presence')" in out.splitlines()


@pytest.mark.parametrize("content", [b"[]", b"null", b'"text"'])
def test_validate_json_that_is_no_message_exits_1(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    code, _out, err = run(["validate", str(path)], capsys)
    assert code == 1
    assert "not recognised: a JSON " in err  # a list, None or a text: no document at all


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"{", "not a JSON document: Expecting property name"),
        (b'{"kind": "diffusion", "sen', "not a JSON document: Unterminated string"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
    ],
)
def test_validate_a_file_that_is_not_json_at_all_is_unreadable_exit_2(
    content: bytes, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    code, _out, err = run(["validate", str(path)], capsys)
    assert code == 2
    assert err.startswith(f"bureaunet: error: {path}: {reason}")


def test_validate_recognises_a_notice_given_without_as(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _err = run(["validate", str(RED)], capsys)
    assert code == 0
    assert "valid red-notice (recognised: it has 'arrest_warrants'" in out


def test_validate_says_to_pass_as_for_a_document_without_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"name": 3, "forename": "JEAN"}', encoding="utf-8")
    code, _out, err = run(["validate", str(path)], capsys)
    assert code == 1
    assert "no 'kind'" in err
    assert "pass --as" in err
    assert "discriminator" not in err


def test_validate_unknown_kind_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(["validate", "--as", "pink-notice", str(RED)], capsys)
    assert code == 2
    assert "unknown kind 'pink-notice'" in err


def test_validate_unreadable_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(["validate", str(tmp_path)], capsys)
    assert code == 2
    assert err.startswith("bureaunet: error:")


def test_schema_export_writes_valid_schemas(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema", "export", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "s").glob("*.schema.json"))
    assert {f.name.removesuffix(".schema.json") for f in files} == {*KIND_NAMES, "scenario"}
    union = json.loads((tmp_path / "s" / "message.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(union)
    validator = jsonschema.Draft202012Validator(union)
    # the exported schema accepts what the models write, and rejects a wrong kind
    for message in sample_messages().values():
        document = json.loads(encode(message))
        validator.validate(document)
        document["kind"] = "pink-notice"
        assert not validator.is_valid(document)
    red = json.loads((tmp_path / "s" / "red-notice.schema.json").read_text(encoding="utf-8"))
    public = json.loads(RED.read_text(encoding="utf-8"))
    public = {k: v for k, v in public.items() if not k.startswith("_")}
    jsonschema.Draft202012Validator(red).validate(public)


def test_schema_export_to_unwritable_place_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _out, err = run(["schema", "export", "--out", str(blocker / "sub")], capsys)
    assert code == 2
    assert err.startswith("bureaunet: error: cannot write")


def test_the_exported_scenario_schema_accepts_every_bundled_scenario(tmp_path: Path) -> None:
    assert main(["schema", "export", "--out", str(tmp_path / "s")]) == 0
    schema = json.loads((tmp_path / "s" / "scenario.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(LIBRARY.glob("*.yaml")):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)
        assert list(validator.iter_errors(document)) == [], path.name
    assert not validator.is_valid({"name": "x", "duration": "soon"})  # an editor flags it too
    assert not validator.is_valid({"name": "x", "injects": [{"at": 1, "teleport": {}}]})


def test_exercise_without_a_terminal_says_so_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["exercise", "missing-child"], capsys)  # pytest's streams: no TTY
    assert code == 2
    assert "needs an interactive terminal" in err
    assert "bureaunet run" in err
    assert out == ""


@pytest.mark.parametrize("name", ["exercise", "compare", "run"])
def test_every_option_of_the_scenario_commands_has_help(name: str) -> None:
    with click.Context(cli) as ctx:
        command = cli.get_command(ctx, name)
    assert command is not None
    bare = [
        p.name for p in command.params if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert bare == []


@pytest.mark.parametrize(
    ("pace", "speed"), [("2m/h", 30.0), ("10m/d", 144.0), ("30s/h", 120.0), ("1h/1h", 1.0)]
)
def test_a_pace_is_real_time_per_scenario_time(pace: str, speed: float) -> None:
    from scenarios.cli.run_commands import PACE as _PACE  # noqa: PLC0415 - the parameter type under test

    assert _PACE.convert(pace, None, None) == pytest.approx(speed)


@pytest.mark.parametrize("pace", ["fast", "2m", "0m/h", "2m/"])
def test_a_pace_that_is_not_one_is_bad_input(pace: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(["exercise", "missing-child", "--pace", pace], capsys)
    assert code == 2
    assert "is not a pace" in err
