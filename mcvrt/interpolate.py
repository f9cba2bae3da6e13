"""Gap filling: linear boxes for the frames a confirmed track missed between two detections.

Like StrongSORT's linear interpolation (its GSI without the Gaussian smoothing): for each pair of
consecutive observations of a tracklet with `1 <= missing <= max_gap` processed frames between
them, every missing frame gets `box = a + (f - f_a) / (f_b - f_a) * (b - a)`, and its confidence
is interpolated the same way. Longer gaps stay gaps. Offline only: it needs the detection after
the gap, so a real-time run turns it off (`output.interpolate_max_gap: 0`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mcvrt.types import Tracklet


def fill_gaps(tracklet: Tracklet, max_gap: int, step: int = 1) -> Tracklet:
    """`tracklet` with gaps of up to `max_gap` missing frames filled.

    `step` is the frame stride of the run: processed frames are `step` apart, and only those
    are filled. Returns the tracklet itself when nothing is filled.
    """
    frames = tracklet.frames
    missing = np.diff(frames) // step - 1
    gaps = np.flatnonzero((missing >= 1) & (missing <= max_gap))
    if len(gaps) == 0:
        return tracklet
    new_frames = [np.arange(frames[i] + step, frames[i + 1], step, dtype=np.int64) for i in gaps]
    weights = [(f - frames[i]) / (frames[i + 1] - frames[i])
               for f, i in zip(new_frames, gaps, strict=True)]

    def between(values: np.ndarray) -> list[np.ndarray]:
        return [values[i] + np.multiply.outer(w, values[i + 1] - values[i])
                for w, i in zip(weights, gaps, strict=True)]

    all_frames = np.concatenate([frames, *new_frames])
    order = np.argsort(all_frames, kind="stable")
    return replace(
        tracklet,
        frames=all_frames[order],
        xyxy=np.concatenate([tracklet.xyxy, *between(tracklet.xyxy)]).astype(np.float32)[order],
        confidence=np.concatenate(
            [tracklet.confidence, *between(tracklet.confidence)]).astype(np.float32)[order],
    )
