"""Cross-camera matching: a similarity graph over tracklets, clustered into global ids.

Nodes are `TrackletKey`s. An edge joins two tracklets of different cameras whose time gap is
plausible (`compatible`) and whose embeddings have cosine similarity >= `min_similarity`.
`match_tracklets` then merges clusters greedily along the edges, strongest first, under two
rules (see `match_tracklets`). This is the only `mcvrt` module that imports networkx.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import yaml

from mcvrt.config import MatchingConfig
from mcvrt.errors import InputError
from mcvrt.types import Tracklet, TrackletKey

GlobalIds = dict[TrackletKey, int]
# (camera, camera) -> (min_s, max_s); a window applies to the pair in either order
Windows = dict[tuple[str, str], tuple[float, float]]
# (N, D) -> (N, D), linear and symmetric (a @ compare(b) == b @ compare(a)): similarity is
# a @ compare(b), e.g. to compare condition-routed embeddings in the harder condition's expert
Compare = Callable[[np.ndarray], np.ndarray]

_BLOCK = 512  # rows of the similarity matrix computed at once in build_graph


def load_topology(path: str | Path) -> Windows:
    """Read per-camera-pair transition windows from YAML; a window applies in both directions.

    Format::

        pairs:
          - {cameras: [camA, camB], min_s: 5, max_s: 60}

    ``min_s`` may be negative for cameras whose fields of view overlap. Raises `InputError`.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"cannot read topology file: {path} ({err.strerror})") from err
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from err
    pairs = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(pairs, list) or not pairs or set(data) != {"pairs"}:
        raise InputError(f"{path}: expected a mapping with one key 'pairs': a non-empty list")
    windows: Windows = {}
    for i, entry in enumerate(pairs):
        a, b, window = _parse_pair(entry, f"{path}: pairs[{i}]")
        if (a, b) in windows or (b, a) in windows:
            raise InputError(f"{path}: pairs[{i}]: cameras {a!r} and {b!r} are listed twice")
        windows[(a, b)] = window
    return windows


