"""B6 multi-camera scaling: 1, 2, 4 cameras (copies of one clip) through `mcvrt run`.

Aggregate fps = camera-frames / wall time of probe + `run` (models loaded inside, as in B1).
Speedup S(N) = aggregate fps with N cameras / fps with 1 camera, paired per round; scaling
efficiency = S(N) / min(N, cores). Worker processes are the default (one per camera up to the
cores); "2, one process" is the same two cameras with `input.workers: 1`, for reference.
Peak RSS sums this process and its workers.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench.common import (
    DETECTOR,
    VIDEOS,
    Case,
    Metrics,
    PeakRSS,
    column,
    fmt,
    fmt_ratio,
    interleave,
    parse,
    parser,
    pin_threads,
    report,
    stats,
)
from mcvrt.config import PipelineConfig
from mcvrt.pipeline import run, usable_cores, worker_count
from mcvrt.video import probe_cameras

TARGET = 0.8  # efficiency with 2 cameras on 2 cores
# tiny inputs: the smoke test and `run_all --quick`
QUICK = ["--frames", "2", "--cameras", "1", "2", "--repeats", "1", "--warmup", "0"]


def cameras_case(video: Path, n: int, cfg: PipelineConfig, work: Path) -> Case:
    """`n` copies of `video` as cameras cam1..camN through probe + `run`."""

    def case() -> Metrics:
        out = work / f"run{n}"
        shutil.rmtree(out, ignore_errors=True)
        with PeakRSS() as rss:
            start = time.perf_counter()
            cameras = probe_cameras([video] * n, [f"cam{i + 1}" for i in range(n)],
                                    max_frames=cfg.input.max_frames)
            result = run(cfg, cameras, out)
            wall = time.perf_counter() - start
        return {"rate": result.frames / wall, "peak_rss_mb": rss.peak_mb}

    return case


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--video", type=Path, default=VIDEOS / "intersection_cctv_640x480.mp4")
    p.add_argument("--cameras", nargs="+", type=int, default=[1, 2, 4])
    p.add_argument("--frames", type=int, default=150, help="frames per camera")
    p.add_argument("--detector", default=str(DETECTOR))
    args, argv = parse(p, argv)
    pin_threads()
    cfg = PipelineConfig()
    cfg = replace(cfg, input=replace(cfg.input, max_frames=args.frames),
                  detector=replace(cfg.detector, weights=args.detector))
    one_process = replace(cfg, input=replace(cfg.input, workers=1))
    cores = len(usable_cores())
    with tempfile.TemporaryDirectory(prefix="mcvrt-b6-") as tmp:
        cases = {str(n): cameras_case(args.video, n, cfg, Path(tmp)) for n in args.cameras}
        if 2 in args.cameras:
            cases["2_one_process"] = cameras_case(args.video, 2, one_process, Path(tmp) / "seq")
        runs = interleave(cases, args.repeats, args.warmup)
    base = runs[str(min(args.cameras))]
    rows, results = [], {"cores": cores}
    for name, v in runs.items():
        n = int(name.split("_")[0])
        workers = 1 if name.endswith("one_process") else worker_count(cfg, n)
        speedup = [a["rate"] / b["rate"] for a, b in zip(v, base, strict=True)]
        efficiency = stats([s / min(n, cores) for s in speedup])
        results[name] = {"cameras": n, "workers": workers, "fps": stats(column(v)),
                         "speedup": stats(speedup), "efficiency": efficiency,
                         "peak_rss_mb": stats(column(v, "peak_rss_mb"))}
        holds = ("yes" if efficiency["median"] >= TARGET else "NO") if name == "2" else ""
        rows.append([name.replace("_", ", ").replace("one, process", "one process"), workers,
                     fmt(results[name]["fps"]["median"], 1), fmt_ratio(results[name]["speedup"]),
                     fmt_ratio(efficiency), fmt(results[name]["peak_rss_mb"]["median"], 0),
                     holds])
    return report("b6_scaling",
                  f"B6 multi-camera scaling, copies of {args.video.name}, {args.frames} frames per "
                  f"camera, {cores} cores; target efficiency >= {TARGET} at 2 cameras",
                  ["cameras", "workers", "aggregate fps", "speedup vs 1", "efficiency",
                   "peak RSS MB", "holds"], rows, results, args, argv)


if __name__ == "__main__":
    main()
