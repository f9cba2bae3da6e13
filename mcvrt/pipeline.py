"""`mcvrt run`: compose the stages, one way.

videos -> Camera[] -> per camera: Frame -> Detections -> (+embedding) -> Tracker -> Tracklet[]
-> cross-camera graph -> global ids -> CSV / JSON (+ optional video and gallery).

Cameras are independent until matching, so with `input.workers` > 1 each runs in a worker
process (spawned, pinned to its share of the CPU cores, models loaded once per process) and the
results are merged in camera order: the same tracklets and ids as a one-process run. Within a
camera a background thread decodes the next frame while the current one is detected.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from mcvrt.appearance import (
    Embed,
    describe_tracklet,
    embed_detections,
    load_compare,
    load_embed,
    new_objects,
)
from mcvrt.association import NO_LINKS, Links, check_matching, graph_to_dict, match_tracklets
from mcvrt.config import AUTO, PipelineConfig, config_from_mapping, config_to_mapping
from mcvrt.enhance import FramePreparer
from mcvrt.errors import InputError
from mcvrt.export import (
    number_cameras,
    write_aicity,
    write_json,
    write_mot,
    write_tracks_csv,
    write_yaml,
)
from mcvrt.interpolate import fill_gaps
from mcvrt.tracking import Tracker
from mcvrt.tracklets import StoredRun, TrackletCollector, load_run, save_run
from mcvrt.types import Camera, Detections, Frame, Tracklet

Detect = Callable[[np.ndarray], Detections]  # BGR image -> detections
T = TypeVar("T")


@dataclass
class StageTimes:
    """Wall seconds spent per stage, summed over cameras (decode = waiting on the video reader).

    With parallel workers the per-camera sums add up to more than the run's wall time.
    """

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
    seconds: float  # wall time of model loading + decode + detect + embed + track + match
    stage_seconds: dict[str, float]
    outputs: list[Path]

    @property
    def fps(self) -> float:
        """Camera-frames per second through the whole pipeline (before writing outputs)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def identities(self) -> int:
        return len(set(self.global_ids.values()))


def load_models(cfg: PipelineConfig, detect: Detect | None = None,
                embed: Embed | None = None) -> tuple[Detect, Embed]:
    """The given callables, else the configured detector and embedder (embedder checked first)."""
    if embed is None:
        embed = load_embed(cfg.appearance)
    if detect is None:
        from mcvrt.detection import Detector

        detect = Detector(cfg.detector)
    return detect, embed


def prefetch(items: Generator[T, None, None]) -> Iterator[T]:
    """Yield `items` while a background thread produces the next one (e.g. decodes a frame)."""
    end = object()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcvrt-decode") as pool:
            pending = pool.submit(next, items, end)
            while (item := pending.result()) is not end:
                pending = pool.submit(next, items, end)
                yield item
    finally:
        items.close()


def detect_frames(
    frames: Iterator[Frame], cfg: PipelineConfig, detect: Detect, times: StageTimes
) -> Generator[tuple[Frame, np.ndarray, Detections], None, None]:
    """Each frame, the image the detector saw and its detections: condition estimate,
    enhancement, detector, threshold."""
    prepare = FramePreparer(cfg.enhance)
    t = time.perf_counter()
    for frame in frames:
        t = times.add("decode", t)
        condition, image = prepare(frame.image)  # outputs keep the original frame
        t = times.add("enhance", t)
        dets = detect(image)
        dets = dets[dets.confidence >= cfg.detector.confidence_for(condition)]
        times.add("detect", t)
        yield frame, image, dets
        t = time.perf_counter()


@dataclass(frozen=True)
class CameraRun:
    """One camera's share of a run."""

    camera: Camera  # as read: frames decoded, ranges lost to damage
    tracklets: list[Tracklet]
    frames: int  # frames processed (every stride-th decoded one)


