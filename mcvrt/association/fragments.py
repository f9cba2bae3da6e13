"""Fragments of one vehicle within a camera, re-linked before the cross-camera step.

A tracker drops a vehicle it misses for longer than its ``max_age`` (occluded, or its detections
lost for a stretch in fog or at night) and starts a new track when it finds it again. Two
tracklets of one camera are taken for fragments of one vehicle when the later one begins
shortly after the earlier one ends, where the earlier one's motion at its end predicts it, moving
the same way, and they look alike. Each tracklet continues at most one earlier tracklet and is
continued by at most one later one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcvrt.association.candidates import Pairs
from mcvrt.association.scoring import Compare
from mcvrt.association.table import Table
from mcvrt.tracklets import stack_embeddings

MAX_TURN_DEG = 45.0  # a continuation heads within this of the fragment it continues


@dataclass(frozen=True)
class FragmentRules:
    """When a later tracklet of a camera continues an earlier one (``matching.fragment_*``)."""

    max_gap_s: float  # longest time between the end of one and the start of the other
    min_similarity: float  # least appearance score
    max_shift: float  # allowed distance from the predicted position: box heights per second
    # of gap (at least one box height)


def fragment_pairs(table: Table, rules: FragmentRules, compare: Compare | None = None) -> Pairs:
    """One-to-one (earlier row, later row) continuations within each camera, by descending
    score (ties: earlier rows first).

    Allowed pairs: both with an embedding (short ones too), the later starting
    0 < gap <= ``max_gap_s`` after the earlier ends, beginning within
    ``max_shift * max(gap, 1 s)`` box heights of where the earlier one's end velocity carries
    it, heading within `MAX_TURN_DEG` of it (unknown motion: no prediction, the distance is from
    the end point), and with a cosine similarity of their embeddings >= ``min_similarity``.
    """
    first, second = _nearby(table, rules.max_gap_s)
    gap = table.starts[second] - table.ends[first]
    velocity = np.nan_to_num(table.exit_velocity[first])
    predicted = table.exit_xy[first] + velocity * gap[:, None]
    shift = np.hypot(*(table.entry_xy[second] - predicted).T)
    height = np.maximum(table.exit_height[first], table.entry_height[second])
    turn = np.abs((table.entry_heading[second] - table.exit_heading[first] + 180.0) % 360.0
                  - 180.0)
    keep = (shift <= rules.max_shift * np.maximum(gap, 1.0) * height) & ~(turn > MAX_TURN_DEG)
    first, second, gap = first[keep], second[keep], gap[keep]
    # the tracklets' own embeddings: short tracklets, which take no part in cross-camera
    # matching (``min_tracklet_frames``), are the usual fragments
    embeddings = stack_embeddings(table.tracklets, np.flatnonzero(table.has_embedding))
    left, right = (embeddings, embeddings) if compare is None else compare(embeddings, table)
    score = np.einsum("ij,ij->i", left[first], right[second]).astype(np.float64)
    keep = score >= rules.min_similarity
    first, second, gap, score = first[keep], second[keep], gap[keep], score[keep]
    # greedy one-to-one by score: the pairs are few and sparse, so an optimal assignment would
    # change next to nothing (the clustering merges greedily by score in the same way)
    taken_end, taken_start = set(), set()
    chosen = []
    for k in np.lexsort((second, first, -score)):
        if first[k] not in taken_end and second[k] not in taken_start:
            taken_end.add(first[k])
            taken_start.add(second[k])
            chosen.append(k)
    chosen = np.array(sorted(chosen), np.int64)
    return Pairs(first[chosen], second[chosen], score[chosen], gap[chosen])


def _nearby(table: Table, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Every (earlier, later) pair of embedded rows of one camera, the later starting within
    (0, max_gap_s] after the earlier ends."""
    firsts, seconds = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for camera in range(len(table.camera_ids)):
        rows = np.flatnonzero((table.cameras == camera) & table.has_embedding)  # sorted by start
        starts = table.starts[rows]
        lo = np.searchsorted(starts, table.ends[rows], side="right")
        hi = np.searchsorted(starts, table.ends[rows] + max_gap_s, side="right")
        for row, a, b in zip(rows, lo, hi, strict=True):
            firsts.append(np.full(b - a, row, np.int64))
            seconds.append(rows[a:b])
    return np.concatenate(firsts), np.concatenate(seconds)
