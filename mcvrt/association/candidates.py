"""Candidate edges: pairs of tracklets of two cameras that time allows and that score high enough.

Tracklets are compared only within blocks: rows of a `Table` (sorted by start time) against the
rows that start before the block's latest view exit plus the largest allowed gap, so the cost
grows with the local density of tracklets rather than with the square of their number. Time gaps
are travel times from leaving one camera's view to entering the next's (`Table.time_gaps`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from mcvrt.association.scoring import EdgeScorer
from mcvrt.association.table import Table
from mcvrt.association.topology import Link, Topology

BLOCK = 512  # rows scored at once


@dataclass(frozen=True)
class Gate:
    """Which pairs of tracklets a vehicle could link: the travel time allowed per ordered camera
    pair (camera seen first, camera seen next; `Table.time_gaps`, from leaving the first view
    to entering the next), and the links' exit / entry zones.

    Without a topology every pair of different cameras allows gaps up to ``max_transition_s``
    (overlaps included: overlapping fields of view). With one, each link allows its window and
    zones; camera pairs without a link allow nothing, or the default when ``default`` is set
    (a learned topology, silent on pairs it saw too little of).
    """

    low: np.ndarray  # (C, C) float64 seconds; +inf where a pair is never linked
    high: np.ndarray  # (C, C) float64 seconds; -inf where a pair is never linked
    links: dict[tuple[int, int], Link]  # camera index pair -> link with zones

    @classmethod
    def build(cls, camera_ids: tuple[str, ...], max_transition_s: float,
              topology: Topology | None = None, default: bool = False) -> Gate:
        n = len(camera_ids)
        if topology is None or default:
            low, high = np.full((n, n), -np.inf), np.full((n, n), float(max_transition_s))
        else:
            low, high = np.full((n, n), np.inf), np.full((n, n), -np.inf)
        code = {camera: i for i, camera in enumerate(camera_ids)}
        links = {}
        for (a, b), link in (topology or {}).items():
            if a in code and b in code:
                low[code[a], code[b]], high[code[a], code[b]] = link.min_s, link.max_s
                if link.exit or link.entry:
                    links[(code[a], code[b])] = link
        np.fill_diagonal(low, np.inf)
        np.fill_diagonal(high, -np.inf)
        return cls(low, high, links)

    @property
    def horizon(self) -> float:
        """The largest allowed gap of any pair (-inf: no pair may link)."""
        return float(self.high.max(initial=-np.inf))

    def allows(self, table: Table, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Mask of the row pairs (`first` starting no later than `second`) that may link."""
        cam_a, cam_b = table.cameras[first], table.cameras[second]
        gap = table.time_gaps(first, second)
        ok = (self.low[cam_a, cam_b] <= gap) & (gap <= self.high[cam_a, cam_b])
        for (a, b), link in self.links.items():
            k = np.flatnonzero(ok & (cam_a == a) & (cam_b == b))
            if link.exit:
                k = k[link.exit.holds(table.exit_xy[first[k]], table.exit_heading[first[k]])]
            if link.entry:
                k = k[link.entry.holds(table.entry_xy[second[k]], table.entry_heading[second[k]])]
            ok[(cam_a == a) & (cam_b == b)] = False
            ok[k] = True
        return ok


@dataclass(frozen=True)
class Pairs:
    """Row-aligned candidate pairs of a `Table`: rows i < j, their score and time gap."""

    i: np.ndarray
    j: np.ndarray
    score: np.ndarray
    gap: np.ndarray

    def __len__(self) -> int:
        return len(self.i)


NO_PAIRS = Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))


def blocks(table: Table, horizon: float) -> Iterator[tuple[int, int, int]]:
    """(lo, hi, stop): rows lo..hi-1 can only pair with rows < stop within `horizon` seconds
    of travel time (`Table.time_gaps`). The table is sorted by the tracklets' own starts, so a
    later row may begin up to ``max_entry_lead_s`` after its estimated view entry."""
    lead = table.max_entry_lead_s
    for lo in range(0, len(table), BLOCK):
        hi = min(lo + BLOCK, len(table))
        reach = table.view_exit_s[lo:hi].max() + horizon + lead
        yield lo, hi, int(np.searchsorted(table.starts, reach, side="right"))


def candidate_pairs(table: Table, scorer: EdgeScorer, threshold: float, gate: Gate) -> Pairs:
    """Usable pairs of different cameras that `gate` allows and that score >= `threshold`
    (rows i < j: i starts no later than j)."""
    found: list[tuple[np.ndarray, ...]] = []
    if gate.horizon > -np.inf:
        for lo, hi, stop in blocks(table, gate.horizon):
            score = scorer(slice(lo, hi), slice(lo, stop))
            rows, cols = np.nonzero(score >= threshold)
            i, j = rows + lo, cols + lo
            keep = (j > i) & table.usable[i] & table.usable[j]
            rows, cols, i, j = rows[keep], cols[keep], i[keep], j[keep]
            keep = gate.allows(table, i, j)
            found.append((i[keep], j[keep], score[rows[keep], cols[keep]],
                          table.time_gaps(i[keep], j[keep])))
    if not found:
        return NO_PAIRS
    return Pairs(*(np.concatenate(parts) for parts in zip(*found, strict=True)))


def mutual_best(table: Table, pairs: Pairs) -> np.ndarray:
    """Mask of the pairs whose two tracklets are each other's best-scoring pair in the other's
    camera (ties: the first pair in order)."""
    best = np.zeros((2, len(pairs)), bool)
    for side, (own, other) in enumerate([(pairs.i, pairs.j), (pairs.j, pairs.i)]):
        group = own * len(table.camera_ids) + table.cameras[other]
        order = np.lexsort((np.arange(len(pairs)), -pairs.score, group))
        first = np.diff(group[order], prepend=-1) != 0
        best[side, order[first]] = True
    return best.all(axis=0)
