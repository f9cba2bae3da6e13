"""B6 multi-camera scaling: 1, 2, 4 cameras (copies of one clip) through `mcvrt run`.

Aggregate fps = camera-frames / wall time of probe + `run` (models loaded inside, as in B1).
Two baselines, paired per round: "1" is one camera on the whole machine, "1, one core" the same
camera in a warm helper process pinned to one core. Scaling efficiency (the acceptance figure,
N cameras on N cores against one camera on one core) = aggregate fps / (min(N, cores) x "1, one
core" fps); speedup = aggregate fps / "1" fps, the gain over one camera with all cores. Worker
processes are the default (one per camera up to the cores); "2, one process" is the same two
cameras with `input.workers: 1`. Peak RSS and CPU time sum the process and the workers it
starts. CPU efficiency = CPU ms per camera-frame of "1, one core" / that of the case: the wall
efficiency to expect on cores nobody else uses (on a shared VM the wall figure mostly measures
how much CPU the other tenants leave).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path

from bench.common import (
    DETECTOR,
    VIDEOS,
    Case,
    Metrics,
    ProcessMeter,
    column,
    entry,
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
from mcvrt.pipeline import run
from mcvrt.runners.processes import usable_cores, worker_context, worker_count
from mcvrt.video import probe_cameras

TARGET = 0.8  # efficiency with 2 cameras on 2 cores
# tiny inputs: the smoke test and `run_all --quick`
QUICK = ["--frames", "2", "--cameras", "1", "2", "--repeats", "1", "--warmup", "0"]


def measure(video: Path, n: int, cfg: PipelineConfig, out: Path) -> Metrics:
    """`n` copies of `video` as cameras cam1..camN through probe + `run`."""
    shutil.rmtree(out, ignore_errors=True)
    with ProcessMeter() as meter:
        start = time.perf_counter()
        cameras = probe_cameras([video] * n, [f"cam{i + 1}" for i in range(n)],
                                max_frames=cfg.input.max_frames)
        result = run(cfg, cameras, out)
        wall = time.perf_counter() - start
    return {"rate": result.frames / wall, "peak_rss_mb": meter.peak_mb,
            "cpu_ms_per_frame": 1000 * meter.cpu_s / result.frames}


def pin_to(core: int) -> None:
    """Initializer of the one-core helper: pin it and its future threads to `core`."""
    os.sched_setaffinity(0, {core})
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    pin_threads(1)


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--video", type=Path, default=VIDEOS / "intersection_cctv_640x480.mp4")
    p.add_argument("--cameras", nargs="+", type=int, default=[1, 2, 4],
                   help="camera counts; 1 and 2 are always included")
    p.add_argument("--frames", type=int, default=300, help="frames per camera")
    p.add_argument("--detector", default=str(DETECTOR))
    args, argv = parse(p, argv)
    args.cameras = sorted({1, 2, *args.cameras})
    pin_threads()
    cfg = PipelineConfig()
    cfg = replace(cfg, input=replace(cfg.input, max_frames=args.frames),
                  detector=replace(cfg.detector, weights=args.detector))
    one_process = replace(cfg, input=replace(cfg.input, workers=1))
    cores = len(usable_cores())
    ctx = worker_context(load_detector=True)  # the camera workers' fork server
    with (tempfile.TemporaryDirectory(prefix="mcvrt-b6-") as tmp,
          ProcessPoolExecutor(1, ctx, pin_to, (usable_cores()[0],)) as one_core):
        work = Path(tmp)
        cases: dict[str, Case] = {
            "1_one_core": lambda: one_core.submit(measure, args.video, 1, cfg,
                                                  work / "core").result(),
            **{str(n): partial(measure, args.video, n, cfg, work / str(n)) for n in args.cameras},
            "2_one_process": partial(measure, args.video, 2, one_process, work / "seq"),
        }
        runs = interleave(cases, args.repeats, args.warmup)
    rows, results = [], {"cores": cores}
    for name, v in runs.items():
        n = int(name.split("_")[0])
        workers = worker_count(one_process if name.endswith("one_process") else cfg, n)
        per_core = [a["rate"] / (min(n, cores) * b["rate"])
                    for a, b in zip(v, runs["1_one_core"], strict=True)]
        speedup = [a["rate"] / b["rate"] for a, b in zip(v, runs["1"], strict=True)]
        cpu = [b["cpu_ms_per_frame"] / a["cpu_ms_per_frame"]
               for a, b in zip(v, runs["1_one_core"], strict=True)]
        results[name] = {"cameras": n, "workers": workers, "fps": stats(column(v)),
                         "efficiency": stats(per_core), "speedup_vs_1": stats(speedup),
                         "cpu_ms_per_frame": stats(column(v, "cpu_ms_per_frame")),
                         "cpu_efficiency": stats(cpu),
                         "peak_rss_mb": stats(column(v, "peak_rss_mb"))}
        holds = ("yes" if results[name]["efficiency"]["median"] >= TARGET else "NO"
                 ) if name == "2" else ""
        rows.append([name.replace("_one_", ", one "), workers,
                     fmt(results[name]["fps"]["median"], 1), fmt_ratio(results[name]["efficiency"]),
                     fmt_ratio(results[name]["speedup_vs_1"]),
                     fmt(results[name]["cpu_ms_per_frame"]["median"], 0),
                     fmt_ratio(results[name]["cpu_efficiency"]),
                     fmt(results[name]["peak_rss_mb"]["median"], 0), holds])
    return report("b6_scaling",
                  f"B6 multi-camera scaling, copies of {args.video.name}, {args.frames} frames per "
                  f"camera, {cores} cores; target efficiency >= {TARGET} at 2 cameras",
                  ["cameras", "workers", "aggregate fps", "efficiency (vs 1 on 1 core)",
                   "speedup vs 1 (all cores)", "CPU ms/frame", "CPU efficiency", "peak RSS MB",
                   "holds"], rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b6_scaling")
