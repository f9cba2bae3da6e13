"""The runner interface: how cameras execute, chosen by `input.runner` (`--runner`).

A runner tracks cameras wherever it likes (this process, worker processes, Ray actors) and
yields each camera's `CameraResult` to the driver as soon as that camera is finished, in
completion order; the driver stores it, matches across cameras and writes the outputs.
Resources (a process pool, Ray actors) live as long as the `track` generator.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Protocol

from threadpoolctl import threadpool_limits

from mcvrt.camera import CameraResult
from mcvrt.types import Camera

Started = Callable[[Camera], None]  # told when a camera starts (for the driver's progress bar)


class Runner(Protocol):
    """Executes cameras; built by `make_runner` from the config, which checks what it can
    (e.g. that Ray is installed and its cluster reachable) before any heavy work."""

    def track(self, cameras: Sequence[Camera], started: Started) -> Iterator[CameraResult]:
        """Each camera's result as it finishes; closing the iterator stops the work."""
        ...


def run_bounded(cameras: Sequence[Camera], slots: int,
                submit: Callable[[Camera, int], Future[CameraResult]],
                started: Started) -> Iterator[CameraResult]:
    """Keep `slots` cameras in flight (`submit(camera, slot)`, slot in 0..slots-1 and free),
    yield results in completion order; futures still pending when the iterator closes are
    cancelled. One camera per worker at a time, so "started" is when a worker takes it."""
    waiting, free = deque(cameras), deque(range(slots))
    running: dict[Future[CameraResult], int] = {}
    try:
        while waiting or running:
            while waiting and free:
                camera = waiting.popleft()
                started(camera)
                slot = free.popleft()
                running[submit(camera, slot)] = slot
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                free.append(running.pop(future))
                yield future.result()
    finally:
        for future in running:
            future.cancel()


def limit_threads(threads: int) -> None:
    """Hold the native libraries of this worker to `threads` threads, before models load."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)  # libraries loaded from now on
    threadpool_limits(threads)  # those already loaded (numpy's BLAS, torch)
    import cv2

    cv2.setNumThreads(threads)
