"""The values that flow between pipeline stages.

frames -> Detections -> (tracked) Detections -> Tracklet -> global ids.
Every type is a frozen dataclass of row-aligned numpy arrays, validated when built.
Images are BGR uint8 (OpenCV order) everywhere in `mcvrt`; `reid` converts to RGB itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TrackletKey = tuple[str, int]  # (camera_id, track_id)
FrameRange = tuple[int, int]  # first and last frame index, inclusive


def _check(name: str, array: np.ndarray, shape: tuple[int | None, ...], dtype: type) -> None:
    """Raise ValueError naming the field when `array` is not of `shape` (None = any) and `dtype`."""
    ok = array.ndim == len(shape) and all(
        s is None or s == a for s, a in zip(shape, array.shape, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {array.shape}")
    if array.dtype != dtype:
        raise ValueError(f"{name} must be {np.dtype(dtype)}, got {array.dtype}")


@dataclass(frozen=True)
class Camera:
    """One input video. `id` is unique within a run (the file stem unless given)."""

    id: str
    path: Path
    fps: float
    # once read: the frames that decoded; from the probe: the container's claim (up to
    # --max-frames), an estimate, since headers can lie
    frame_count: int
    size_wh: tuple[int, int]
    time_offset_s: float = 0.0  # added to every frame time, for cameras whose clocks differ
    claimed_frames: int = 0  # the container's frame count (0: it gives none)
    skipped: tuple[FrameRange, ...] = ()  # frames lost to damage, once read

    @property
    def lost_frames(self) -> int:
        """Frames skipped over damaged parts of the video."""
        return sum(last - first + 1 for first, last in self.skipped)


@dataclass(frozen=True)
class Frame:
    """One decoded frame; `image` is (H, W, 3) uint8 BGR."""

    index: int  # 0-based frame number in its video
    time_s: float  # index / fps + the camera's time offset
    image: np.ndarray


@dataclass(frozen=True)
class Detections:
    """Vehicles found in one frame of one camera; row i of every field is the same object.

    xyxy: (N, 4) float32 pixels; confidence: (N,) float32; class_id: (N,) int64 COCO ids;
    embedding: (N, D) float32 unit-norm or None; track_id: (N,) int64 >= 1 or None.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    embedding: np.ndarray | None = None
    track_id: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        _check("xyxy", self.xyxy, (n, 4), np.float32)
        _check("confidence", self.confidence, (n,), np.float32)
        _check("class_id", self.class_id, (n,), np.int64)
        if self.embedding is not None:
            _check("embedding", self.embedding, (n, None), np.float32)
        if self.track_id is not None:
            _check("track_id", self.track_id, (n,), np.int64)

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> Detections:
        """Rows selected by a boolean mask, an index array or a slice."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            embedding=pick(self.embedding),
            track_id=pick(self.track_id),
        )

    @classmethod
    def empty(cls) -> Detections:
        """No detections, with the right dtypes."""
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int64),
        )


@dataclass(frozen=True)
class Tracklet:
    """Everything one camera saw of one tracked vehicle.

    frames: (T,) int64 strictly increasing; xyxy: (T, 4) float32 detector boxes;
    confidence: (T,) float32; embedding: (D,) float32 unit norm (quality-weighted mean).
    """

    camera_id: str
    track_id: int
    frames: np.ndarray
    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: int
    embedding: np.ndarray
    fps: float
    time_offset_s: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)  # e.g. condition / expert, for reports

    def __post_init__(self) -> None:
        t = len(self.frames)
        if t == 0:
            raise ValueError("a tracklet needs at least one frame")
        _check("frames", self.frames, (t,), np.int64)
        _check("xyxy", self.xyxy, (t, 4), np.float32)
        _check("confidence", self.confidence, (t,), np.float32)
        _check("embedding", self.embedding, (None,), np.float32)
        if np.any(np.diff(self.frames) <= 0):
            raise ValueError("tracklet frames must be strictly increasing")

    @property
    def key(self) -> TrackletKey:
        return (self.camera_id, self.track_id)

    @property
    def start_s(self) -> float:
        return float(self.frames[0]) / self.fps + self.time_offset_s

    @property
    def end_s(self) -> float:
        return float(self.frames[-1]) / self.fps + self.time_offset_s
