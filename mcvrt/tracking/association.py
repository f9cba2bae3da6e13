"""Cost matrices and assignment: rows are tracks, columns are detections.

`assign` solves one linear assignment with lap; `matching_cascade` is DeepSORT's cascade that
lets recently seen tracks choose first. Entries at or above `INFTY_COST` mean "may not match".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import lap
import numpy as np

from mcvrt.boxes import box_iou

INFTY_COST = 1e5
NO_PAIRS = np.empty((0, 2), np.int64)
NO_PAIRS.setflags(write=False)


@dataclass(frozen=True)
class Matches:
    """pairs (K, 2) int64 of (row, col), sorted by row; the rows and columns left over."""

    pairs: np.ndarray
    unmatched_rows: np.ndarray
    unmatched_cols: np.ndarray

    @classmethod
    def from_pairs(cls, pairs: np.ndarray, n_rows: int, n_cols: int) -> Matches:
        """Matches of an (n_rows, n_cols) problem from its (row, col) pairs."""
        pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
        pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
        free_rows, free_cols = np.ones(n_rows, bool), np.ones(n_cols, bool)
        free_rows[pairs[:, 0]] = False
        free_cols[pairs[:, 1]] = False
        return cls(pairs=pairs, unmatched_rows=np.flatnonzero(free_rows),
                   unmatched_cols=np.flatnonzero(free_cols))



def assign(cost: np.ndarray, max_cost: float) -> Matches:
    """Minimum-cost assignment of rows to columns; entries above `max_cost` never match."""
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, got shape {cost.shape}")
    if cost.size == 0:
        return Matches.from_pairs(NO_PAIRS, *cost.shape)
    _, col_of_row, _ = lap.lapjv(cost, extend_cost=True, cost_limit=max_cost)
    rows = np.flatnonzero(col_of_row >= 0)
    return Matches.from_pairs(np.column_stack([rows, col_of_row[rows]]), *cost.shape)


def matching_cascade(cost: np.ndarray, ages: np.ndarray, max_age: int,
                     max_cost: float) -> Matches:
    """DeepSORT's cascade: rows with age 1 are assigned first, then age 2, ... up to max_age.

    `ages` (rows,) is each track's frames since its last update; rows outside 1..max_age are
    never matched. Columns taken at one level are not offered to the next.
    """
    pairs = [NO_PAIRS]
    free = np.arange(cost.shape[1], dtype=np.int64)
    for age in range(1, max_age + 1):
        if len(free) == 0:
            break
        rows = np.flatnonzero(ages == age)
        if len(rows) == 0:
            continue
        level = assign(cost[np.ix_(rows, free)], max_cost)
        pairs.append(np.column_stack([rows[level.pairs[:, 0]], free[level.pairs[:, 1]]]))
        free = free[level.unmatched_cols]
    return Matches.from_pairs(np.concatenate(pairs), *cost.shape)


def iou_cost(track_xyxy: np.ndarray, det_xyxy: np.ndarray) -> np.ndarray:
    """(T, N) 1 - IoU between track boxes (T, 4) and detection boxes (N, 4)."""
    return 1.0 - box_iou(track_xyxy, det_xyxy)


def cosine_cost(galleries: Sequence[np.ndarray], embeddings: np.ndarray) -> np.ndarray:
    """(T, N) smallest cosine distance from each gallery (G, D) to each unit embedding (N, D).

    An empty gallery gives INFTY_COST for its whole row. Products run in float32 (ample for a
    cosine between unit vectors; this is the tracker's largest per-frame product).
    """
    embeddings = np.asarray(embeddings, np.float32)
    cost = np.full((len(galleries), len(embeddings)), INFTY_COST)
    sizes = np.array([len(g) for g in galleries], np.int64)
    rows = np.flatnonzero(sizes)
    if len(rows) and len(embeddings):  # one product for all galleries, then a max per gallery
        stacked = np.concatenate([galleries[r] for r in rows], dtype=np.float32)
        starts = np.concatenate([[0], np.cumsum(sizes[rows])[:-1]])
        cost[rows] = 1.0 - np.maximum.reduceat(stacked @ embeddings.T, starts, axis=0)
    return cost
