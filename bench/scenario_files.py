"""Hostile and large scenario files: wall time and peak memory to accept or refuse each.

Cases, each parsed in a fresh process so peak memory is its own: a 358-byte file of nested
aliases (expanding to 387 million values), scenarios of plain injects just under the size bound
(256 KiB) and over it (1 MB), and a 1 MB file of aliases. Baseline in the same run: LibYAML's
safe loader reading the same bytes alone (what any YAML-reading tool pays). Prints one JSON line
per case and a table.

    python bench/scenario_files.py
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import time
from typing import Any

LAUGHS = (
    "name: laughs\na: &a ["
    + ",".join(['"lol"'] * 9)
    + "]\n"
    + "".join(
        f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
)


def big_scenario(size: int) -> str:
    head = "name: big\nroster: [gs, FR, DE, KE]\nduration: 100000\ninjects:\n"
    line = "  - {{at: {n}, name: i{n}, diffusion: {{from: FR, to: [DE, KE], text: padding}}}}\n"
    out, n = [head], 0
    while sum(map(len, out)) < size:
        out.append(line.format(n=n))
        n += 1
    return "".join(out)


def wide_aliases(size: int) -> str:
    out = ["name: wide\nx: &x [1, 2, 3, 4, 5, 6, 7, 8]\nys:\n"]
    while sum(map(len, out)) < size:
        out.append("  - *x\n")
    return "".join(out)


def _measure(case: str, text: str, baseline: bool, out: Any) -> None:
    import yaml  # noqa: PLC0415

    from scenarios.model import ScenarioError, parse_scenario  # noqa: PLC0415

    started = time.perf_counter()
    if baseline:
        yaml.load(text, Loader=yaml.CSafeLoader)
        verdict = "read"
    else:
        try:
            parse_scenario(text, case)
            verdict = "accepted"
        except ScenarioError as exc:
            verdict = "refused: " + str(exc).splitlines()[0][:80]
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put(
        {
            "case": case,
            "baseline": baseline,
            "bytes": len(text),
            "wall_s": round(wall, 3),
            "peak_rss_mb": round(peak_mb, 1),
            "verdict": verdict,
        }
    )


def main() -> None:
    context = multiprocessing.get_context("spawn")
    cases = {
        "nested aliases (358 B)": LAUGHS,
        "250 KiB of injects": big_scenario(250 << 10),
        "1 MB of injects": big_scenario(1 << 20),
        "1 MB of aliases": wide_aliases(1 << 20),
    }
    rows = []
    for case, text in cases.items():
        for baseline in (True, False):
            out = context.Queue()
            process = context.Process(target=_measure, args=(case, text, baseline, out))
            process.start()
            process.join(timeout=300)
            if process.exitcode != 0 or out.empty():
                row = {"case": case, "baseline": baseline, "verdict": "did not finish"}
            else:
                row = out.get()
            print(json.dumps(row))
            rows.append(row)
    print(f"\n{'case':26} {'what':10} {'wall s':>8} {'peak MB':>8}  verdict", file=sys.stderr)
    for row in rows:
        what = "YAML only" if row["baseline"] else "bureaunet"
        print(
            f"{row['case']:26} {what:10} {row.get('wall_s', '-'):>8} "
            f"{row.get('peak_rss_mb', '-'):>8}  {row['verdict']}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
