"""`--runner local`: cameras one after another in this process, models loaded once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from mcvrt.appearance import Embed
from mcvrt.camera import CameraResult, CameraTracker, Detect
from mcvrt.config import PipelineConfig
from mcvrt.runners.base import Started
from mcvrt.types import Camera


class LocalRunner:
    """Tracks the cameras in order in the calling process, with a per-frame progress bar."""

    def __init__(self, cfg: PipelineConfig, detect: Detect | None = None,
                 embed: Embed | None = None) -> None:
        self.tracker = CameraTracker(cfg, detect, embed, progress=True)

    def track(self, cameras: Sequence[Camera], started: Started) -> Iterator[CameraResult]:
        for camera in cameras:
            started(camera)
            yield self.tracker(camera)
