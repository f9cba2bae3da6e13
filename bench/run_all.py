"""Run B1-B8 one after another and write every table, with the command that made it, to Markdown.

Each benchmark runs in a fresh interpreter, so none inherits another's imports, thread pools,
fork server or garbage-collector heap. `--quick` runs each on tiny inputs (the smoke-test
settings): it proves they run, its figures mean nothing.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence

from bench.common import ROOT, entry, parse, parser

BENCHMARKS = ("b1_end_to_end", "b2_detector", "b3_tracker", "b4_reid", "b5_matching",
              "b6_scaling", "b7_speed_accuracy", "b8_runners")


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    p.add_argument("--quick", action="store_true", help="tiny inputs (smoke test)")
    args, argv = parse(p, argv)
    sections, payloads = [], {}
    for name in args.only:
        own = (importlib.import_module(f"bench.{name}").QUICK if args.quick
               else ["--repeats", str(args.repeats)])
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", f"bench.{name}", *own, "--out", str(args.out)],
                       cwd=ROOT, check=True)
        payload = json.loads((args.out / f"{name}.json").read_text())
        payloads[name] = payload
        sections.append(f"**{payload['title']}**\n\n```\n{payload['table']['text']}\n```\n"
                        f"`{payload['command']}` ({time.perf_counter() - start:.0f} s, load "
                        f"{payload['machine']['load_average_start'][0]:.1f} -> "
                        f"{payload['machine']['load_average_end'][0]:.1f})\n")
    machine = next(iter(payloads.values()))["machine"] if payloads else {}
    header = (f"Machine: {machine.get('cpu')}, {machine.get('usable_cores')} cores, commit "
              f"{machine.get('commit')}; libraries and threads in each JSON under {args.out}.\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tables.md").write_text("\n".join([header, *sections]))
    return payloads


if __name__ == "__main__":
    entry(main, "bench.run_all")
