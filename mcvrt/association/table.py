"""Row-aligned arrays of the tracklets being associated: the index space of every other module."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mcvrt.types import Tracklet, TrackletKey


@dataclass(frozen=True)
class Table:
    """Tracklets sorted by (start time, key), and the per-row values association needs.

    ``usable`` marks the rows that may get edges: at least ``min_frames`` frames and an
    embedding. ``embeddings`` is (N, D) float32, the usable rows' embeddings and zero rows
    for the others.
    """

    tracklets: tuple[Tracklet, ...]
    starts: np.ndarray  # (N,) float64 seconds
    ends: np.ndarray  # (N,) float64 seconds
    cameras: np.ndarray  # (N,) int64 index into camera_ids
    camera_ids: tuple[str, ...]  # sorted
    embeddings: np.ndarray  # (N, D) float32
    has_embedding: np.ndarray  # (N,) bool
    usable: np.ndarray  # (N,) bool

    @classmethod
    def build(cls, tracklets: Sequence[Tracklet], min_frames: int) -> Table:
        """The table of `tracklets`; raises ValueError on a duplicate key."""
        ordered = tuple(sorted(tracklets, key=lambda t: (t.start_s, t.key)))
        duplicates = [key for key, n in Counter(t.key for t in ordered).items() if n > 1]
        if duplicates:
            raise ValueError(f"duplicate tracklet key {duplicates[0]}")
        has = np.array([bool(np.any(t.embedding)) for t in ordered], dtype=bool)
        frames = np.array([len(t.frames) for t in ordered], dtype=np.int64)
        usable = has & (frames >= min_frames)
        dim = max((len(ordered[row].embedding) for row in np.flatnonzero(usable)), default=0)
        embeddings = np.zeros((len(ordered), dim), np.float32)
        for row in np.flatnonzero(usable):
            embeddings[row] = ordered[row].embedding
        camera_ids = tuple(sorted({t.camera_id for t in ordered}))
        code = {camera: i for i, camera in enumerate(camera_ids)}
        return cls(
            tracklets=ordered,
            starts=np.array([t.start_s for t in ordered], dtype=np.float64),
            ends=np.array([t.end_s for t in ordered], dtype=np.float64),
            cameras=np.array([code[t.camera_id] for t in ordered], dtype=np.int64),
            camera_ids=camera_ids,
            embeddings=embeddings,
            has_embedding=has,
            usable=usable,
        )

    def __len__(self) -> int:
        return len(self.tracklets)

    @property
    def keys(self) -> list[TrackletKey]:
        return [t.key for t in self.tracklets]

    def index(self) -> dict[TrackletKey, int]:
        """Row of each tracklet key."""
        return {t.key: row for row, t in enumerate(self.tracklets)}

    def time_gaps(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Seconds from the end of the earlier tracklet of each pair to the start of the later
        (< 0: they overlap)."""
        return (np.maximum(self.starts[i], self.starts[j])
                - np.minimum(self.ends[i], self.ends[j]))
