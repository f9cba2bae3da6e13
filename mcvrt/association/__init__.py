"""Cross-camera association: all cameras' tracklets -> one global id per vehicle.

table (tracklets as row-aligned arrays) -> candidates (time / camera-pair blocks; `Gate`
from the topology: given, learned from the run, or none) scored by an `EdgeScorer` (registry
in `scoring`, optionally k-reciprocal re-ranked) -> constrained greedy clustering -> global
ids, and a networkx graph of the evidence (`graph`). Deterministic: the result does not depend
on the order of the input tracklets.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from mcvrt.association.candidates import NO_PAIRS, Gate, candidate_pairs, mutual_best
from mcvrt.association.clustering import NO_LINKS, Clustering, Links, cluster
from mcvrt.association.fragments import FragmentRules, fragment_pairs
from mcvrt.association.graph import build_graph, graph_to_dict
from mcvrt.association.rerank import KReciprocal
from mcvrt.association.scoring import Compare, check_scorer, make_scorer
from mcvrt.association.table import Table
from mcvrt.association.topology import (
    LinkLearning,
    Topology,
    learn_topology,
    load_topology,
    topology_mapping,
)
from mcvrt.config import MatchingConfig
from mcvrt.types import Tracklet, TrackletKey

GlobalIds = dict[TrackletKey, int]

__all__ = ["NO_LINKS", "Compare", "GlobalIds", "Links", "check_matching", "graph_to_dict",
           "load_topology", "match_tracklets"]


def check_matching(cfg: MatchingConfig) -> None:
    """Fail early (before any detection) on a bad topology file or an unknown scorer."""
    if cfg.topology is not None:
        load_topology(cfg.topology)
    if cfg.scorer is not None:
        check_scorer(cfg.scorer)


def match_tracklets(
    tracklets: Sequence[Tracklet], cfg: MatchingConfig, compare: Compare | None = None,
    links: Links = NO_LINKS,
) -> tuple[GlobalIds, nx.Graph]:
    """Global ids 1..K for all tracklets (numbered by each identity's earliest start, then
    smallest key), and the graph of candidate edges annotated with the result.

    Edges join usable tracklets (``min_tracklet_frames``, an embedding) of different cameras
    that the `Gate` allows and whose score (the ``matching.scorer``, re-ranked with
    ``matching.rerank``) is >= ``min_similarity`` (set: see `MatchingConfig.resolved`);
    `clustering.cluster` merges along them,
    honouring the user's `links`. The gate comes from the given topology, else from a learned
    one (``link_rounds`` > 0), else from ``max_transition_s`` alone. A learned topology starts
    from confident pairs (mutual best with a base score >= ``link_min_similarity``; windows at
    ``link_seed_confidence``) and is learned again from them and each round's identities
    (``link_confidence``); the graph keeps the topology that made its
    edges (``graph.graph["topology"]`` with its ``topology_source``).
    """
    if cfg.min_similarity is None or cfg.scorer is None:
        raise ValueError("matching.min_similarity or matching.scorer is unset: pass "
                         "MatchingConfig.resolved(...)")
    table = Table.build(tracklets, cfg.min_tracklet_frames, cfg.view_lead_s)
    base = make_scorer(cfg.scorer, table, compare)
    fragments = NO_PAIRS if not cfg.fragments else fragment_pairs(table, FragmentRules(
        cfg.fragment_max_gap_s, cfg.fragment_min_similarity, cfg.fragment_max_shift), compare)
    topology, source, rounds = None, None, 1
    if cfg.topology is not None:
        topology, source = load_topology(cfg.topology), "given"
    elif cfg.link_rounds:
        default = Gate.build(table.camera_ids, cfg.max_transition_s)
        confident = candidate_pairs(table, base, cfg.link_min_similarity, default)
        keep = mutual_best(table, confident)
        seeds = confident.i[keep], confident.j[keep]
        topology = learn(table, *seeds, cfg, cfg.link_seed_confidence)
        source, rounds = "learned", cfg.link_rounds
    for round_ in range(rounds):
        gate = Gate.build(table.camera_ids, cfg.max_transition_s, topology,
                          default=source == "learned")
        scorer = base if not cfg.rerank else KReciprocal(
            table, base, gate, cfg.rerank_k1, cfg.rerank_k2, cfg.rerank_lambda)
        pairs = candidate_pairs(table, scorer, cfg.min_similarity, gate)
        clustering = cluster(table, pairs, scorer, cfg.min_similarity, links, fragments)
        if round_ + 1 < rounds:  # the seeds stay: a gated round cannot widen a window itself
            first, second = transitions(table, clustering)
            found = np.unique([np.r_[seeds[0], first], np.r_[seeds[1], second]], axis=1)
            topology = learn(table, *found, cfg, cfg.link_confidence)
    graph = build_graph(table, pairs, clustering, links, fragments)
    if source is not None:
        graph.graph |= {"topology_source": source, "topology": topology_mapping(topology)}
    return dict(zip(table.keys, clustering.labels.tolist(), strict=True)), graph


def learn(table: Table, first: np.ndarray, second: np.ndarray, cfg: MatchingConfig,
          confidence: float) -> Topology:
    """`learn_topology` with the ``link_*`` settings of `cfg`, windows at `confidence`."""
    rules = LinkLearning(cfg.link_min_transitions, cfg.link_margin_s, cfg.link_margin,
                         confidence)
    return learn_topology(table, first, second, rules)


def transitions(table: Table, clustering: Clustering) -> tuple[np.ndarray, np.ndarray]:
    """Every (earlier row, later row) of one identity seen by two different cameras, where the
    earlier row is the last of its camera to end before the later row starts and the later row
    the first of its camera to start after the earlier row ends (another fragment of either
    camera would stretch the travel time). Time grows with the square of an identity's size
    (a parked car tracked in fragments for hours is one large identity), memory with its size:
    at most `PAIR_CHUNK` member pairs are checked at once."""
    group = clustering.labels * len(table.camera_ids) + table.cameras  # identity and camera
    next_exit = _next_in_group(group, table.ends)  # the next end of its identity in its camera
    last_entry = -_next_in_group(group, -table.starts)  # the last start before its own there
    rows = np.argsort(clustering.labels, kind="stable")  # by identity, then start time
    first, second = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for members in np.split(rows, np.flatnonzero(np.diff(clustering.labels[rows])) + 1):
        if len(members) < 2:
            continue
        position, step = np.arange(len(members)), max(1, PAIR_CHUNK // len(members))
        for lo in range(0, len(members) - 1, step):
            a = members[lo : lo + step, None]
            k, j = np.nonzero((position > position[lo : lo + step, None])
                              & (table.cameras[members] != table.cameras[a])
                              & (next_exit[a] > table.starts[members])
                              & (last_entry[members] < table.ends[a]))
            first.append(members[lo + k])
            second.append(members[j])
    return np.concatenate(first), np.concatenate(second)


PAIR_CHUNK = 1 << 20  # (earlier, later) member pairs of one identity checked at once


def _next_in_group(group: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each element, the smallest of the `times` of its `group` that is greater than its own
    (+inf where none is)."""
    order = np.lexsort((times, group))
    g, t = group[order], times[order]
    new_run = np.ones(len(t), bool)  # where a run of equal (group, time) begins
    new_run[1:] = (g[1:] != g[:-1]) | (t[1:] != t[:-1])
    after = np.r_[np.flatnonzero(new_run)[1:], len(t)][np.cumsum(new_run) - 1]  # next run's start
    found = after < len(t)
    found[found] = g[after[found]] == g[found]
    out = np.full(len(t), np.inf)
    out[order[found]] = t[after[found]]
    return out
