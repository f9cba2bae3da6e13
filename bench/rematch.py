"""`mcvrt rematch` on the demo: the association redone from stored tracklets, against the full run.

Both cases are the command as a user types it (a fresh interpreter, imports included):
``mcvrt run`` on the demo's three cameras (the peer) and ``mcvrt rematch`` of that run. Each
rematch's outputs are checked byte for byte against the run's. Target: rematch < 5 s.
With ``--run DIR`` an existing run folder is rematched and the full run is not timed.
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import (
    DETECTOR,
    ROOT,
    Metrics,
    column,
    entry,
    fmt,
    fmt_ratio,
    interleave,
    parse,
    parser,
    ratio,
    report,
    stats,
)
from mcvrt.errors import InputError

SECONDS_TARGET = 5.0
QUICK = ["--repeats", "1", "--warmup", "0"]  # with --run: the smoke test
COMPARED = ("tracks.csv", "multicamera.txt", "graph.json")


def mcvrt(*argv: str) -> Metrics:
    """Wall seconds of one ``mcvrt`` command in a fresh interpreter (raises if it fails)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mcvrt", *argv], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"seconds": time.perf_counter() - start}


def same_outputs(a: Path, b: Path) -> bool:
    """Whether two output folders hold the same tracks, AI-City, graph and MOT files."""
    names = [*COMPARED, *(p.relative_to(a).as_posix() for p in sorted((a / "mot").glob("*.txt")))]
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, help="an existing `mcvrt run` folder (default: run the "
                   "demo with the shared detector, and time that as the peer)")
    args, argv = parse(p, argv)
    with tempfile.TemporaryDirectory(prefix="mcvrt-bench-rematch-") as tmp:
        run_dir = args.run or Path(tmp) / "run"
        cases = {}  # the run (when timed) goes first in the first round
        if args.run is None:
            if not DETECTOR.exists():
                raise InputError(f"detector weights not found: {DETECTOR}")
            videos = [str(v) for v in sorted((ROOT / "demo").glob("cam*.mp4"))]
            cases["run"] = lambda: mcvrt("run", "--videos", *videos, "--detector", str(DETECTOR),
                                         "--out", str(run_dir))
        again = Path(tmp) / "again"
        cases["rematch"] = lambda: mcvrt("rematch", str(run_dir), "--out", str(again))
        runs = interleave(cases, args.repeats, args.warmup)
        same = same_outputs(run_dir, again)
    seconds = {name: stats(column(r, "seconds")) for name, r in runs.items()}
    holds = seconds["rematch"]["median"] < SECONDS_TARGET
    results = {"seconds": seconds, "same_outputs": same, "holds": holds}
    spans = {name: f"{fmt(s['min'])}-{fmt(s['max'])}" for name, s in seconds.items()}
    rows = [["rematch", fmt(seconds["rematch"]["median"]), spans["rematch"],
             "yes" if same else "NO", "holds" if holds else "does NOT hold"]]
    if "run" in runs:
        results["time_ratio_run_over_rematch"] = ratio(runs["run"], runs["rematch"], "seconds")
        rows += [["run (peer)", fmt(seconds["run"]["median"]), spans["run"], "", ""],
                 ["run / rematch", fmt_ratio(results["time_ratio_run_over_rematch"]), "", "", ""]]
    source = "the demo" if args.run is None else str(args.run)
    return report("rematch", f"mcvrt rematch of {source} (fresh interpreter each); target "
                  f"< {SECONDS_TARGET:.0f} s", ["case", "median s", "min-max s",
                                               "same outputs as the run", "target"],
                  rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.rematch")
