"""The AsyncAPI document describes the wire as it is, and code generated from it works.

Before: inbox and broadcast payloads were declared JSON while the wire carries the binary
envelope; the Last Will lacked ``bureau``; no bureau was said to read ``broadcast/all``, and
regional broadcast and presence watching described subscriptions no bureau makes; Modelina's
TypeScript did not compile and its Python models raised, because pydantic titles every tag
"Kind" and every status "Status".
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
from pathlib import Path
from typing import Any

from protocol import MESSAGE_KINDS, encode
from protocol.network import topics
from protocol.schemas.asyncapi import ENVELOPE_TYPE, asyncapi_document
from protocol.schemas.generate import generate
from scenarios.cli import main
from tests.node_tools import JS, require_node_tools, run_node


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_what_a_bureau_reads_is_what_the_document_says_it_receives() -> None:
    document = asyncapi_document()
    received = set()
    for operation in document["operations"].values():
        if operation["action"] == "receive":
            address = resolve(document, operation["channel"]["$ref"])["address"]
            received.add(address.replace("{bureau_id}", "FR"))
    assert received == {topic for topic, _qos in topics.subscriptions("FR")}


def test_sealed_messages_are_binary_envelopes_that_name_what_is_inside() -> None:
    document = asyncapi_document()
    envelope = document["components"]["schemas"]["Envelope"]
    assert envelope["format"] == "binary"
    assert "signature:64" in envelope["description"]
    for kind, model in MESSAGE_KINDS.items():
        message = document["components"]["messages"][model.__name__]
        assert message["name"] == kind
        assert message["contentType"] == ENVELOPE_TYPE
        opened = resolve(document, message["x-bureaunet-opened"]["$ref"])
        assert opened["properties"]["kind"]["const"] == kind
        assert "kind" in opened["required"]


def test_the_last_will_is_what_a_bureau_leaves() -> None:
    document = asyncapi_document()
    will = document["servers"]["embedded"]["bindings"]["mqtt"]["lastWill"]
    sent = json.loads(topics.presence_payload("FR", "death"))
    assert json.loads(will["message"].replace("{bureau_id}", "FR")) == sent
    payload = document["components"]["messages"]["PresenceStatus"]["payload"]
    assert set(payload["required"]) == set(sent)


def test_models_generated_by_modelina_compile_and_construct(tmp_path: Path) -> None:
    require_node_tools()
    assert main(["schema", "export", "--out", str(tmp_path / "schemas")]) == 0
    names = run_node(
        "modelina-models.mjs", str(tmp_path / "schemas" / "asyncapi.json"), str(tmp_path / "out")
    )
    assert not [n for n in names["typescript"] if n.startswith("AnonymousSchema")]
    tsc = JS / "node_modules" / ".bin" / "tsc"
    for part in ("wire", "opened"):
        folder = tmp_path / "out" / "ts" / part
        files = sorted(str(p.name) for p in folder.glob("*.ts"))
        assert files
        compiled = subprocess.run(
            [str(tsc), "--noEmit", "--strict", "--target", "es2020", "--module", "es2020",
             "--moduleResolution", "node", *files],
            cwd=folder, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert compiled.returncode == 0, compiled.stdout[-3000:]
    spec = importlib.util.spec_from_file_location(
        "modelina_models", tmp_path / "out/python/models.py"
    )
    assert spec is not None
    assert spec.loader is not None
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    for kind, model in MESSAGE_KINDS.items():
        generated_class = getattr(models, model.__name__)
        for example in generate(kind, 20, random.Random(11)):
            built = generated_class(json.loads(encode(example)))
            assert built.kind == kind
