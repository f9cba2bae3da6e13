"""Fixtures shared by the matching and export tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from mcvrt.types import Tracklet


def _tracklet(
    camera: str = "c1",
    track_id: int = 1,
    frames: Sequence[int] = range(10),
    embedding: Sequence[float] = (1.0, 0.0),
    *,
    fps: float = 10.0,
    time_offset_s: float = 0.0,
    class_id: int = 2,
    xyxy: Sequence[Sequence[float]] | None = None,
    confidence: Sequence[float] | None = None,
) -> Tracklet:
    """A valid Tracklet; `embedding` is normalised unless all zero; default boxes are 40x30."""
    frame_array = np.asarray(frames, dtype=np.int64)
    vector = np.asarray(embedding, dtype=np.float64)
    if np.any(vector):
        vector = vector / np.linalg.norm(vector)
    boxes = [[f, 10.0, f + 40.0, 40.0] for f in frame_array] if xyxy is None else xyxy
    return Tracklet(
        camera_id=camera,
        track_id=track_id,
        frames=frame_array,
        xyxy=np.asarray(boxes, dtype=np.float32),
        confidence=np.asarray([0.9] * len(frame_array) if confidence is None else confidence,
                              dtype=np.float32),
        class_id=class_id,
        embedding=vector.astype(np.float32),
        fps=fps,
        time_offset_s=time_offset_s,
    )


@pytest.fixture
def tracklet_factory() -> Callable[..., Tracklet]:
    """`_tracklet`: build a Tracklet from a few keyword arguments."""
    return _tracklet
