"""`--runner processes` (the default): a pool of worker processes on this machine.

Each worker is forked from a server that has pre-imported the pipeline, pinned to its share of
the CPU cores, and loads the models once, on its first camera. With one worker (`input.workers:
1`, or a CUDA detector) the cameras run in this process instead.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from mcvrt.appearance import Embed
from mcvrt.camera import CameraResult, CameraTracker, Detect
from mcvrt.config import PipelineConfig
from mcvrt.runners.base import Started, limit_threads, run_bounded
from mcvrt.runners.local import LocalRunner
from mcvrt.types import Camera


def usable_cores() -> list[int]:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def cores_per_camera(cfg: PipelineConfig) -> int:
    """Cores one camera keeps busy: 2 with a learned embedder, whose network runs in a thread
    beside the detector's (B1, 2 cameras on 2 cores: 56 frames/s in one process against 47 on
    two single-core workers), else 1."""
    return 2 if cfg.appearance.learned else 1


def worker_count(cfg: PipelineConfig, cameras: int) -> int:
    """Worker processes for `cameras` cameras: `input.workers`, or one per camera up to the cores
    (`cores_per_camera` cores each).

    On a CUDA detector the automatic choice is 1: a single process keeps one model on the GPU.
    """
    if cfg.input.workers:
        return min(cfg.input.workers, cameras)
    if cfg.detector.device.startswith("cuda"):
        return 1
    return max(1, min(cameras, len(usable_cores()) // cores_per_camera(cfg)))


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


_worker: dict = {}  # per worker process: its CameraTracker (models loaded on its first camera)


def _init_worker(slots: multiprocessing.Queue, cfg: PipelineConfig, detect: Detect | None,
                 embed: Embed | None) -> None:
    """Pin this worker to its cores and limit library threads to them, before any model loads."""
    cores = slots.get()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    limit_threads(len(cores))
    _worker["track"] = CameraTracker(cfg, detect, embed)


def _track_in_worker(camera: Camera) -> CameraResult:
    return _worker["track"](camera)


class ProcessRunner:
    """Tracks cameras in `worker_count` pinned worker processes (given `detect` / `embed`
    callables are sent to them, so they must be picklable), or in this process for one."""

    def __init__(self, cfg: PipelineConfig, detect: Detect | None = None,
                 embed: Embed | None = None) -> None:
        self.cfg, self.detect, self.embed = cfg, detect, embed

    def track(self, cameras: Sequence[Camera], started: Started) -> Iterator[CameraResult]:
        workers = worker_count(self.cfg, len(cameras))
        if workers == 1:
            yield from LocalRunner(self.cfg, self.detect, self.embed).track(cameras, started)
            return
        try:
            pickle.dumps((self.detect, self.embed))
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise TypeError(f"detect/embed must be picklable to run {workers} camera workers "
                            f"(or set input.workers: 1): {exc}") from exc
        ctx = worker_context(load_detector=self.detect is None)
        slots = ctx.Queue()
        for cores in core_sets(workers):
            slots.put(cores)
        with ProcessPoolExecutor(workers, ctx, _init_worker,
                                 (slots, self.cfg, self.detect, self.embed)) as pool:
            try:
                yield from run_bounded(cameras, workers,
                                       lambda camera, _: pool.submit(_track_in_worker, camera),
                                       started)
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
