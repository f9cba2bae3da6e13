"""Row-aligned arrays of the tracklets being associated: the index space of every other module."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mcvrt.tracklets import stack_embeddings
from mcvrt.types import Tracklet, TrackletKey


@dataclass(frozen=True)
class Table:
    """Tracklets sorted by (start time, key), and the per-row values association needs.

    ``usable`` marks the rows that may get edges: at least ``min_frames`` frames and an
    embedding. ``embeddings`` is (N, D) float32, the usable rows' embeddings and zero rows
    for the others. Where a tracklet begins (``entry``) and ends (``exit``): the centre of its
    first / last box in pixels, its velocity there in pixels per second and its heading
    (`end_motion`), and the height of that box; ``view_wh`` approximates each camera's image
    size by the extent of its boxes. ``view_entry_s`` / ``view_exit_s`` estimate when the
    vehicle came into / left the view (`seconds_to_border`): what the travel-time gate compares.
    """

    tracklets: tuple[Tracklet, ...]
    starts: np.ndarray  # (N,) float64 seconds
    ends: np.ndarray  # (N,) float64 seconds
    cameras: np.ndarray  # (N,) int64 index into camera_ids
    camera_ids: tuple[str, ...]  # sorted
    embeddings: np.ndarray  # (N, D) float32
    has_embedding: np.ndarray  # (N,) bool
    usable: np.ndarray  # (N,) bool
    entry_xy: np.ndarray  # (N, 2) float64
    entry_heading: np.ndarray  # (N,) float64 degrees, NaN when unknown
    entry_velocity: np.ndarray  # (N, 2) float64 pixels / s, NaN when unknown
    entry_height: np.ndarray  # (N,) float64 pixels
    exit_xy: np.ndarray  # (N, 2) float64
    exit_heading: np.ndarray  # (N,) float64 degrees, NaN when unknown
    exit_velocity: np.ndarray  # (N, 2) float64 pixels / s, NaN when unknown
    exit_height: np.ndarray  # (N,) float64 pixels
    view_wh: np.ndarray  # (C, 2) float64: per camera, how far its boxes reach right and down
    view_entry_s: np.ndarray  # (N,) float64 seconds, <= starts
    view_exit_s: np.ndarray  # (N,) float64 seconds, >= ends

    @classmethod
    def build(cls, tracklets: Sequence[Tracklet], min_frames: int, view_lead_s: float = 0.0
              ) -> Table:
        """The table of `tracklets`, each end carried up to `view_lead_s` seconds to the view
        border (`seconds_to_border`; 0: view entry / exit = start / end); raises ValueError on a
        duplicate key."""
        ordered = tuple(sorted(tracklets, key=lambda t: (t.start_s, t.key)))
        duplicates = [key for key, n in Counter(t.key for t in ordered).items() if n > 1]
        if duplicates:
            raise ValueError(f"duplicate tracklet key {duplicates[0]}")
        has = np.array([bool(np.any(t.embedding)) for t in ordered], dtype=bool)
        frames = np.array([len(t.frames) for t in ordered], dtype=np.int64)
        usable = has & (frames >= min_frames)
        embeddings = stack_embeddings(ordered, np.flatnonzero(usable))
        camera_ids = tuple(sorted({t.camera_id for t in ordered}))
        code = {camera: i for i, camera in enumerate(camera_ids)}
        cameras = np.array([code[t.camera_id] for t in ordered], dtype=np.int64)
        entry = [end_motion(t, last=False) for t in ordered]
        exit_ = [end_motion(t, last=True) for t in ordered]
        entry_xy = np.array([m.xy for m in entry], np.float64).reshape(-1, 2)
        entry_velocity = np.array([m.velocity for m in entry], np.float64).reshape(-1, 2)
        exit_xy = np.array([m.xy for m in exit_], np.float64).reshape(-1, 2)
        exit_velocity = np.array([m.velocity for m in exit_], np.float64).reshape(-1, 2)
        view_wh = np.array([np.max([t.xyxy[:, 2:].max(axis=0) for t in ordered
                                    if t.camera_id == camera], axis=0)
                            for camera in camera_ids], np.float64).reshape(-1, 2)
        starts = np.array([t.start_s for t in ordered], dtype=np.float64)
        ends = np.array([t.end_s for t in ordered], dtype=np.float64)
        view = view_wh[cameras]
        return cls(
            tracklets=ordered,
            starts=starts,
            ends=ends,
            cameras=cameras,
            camera_ids=camera_ids,
            embeddings=embeddings,
            has_embedding=has,
            usable=usable,
            entry_xy=entry_xy,
            entry_heading=np.array([m.heading for m in entry], np.float64),
            entry_velocity=entry_velocity,
            entry_height=np.array([t.xyxy[0, 3] - t.xyxy[0, 1] for t in ordered], np.float64),
            exit_xy=exit_xy,
            exit_heading=np.array([m.heading for m in exit_], np.float64),
            exit_velocity=exit_velocity,
            exit_height=np.array([t.xyxy[-1, 3] - t.xyxy[-1, 1] for t in ordered], np.float64),
            view_wh=view_wh,
            view_entry_s=starts - seconds_to_border(entry_xy, -entry_velocity, view, view_lead_s),
            view_exit_s=ends + seconds_to_border(exit_xy, exit_velocity, view, view_lead_s),
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
        """Travel time of each pair: seconds from the earlier vehicle leaving its camera's view
        to the later one entering its own (``view_exit_s`` / ``view_entry_s``: the tracklets'
        own end / start unless built with a view lead; < 0: they overlap)."""
        return (np.maximum(self.view_entry_s[i], self.view_entry_s[j])
                - np.minimum(self.view_exit_s[i], self.view_exit_s[j]))

    @property
    def max_entry_lead_s(self) -> float:
        """How much earlier than its first box any tracklet's vehicle entered the view."""
        return float(np.max(self.starts - self.view_entry_s, initial=0.0))


