"""Start-up of the command line: each command imports only what it needs.

Run: python bench/cli_startup.py [--repeat 7]

Wall time of a fresh interpreter running ``bureaunet --version``, ``bureaunet --help`` and
``bureaunet validate FILE`` (a valid diffusion), each the median of ``--repeat`` runs, against
the baselines measured in the same run: a bare interpreter importing click (for --version and
--help) and a bare interpreter importing ``protocol`` (for validate). Then ``python -X
importtime``'s top lines for validate.

Goals (issue: performance): --version and --help within 2x their baseline, validate within 2x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bureaus.samples import sample_messages
from protocol import encode

CLI = "from scenarios.cli import main; raise SystemExit(main({argv!r}))"


def wall(code: str, repeat: int) -> float:
    """Median seconds for a fresh interpreter to run ``code``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        message = Path(tmp) / "diffusion.json"
        message.write_bytes(encode(sample_messages()["diffusion"]))
        click_s = wall("import click", args.repeat)
        protocol_s = wall("import protocol", args.repeat)
        rows = [
            ("--version", wall(CLI.format(argv=["--version"]), args.repeat), click_s, "click"),
            ("--help", wall(CLI.format(argv=["--help"]), args.repeat), click_s, "click"),
            (
                "validate FILE",
                wall(CLI.format(argv=["validate", str(message)]), args.repeat),
                protocol_s,
                "protocol",
            ),
        ]
        for command, seconds, base, name in rows:
            print(
                json.dumps(
                    {
                        "bench": "cli_startup",
                        "command": command,
                        "seconds": round(seconds, 3),
                        "baseline": f"import {name}",
                        "baseline_seconds": round(base, 3),
                        "ratio": round(seconds / base, 2),
                    }
                )
            )
        print()
        for command, seconds, base, name in rows:
            print(
                f"bureaunet {command:14} {seconds * 1000:6.0f} ms   python -c 'import {name}' "
                f"{base * 1000:5.0f} ms   ratio {seconds / base:.2f} (goal <= 2)"
            )
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", CLI.format(argv=["validate", str(message)])],
            capture_output=True,
            text=True,
            check=False,
        )
    lines = [
        line
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.split("|")[1].strip().isdigit()
    ]
    lines.sort(key=lambda line: int(line.split("|")[1]), reverse=True)
    print("\npython -X importtime, validate, by cumulative microseconds:")
    for line in lines[:12]:
        print(" ", line.removeprefix("import time:").strip())


if __name__ == "__main__":
    main()
