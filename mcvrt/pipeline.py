"""`mcvrt run`: compose the stages, one way.

videos -> Camera[] -> per camera: Frame -> Detections -> (+embedding) -> Tracker -> Tracklet[]
-> cross-camera graph -> global ids -> CSV / JSON (+ optional video and gallery).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mcvrt.appearance import Embed, embed_detections, load_embed
from mcvrt.config import PipelineConfig
from mcvrt.errors import InputError
from mcvrt.export import (
    number_cameras,
    write_aicity,
    write_json,
    write_mot,
    write_tracks_csv,
)
from mcvrt.matching import graph_to_dict, load_topology, match_tracklets
from mcvrt.tracking import Tracker
from mcvrt.tracklets import TrackletCollector
from mcvrt.types import Camera, Detections, Tracklet

Detect = Callable[[np.ndarray], Detections]  # BGR image -> detections


@dataclass
class StageTimes:
    """Wall seconds spent per stage (decode includes waiting on the video reader)."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] += now - start
        return now


@dataclass(frozen=True)
class RunResult:
    """What a run produced: counts, timings and the files written."""

    cameras: list[Camera]
    frames: int  # camera-frames processed, all cameras
    tracklets: list[Tracklet]
    global_ids: dict[tuple[str, int], int]
    seconds: float  # wall time of decode + detect + embed + track + match
    stage_seconds: dict[str, float]
    outputs: list[Path]

    @property
    def fps(self) -> float:
        """Camera-frames per second through the whole pipeline (before writing outputs)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def identities(self) -> int:
        return len(set(self.global_ids.values()))


def track_camera(
    camera: Camera, cfg: PipelineConfig, detect: Detect, embed: Embed, times: StageTimes
) -> tuple[list[Tracklet], int]:
    """Detect, embed and track one camera; returns its tracklets and the frames processed."""
    from mcvrt.video import read_frames

    tracker, collector = Tracker(cfg.tracker), TrackletCollector(camera)
    every, stride = cfg.appearance.embed_every, cfg.input.stride
    total = math.ceil(camera.frame_count / stride)
    frames = read_frames(camera, stride, cfg.input.max_frames)
    processed = 0
    t = time.perf_counter()
    for frame in tqdm(frames, total=total, desc=camera.id, unit="frame", leave=False):
        t = times.add("decode", t)
        dets = detect(frame.image)
        t = times.add("detect", t)
        if processed % every == 0 and len(dets):
            dets = embed_detections(frame.image, dets, embed, cfg.appearance.min_crop_px)
            t = times.add("embed", t)
        collector.add(frame.index, tracker.update(dets))
        t = times.add("track", t)
        processed += 1
    return collector.finish(), processed


def check_writable(out_dir: Path) -> None:
    """Create `out_dir` and prove a file can be written there, before any heavy work."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".mcvrt-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to output folder {out_dir}: {exc.strerror}") from None


def run(
    cfg: PipelineConfig,
    cameras: Sequence[Camera],
    out_dir: Path,
    *,
    detect: Detect | None = None,
    embed: Embed | None = None,
) -> RunResult:
    """Track every camera, match across cameras, write the outputs under `out_dir`."""
    check_writable(out_dir)
    if cfg.matching.topology is not None:
        load_topology(cfg.matching.topology)  # a bad topology file fails before detection starts
    if embed is None:
        embed = load_embed(cfg.appearance)
    if detect is None:
        from mcvrt.detection import Detector

        detect = Detector(cfg.detector)
    times = StageTimes()
    start = time.perf_counter()
    tracklets: list[Tracklet] = []
    frames = 0
    for camera in tqdm(cameras, desc="cameras", unit="cam", disable=len(cameras) < 2):
        camera_tracklets, n = track_camera(camera, cfg, detect, embed, times)
        tracklets += camera_tracklets
        frames += n
    t = time.perf_counter()
    global_ids, graph = match_tracklets(tracklets, cfg.matching)
    times.add("match", t)
    seconds = time.perf_counter() - start
    outputs = write_outputs(cfg, cameras, tracklets, global_ids, graph_to_dict(graph), out_dir)
    outputs.append(out_dir / "summary.json")
    result = RunResult(list(cameras), frames, tracklets, global_ids, seconds, dict(times.seconds), outputs)
    write_json(outputs[-1], summary_dict(result))
    return result


def write_outputs(
    cfg: PipelineConfig,
    cameras: Sequence[Camera],
    tracklets: list[Tracklet],
    global_ids: dict[tuple[str, int], int],
    graph: dict,
    out_dir: Path,
) -> list[Path]:
    """Write CSVs, graph.json and the optional visual outputs; returns the paths written."""
    numbers = number_cameras([c.id for c in cameras])
    outputs = [out_dir / "tracks.csv", out_dir / "multicamera.txt", out_dir / "graph.json"]
    write_tracks_csv(outputs[0], tracklets, global_ids)
    write_aicity(outputs[1], tracklets, global_ids, numbers)
    write_json(outputs[2], graph)
    for camera in cameras:
        path = out_dir / "mot" / f"{camera.id}.txt"
        path.parent.mkdir(exist_ok=True)
        write_mot(path, [t for t in tracklets if t.camera_id == camera.id])
        outputs.append(path)
    if cfg.output.gallery or cfg.output.save_video:
        from mcvrt import visualize

        if cfg.output.gallery:
            outputs.append(visualize.write_gallery(out_dir / "gallery.png", cameras, tracklets, global_ids))
        if cfg.output.save_video:
            outputs += visualize.write_videos(out_dir / "videos", cameras, tracklets, global_ids)
    return outputs


def summary_dict(result: RunResult) -> dict:
    """The JSON summary: cameras (name -> AI-City integer id), counts and timings."""
    numbers = number_cameras([c.id for c in result.cameras])
    per_camera = defaultdict(int)
    for t in result.tracklets:
        per_camera[t.camera_id] += 1
    return {
        "cameras": numbers,
        "tracklets_per_camera": {c.id: per_camera[c.id] for c in result.cameras},
        "tracklets": len(result.tracklets),
        "global_ids": result.identities,
        "frames": result.frames,
        "seconds": round(result.seconds, 3),
        "fps": round(result.fps, 2),
        "stage_seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()},
    }
