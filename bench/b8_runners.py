"""B8 runners: 8 cameras on the Ray runner vs the process runner, and the driver's memory.

Eight cameras are the shared clips repeated under different camera ids. Each case is a whole
`mcvrt run` minus probing (Ray's start on this machine and the workers' model loading included)
with `input.runner` processes or ray; the ratio is Ray's camera-frames per second over the
process runner's, per round, and both runs' tracks.csv must be byte-identical. Then the driver
alone: a fresh interpreter resumes a run of 100 cameras whose tracklets are all cached (the 8
cameras' tracklets relabelled as 100 cameras, later ones shifted in time) and records its peak
resident memory while loading, matching and writing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench.common import (
    DETECTOR,
    ROOT,
    VIDEOS,
    Case,
    Metrics,
    column,
    entry,
    fmt,
    fmt_ratio,
    interleave,
    parse,
    parser,
    pin_threads,
    ratio,
    report,
    stats,
)
from mcvrt.camera import CameraResult
from mcvrt.config import PipelineConfig, config_from_mapping, config_to_mapping
from mcvrt.pipeline import run
from mcvrt.runfolder import CACHE, CameraCache, CameraKeys
from mcvrt.tracklets import load_run
from mcvrt.types import Camera
from mcvrt.video import probe_cameras

TARGET = 0.9
CLIPS = ("intersection_cctv_640x480.mp4", "highway_cctv_320x240.avi",
         "street_overhead_640x360.mp4", "night_city_traffic_898x506.mp4")
QUICK = ["--frames", "3", "--cameras", "2", "--many", "4", "--repeats", "1", "--warmup", "0"]


def cameras(count: int, frames: int) -> list[Camera]:
    """`count` cameras cycling through the shared clips, ids c001..; each lap of the clips
    `lap_s` later on the common clock."""
    probed = probe_cameras([VIDEOS / c for c in CLIPS], max_frames=frames)
    lap_s = max(c.frame_count / c.fps for c in probed) + 5.0
    return [replace(probed[i % len(probed)], id=f"c{i + 1:03d}",
                    time_offset_s=(i // len(probed)) * lap_s) for i in range(count)]


def runner_case(cams: Sequence[Camera], cfg: PipelineConfig, runner: str, work: Path) -> Case:
    """A whole run with `runner`; its tracks.csv kept as `work/<runner>.csv`."""
    cfg = replace(cfg, input=replace(cfg.input, runner=runner))

    def case() -> Metrics:
        out = work / runner
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        result = run(cfg, cams, out)
        wall = time.perf_counter() - start
        shutil.copyfile(out / "tracks.csv", work / f"{runner}.csv")
        return {"rate": result.frames / wall, "seconds": wall}

    return case


def cache_many(source: Path, cams: Sequence[Camera], cfg: PipelineConfig, work: Path) -> Path:
    """A run folder whose cache holds every camera of `cams`: the cached tracklets of the
    finished run `source` (cycled in camera order), relabelled; the folder to resume."""
    out = work / "many"
    keys = CameraKeys.of(cfg)
    cache = CameraCache(out / CACHE, cfg, {c.id: keys.key(c) for c in cams})
    finished = [load_run(entry) for entry in sorted((source / CACHE).iterdir())]
    for i, camera in enumerate(cams):
        stored = finished[i % len(finished)]
        tracklets = [replace(t, camera_id=camera.id, time_offset_s=camera.time_offset_s)
                     for t in stored.tracklets]
        cache.save(camera, CameraResult(camera, tracklets, stored.frames, stored.seconds,
                                        stored.stage_seconds, "cached"))
    (out / "summary.json").write_text("{}\n")  # a run folder, which the resumed run replaces
    return out


def driver_peak(folder: str, count: int, frames: int, config: str) -> None:
    """(In a fresh interpreter) resume `folder` with all `count` cameras cached; prints the
    peak RSS (MB) before and after, the tracklets and the wall seconds, as JSON."""
    import resource

    cfg = config_from_mapping(json.loads(config))
    cams = cameras(count, frames)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = run(cfg, cams, Path(folder), resume=True)
    print(json.dumps({"rss_before_mb": before,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "tracklets": len(result.tracklets), "seconds": time.perf_counter() - start,
                      "resumed": sum(s["resumed"] for s in result.per_camera.values())}))


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--cameras", type=int, default=8, help="cameras of the runner comparison")
    p.add_argument("--frames", type=int, default=240, help="frames per camera")
    p.add_argument("--many", type=int, default=100, help="cached cameras the driver matches")
    p.add_argument("--detector", default=str(DETECTOR))
    args, argv = parse(p, argv)
    pin_threads()
    cfg = PipelineConfig()
    cfg = replace(cfg, input=replace(cfg.input, max_frames=args.frames),
                  detector=replace(cfg.detector, weights=args.detector),
                  output=replace(cfg.output, gallery=False))
    cams = cameras(args.cameras, args.frames)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="mcvrt-b8-") as tmp:
        work = Path(tmp)
        runs = interleave({"processes": runner_case(cams, cfg, "processes", work),
                           "ray": runner_case(cams, cfg, "ray", work)}, args.repeats, args.warmup)
        identical = (work / "ray.csv").read_bytes() == (work / "processes.csv").read_bytes()
        speed = ratio(runs["ray"], runs["processes"])
        many = cameras(args.many, args.frames)
        folder = cache_many(work / "ray", many, cfg, work)
        code = (f"from bench.b8_runners import driver_peak; driver_peak({str(folder)!r}, "
                f"{args.many}, {args.frames}, {json.dumps(json.dumps(config_to_mapping(cfg)))})")
        env = {**os.environ, "TQDM_DISABLE": "1"}
        child = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                               capture_output=True, text=True)
        driver = json.loads(child.stdout.strip().splitlines()[-1])
    frames = args.cameras * args.frames
    results = {
        "cameras": [f"{c.id}={c.path.name}" for c in cams], "camera_frames": frames,
        **{f"{k}_fps": stats(column(v)) for k, v in runs.items()},
        "ray_over_processes": speed, "identical_tracks_csv": identical,
        "driver_100_cameras": driver, "uptime": uptime, "runs": runs,
    }
    rows = [[f"{args.cameras} cameras x {args.frames} frames",
             fmt(stats(column(runs["processes"]))["median"], 1),
             fmt(stats(column(runs["ray"]))["median"], 1), fmt_ratio(speed),
             "yes" if identical else "NO",
             "yes" if speed["median"] >= TARGET and identical else "NO"],
            [f"driver, {args.many} cached cameras ({driver['tracklets']} tracklets)",
             "", "", f"peak RSS {driver['peak_rss_mb']:.0f} MB", "", ""]]
    return report(
        "b8_runners",
        f"B8 runners: Ray vs processes on {args.cameras} cameras (shared clips repeated), "
        f"{Path(args.detector).name}; target Ray >= {TARGET}x processes, same tracks.csv; "
        f"load at start: {uptime.split('load average:')[-1].strip()}",
        ["case", "processes fps", "ray fps", "ray/processes", "same tracks.csv", "holds"],
        rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b8_runners")