HEADING_S = 1.0  # a tracklet's heading at an end: its motion over this many seconds there
MIN_MOTION_PX = 2.0  # less motion than this leaves the heading unknown


@dataclass(frozen=True)
class EndMotion:
    """Where a tracklet begins or ends and how it moves there."""

    xy: np.ndarray  # (2,) centre of the first / last box, pixels
    velocity: np.ndarray  # (2,) pixels / s; NaN when it moves less than `MIN_MOTION_PX`
    heading: float  # degrees of `velocity` (image axes: 0 = right, 90 = down), NaN when unknown


def end_motion(tracklet: Tracklet, last: bool) -> EndMotion:
    """Centre of the tracklet's first (or last) box and its motion there: the displacement of
    the centre over `HEADING_S` (or the tracklet's whole span when shorter)."""
    centres = (tracklet.xyxy[:, :2] + tracklet.xyxy[:, 2:]).astype(np.float64) / 2.0
    times = tracklet.frames / tracklet.fps
    if last:
        near = times >= times[-1] - HEADING_S
        point, move = centres[-1], centres[-1] - centres[near][0]
        span = times[-1] - times[near][0]
    else:
        near = times <= times[0] + HEADING_S
        point, move = centres[0], centres[near][-1] - centres[0]
        span = times[near][-1] - times[0]
    if np.hypot(*move) < MIN_MOTION_PX:
        return EndMotion(point, np.full(2, np.nan), float("nan"))
    return EndMotion(point, move / span, float(np.degrees(np.arctan2(move[1], move[0]))))


def seconds_to_border(xy: np.ndarray, velocity: np.ndarray, view_wh: np.ndarray,
                      cap_s: float) -> np.ndarray:
    """Seconds until points (N, 2) moving at `velocity` (N, 2, pixels / s) leave the view
    [0, w] x [0, h] of `view_wh` (N, 2), at most `cap_s`; 0 where the velocity is unknown (NaN)
    or the point lies outside already.

    A tracklet starts after its vehicle came into view and ends before it left (the detector
    needs it large and clear enough, the tracker a few hits), so its gap to another camera's
    tracklet overstates the travel time (median +0.7 s by day, +0.9 s at night on the heavy
    evaluation scenes); its ends carried this way to the border remove that (docs/association.md).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        per_axis = np.where(velocity > 0, view_wh - xy, -xy) / velocity
    per_axis[~(np.abs(velocity) > 0)] = np.inf  # no motion along that axis (or unknown)
    seconds = np.clip(per_axis.min(axis=1, initial=np.inf), 0.0, cap_s)
    return np.where(np.isnan(velocity).any(axis=1), 0.0, seconds)

