"""Candidate edges: pairs of tracklets of two cameras that time allows and that score high enough.

Tracklets are compared only within blocks: rows of a `Table` (sorted by start time) against the
rows that start before the block's latest end plus the largest allowed gap, so the cost grows
with the local density of tracklets rather than with the square of their number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from mcvrt.association.scoring import EdgeScorer
from mcvrt.association.table import Table
from mcvrt.association.topology import Windows

BLOCK = 512  # rows scored at once


@dataclass(frozen=True)
class TimeGate:
    """The time gaps allowed between two cameras' tracklets: [low, high] per camera pair.

    Without a topology every pair of different cameras allows gaps up to ``max_transition_s``
    (overlaps included: overlapping fields of view). With one, each listed pair allows its
    window, in either order, and other pairs nothing.
    """

    low: np.ndarray  # (C, C) float64 seconds; +inf where a pair is never linked
    high: np.ndarray  # (C, C) float64 seconds; -inf where a pair is never linked

    @classmethod
    def build(cls, camera_ids: tuple[str, ...], max_transition_s: float,
              windows: Windows | None) -> TimeGate:
        n = len(camera_ids)
        if windows is None:
            low, high = np.full((n, n), -np.inf), np.full((n, n), float(max_transition_s))
        else:
            low, high = np.full((n, n), np.inf), np.full((n, n), -np.inf)
            code = {camera: i for i, camera in enumerate(camera_ids)}
            for (a, b), (lo, hi) in windows.items():
                if a in code and b in code:
                    low[code[a], code[b]] = low[code[b], code[a]] = lo
                    high[code[a], code[b]] = high[code[b], code[a]] = hi
        np.fill_diagonal(low, np.inf)
        np.fill_diagonal(high, -np.inf)
        return cls(low, high)

    @property
    def horizon(self) -> float:
        """The largest allowed gap of any pair (-inf: no pair may link)."""
        return float(self.high.max(initial=-np.inf))

    def allows(self, cam_a: np.ndarray, cam_b: np.ndarray, gap: np.ndarray) -> np.ndarray:
        """Mask of the pairs whose cameras allow their time gap."""
        return (self.low[cam_a, cam_b] <= gap) & (gap <= self.high[cam_a, cam_b])


@dataclass(frozen=True)
class Pairs:
    """Row-aligned candidate pairs of a `Table`: rows i < j, their score and time gap."""

    i: np.ndarray
    j: np.ndarray
    score: np.ndarray
    gap: np.ndarray

    def __len__(self) -> int:
        return len(self.i)


def blocks(table: Table, horizon: float) -> Iterator[tuple[int, int, int]]:
    """(lo, hi, stop): rows lo..hi-1 can only pair with rows < stop within `horizon` seconds."""
    for lo in range(0, len(table), BLOCK):
        hi = min(lo + BLOCK, len(table))
        yield lo, hi, int(np.searchsorted(table.starts, table.ends[lo:hi].max() + horizon,
                                          side="right"))


def candidate_pairs(table: Table, scorer: EdgeScorer, threshold: float, gate: TimeGate) -> Pairs:
    """Usable pairs of different cameras that `gate` allows and that score >= `threshold`."""
    found: list[tuple[np.ndarray, ...]] = []
    if gate.horizon > -np.inf:
        for lo, hi, stop in blocks(table, gate.horizon):
            score = scorer(slice(lo, hi), slice(lo, stop))
            rows, cols = np.nonzero(score >= threshold)
            i, j = rows + lo, cols + lo
            keep = (j > i) & table.usable[i] & table.usable[j]
            rows, cols, i, j = rows[keep], cols[keep], i[keep], j[keep]
            gap = table.time_gaps(i, j)
            keep = gate.allows(table.cameras[i], table.cameras[j], gap)
            found.append((i[keep], j[keep], score[rows[keep], cols[keep]], gap[keep]))
    if not found:
        return Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    return Pairs(*(np.concatenate(parts) for parts in zip(*found, strict=True)))
