"""Constrained greedy agglomeration of candidate edges into identities."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mcvrt.association.candidates import NO_PAIRS, Pairs
from mcvrt.association.scoring import EdgeScorer
from mcvrt.association.table import Table
from mcvrt.errors import InputError
from mcvrt.types import TrackletKey

KeyPair = tuple[TrackletKey, TrackletKey]


@dataclass(frozen=True)
class Links:
    """A user's constraints: tracklet pairs that must / must not share a global id."""

    must: tuple[KeyPair, ...] = ()
    cannot: tuple[KeyPair, ...] = ()

    def rows(self, table: Table) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(must, cannot) as table rows; `InputError` names an unknown tracklet or a
        tracklet linked to itself."""
        index = table.index()

        def row(kind: str, key: TrackletKey) -> int:
            if key not in index:
                raise InputError(f"{kind}: no tracklet {key[0]}:{key[1]} in this run")
            return index[key]

        found: dict[str, list[tuple[int, int]]] = {"must-link": [], "cannot-link": []}
        for kind, pairs in (("must-link", self.must), ("cannot-link", self.cannot)):
            for a, b in pairs:
                if a == b:
                    raise InputError(f"{kind}: {a[0]}:{a[1]} is linked to itself")
                found[kind].append((row(kind, a), row(kind, b)))
        return found["must-link"], found["cannot-link"]


NO_LINKS = Links()


@dataclass
class _Cluster:
    """Rows of one tentative identity, with what the merge rules need."""

    members: list[int]
    spans: dict[int, list[tuple[float, float]]]  # camera -> (start_s, end_s) of each member
    cannot: set[int] = field(default_factory=set)  # rows it must never share an id with

    def overlaps(self, other: _Cluster) -> bool:
        """Whether a tracklet of `self` and one of `other` share a camera and overlap in time."""
        return any(s1 <= e2 and s2 <= e1
                   for camera, spans in other.spans.items()
                   for s1, e1 in self.spans.get(camera, ())
                   for s2, e2 in spans)

    def forbids(self, other: _Cluster) -> bool:
        """Whether a user cannot-link joins a member of `self` and one of `other`."""
        return not self.cannot.isdisjoint(other.members)

    def absorb(self, other: _Cluster) -> None:
        self.members += other.members
        for camera, spans in other.spans.items():
            self.spans.setdefault(camera, []).extend(spans)
        self.cannot |= other.cannot


@dataclass(frozen=True)
class Clustering:
    """Identity 1..K of each table row (numbered by earliest member row) and, per candidate
    pair, whether visiting it merged two clusters."""

    labels: np.ndarray  # (N,) int64
    merged: np.ndarray  # (len(pairs),) bool


def cluster(table: Table, pairs: Pairs, linkage: EdgeScorer, threshold: float,
            links: Links = NO_LINKS, fragments: Pairs = NO_PAIRS) -> Clustering:
    """Join the ends of every must-link first, then those of the `fragments` (one vehicle's
    tracklets within a camera, `fragments.fragment_pairs`) unless that joins two tracklets of one
    camera seen at once or crosses a cannot-link, then visit `pairs` by descending score (ties
    by key order) and merge the two clusters unless
      * they hold two tracklets of the same camera that overlap in time (one camera cannot see
        one vehicle twice at once; non-overlapping ones may join, a vehicle can come back), or
      * a cannot-link joins them, or
      * their average linkage, the mean `linkage` score over *all* cross-cluster pairs of usable
        tracklets (candidates or not), is below `threshold`; this stops A~B, B~C chaining A
        and C together when A and C look different.
    Must-links bind regardless of these rules; `InputError` when they join the ends of a
    cannot-link.
    """
    keys = table.keys
    must, cannot = links.rows(table)
    cluster_of = [_Cluster([row], {int(table.cameras[row]): [(table.starts[row], table.ends[row])]})
                  for row in range(len(table))]
    for a, b in cannot:
        cluster_of[a].cannot.add(b)
        cluster_of[b].cannot.add(a)

    def usable(c: _Cluster) -> np.ndarray:
        """The members that are scored (a must-link or a fragment may join short ones)."""
        rows = np.array(c.members)
        return rows[table.usable[rows]]

    def join(keep: _Cluster, gone: _Cluster) -> None:
        keep.absorb(gone)
        for row in gone.members:
            cluster_of[row] = keep

    for a, b in must:
        if cluster_of[a] is not cluster_of[b]:
            join(cluster_of[a], cluster_of[b])
    for a, b in cannot:
        if cluster_of[a] is cluster_of[b]:
            raise InputError(f"cannot-link {':'.join(map(str, keys[a]))}="
                             f"{':'.join(map(str, keys[b]))} contradicts the must-links")
    for a, b in zip(fragments.i.tolist(), fragments.j.tolist(), strict=True):
        keep, gone = cluster_of[a], cluster_of[b]
        if keep is not gone and not keep.overlaps(gone) and not keep.forbids(gone):
            join(keep, gone)
    ends = [tuple(sorted((int(i), int(j)), key=keys.__getitem__))
            for i, j in zip(pairs.i, pairs.j, strict=True)]
    order = sorted(range(len(pairs)),
                   key=lambda e: (-pairs.score[e], keys[ends[e][0]], keys[ends[e][1]]))
    merged = np.zeros(len(pairs), bool)
    for e in order:
        u, v = ends[e]
        keep, gone = sorted((cluster_of[u], cluster_of[v]), key=lambda c: -len(c.members))
        if keep is gone or keep.overlaps(gone) or keep.forbids(gone):
            continue
        if linkage(usable(keep), usable(gone)).mean(dtype=np.float64) < threshold:
            continue
        merged[e] = True
        join(keep, gone)
    labels, count = np.zeros(len(table), np.int64), 0
    for row in range(len(table)):  # rows are in (start, key) order: first seen, first numbered
        if not labels[row]:
            count += 1
            labels[cluster_of[row].members] = count
    return Clustering(labels, merged)