def track_camera(
    camera: Camera, cfg: PipelineConfig, detect: Detect, embed: Embed, times: StageTimes
) -> CameraRun:
    """Detect, embed and track one camera.

    Three threads overlap: decoding runs a frame ahead of detection, and detection (native code
    that releases the GIL) a frame ahead of embedding and tracking.
    """
    from mcvrt.video import VideoReader

    # numpy's BLAS on one thread: the tracker's matrices are small, and BLAS threads spinning
    # next to the detector's threads slowed detection by a third (240 frames: 7.3 s -> 4.5 s)
    with threadpool_limits(1, user_api="blas"):
        tracker, collector = Tracker(cfg.tracker), TrackletCollector(camera)
        every, stride = cfg.appearance.embed_period, cfg.input.stride
        total = math.ceil(camera.frame_count / stride) or None  # the container's claim
        reader = VideoReader(camera, stride, cfg.input.max_frames)
        frames = prefetch(iter(reader))
        processed, previous = 0, np.zeros((0, 4), np.float32)
        # the routed experts get crops as seen: SJDL is trained on foggy ones
        enhanced_crops = cfg.enhance.embed_enhanced and cfg.appearance.embedder.weights != AUTO
        for frame, image, dets in tqdm(prefetch(detect_frames(frames, cfg, detect, times)),
                                       total=total, desc=camera.id, unit="frame", leave=False):
            t = time.perf_counter()
            rows = None  # all rows on every k-th frame, else the new objects (or none)
            if processed % every:
                rows = (new_objects(dets.xyxy, previous) if cfg.appearance.embed_new
                        else np.zeros(len(dets), bool))
            previous = dets.xyxy
            if len(dets) and (rows is None or rows.any()):
                source = image if enhanced_crops else frame.image
                dets = embed_detections(source, dets, embed, cfg.appearance.min_crop_px, rows)
                t = times.add("embed", t)
            collector.add(frame.index, tracker.update(dets))
            times.add("track", t)
            processed += 1
        max_gap = cfg.output.interpolate_max_gap
        tracklets = [describe_tracklet(t, embed) for t in collector.finish()]
        return CameraRun(reader.camera, [fill_gaps(t, max_gap, stride) for t in tracklets],
                         processed)


def usable_cores() -> list[int]:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def worker_count(cfg: PipelineConfig, cameras: int) -> int:
    """Worker processes for `cameras` cameras: `input.workers`, or one per camera up to the cores.

    On a CUDA detector the automatic choice is 1: a single process keeps one model on the GPU.
    """
    if cfg.input.workers:
        return min(cfg.input.workers, cameras)
    if cfg.detector.device.startswith("cuda"):
        return 1
    return max(1, min(cameras, len(usable_cores())))


def core_sets(workers: int) -> list[list[int]]:
    """Split the usable cores into `workers` disjoint groups (round-robin single cores if fewer)."""
    cores = usable_cores()
    if workers > len(cores):
        return [[cores[i % len(cores)]] for i in range(workers)]
    return [[int(c) for c in group] for group in np.array_split(cores, workers)]


def worker_context(load_detector: bool) -> multiprocessing.context.BaseContext:
    """Fork workers from a clean server process that has imported the pipeline (spawn elsewhere).

    Never a plain fork: the caller may hold threads (decoders, OpenMP pools) that a child would
    inherit half-locked. When the workers will load the detector, the server also imports what
    its first call imports (ultralytics, and torchvision: ~6 s of torch._dynamo on a 2-core VM),
    once, instead of every worker again.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    heavy = ["ultralytics", "torchvision"] if load_detector else []
    ctx.set_forkserver_preload([__name__, *heavy])
    return ctx


_worker: dict = {}  # per worker process: config and callables (models loaded on first use)


def _init_worker(slots: multiprocessing.Queue, cfg: PipelineConfig, detect: Detect | None,
                 embed: Embed | None) -> None:
    """Pin this worker to its cores and limit library threads to them, before any model loads."""
    cores = slots.get()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(len(cores))  # libraries loaded from now on
    threadpool_limits(len(cores))  # those the fork server already loaded (numpy's BLAS, torch)
    import cv2

    cv2.setNumThreads(len(cores))
    _worker.update(cfg=cfg, detect=detect, embed=embed)


def _track_in_worker(camera: Camera) -> tuple[CameraRun, dict[str, float]]:
    """`track_camera` in a worker process; the models load once, on the worker's first camera."""
    times, cfg = StageTimes(), _worker["cfg"]
    t = time.perf_counter()
    _worker["detect"], _worker["embed"] = load_models(cfg, _worker["detect"], _worker["embed"])
    times.add("load", t)
    result = track_camera(camera, cfg, _worker["detect"], _worker["embed"], times)
    return result, dict(times.seconds)


def track_cameras(
    cameras: Sequence[Camera], cfg: PipelineConfig, detect: Detect | None, embed: Embed | None,
    times: StageTimes,
) -> list[CameraRun]:
    """Every camera's run, in camera order; one warning line on stderr per camera that lost
    frames to damage.

    One process when `worker_count` is 1, else a pool of spawned workers; given `detect` /
    `embed` callables are then sent to the workers, so they must be picklable.
    """
    workers = worker_count(cfg, len(cameras))
    if workers > 1:
        results = _track_in_pool(cameras, cfg, detect, embed, workers, times)
    else:
        t = time.perf_counter()
        detect, embed = load_models(cfg, detect, embed)
        times.add("load", t)
        results = [track_camera(c, cfg, detect, embed, times)
                   for c in tqdm(cameras, desc="cameras", unit="cam", disable=len(cameras) < 2)]
    for camera in (r.camera for r in results if r.camera.skipped):
        print(f"mcvrt: warning: {damage_note(camera)}", file=sys.stderr)
    return results


