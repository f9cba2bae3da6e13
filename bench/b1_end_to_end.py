"""B1 end to end: `mcvrt run` vs the decode ceiling and vs ultralytics `YOLO.track` (ByteTrack).

E = camera-frames / wall time of what `mcvrt run` does after start-up: probe the videos, load the
models, decode, detect, embed, track, match and write every output. D = decode-only fps of the
same frames (cameras decoded concurrently). The peer is `YOLO(weights).track(video, stream=True)`
with ByteTrack on the same clips, detector, image size, classes and thresholds, model loading
included; with two cameras it runs the clips one after another, as a user of it would.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from bench.common import (
    DETECTOR,
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
from mcvrt.config import DetectorConfig, PipelineConfig
from mcvrt.pipeline import run
from mcvrt.types import Camera
from mcvrt.video import probe_cameras, read_frames

TARGET = 0.7
# tiny inputs: the smoke test and `run_all --quick`
QUICK = ["--frames", "3", "--cameras", "1", "--repeats", "1", "--warmup", "0"]


def decode_case(videos: Sequence[Path], frames: int) -> Case:
    """Decode `frames` frames of every video, the videos concurrently (one thread each)."""
    cameras = probe_cameras(videos, max_frames=frames)

    def decode(camera: Camera) -> int:
        return sum(1 for _ in read_frames(camera, 1, frames))

    def case() -> Metrics:
        start = time.perf_counter()
        with ThreadPoolExecutor(len(cameras)) as pool:
            n = sum(pool.map(decode, cameras))
        return {"rate": n / (time.perf_counter() - start)}

    return case


def ours_case(videos: Sequence[Path], cfg: PipelineConfig, frames: int, work: Path) -> Case:
    """`mcvrt run` on the videos: camera-frames per wall second and seconds per stage."""

    def case() -> Metrics:
        out = work / "run"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        cameras = probe_cameras(videos, max_frames=frames)
        probed = time.perf_counter()
        result = run(cfg, cameras, out)
        wall = time.perf_counter() - start
        seconds = {"probe": probed - start, "write": wall - (probed - start) - result.seconds,
                   **result.stage_seconds}
        return {"rate": result.frames / wall, **{f"s_{k}": v for k, v in seconds.items()}}

    return case


def yolo_track_case(videos: Sequence[Path], det: DetectorConfig, frames: int) -> Case:
    """`YOLO.track` with ByteTrack over each video in turn, a fresh model per run."""
    from ultralytics import YOLO

    def case() -> Metrics:
        start, n = time.perf_counter(), 0
        for video in videos:
            with contextlib.redirect_stdout(io.StringIO()):
                model = YOLO(det.weights, task="detect")
                for i, _ in enumerate(model.track(
                        source=str(video), stream=True, tracker="bytetrack.yaml", verbose=False,
                        imgsz=det.image_size, conf=det.confidence, iou=det.nms_iou,
                        classes=list(det.classes), device=det.device), start=1):
                    if i == frames:
                        break
            n += i
        return {"rate": n / (time.perf_counter() - start)}

    return case


def shares(runs: list[Metrics]) -> dict[str, float]:
    """Median share of each stage in the summed stage seconds (probe, load, decode, ... write)."""
    stages = sorted({k for r in runs for k in r if k.startswith("s_")})
    return {stage[2:]: stats([r.get(stage, 0.0) / sum(v for k, v in r.items() if k in stages)
                              for r in runs])["median"] for stage in stages}


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--videos", nargs="+", type=Path,
                   default=[VIDEOS / "intersection_cctv_640x480.mp4",
                            VIDEOS / "street_overhead_640x360.mp4"],
                   help="the first is the 1-camera clip; the first two make the 2-camera run")
    p.add_argument("--cameras", nargs="+", type=int, default=[1, 2], choices=[1, 2])
    p.add_argument("--frames", type=int, default=240, help="frames per camera")
    p.add_argument("--detector", default=str(DETECTOR))
    p.add_argument("--imgsz", type=int, default=640)
    args, argv = parse(p, argv)
    pin_threads()
    cfg = PipelineConfig()
    cfg = replace(cfg, input=replace(cfg.input, max_frames=args.frames),
                  detector=replace(cfg.detector, weights=args.detector, image_size=args.imgsz))
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="mcvrt-b1-") as tmp:
        for n in args.cameras:
            videos = args.videos[:n]
            runs = interleave({
                "decode": decode_case(videos, args.frames),
                "ours": ours_case(videos, cfg, args.frames, Path(tmp)),
                "yolo_track": yolo_track_case(videos, cfg.detector, args.frames),
            }, args.repeats, args.warmup)
            e_d, e_y = ratio(runs["ours"], runs["decode"]), ratio(runs["ours"], runs["yolo_track"])
            share = shares(runs["ours"])
            results[f"{n}_cameras"] = {
                "videos": [v.name for v in videos],
                **{f"{k}_fps": stats(column(v)) for k, v in runs.items()},
                "E_over_D": e_d, "ours_over_yolo_track": e_y, "stage_shares": share,
                "runs": runs,
            }
            top = ", ".join(f"{k} {v:.0%}" for k, v in sorted(share.items(), key=lambda kv: -kv[1])
                            if v >= 0.005)
            rows.append([n, fmt(stats(column(runs["decode"]))["median"], 0),
                         fmt(stats(column(runs["ours"]))["median"], 1),
                         fmt(stats(column(runs["yolo_track"]))["median"], 1),
                         fmt_ratio(e_d), fmt_ratio(e_y),
                         "yes" if e_y["median"] >= TARGET else "NO", top])
    return report(
        "b1_end_to_end",
        f"B1 end to end, {args.frames} frames per camera "
        f"({', '.join(v.name for v in args.videos[:max(args.cameras)])}), "
        f"{Path(args.detector).name} at {args.imgsz}; target ours/YOLO.track >= {TARGET}",
        ["cameras", "decode D fps", "ours E fps", "YOLO.track fps", "E/D", "ours/YOLO.track",
         "holds", "stage shares (ours)"], rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b1_end_to_end")