def _parse_pair(entry: Any, where: str) -> tuple[str, str, tuple[float, float]]:
    """One `pairs` entry as (camera, camera, (min_s, max_s)); raises `InputError`."""
    if not isinstance(entry, dict) or set(entry) != {"cameras", "min_s", "max_s"}:
        raise InputError(f"{where}: expected exactly the keys cameras, min_s, max_s")
    cameras, low, high = entry["cameras"], entry["min_s"], entry["max_s"]
    if not (isinstance(cameras, list) and len(cameras) == 2 and cameras[0] != cameras[1]
            and all(isinstance(c, str) for c in cameras)):
        raise InputError(f"{where}: cameras must be a list of two different camera ids")
    numbers = [v for v in (low, high) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != 2 or not low <= high:
        raise InputError(f"{where}: min_s and max_s must be numbers with min_s <= max_s")
    return cameras[0], cameras[1], (float(low), float(high))


def time_gap(a: Tracklet, b: Tracklet) -> float:
    """Seconds between the end of the earlier tracklet and the start of the later (< 0: overlap)."""
    return max(a.start_s, b.start_s) - min(a.end_s, b.end_s)


def compatible(a: Tracklet, b: Tracklet, cfg: MatchingConfig, windows: Windows | None) -> bool:
    """Whether `a` and `b` could be one vehicle seen by two cameras, judging by time alone.

    Without a topology, any gap <= ``cfg.max_transition_s`` passes, overlaps included
    (overlapping fields of view). With one, the pair's window replaces that limit and camera
    pairs it does not list (in either order) are never compatible.
    """
    if a.camera_id == b.camera_id:
        return False
    gap = time_gap(a, b)
    if windows is None:
        return gap <= cfg.max_transition_s
    window = windows.get((a.camera_id, b.camera_id)) or windows.get((b.camera_id, a.camera_id))
    return window is not None and window[0] <= gap <= window[1]


def build_graph(
    tracklets: Sequence[Tracklet], cfg: MatchingConfig, compare: Compare | None = None
) -> nx.Graph:
    """Similarity graph: every tracklet a node, an edge per compatible similar cross-camera pair.

    Node attributes: camera, track_id, start_s, end_s, n_frames, class_id, has_embedding, and
    the tracklet's `extra` (e.g. condition, expert).
    Edge attributes: similarity, time_gap_s. Tracklets shorter than ``min_tracklet_frames`` or
    without an embedding get no edges. Pairs are only compared within the largest allowed time
    gap of each other (tracklets sorted by start time), so the cost grows with local density
    rather than with the square of the number of tracklets. The similarity of embeddings a, b is
    a @ b, or a @ compare(b) for a linear, symmetric `compare` (see `Compare`).
    """
    windows = load_topology(cfg.topology) if cfg.topology is not None else None
    graph = nx.Graph()
    for t in sorted(tracklets, key=lambda t: t.key):
        if t.key in graph:
            raise ValueError(f"duplicate tracklet key {t.key}")
        graph.add_node(t.key, camera=t.camera_id, track_id=t.track_id, start_s=t.start_s,
                       end_s=t.end_s, n_frames=len(t.frames), class_id=t.class_id,
                       has_embedding=bool(np.any(t.embedding)), **t.extra)
    usable = sorted((t for t in tracklets if len(t.frames) >= cfg.min_tracklet_frames
                     and graph.nodes[t.key]["has_embedding"]), key=lambda t: (t.start_s, t.key))
    for a, b, similarity in _candidate_pairs(usable, cfg, windows, compare or _same):
        if compatible(a, b, cfg, windows):
            graph.add_edge(a.key, b.key, similarity=similarity, time_gap_s=time_gap(a, b))
    return graph


def _candidate_pairs(
    usable: list[Tracklet], cfg: MatchingConfig, windows: Windows | None, compare: Compare
) -> list[tuple[Tracklet, Tracklet, float]]:
    """Similar pairs of `usable` (sorted by start) from different cameras within the time horizon.

    This is a cheap superset of the edges; `compatible` makes the final call on each pair.
    """
    if not usable:
        return []
    horizon = (cfg.max_transition_s if windows is None
               else max((high for _, high in windows.values()), default=-math.inf))
    emb = np.stack([t.embedding for t in usable])
    right = compare(emb)
    starts = np.array([t.start_s for t in usable])
    ends = np.array([t.end_s for t in usable])
    _, cams = np.unique([t.camera_id for t in usable], return_inverse=True)
    pairs = []
    for lo in range(0, len(usable), _BLOCK):
        hi = min(lo + _BLOCK, len(usable))
        stop = int(np.searchsorted(starts, ends[lo:hi].max() + horizon, side="right"))
        sim = emb[lo:hi] @ right[lo:stop].T
        rows, cols = np.nonzero(sim >= cfg.min_similarity)
        i, j = rows + lo, cols + lo
        gap = np.maximum(starts[i], starts[j]) - np.minimum(ends[i], ends[j])
        keep = (j > i) & (cams[i] != cams[j]) & (gap <= horizon)
        pairs += [(usable[a], usable[b], float(s))
                  for a, b, s in zip(i[keep], j[keep], sim[rows[keep], cols[keep]], strict=True)]
    return pairs


@dataclass
class _Cluster:
    """Members of one tentative identity, with what the merge rules need."""

    members: list[TrackletKey]
    spans: dict[str, list[tuple[float, float]]]  # camera -> (start_s, end_s) of each member
    embedding_sum: np.ndarray  # sum of the members' unit embeddings
    compare: Compare

    def overlaps(self, other: _Cluster) -> bool:
        """Whether a tracklet of `self` and one of `other` share a camera and overlap in time."""
        return any(s1 <= e2 and s2 <= e1
                   for camera, spans in other.spans.items()
                   for s1, e1 in self.spans.get(camera, ())
                   for s2, e2 in spans)

    def mean_similarity(self, other: _Cluster) -> float:
        """Average cosine similarity over all (member of self, member of other) pairs."""
        dot = float(self.embedding_sum @ self.compare(other.embedding_sum[None])[0])
        return dot / (len(self.members) * len(other.members))

    def absorb(self, other: _Cluster) -> None:
        self.members += other.members
        for camera, spans in other.spans.items():
            self.spans.setdefault(camera, []).extend(spans)
        self.embedding_sum = self.embedding_sum + other.embedding_sum


def match_tracklets(
    tracklets: Sequence[Tracklet], cfg: MatchingConfig, compare: Compare | None = None
) -> tuple[GlobalIds, nx.Graph]:
    """Global ids 1..K for all tracklets, and the `build_graph` graph annotated with the result.

    Constrained greedy agglomeration: edges are visited by descending similarity (ties by key
    order); the clusters at the two ends merge unless
      * they hold two tracklets of the same camera that overlap in time (one camera cannot see
        one vehicle twice at once; non-overlapping ones may join, a vehicle can come back), or
      * their average linkage, the mean cosine similarity over *all* cross-cluster tracklet
        pairs (edges or not), is below ``min_similarity``; this stops A~B, B~C chaining A and
        C together when A and C look different.
    Ids are numbered by each cluster's earliest start time, then smallest key. Nodes get a
    ``global_id`` attribute and edges a ``merged`` flag (True when the edge caused a merge).
    Similarities as in `build_graph`.
    """
    graph = build_graph(tracklets, cfg, compare)
    cluster_of = {
        t.key: _Cluster([t.key], {t.camera_id: [(t.start_s, t.end_s)]},
                        t.embedding.astype(np.float64), compare or _same)
        for t in tracklets
    }
    edges = sorted(((min(u, v), max(u, v), s) for u, v, s in graph.edges(data="similarity")),
                   key=lambda e: (-e[2], e[0], e[1]))
    for u, v, _ in edges:
        keep, gone = sorted((cluster_of[u], cluster_of[v]), key=lambda c: -len(c.members))
        merged = (keep is not gone and not keep.overlaps(gone)
                  and keep.mean_similarity(gone) >= cfg.min_similarity)
        graph.edges[u, v]["merged"] = merged
        if merged:
            keep.absorb(gone)
            cluster_of.update(dict.fromkeys(gone.members, keep))
    clusters = {id(c): c for c in cluster_of.values()}.values()
    ordered = sorted(clusters, key=lambda c: min((graph.nodes[k]["start_s"], k) for k in c.members))
    global_ids = {key: gid for gid, c in enumerate(ordered, start=1) for key in c.members}
    nx.set_node_attributes(graph, global_ids, "global_id")
    return global_ids, graph


def _same(embeddings: np.ndarray) -> np.ndarray:
    """The identity `Compare`: plain cosine similarity of unit embeddings."""
    return embeddings


def graph_to_dict(graph: nx.Graph) -> dict[str, Any]:
    """JSON-able view of a `match_tracklets` graph: nodes, edges with their evidence, clusters.

    Keys become ``[camera, track_id]`` lists; times are rounded to ms, similarities to 1e-4.
    """
    nodes = [{**attrs, "start_s": round(attrs["start_s"], 3), "end_s": round(attrs["end_s"], 3)}
             for _, attrs in sorted(graph.nodes(data=True))]
    edges = sorted((min(u, v), max(u, v), attrs) for u, v, attrs in graph.edges(data=True))
    clusters: dict[int, list[list[Any]]] = {}
    for key, gid in sorted(graph.nodes(data="global_id")):
        clusters.setdefault(gid, []).append(list(key))
    return {
        "nodes": nodes,
        "edges": [{"a": list(u), "b": list(v), **attrs,
                   "similarity": round(attrs["similarity"], 4),
                   "time_gap_s": round(attrs["time_gap_s"], 3)} for u, v, attrs in edges],
        "clusters": [{"global_id": gid, "members": members}
                     for gid, members in sorted(clusters.items())],
    }