def _track_in_pool(
    cameras: Sequence[Camera], cfg: PipelineConfig, detect: Detect | None, embed: Embed | None,
    workers: int, times: StageTimes,
) -> list[CameraRun]:
    """`track_camera` for every camera in `workers` spawned processes; results in camera order."""
    try:
        pickle.dumps((detect, embed))
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise TypeError(f"detect/embed must be picklable to run {workers} camera workers "
                        f"(or set input.workers: 1): {exc}") from exc
    ctx = worker_context(load_detector=detect is None)
    slots = ctx.Queue()
    for cores in core_sets(workers):
        slots.put(cores)
    with ProcessPoolExecutor(workers, ctx, _init_worker, (slots, cfg, detect, embed)) as pool:
        futures = [pool.submit(_track_in_worker, c) for c in cameras]
        try:
            parts = [f.result() for f in futures]
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    for _, seconds in parts:
        for stage, value in seconds.items():
            times.seconds[stage] += value
    return [result for result, _ in parts]


def damage_note(camera: Camera) -> str:
    """One line on what damage cost a camera: frames lost, their ranges, decoded vs claimed."""
    ranges = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in camera.skipped)
    return (f"camera {camera.id}: {camera.lost_frames} frames lost to damage (frames {ranges} "
            f"skipped); {camera.frame_count} decoded, the container claims "
            f"{camera.claimed_frames}")


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
    """Track every camera, store the tracklets, match across cameras, write the outputs under
    `out_dir`."""
    check_writable(out_dir)
    check_matching(cfg.matching)  # a bad topology file fails before detection starts
    times = StageTimes()
    start = time.perf_counter()
    results = track_cameras(cameras, cfg, detect, embed, times)
    stored = StoredRun([t for r in results for t in r.tracklets], [r.camera for r in results],
                       cfg, sum(r.frames for r in results), time.perf_counter() - start,
                       dict(times.seconds))
    return associate(stored, out_dir, save_run(out_dir, stored))


def rematch(run_dir: Path, out_dir: Path, matching: dict[str, Any] | None = None,
            links: Links = NO_LINKS) -> RunResult:
    """Redo the association of a finished run from its stored tracklets, with `matching` keys
    overriding its config and the user's `links`; writes the outputs (no gallery or videos:
    they need the frames) and the tracklets with the new config under `out_dir`."""
    stored = load_run(run_dir)
    cfg = stored.config
    if matching:
        merged = config_to_mapping(cfg) | {"matching": config_to_mapping(cfg.matching) | matching}
        cfg = config_from_mapping(merged)
    check_matching(cfg.matching)
    check_writable(out_dir)
    output = replace(cfg.output, gallery=False, save_video=False)
    stored = replace(stored, config=replace(cfg, output=output))
    return associate(stored, out_dir, save_run(out_dir, stored), links)


LEARNED_TOPOLOGY = "topology.learned.yaml"
LEARNED_COMMENT = """Camera links learned from this run (matching.link_rounds): per ordered camera
pair, the travel-time window and where tracklets leave the first camera and enter the second.
Edit it and pass it as --topology to use it instead of learning (camera pairs it does not list
then never link)."""


def associate(stored: StoredRun, out_dir: Path, outputs: list[Path],
              links: Links = NO_LINKS) -> RunResult:
    """Match the stored tracklets across cameras and write the outputs, summary.json last."""
    cfg, times = stored.config, StageTimes(defaultdict(float, stored.stage_seconds))
    t = time.perf_counter()
    matching = cfg.matching.resolved(cfg.appearance.embedder.weights)
    global_ids, graph = match_tracklets(stored.tracklets, matching, load_compare(cfg.appearance),
                                        links)
    seconds = stored.seconds + (times.add("match", t) - t)
    learned = out_dir / LEARNED_TOPOLOGY
    if graph.graph.get("topology_source") == "learned":
        write_yaml(learned, graph.graph["topology"], LEARNED_COMMENT)
        outputs.append(learned)
    else:
        learned.unlink(missing_ok=True)  # not left over from an earlier run into this folder
    outputs += write_outputs(cfg, stored.cameras, stored.tracklets, global_ids,
                             graph_to_dict(graph), out_dir)
    outputs.append(out_dir / "summary.json")
    result = RunResult(stored.cameras, stored.frames, stored.tracklets, global_ids, seconds,
                       dict(times.seconds), outputs)
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
            outputs.append(
                visualize.write_gallery(out_dir / "gallery.png", cameras, tracklets, global_ids))
        if cfg.output.save_video:
            outputs += visualize.write_videos(out_dir / "videos", cameras, tracklets, global_ids,
                                              cfg.input.max_frames)
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
        "frames_per_camera": {c.id: {"decoded": c.frame_count, "claimed": c.claimed_frames,
                                     "skipped": c.lost_frames,
                                     "skipped_ranges": [list(r) for r in c.skipped]}
                              for c in result.cameras},
        "tracklets": len(result.tracklets),
        "global_ids": result.identities,
        "frames": result.frames,
        "seconds": round(result.seconds, 3),
        "fps": round(result.fps, 2),
        "stage_seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()},
    }
