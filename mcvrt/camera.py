"""One camera's work: frames -> detections (+ embeddings) -> tracks -> tracklets.

Cameras are independent until matching; a runner (`mcvrt.runners`) calls `track_camera` for
each camera wherever it executes (this process, a worker process, a Ray actor) and sends the
`CameraResult` back to the driver.
"""

from __future__ import annotations

import math
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from mcvrt.appearance import (
    Embed,
    describe_tracklet,
    embed_detections,
    load_embed,
    rows_to_embed,
    wants_foggy_crops,
)
from mcvrt.config import PipelineConfig
from mcvrt.enhance import FramePreparer
from mcvrt.interpolate import fill_gaps
from mcvrt.tracking import Tracker
from mcvrt.tracklets import TrackletCollector
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
class CameraResult:
    """What tracking one camera gives the driver: its tracklets and how they were made."""

    camera: Camera  # as read: frames decoded, ranges lost to damage
    tracklets: list[Tracklet]
    frames: int  # frames processed
    seconds: float  # wall time of this camera, model loading included
    stage_seconds: dict[str, float]
    node: str  # where it ran: the host name, or the Ray node id

    @property
    def camera_id(self) -> str:
        return self.camera.id


def load_models(cfg: PipelineConfig, detect: Detect | None = None,
                embed: Embed | None = None) -> tuple[Detect, Embed]:
    """The given callables, else the configured detector and embedder, loaded side by side
    (both mostly native code that releases the GIL); the embedder's error is raised first."""
    from mcvrt.detection import Detector

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcvrt-load") as pool:
        detector = pool.submit(Detector, cfg.detector) if detect is None else None
        if embed is None:
            embed = load_embed(cfg.appearance)
        return (detect if detector is None else detector.result()), embed


class CameraTracker:
    """Tracks cameras one after another with models loaded once, on the first camera."""

    def __init__(self, cfg: PipelineConfig, detect: Detect | None = None,
                 embed: Embed | None = None, node: str | None = None,
                 progress: bool = False) -> None:
        self.cfg, self.detect, self.embed = cfg, detect, embed
        self.node = node or socket.gethostname()
        self.progress = progress  # a per-frame bar (only where stderr is the user's terminal)
        self.loaded = False

    def __call__(self, camera: Camera) -> CameraResult:
        times, start = StageTimes(), time.perf_counter()
        if not self.loaded:
            self.detect, self.embed = load_models(self.cfg, self.detect, self.embed)
            self.loaded = True
            times.add("load", start)
        read, tracklets, frames = track_camera(camera, self.cfg, self.detect, self.embed, times,
                                               self.progress)
        return CameraResult(read, tracklets, frames, time.perf_counter() - start,
                            dict(times.seconds), self.node)


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
) -> Generator[tuple[Frame, str, np.ndarray, Detections, np.ndarray], None, None]:
    """Each frame, its condition, the image to cut ReID crops from, its detections and which of
    them are weak (below the frame's threshold, kept to continue tracks at night): condition
    estimate, enhancement, detector, thresholds. Crops come from the dehazed image on foggy frames
    (`enhance.embed_enhanced`; not for an SJDL fog expert, trained on foggy crops), else from
    the original (ALSA corrects low light itself)."""
    prepare = FramePreparer(cfg.enhance)
    dehazed_crops = cfg.enhance.embed_enhanced and not wants_foggy_crops(cfg.appearance)
    t = time.perf_counter()
    for frame in frames:
        t = times.add("decode", t)
        condition, image = prepare(frame.image)  # outputs keep the original frame
        t = times.add("enhance", t)
        dets = detect(image)
        floor = [cfg.detector.track_confidence_for(condition, c) for c in dets.class_id.tolist()]
        dets = dets[dets.confidence >= np.array(floor, np.float32)]
        start = [cfg.detector.confidence_for(condition, c) for c in dets.class_id.tolist()]
        weak = dets.confidence < np.array(start, np.float32)
        times.add("detect", t)
        source = image if dehazed_crops and condition == "fog" else frame.image
        yield frame, condition, source, dets, weak
        t = time.perf_counter()


def track_camera(
    camera: Camera, cfg: PipelineConfig, detect: Detect, embed: Embed, times: StageTimes,
    progress: bool = False,
) -> tuple[Camera, list[Tracklet], int]:
    """Detect, embed and track one camera; returns the camera as read (frames decoded, ranges lost
    to damage), its tracklets and the frames processed.

    Three threads overlap: decoding runs a frame ahead of detection, and detection (native code
    that releases the GIL) a frame ahead of embedding and tracking. `progress`: a per-frame bar
    below the driver's camera bar.
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
        # frame indices of the updates a tentative track spans, the last update last
        recent: deque[int] = deque(maxlen=cfg.tracker.n_init)
        prepared = prefetch(detect_frames(frames, cfg, detect, times))
        for frame, condition, source, dets, weak in tqdm(
                prepared, total=total, desc=camera.id, unit="frame", leave=False, position=1,
                disable=not progress):
            t = time.perf_counter()
            rows = np.zeros(len(dets), bool)  # weak detections join no gallery: not embedded
            rows[~weak] = rows_to_embed(dets.xyxy[~weak], previous, processed % every == 0,
                                        cfg.appearance)
            previous = dets.xyxy[~weak]
            if rows.any():
                dets = embed_detections(source, dets, embed, cfg.appearance.min_crop_px, rows,
                                        condition)
                t = times.add("embed", t)
            current = tracker.update(dets, weak)
            recent.append(frame.index)
            for ago, earlier in tracker.first_hits():
                collector.add(recent[-1 - ago], earlier)
            collector.add(frame.index, current)
            times.add("track", t)
            processed += 1
        max_gap = cfg.output.interpolate_max_gap
        tracklets = [describe_tracklet(t, embed) for t in collector.finish()]
        return (reader.camera, [fill_gaps(tracklet, max_gap, stride) for tracklet in tracklets],
                processed)
