"""The outside judges written in JavaScript (``tools/js``: Ajv, Modelina, TypeScript).

``.ci/run`` installs them (``npm ci --prefix tools/js``); elsewhere their tests are skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent.parent / "tools" / "js"


def require_node_tools() -> str:
    """The ``node`` binary, or skip the test when node or the judges are not installed."""
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "ajv").is_dir():
        pytest.skip("node and tools/js are not installed (.ci/run installs them)")
    return node


def run_node(script: str, *args: str, timeout: float = 600) -> Any:
    """Run one of ``tools/js``'s scripts and return the JSON it printed."""
    node = require_node_tools()
    proc = subprocess.run(
        [node, str(JS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=JS,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
