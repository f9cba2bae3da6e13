"""Cross-camera association: all cameras' tracklets -> one global id per vehicle.

table (tracklets as row-aligned arrays) -> candidates (time / camera-pair blocks, `TimeGate`
from the topology) scored by an `EdgeScorer` (registry in `scoring`) -> constrained greedy
clustering -> global ids, and a networkx graph of the evidence (`graph`). Deterministic:
the result does not depend on the order of the input tracklets.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from mcvrt.association.candidates import TimeGate, candidate_pairs
from mcvrt.association.clustering import NO_LINKS, Links, cluster
from mcvrt.association.graph import build_graph, graph_to_dict
from mcvrt.association.rerank import KReciprocal
from mcvrt.association.scoring import Compare, check_scorer, make_scorer
from mcvrt.association.table import Table
from mcvrt.association.topology import load_topology
from mcvrt.config import MatchingConfig
from mcvrt.types import Tracklet, TrackletKey

GlobalIds = dict[TrackletKey, int]

__all__ = ["NO_LINKS", "Compare", "GlobalIds", "Links", "check_matching", "graph_to_dict",
           "load_topology", "match_tracklets"]


def check_matching(cfg: MatchingConfig) -> None:
    """Fail early (before any detection) on a bad topology file or an unknown scorer."""
    if cfg.topology is not None:
        load_topology(cfg.topology)
    check_scorer(cfg.scorer)


def match_tracklets(
    tracklets: Sequence[Tracklet], cfg: MatchingConfig, compare: Compare | None = None,
    links: Links = NO_LINKS,
) -> tuple[GlobalIds, nx.Graph]:
    """Global ids 1..K for all tracklets (numbered by each identity's earliest start, then
    smallest key), and the graph of candidate edges annotated with the result.

    Edges join usable tracklets (``min_tracklet_frames``, an embedding) of different cameras
    whose time gap the topology (or ``max_transition_s``) allows and whose score (the
    ``matching.scorer``; a @ compare(b) for the cosine scorer) is >= ``min_similarity``;
    `clustering.cluster` merges along them, honouring the user's `links`.
    """
    table = Table.build(tracklets, cfg.min_tracklet_frames)
    windows = load_topology(cfg.topology) if cfg.topology is not None else None
    gate = TimeGate.build(table.camera_ids, cfg.max_transition_s, windows)
    scorer = make_scorer(cfg.scorer, table, compare)
    if cfg.rerank:
        scorer = KReciprocal(table, scorer, gate, cfg.rerank_k1, cfg.rerank_k2,
                             cfg.rerank_lambda)
    pairs = candidate_pairs(table, scorer, cfg.min_similarity, gate)
    clustering = cluster(table, pairs, scorer, cfg.min_similarity, links)
    graph = build_graph(table, pairs, clustering, links)
    return dict(zip(table.keys, clustering.labels.tolist(), strict=True)), graph
