"""``bureaunet validate`` of a 10,000-entry page of a list, beside two outside validators.

Run: python bench/validate_page.py [--entries 10000] [--repeat 5]

Writes one page of the public API's red list (``red-notices``) with ``--entries`` synthetic
entries (invented names, real country codes, partial dates), exports the schemas, and times, each
the median of ``--repeat`` fresh processes on the same file:

* ``bureaunet validate --as red-notices`` (the product);
* ``ajv validate`` (ajv-cli, JSON Schema 2020-12, with ajv-formats) on the exported schema;
* ``check-jsonschema`` (python-jsonschema underneath) on the exported schema;

and, in this process, :func:`protocol.decode_as` alone (no interpreter start). Each outside
tool's time is printed with its ratio to bureaunet's. A tool that is not installed is said and
skipped (``npm ci --prefix tools/js``; ``pip install check-jsonschema``).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol import decode_as, json_schemas
from protocol.messages.iso3166 import ALPHA2

ROOT = Path(__file__).resolve().parent.parent

NAMES = ["DUPONT", "MUELLER", "ROSSI", "GARCIA", "NOWAK", "SILVA", "KOWALSKI", "IVANOV"]
FORENAMES = ["JEAN", "ANNA", "MARCO", "LUCIA", "PIOTR", "SOFIA", None]


def page(entries: int, rng: random.Random) -> dict[str, object]:
    """A page of the red list as the public API serves it, with ``entries`` entries."""
    countries = sorted(ALPHA2)
    notices = []
    for n in range(entries):
        entity = f"{rng.randint(1990, 2026)}/{n + 1}"
        notices.append(
            {
                "forename": rng.choice(FORENAMES),
                "date_of_birth": f"{rng.randint(1940, 2005)}/{rng.randint(1, 12):02d}",
                "entity_id": entity,
                "nationalities": rng.sample(countries, rng.randint(1, 2)),
                "name": rng.choice(NAMES),
                "_links": {
                    "self": {
                        "href": "https://ws-public.interpol.int/notices/v1/red/"
                        + entity.replace("/", "-")
                    }
                },
            }
        )
    return {
        "total": entries,
        "query": {"page": 1, "resultPerPage": entries},
        "_embedded": {"notices": notices},
        "_links": {"self": {"href": "https://ws-public.interpol.int/notices/v1/red?page=1"}},
    }


def median_wall(command: list[str], repeat: int) -> tuple[float, int]:
    """Median seconds of ``repeat`` runs of ``command``, and its exit code."""
    times, code = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
        code = done.returncode
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        document = work / "page.json"
        document.write_text(json.dumps(page(args.entries, random.Random(1))), encoding="utf-8")
        schema = work / "red-notices.schema.json"
        schema.write_text(json.dumps(json_schemas()["red-notices"]), encoding="utf-8")
        data = document.read_bytes()
        start = time.perf_counter()
        decode_as(data, "red-notices")
        in_process = time.perf_counter() - start
        ours, code = median_wall(
            [
                sys.executable,
                "-m",
                "scenarios.cli",
                "validate",
                "--as",
                "red-notices",
                str(document),
            ],
            args.repeat,
        )
        assert code == 0, "bureaunet refused the page"
        rows = [("bureaunet validate", ours, code)]
        ajv = ROOT / "tools" / "js" / "node_modules" / ".bin" / "ajv"
        if ajv.exists():
            command = [str(ajv), "validate", "--spec=draft2020", "-c", "ajv-formats",
                       "--strict=true", "-s", str(schema), "-d", str(document)]  # fmt: skip
            rows.append(("ajv-cli", *median_wall(command, args.repeat)))
        else:
            print("ajv-cli not installed (npm ci --prefix tools/js): skipped")
        checker = shutil.which("check-jsonschema") or str(
            Path(sys.executable).parent / "check-jsonschema"
        )
        if Path(checker).exists():
            command = [checker, "--schemafile", str(schema), str(document)]
            rows.append(("check-jsonschema", *median_wall(command, args.repeat)))
        else:
            print("check-jsonschema not installed (pip install check-jsonschema): skipped")
    size = len(data) / 1e6
    print(
        json.dumps(
            {
                "bench": "validate_page",
                "entries": args.entries,
                "megabytes": round(size, 2),
                "decode_as_in_process_s": round(in_process, 3),
                **{
                    name: {"s": round(s, 3), "exit": c, "ratio": round(s / ours, 2)}
                    for name, s, c in rows
                },
            }
        )
    )
    print(f"\n{args.entries:,} entries, {size:.1f} MB; decode_as here {in_process * 1000:.0f} ms")
    for name, seconds, exit_code in rows:
        print(
            f"{name:20} {seconds * 1000:7.0f} ms (median of {args.repeat}, exit {exit_code})"
            f"   ratio to bureaunet {seconds / ours:.2f}"
        )


if __name__ == "__main__":
    main()
