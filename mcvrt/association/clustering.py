"""Constrained greedy agglomeration of candidate edges into identities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcvrt.association.candidates import Pairs
from mcvrt.association.scoring import EdgeScorer
from mcvrt.association.table import Table


@dataclass
class _Cluster:
    """Rows of one tentative identity, with what the merge rules need."""

    members: list[int]
    spans: dict[int, list[tuple[float, float]]]  # camera -> (start_s, end_s) of each member

    def overlaps(self, other: _Cluster) -> bool:
        """Whether a tracklet of `self` and one of `other` share a camera and overlap in time."""
        return any(s1 <= e2 and s2 <= e1
                   for camera, spans in other.spans.items()
                   for s1, e1 in self.spans.get(camera, ())
                   for s2, e2 in spans)

    def absorb(self, other: _Cluster) -> None:
        self.members += other.members
        for camera, spans in other.spans.items():
            self.spans.setdefault(camera, []).extend(spans)


@dataclass(frozen=True)
class Clustering:
    """Identity 1..K of each table row (numbered by earliest member row) and, per candidate
    pair, whether visiting it merged two clusters."""

    labels: np.ndarray  # (N,) int64
    merged: np.ndarray  # (len(pairs),) bool


def cluster(table: Table, pairs: Pairs, linkage: EdgeScorer, threshold: float) -> Clustering:
    """Visit `pairs` by descending score (ties by key order) and merge the two clusters unless
      * they hold two tracklets of the same camera that overlap in time (one camera cannot see
        one vehicle twice at once; non-overlapping ones may join, a vehicle can come back), or
      * their average linkage, the mean `linkage` score over *all* cross-cluster tracklet pairs
        (candidates or not), is below `threshold`; this stops A~B, B~C chaining A and C
        together when A and C look different.
    """
    keys = table.keys
    cluster_of = [_Cluster([row], {int(table.cameras[row]): [(table.starts[row], table.ends[row])]})
                  for row in range(len(table))]
    ends = [tuple(sorted((int(i), int(j)), key=keys.__getitem__))
            for i, j in zip(pairs.i, pairs.j, strict=True)]
    order = sorted(range(len(pairs)),
                   key=lambda e: (-pairs.score[e], keys[ends[e][0]], keys[ends[e][1]]))
    merged = np.zeros(len(pairs), bool)
    for e in order:
        u, v = ends[e]
        keep, gone = sorted((cluster_of[u], cluster_of[v]), key=lambda c: -len(c.members))
        if keep is gone or keep.overlaps(gone):
            continue
        if linkage(np.array(keep.members), np.array(gone.members)).mean(dtype=np.float64) \
                < threshold:
            continue
        merged[e] = True
        keep.absorb(gone)
        for row in gone.members:
            cluster_of[row] = keep
    labels, count = np.zeros(len(table), np.int64), 0
    for row in range(len(table)):  # rows are in (start, key) order: first seen, first numbered
        if not labels[row]:
            count += 1
            labels[cluster_of[row].members] = count
    return Clustering(labels, merged)
